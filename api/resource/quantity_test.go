package resource

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The expected outputs below follow Kubernetes' documented rules and its own
// quantity tests: a canonical string has the largest suffix or exponent that
// loses no precision and leaves no fractional digits.
func TestParseCanonical(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		format Format
	}{
		// Zero, in every spelling.
		{"0", "0", DecimalSI},
		{"-0", "0", DecimalSI},
		{"+0.000", "0", DecimalSI},
		{"0n", "0", DecimalSI},
		{"0u", "0", DecimalSI},
		{"0m", "0", DecimalSI},
		{"0k", "0", DecimalSI},
		{"0Ki", "0", BinarySI},
		{"0Gi", "0", BinarySI},
		{"0e9", "0", DecimalExponent},

		// Every decimal SI suffix.
		{"5n", "5n", DecimalSI},
		{"4u", "4u", DecimalSI},
		{"3m", "3m", DecimalSI},
		{"100m", "100m", DecimalSI},
		{"9", "9", DecimalSI},
		{"8k", "8k", DecimalSI},
		{"50k", "50k", DecimalSI},
		{"7M", "7M", DecimalSI},
		{"6G", "6G", DecimalSI},
		{"1G", "1G", DecimalSI},
		{"5T", "5T", DecimalSI},
		{"300T", "300T", DecimalSI},
		{"2P", "2P", DecimalSI},
		{"1E", "1E", DecimalSI},
		{"12E", "12E", DecimalSI},

		// Every binary SI suffix.
		{"1Ki", "1Ki", BinarySI},
		{"8Ki", "8Ki", BinarySI},
		{"7Mi", "7Mi", BinarySI},
		{"128Mi", "128Mi", BinarySI},
		{"6Gi", "6Gi", BinarySI},
		{"5Ti", "5Ti", BinarySI},
		{"100Ti", "100Ti", BinarySI},
		{"4Pi", "4Pi", BinarySI},
		{"3Ei", "3Ei", BinarySI},
		{"7Ei", "7Ei", BinarySI},

		// Moving to a larger or smaller suffix.
		{"1000", "1k", DecimalSI},
		{"1500", "1500", DecimalSI},
		{"1000M", "1G", DecimalSI},
		{"1024Mi", "1Gi", BinarySI},
		{"1.5Gi", "1536Mi", BinarySI},
		{"1.5Mi", "1536Ki", BinarySI},
		{"0.5Mi", "512Ki", BinarySI},
		{"1.5", "1500m", DecimalSI},
		{"0.1", "100m", DecimalSI},
		{".5", "500m", DecimalSI},
		{"9.01", "9010m", DecimalSI},
		{"8.1k", "8100", DecimalSI},
		{"100.035k", "100035", DecimalSI},
		{"10.035M", "10035k", DecimalSI},
		{"7.123456M", "7123456", DecimalSI},
		{"6.987654321G", "6987654321", DecimalSI},
		{"5.444T", "5444G", DecimalSI},
		{"2.5P", "2500T", DecimalSI},
		{"1.01E", "1010P", DecimalSI},
		{"0.001", "1m", DecimalSI},
		{".001", "1m", DecimalSI},
		{"0.0005k", "500m", DecimalSI},
		{".0001k", "100m", DecimalSI},
		{"0.00500", "5m", DecimalSI},
		{"1.2345", "1234500u", DecimalSI},
		{"1.", "1", DecimalSI},
		{"1.G", "1G", DecimalSI},
		{"007", "7", DecimalSI},

		// Exponents.
		{"2e3", "2e3", DecimalExponent},
		{"1e3", "1e3", DecimalExponent},
		{"1E3", "1e3", DecimalExponent},
		{"1e+6", "1e6", DecimalExponent},
		{"1E-3", "1e-3", DecimalExponent},
		{"1e-9", "1e-9", DecimalExponent},
		{"1e13", "10e12", DecimalExponent},
		{"1e14", "100e12", DecimalExponent},
		{"1e0", "1", DecimalExponent},
		{"1.2e3", "1200", DecimalExponent},
		{"1.3E+6", "1300e3", DecimalExponent},
		{"1.7E18", "1700e15", DecimalExponent},
		{"0.5e0", "500e-3", DecimalExponent},
		{"0.5e-1", "50e-3", DecimalExponent},
		{"1e003", "1e3", DecimalExponent},

		// Signs.
		{"-1", "-1", DecimalSI},
		{"+1k", "1k", DecimalSI},
		{"-1.5", "-1500m", DecimalSI},
		{"-1Ki", "-1Ki", BinarySI},
		{"-1.5Gi", "-1536Mi", BinarySI},
		{"-2e3", "-2e3", DecimalExponent},

		// Rounding up to a whole nano, away from zero.
		{"0.0000000001", "1n", DecimalSI},
		{"-0.0000000001", "-1n", DecimalSI},
		{"0.0000000005", "1n", DecimalSI},
		{"0.9n", "1n", DecimalSI},
		{"3.001n", "4n", DecimalSI},
		{"-1.5n", "-2n", DecimalSI},
		{"0.00000012345", "124n", DecimalSI},
		{"0.00000012354", "124n", DecimalSI},
		{"1.1E-9", "2e-9", DecimalExponent},
		{"0.5e-9", "1e-9", DecimalExponent},
		{"1e-999999999", "1e-9", DecimalExponent},
		{"0.9999999999", "1", DecimalSI},
		{"999.9999999999", "1k", DecimalSI},

		// Beyond int64: exact, on the big-integer path.
		{"9223372036854775807", "9223372036854775807", DecimalSI},
		{"9223372036854775808", "9223372036854775808", DecimalSI},
		{"-9223372036854775808", "-9223372036854775808", DecimalSI},
		{"-9223372036854775809", "-9223372036854775809", DecimalSI},
		{"123456789012345678901234567890", "123456789012345678901234567890", DecimalSI},
		{"12345678901234567890.123456789", "12345678901234567890123456789n", DecimalSI},
		{"1000E", "1e21", DecimalSI},
		{"5000E", "5e21", DecimalSI},
		{"1000000E", "1e24", DecimalSI},
		{"1e21", "1e21", DecimalExponent},
		{"1e99", "1e99", DecimalExponent},
		{"-1e99", "-1e99", DecimalExponent},

		// Binary SI that is not a whole number of bytes, or is below 1024,
		// prints in decimal SI; Kubernetes caps binary SI at 2^63-1.
		{"0.5Ki", "512", BinarySI},
		{"1.5Ki", "1536", BinarySI},
		{"1023Ki", "1023Ki", BinarySI},
		{"1.0001Ki", "1024102400u", BinarySI},
		{"100.035Ki", "102435840m", BinarySI},
		{"0.05Gi", "53687091200m", BinarySI},
		{".001Ki", "1024m", BinarySI},
		{".000001Ki", "1024u", DecimalSI},
		{".000000001Ki", "1024n", DecimalSI},
		{"0.000000000001Ki", "2n", DecimalSI},
		{"0.0000000000000000000000000000000000000001Ki", "1n", DecimalSI},
		{"8Ei", "9223372036854775807", BinarySI},
		{"9Ei", "9223372036854775807", BinarySI},
		{"-9Ei", "-9223372036854775807", BinarySI},
		{"9223372036854775807Ki", "9223372036854775807", BinarySI},
		{"1" + strings.Repeat("0", 200) + "Ki", "9223372036854775807", BinarySI},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q, err := ParseQuantity(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, q.String())
			assert.Equal(t, tt.format, q.Format)
			assertInvariants(t, q)

			// The canonical form parses back to the same value and prints
			// the same.
			back, err := ParseQuantity(tt.want)
			require.NoError(t, err)
			assert.Zero(t, back.Cmp(q), "%s vs %s", back, q)
			assert.Equal(t, tt.want, back.String())
		})
	}
}

func TestParseErrors(t *testing.T) {
	const allowed = "allowed: n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei, or an exponent like e3"
	const number = "missing number; want an optional sign, digits with an optional decimal point, and an optional suffix, e.g. 100m, 1.5 or 128Mi"
	const exponent = "want e or E, an optional sign and digits, e.g. e3, E-2 or e+6"
	const tooLarge = "too large; a decimal quantity must be below 1e100 in magnitude"
	tests := []struct {
		in   string
		kind error
		msg  string
	}{
		{"", ErrSyntax, `quantity "": empty string; want a number with an optional suffix, e.g. 100m, 1.5 or 128Mi`},
		{" 1", ErrSyntax, `quantity " 1": leading or trailing whitespace is not allowed`},
		{"1 ", ErrSyntax, `quantity "1 ": leading or trailing whitespace is not allowed`},
		{"1\n", ErrSyntax, `quantity "1\n": leading or trailing whitespace is not allowed`},
		{"abc", ErrSyntax, `quantity "abc": ` + number},
		{"aoeu", ErrSyntax, `quantity "aoeu": ` + number},
		{".", ErrSyntax, `quantity ".": ` + number},
		{"-", ErrSyntax, `quantity "-": ` + number},
		{"+", ErrSyntax, `quantity "+": ` + number},
		{"-.e3", ErrSyntax, `quantity "-.e3": ` + number},
		{"--1", ErrSyntax, `quantity "--1": ` + number},
		{"Ki", ErrSyntax, `quantity "Ki": ` + number},
		{"12x", ErrSuffix, `quantity "12x": unknown suffix "x"; ` + allowed},
		{"1K", ErrSuffix, `quantity "1K": unknown suffix "K"; ` + allowed},
		{"1 Ki", ErrSuffix, `quantity "1 Ki": unknown suffix " Ki"; ` + allowed},
		{"1.1.M", ErrSuffix, `quantity "1.1.M": unknown suffix ".M"; ` + allowed},
		{"1+1.0M", ErrSuffix, `quantity "1+1.0M": unknown suffix "+1.0M"; ` + allowed},
		{"0.1mi", ErrSuffix, `quantity "0.1mi": unknown suffix "mi"; ` + allowed},
		{"0.1am", ErrSuffix, `quantity "0.1am": unknown suffix "am"; ` + allowed},
		{"1i", ErrSuffix, `quantity "1i": unknown suffix "i"; ` + allowed},
		{"1Ki3", ErrSuffix, `quantity "1Ki3": unknown suffix "Ki3"; ` + allowed},
		{"1KiB", ErrSuffix, `quantity "1KiB": unknown suffix "KiB"; ` + allowed},
		{"1ex", ErrSuffix, `quantity "1ex": unknown suffix "ex"; ` + allowed},
		{"1Ee3", ErrSuffix, `quantity "1Ee3": unknown suffix "Ee3"; ` + allowed},
		{"1e", ErrSuffix, `quantity "1e": invalid exponent "e"; ` + exponent},
		{"-3.01e-", ErrSuffix, `quantity "-3.01e-": invalid exponent "e-"; ` + exponent},
		{"1E+", ErrSuffix, `quantity "1E+": invalid exponent "E+"; ` + exponent},
		{"1e3.5", ErrSuffix, `quantity "1e3.5": invalid exponent "e3.5"; ` + exponent},
		{"1e1e1", ErrSuffix, `quantity "1e1e1": invalid exponent "e1e1"; ` + exponent},
		{"1e100", ErrRange, `quantity "1e100": ` + tooLarge},
		{"-1e100", ErrRange, `quantity "-1e100": ` + tooLarge},
		{"1e999999999", ErrRange, `quantity "1e999999999": ` + tooLarge},
		{"1e99999999999999999999999999", ErrRange, `quantity "1e99999999999999999999999999": ` + tooLarge},
		{"1" + strings.Repeat("0", 100), ErrRange, `quantity "1` + strings.Repeat("0", 63) + `"...: ` + tooLarge},
		{strings.Repeat("9", 100) + ".9999999999", ErrRange, `quantity "` + strings.Repeat("9", 64) + `"...: ` + tooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q, err := ParseQuantity(tt.in)
			require.Error(t, err)
			assert.True(t, q.IsZero())
			assert.ErrorIs(t, err, tt.kind)
			var pe *ParseError
			require.True(t, errors.As(err, &pe))
			assert.Equal(t, tt.in, pe.Input)
			assert.Equal(t, tt.msg, err.Error())
		})
	}
}

func TestParseLimits(t *testing.T) {
	// The largest accepted magnitudes sit just below 1e100.
	for _, s := range []string{
		strings.Repeat("9", 100),
		strings.Repeat("9", 100) + ".999999999",
		"9.99e99",
		"-" + strings.Repeat("9", 100),
		strings.Repeat("9", 99) + "8.9999999999", // rounds up, but stays below 1e100
	} {
		_, err := ParseQuantity(s)
		assert.NoError(t, err, s)
	}
	// Digits below nano only decide the rounding: a long tail is cheap and
	// exact.
	q, err := ParseQuantity("1." + strings.Repeat("0", 1<<20) + "1")
	require.NoError(t, err)
	assert.Equal(t, "1000000001n", q.String())
	q, err = ParseQuantity("0." + strings.Repeat("0", 1<<20) + "1Ei")
	require.NoError(t, err)
	assert.Equal(t, "1n", q.String())
	q, err = ParseQuantity("1." + strings.Repeat("0", 1<<20) + "1Ki")
	require.NoError(t, err)
	assert.Equal(t, "1024000000001n", q.String())
}

// TestParseLongInputs checks megabyte inputs, which ParseQuantity reads in
// linear time: only digits down to nano are kept, and the rest decide the
// rounding.
func TestParseLongInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	for range 1 << 20 {
		b.WriteByte(byte('1' + rng.IntN(9))) // no zeros, so every tail rounds up
	}
	digits := b.String()
	oneNano := NewScaledQuantity(1, Nano)

	q, err := ParseQuantity("1." + digits)
	require.NoError(t, err)
	assert.Equal(t, plus(MustParse("1."+digits[:9]), oneNano), q)

	q, err = ParseQuantity(digits[:99] + "." + digits)
	require.NoError(t, err)
	assert.Equal(t, plus(MustParse(digits[:99]+"."+digits[:9]), oneNano), q)

	q, err = ParseQuantity("-0." + strings.Repeat("0", 1<<20) + digits)
	require.NoError(t, err)
	assert.Equal(t, "-1n", q.String())

	q, err = ParseQuantity("." + digits + "e-5")
	require.NoError(t, err)
	assert.Equal(t, plus(MustParse("0."+digits[:4]+"e-5"), oneNano), q)

	q, err = ParseQuantity("1." + digits + "Ki")
	require.NoError(t, err)
	// The reference rounds the first 30 digits the same way: the rest move
	// the value by less than 1e-27, nowhere near the next whole nano.
	want, _, ok, known := refParse("1." + digits[:30] + "Ki")
	require.True(t, ok && known)
	assert.Zero(t, q.rat().Cmp(want), "%s vs %s", q.rat().FloatString(12), want.FloatString(12))

	_, err = ParseQuantity(digits)
	assert.ErrorIs(t, err, ErrRange)
	q, err = ParseQuantity(digits + "Ei")
	require.NoError(t, err)
	assert.Equal(t, "9223372036854775807", q.String())
}

// plus returns a + b, for terse tests.
func plus(a, b Quantity) Quantity {
	a.Add(b)
	return a
}

// TestStringOfComputedValues covers values that parsing alone cannot make:
// large binary SI values and formats set by hand.
func TestStringOfComputedValues(t *testing.T) {
	withFormat := func(s string, f Format) Quantity {
		q := MustParse(s)
		q.Format = f
		return q
	}
	pow70 := NewQuantity(1<<62, BinarySI)
	for range 8 {
		pow70.Add(pow70)
	}
	tests := []struct {
		name string
		q    Quantity
		want string
	}{
		{"2^63 binary", plus(NewQuantity(math.MaxInt64, BinarySI), NewQuantity(1, BinarySI)), "8Ei"},
		{"-(2^63+1024) binary", plus(NewQuantity(math.MinInt64, BinarySI), NewQuantity(-1024, BinarySI)), "-9007199254740993Ki"},
		{"2^70 binary stops at Ei", pow70, "1024Ei"},
		{"1e19 binary", withFormat("1e19", BinarySI), "9765625000000000Ki"},
		{"1e30 binary", withFormat("1e30", BinarySI), "931322574615478515625Gi"},
		{"2e3 binary", withFormat("2e3", BinarySI), "2000"},
		{"1e3 binary is below 1024", withFormat("1e3", BinarySI), "1k"},
		{"big binary fraction", withFormat("123456789012345678901234567890.5", BinarySI), "123456789012345678901234567890500m"},
		{"big unknown format", withFormat("1234567890123456789012345678900000", Format(9)), "1234567890123456789012345678900e3"},
		{"big exponent format", withFormat("-1234567890123456789012345678900000", DecimalExponent), "-1234567890123456789012345678900e3"},
		{"padding overflows int64", NewScaledQuantity(math.MaxInt64, 1), "92233720368547758070"},
		{"padding overflows int64 negative", NewScaledQuantity(math.MinInt64, 2), "-922337203685477580800"},
		{"min int64 decimal", NewQuantity(math.MinInt64, DecimalSI), "-9223372036854775808"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.q.String())
			assertInvariants(t, tt.q)
			// A binary SI string over 2^63-1 in magnitude parses back capped,
			// as in Kubernetes; everything else parses back exactly.
			back := MustParse(tt.want)
			if tt.q.Format != BinarySI || tt.q.CmpInt64(math.MaxInt64) <= 0 && tt.q.CmpInt64(-math.MaxInt64) >= 0 {
				assert.Zero(t, back.Cmp(tt.q), "%s parses back as %s", tt.want, back)
			}
		})
	}
}

func TestMustParse(t *testing.T) {
	assert.Equal(t, "500m", MustParse("0.5").String())
	assert.PanicsWithError(t, `quantity "Non-Numeric": `+
		"missing number; want an optional sign, digits with an optional decimal point, and an optional suffix, e.g. 100m, 1.5 or 128Mi",
		func() { MustParse("Non-Numeric") })
}

func TestConstructors(t *testing.T) {
	tests := []struct {
		name string
		q    Quantity
		want string
	}{
		{"NewQuantity 1", NewQuantity(1, DecimalSI), "1"},
		{"NewQuantity 1000", NewQuantity(1000, DecimalSI), "1k"},
		{"NewQuantity 1234000", NewQuantity(1234000, DecimalSI), "1234k"},
		{"NewQuantity 1024 binary", NewQuantity(1024, BinarySI), "1Ki"},
		{"NewQuantity 1Mi", NewQuantity(1024*1024, BinarySI), "1Mi"},
		{"NewQuantity min", NewQuantity(math.MinInt64, BinarySI), "-8Ei"},
		{"NewQuantity unknown format", NewQuantity(1000000, Format(9)), "1e6"},
		{"NewMilliQuantity 1", NewMilliQuantity(1, DecimalSI), "1m"},
		{"NewMilliQuantity 1000", NewMilliQuantity(1000, DecimalSI), "1"},
		{"NewMilliQuantity 1234000", NewMilliQuantity(1234000, DecimalSI), "1234"},
		{"NewMilliQuantity binary small", NewMilliQuantity(1024, BinarySI), "1024m"},
		{"NewMilliQuantity binary fraction", NewMilliQuantity(1024*1024, BinarySI), "1048576m"},
		{"NewMilliQuantity unknown format", NewMilliQuantity(1000000, Format(9)), "1e3"},
		{"NewMilliQuantity 0", NewMilliQuantity(0, BinarySI), "0"},
		{"NewScaledQuantity 1n", NewScaledQuantity(1, Nano), "1n"},
		{"NewScaledQuantity 1000n", NewScaledQuantity(1000, Nano), "1u"},
		{"NewScaledQuantity 1u", NewScaledQuantity(1, Micro), "1u"},
		{"NewScaledQuantity 1000u", NewScaledQuantity(1000, Micro), "1m"},
		{"NewScaledQuantity 1000m", NewScaledQuantity(1000, Milli), "1"},
		{"NewScaledQuantity 3 Exa", NewScaledQuantity(3, Exa), "3E"},
		{"NewScaledQuantity 0", NewScaledQuantity(0, Milli), "0"},
		{"NewScaledQuantity below nano", NewScaledQuantity(10800, -10), "1080n"},
		{"NewScaledQuantity rounds", NewScaledQuantity(1, -12), "1n"},
		{"NewScaledQuantity rounds negative", NewScaledQuantity(-1500, -12), "-2n"},
		{"NewScaledQuantity far below", NewScaledQuantity(math.MaxInt64, math.MinInt32), "1n"},
		{"NewScaledQuantity clamped", NewScaledQuantity(1, math.MaxInt32), "10e99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.q.String())
			assertInvariants(t, tt.q)
		})
	}
	assert.Equal(t, DecimalSI, NewScaledQuantity(5, Kilo).Format)
}

func TestZeroValue(t *testing.T) {
	var q Quantity
	assert.True(t, q.IsZero())
	assert.Equal(t, "0", q.String())
	assert.Equal(t, DecimalSI, q.Format)
	assert.Zero(t, q.Sign())
	assert.Zero(t, q.Value())
	assert.Zero(t, q.MilliValue())
	assert.Zero(t, q.Cmp(MustParse("0")))
	assert.Zero(t, q.Cmp(MustParse("0Ki")))
	v, ok := q.AsInt64()
	assert.True(t, ok)
	assert.Zero(t, v)
	b, err := q.MarshalJSON()
	require.NoError(t, err)
	assert.Equal(t, `"0"`, string(b))
}

func TestFormatString(t *testing.T) {
	assert.Equal(t, "DecimalSI", DecimalSI.String())
	assert.Equal(t, "BinarySI", BinarySI.String())
	assert.Equal(t, "DecimalExponent", DecimalExponent.String())
	assert.Equal(t, "Format(7)", Format(7).String())
}

func TestCmp(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"0", "0", 0},
		{"0", "-0Ki", 0},
		{"100m", "50m", 1},
		{"50m", "100m", -1},
		{"10000T", "100Gi", 1},
		{"1k", "1000", 0},
		{"1k", "1e3", 0},
		{"1Ki", "1024", 0},
		{"1Ki", "1k", 1},
		{"1.5", "1500m", 0},
		{"-1", "1", -1},
		{"-1", "0", -1},
		{"1n", "0", 1},
		{"-1n", "-2n", 1},
		{"1e18", "999999999999999999999999999n", 1},
		{"9E", "9223372036854775807", -1},
		{"10E", "9223372036854775807", 1},
		{"-10E", "-9223372036854775807", -1},
		// Exponents too far apart to align in an int64.
		{"1e90", "1n", 1},
		{"-1e90", "-1n", -1},
		{"1n", "1e90", -1},
		{"-1n", "-1e90", 1},
		// Across the int64 and big-integer forms.
		{"9223372036854775808", "9223372036854775807", 1},
		{"9223372036854775807", "9223372036854775808", -1},
		{"-9223372036854775809", "-9223372036854775808", -1},
		{"123456789012345678901234567890", "123456789012345678901234567890", 0},
		{"123456789012345678901234567890", "123456789012345678901234567891", -1},
		{"123456789012345678901234567890", "-1", 1},
		{"-123456789012345678901234567890", "1", -1},
		{"12345678901234567890.123456789", "12345678901234567890", 1},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			a, b := MustParse(tt.a), MustParse(tt.b)
			assert.Equal(t, tt.want, a.Cmp(b))
			assert.Equal(t, -tt.want, b.Cmp(a))
			assert.Equal(t, tt.want == 0, a.Equal(b))
		})
	}
	// Extreme int64 mantissas at different exponents.
	assert.Equal(t, 1, NewQuantity(math.MaxInt64, DecimalSI).Cmp(NewMilliQuantity(math.MaxInt64, DecimalSI)))
	assert.Equal(t, -1, NewQuantity(math.MinInt64, DecimalSI).Cmp(NewMilliQuantity(math.MinInt64, DecimalSI)))
	assert.Equal(t, -1, NewMilliQuantity(math.MaxInt64, DecimalSI).Cmp(plus(NewScaledQuantity(1, Exa), NewQuantity(1, DecimalSI))))
	assert.Equal(t, 1, MustParse("2").CmpInt64(1))
	assert.Equal(t, 0, MustParse("1k").CmpInt64(1000))
	assert.Equal(t, -1, MustParse("999m").CmpInt64(1))
}

func TestAddSub(t *testing.T) {
	tests := []struct {
		a, b     string
		sum      string
		diff     string
		sumFmt   Format
		diffFmt  Format
		sumIsBig bool
	}{
		{"10", "1e1", "20", "0", DecimalSI, DecimalSI, false},
		{"10", "1Ki", "1034", "-1014", DecimalSI, DecimalSI, false},
		{"1Ki", "10", "1034", "1014", BinarySI, BinarySI, false},
		{"1Gi", "1Gi", "2Gi", "0", BinarySI, BinarySI, false},
		{"1Gi", "100m", "1073741824100m", "1073741823900m", BinarySI, BinarySI, false},
		{"100m", "250m", "350m", "-150m", DecimalSI, DecimalSI, false},
		{"1.5", "2e3", "2001500m", "-1998500m", DecimalSI, DecimalSI, false},
		{"2e3", "1.5", "2001500e-3", "1998500e-3", DecimalExponent, DecimalExponent, false},
		// A zero receiver takes the other operand's format.
		{"0", "100m", "100m", "-100m", DecimalSI, DecimalSI, false},
		{"0", "1Gi", "1Gi", "-1Gi", BinarySI, BinarySI, false},
		{"0Ki", "2e3", "2e3", "-2e3", DecimalExponent, DecimalExponent, false},
		{"100m", "0", "100m", "100m", DecimalSI, DecimalSI, false},
		{"1Gi", "0", "1Gi", "1Gi", BinarySI, BinarySI, false},
		// Overflowing the int64 form moves to big integers, exactly.
		{"9223372036854775807", "1", "9223372036854775808", "9223372036854775806", DecimalSI, DecimalSI, true},
		{"-9223372036854775808", "-1", "-9223372036854775809", "-9223372036854775807", DecimalSI, DecimalSI, true},
		{"1n", "9E", "9000000000000000000000000001n", "-8999999999999999999999999999n", DecimalSI, DecimalSI, true},
		{"1e90", "1n", "1" + strings.Repeat("0", 98) + "1e-9", strings.Repeat("9", 99) + "e-9", DecimalExponent, DecimalExponent, true},
		{"1n", "1e90", "1" + strings.Repeat("0", 98) + "1n", "-" + strings.Repeat("9", 99) + "n", DecimalSI, DecimalSI, true},
		{"123456789012345678901234567890", "-123456789012345678901234567890", "0", "246913578024691357802469135780", DecimalSI, DecimalSI, false},
		{"123456789012345678901234567890", "10", "123456789012345678901234567900", "123456789012345678901234567880", DecimalSI, DecimalSI, true},
	}
	for _, tt := range tests {
		t.Run(tt.a+" and "+tt.b, func(t *testing.T) {
			a, b := MustParse(tt.a), MustParse(tt.b)
			sum := a
			sum.Add(b)
			assert.Equal(t, tt.sum, sum.String())
			assert.Equal(t, tt.sumFmt, sum.Format)
			assert.Equal(t, tt.sumIsBig, sum.big != nil)
			assertInvariants(t, sum)

			diff := a
			diff.Sub(b)
			assert.Equal(t, tt.diff, diff.String())
			assert.Equal(t, tt.diffFmt, diff.Format)
			assertInvariants(t, diff)

			// The operands are unchanged, and the operations undo each
			// other.
			assert.Equal(t, MustParse(tt.a).String(), a.String())
			assert.Equal(t, MustParse(tt.b).String(), b.String())
			sum.Sub(b)
			assert.Zero(t, sum.Cmp(a))
			diff.Add(b)
			assert.Zero(t, diff.Cmp(a))
		})
	}
}

func TestBigResultReturnsToInt64(t *testing.T) {
	q := MustParse("9E")
	q.Add(MustParse("1n"))
	require.NotNil(t, q.big)
	q.Sub(MustParse("1n"))
	assert.Nil(t, q.big, "9E fits the int64 form again")
	assert.Equal(t, "9E", q.String())

	m := NewQuantity(math.MinInt64, DecimalSI)
	m.Neg()
	require.NotNil(t, m.big)
	assert.Equal(t, "9223372036854775808", m.String())
	m.Neg()
	assert.Nil(t, m.big)
	assert.Equal(t, int64(math.MinInt64), m.Value())
}

func TestSharedBigIsNotModified(t *testing.T) {
	a := MustParse("123456789012345678901234567890")
	b := a // shares the big integer
	b.Add(MustParse("1"))
	b.Neg()
	b.Sub(MustParse("5"))
	assert.Equal(t, "123456789012345678901234567890", a.String())
	assert.Equal(t, "-123456789012345678901234567896", b.String())
	c := a.DeepCopy()
	var d Quantity
	a.DeepCopyInto(&d)
	c.Neg()
	assert.Equal(t, "123456789012345678901234567890", d.String())
	assert.Equal(t, "123456789012345678901234567890", a.String())
	u, e := a.AsDecimal()
	u.SetInt64(7)
	assert.Equal(t, int32(1), e)
	assert.Equal(t, "123456789012345678901234567890", a.String())
}

func TestAddSubRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, scale := range []Scale{Nano, Milli, 0, 3, 7, Exa} {
		var q Quantity
		var added []int64
		for range 200 {
			v := rng.Int64() - rng.Int64()
			added = append(added, v)
			q.Add(NewScaledQuantity(v, scale))
		}
		for _, v := range added {
			q.Sub(NewScaledQuantity(v, scale))
		}
		assert.True(t, q.IsZero(), "scale %d: %s", scale, q)
	}
	var q Quantity
	var added []Quantity
	for range 500 {
		v := NewScaledQuantity(rng.Int64()-rng.Int64(), Scale(rng.IntN(28)-9))
		added = append(added, v)
		q.Add(v)
	}
	for _, v := range added {
		q.Sub(v)
	}
	assert.True(t, q.IsZero(), "across scales: %s", q)
}

func TestNeg(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"},
		{"9.01", "-9010m"},
		{"-1Ki", "1Ki"},
		{"1e90", "-1e90"},
		{"-9223372036854775808", "9223372036854775808"},
		{"9223372036854775808", "-9223372036854775808"},
	}
	for _, tt := range tests {
		q := MustParse(tt.in)
		f := q.Format
		q.Neg()
		assert.Equal(t, tt.want, q.String(), tt.in)
		assert.Equal(t, f, q.Format)
		q.Neg()
		assert.Zero(t, q.Cmp(MustParse(tt.in)))
	}
}

func TestSign(t *testing.T) {
	assert.Equal(t, 1, MustParse("1n").Sign())
	assert.Equal(t, -1, MustParse("-1n").Sign())
	assert.Equal(t, 0, MustParse("-0").Sign())
	assert.Equal(t, 1, MustParse("1e90").Sign())
	assert.Equal(t, -1, MustParse("-1e90").Sign())
	assert.False(t, MustParse("1e90").IsZero())
}

func TestValues(t *testing.T) {
	tests := []struct {
		in          string
		value       int64
		milli       int64
		asInt       int64
		asIntExists bool
	}{
		{"0", 0, 0, 0, true},
		{"1", 1, 1000, 1, true},
		{"1k", 1000, 1000000, 1000, true},
		{"1000m", 1, 1000, 1, true},
		{"100m", 1, 100, 0, false},
		{"1.5", 2, 1500, 0, false},
		{"-1.5", -2, -1500, 0, false},
		{"1n", 1, 1, 0, false},
		{"-1n", -1, -1, 0, false},
		{"1.5Gi", 1610612736, 1610612736000, 1610612736, true},
		{"9.01", 10, 9010, 0, false},
		{"-9.01", -10, -9010, 0, false},
		{"9223372036854775807", math.MaxInt64, math.MaxInt64, math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, math.MinInt64, math.MinInt64, true},
		{"9223372036854775808", math.MaxInt64, math.MaxInt64, 0, false},
		{"9223372036854775806.5", math.MaxInt64, math.MaxInt64, 0, false},
		{"9223372036854775807.5", math.MaxInt64, math.MaxInt64, 0, false},
		{"-9223372036854775808.5", math.MinInt64, math.MinInt64, 0, false},
		{"12345678901234567890.123456789", math.MaxInt64, math.MaxInt64, 0, false},
		{"1e19", math.MaxInt64, math.MaxInt64, 0, false},
		{"1e90", math.MaxInt64, math.MaxInt64, 0, false},
		{"-1e90", math.MinInt64, math.MinInt64, 0, false},
		{"9E", 9000000000000000000, math.MaxInt64, 9000000000000000000, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q := MustParse(tt.in)
			assert.Equal(t, tt.value, q.Value())
			assert.Equal(t, tt.milli, q.MilliValue())
			v, ok := q.AsInt64()
			assert.Equal(t, tt.asIntExists, ok)
			assert.Equal(t, tt.asInt, v)
		})
	}
}

func TestScaledValue(t *testing.T) {
	tests := []struct {
		from, to Scale
		want     int64
	}{
		{Nano, Nano, 1},
		{Nano, Micro, 1},
		{Nano, Milli, 1},
		{Nano, 0, 1},
		{Micro, Nano, 1000},
		{Micro, Micro, 1},
		{Micro, 0, 1},
		{Milli, Nano, 1000 * 1000},
		{Milli, Micro, 1000},
		{0, Nano, 1000 * 1000 * 1000},
		{0, Milli, 1000},
		{0, 0, 1},
		{2, -2, 100 * 100},
		{0, Exa, 1},
		{0, 100, 1},
		{0, math.MaxInt32, 1},
		{18, -1, math.MaxInt64},
		{0, math.MinInt32, math.MaxInt64},
	}
	for _, tt := range tests {
		q := NewScaledQuantity(1, tt.from)
		assert.Equal(t, tt.want, q.ScaledValue(tt.to), "%d to %d", tt.from, tt.to)
		q.Neg()
		if tt.want == math.MaxInt64 {
			assert.Equal(t, int64(math.MinInt64), q.ScaledValue(tt.to))
		} else {
			assert.Equal(t, -tt.want, q.ScaledValue(tt.to), "-%d to %d", tt.from, tt.to)
		}
	}
	big := MustParse("123456789012345678901234567890")
	assert.Equal(t, int64(123456789013), big.ScaledValue(Scale(18)))
	assert.Equal(t, int64(1), big.ScaledValue(Scale(40)))
	assert.Equal(t, int64(1), big.ScaledValue(math.MaxInt32))
	assert.Equal(t, int64(math.MaxInt64), big.ScaledValue(Nano))
}

func TestAsDecimal(t *testing.T) {
	u, e := MustParse("1.5Gi").AsDecimal()
	assert.Equal(t, "1610612736", u.String())
	assert.Equal(t, int32(0), e)
	u, e = MustParse("1.5").AsDecimal()
	assert.Equal(t, "15", u.String())
	assert.Equal(t, int32(-1), e)
	u, e = MustParse("-12345678901234567890.123456789").AsDecimal()
	assert.Equal(t, "-12345678901234567890123456789", u.String())
	assert.Equal(t, int32(-9), e)
	u, e = Quantity{}.AsDecimal()
	assert.Equal(t, "0", u.String())
	assert.Equal(t, int32(0), e)
}

func TestDeepCopyDoesNotAllocate(t *testing.T) {
	fast, slow := MustParse("1.5Gi"), MustParse("123456789012345678901234567890")
	var sink Quantity
	allocs := testing.AllocsPerRun(100, func() {
		sink = fast.DeepCopy()
		sink = slow.DeepCopy()
		fast.DeepCopyInto(&sink)
	})
	assert.Zero(t, allocs)
	assert.Zero(t, sink.Cmp(fast))
}

func TestFastPathDoesNotAllocate(t *testing.T) {
	values := []Quantity{MustParse("100m"), MustParse("1Gi"), MustParse("2"), MustParse("250m"), MustParse("1.5Gi")}
	var sum Quantity
	var c int
	allocs := testing.AllocsPerRun(100, func() {
		sum = Quantity{}
		for _, v := range values {
			sum.Add(v)
			c += sum.Cmp(v)
		}
		sum.Sub(values[0])
		_, _ = ParseQuantity("128Mi")
		_, _ = ParseQuantity("1.5")
		_ = sum.Value() + sum.MilliValue()
	})
	assert.Zero(t, allocs)
	assert.Equal(t, "2684354562250m", sum.String())
}

func TestOneRepresentation(t *testing.T) {
	tests := []struct{ a, b Quantity }{
		{MustParse("1k"), NewQuantity(1000, DecimalSI)},
		{MustParse("1"), plus(MustParse("100m"), MustParse("900m"))},
		{MustParse("1.5"), NewMilliQuantity(1500, DecimalSI)},
		{MustParse("0"), plus(MustParse("1"), MustParse("-1"))},
		{Quantity{}, NewScaledQuantity(0, Exa)},
		{MustParse("2Gi"), plus(MustParse("1Gi"), MustParse("1024Mi"))},
		{MustParse("9E"), plus(plus(MustParse("9E"), MustParse("1n")), MustParse("-1n"))},
		{MustParse("123456789012345678901234567890"), plus(MustParse("123456789012345678901234567889"), MustParse("1"))},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.a, tt.b)
		assertInvariants(t, tt.a)
		assertInvariants(t, tt.b)
	}
}

// assertInvariants checks the representation promises quantity.go makes.
func assertInvariants(t *testing.T, q Quantity) {
	t.Helper()
	assert.GreaterOrEqual(t, q.exp, int32(Nano), "exponent below nano: %#v", q)
	if q.big == nil && q.mant == 0 {
		assert.Zero(t, q.exp, "zero with an exponent: %#v", q)
	}
	if q.big == nil && q.mant != 0 {
		assert.NotZero(t, q.mant%10, "mantissa has a trailing zero: %#v", q)
	}
	if q.big != nil {
		assert.False(t, q.big.IsInt64(), "big form holds an int64: %#v", q)
		assert.NotZero(t, q.big.Sign())
		u := q.big.String()
		assert.NotEqual(t, byte('0'), u[len(u)-1], "big form has a trailing zero: %s", u)
	}
}
