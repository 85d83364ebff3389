package resource

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// This file holds a reference implementation, written the slow and obvious
// way with big.Rat and a regular expression, and a fuzz target that checks
// ParseQuantity and String against it.

// refGrammar is the quantity grammar of the package documentation.
var refGrammar = regexp.MustCompile(`^([+-]?)([0-9]*)(?:\.([0-9]*))?(|n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+)$`)

// refParse returns the value and format ParseQuantity should give s, and
// whether it should accept s. known is false when s is too long, or has an
// exponent too large, for the reference to compute quickly: its big.Rat
// arithmetic is superlinear in the number of digits, where ParseQuantity is
// linear.
func refParse(s string) (v *big.Rat, f Format, ok, known bool) {
	if len(s) > 1000 {
		return nil, 0, false, false
	}
	m := refGrammar.FindStringSubmatch(s)
	if m == nil || m[2] == "" && m[3] == "" {
		return nil, 0, false, true
	}
	num, _ := new(big.Int).SetString(m[2]+m[3], 10)
	v = new(big.Rat).SetFrac(num, pow10Big(int64(len(m[3]))))
	var e int64
	switch suf := m[4]; suf {
	case "n", "u", "m", "", "k", "M", "G", "T", "P", "E":
		f = DecimalSI
		e = int64(3 * (strings.Index("num kMGTPE", cond(suf == "", " ", suf)) - 3))
	case "Ki", "Mi", "Gi", "Ti", "Pi", "Ei":
		f = BinarySI
		shift := 10 * (strings.Index("KMGTPE", suf[:1]) + 1)
		v.Mul(v, new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), uint(shift))))
	default:
		f = DecimalExponent
		var err error
		if e, err = strconv.ParseInt(suf[1:], 10, 64); err != nil || e > 400 || e < -400 {
			return nil, 0, false, false
		}
	}
	if e >= 0 {
		v.Mul(v, new(big.Rat).SetInt(pow10Big(e)))
	} else {
		v.Quo(v, new(big.Rat).SetInt(pow10Big(-e)))
	}
	// Round the magnitude up to a whole nano.
	nano := new(big.Rat).Mul(v, new(big.Rat).SetInt(pow10Big(9)))
	if !nano.IsInt() {
		q := new(big.Int).Quo(nano.Num(), nano.Denom())
		q.Add(q, big.NewInt(1))
		v.SetFrac(q, pow10Big(9))
	}
	if f == BinarySI {
		if v.Cmp(new(big.Rat).SetInt64(math.MaxInt64)) > 0 {
			v.SetInt64(math.MaxInt64)
		}
		if v.Sign() != 0 && v.Cmp(big.NewRat(1, 1)) < 0 {
			f = DecimalSI
		}
	} else if v.Cmp(new(big.Rat).SetInt(pow10Big(maxMagnitude))) >= 0 {
		return nil, 0, false, true
	}
	if m[1] == "-" {
		v.Neg(v)
	}
	return v, f, true, true
}

// refCanonical returns the canonical form of v in format f, found by trying
// suffixes from the largest down.
func refCanonical(v *big.Rat, f Format) string {
	if v.Sign() == 0 {
		return "0"
	}
	sign := cond(v.Sign() < 0, "-", "")
	a := new(big.Rat).Abs(v)
	if f == BinarySI {
		if a.IsInt() && a.Cmp(big.NewRat(1024, 1)) >= 0 {
			n := new(big.Int).Set(a.Num())
			k := 0
			for k < 6 && new(big.Int).Mod(n, big.NewInt(1024)).Sign() == 0 {
				n.Quo(n, big.NewInt(1024))
				k++
			}
			return sign + n.String() + []string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}[k]
		}
		f = DecimalSI
	}
	if f != DecimalSI {
		f = DecimalExponent
	}
	for e := int64(3 * (len(a.Num().String())/3 + 1)); ; e -= 3 {
		m := new(big.Rat).Quo(a, ratPow10(e))
		if !m.IsInt() {
			continue
		}
		switch {
		case f == DecimalSI && e >= -9 && e <= 18:
			return sign + m.Num().String() + []string{"n", "u", "m", "", "k", "M", "G", "T", "P", "E"}[(e+9)/3]
		case e == 0:
			return sign + m.Num().String()
		}
		return sign + m.Num().String() + "e" + strconv.FormatInt(e, 10)
	}
}

func ratPow10(e int64) *big.Rat {
	if e >= 0 {
		return new(big.Rat).SetInt(pow10Big(e))
	}
	return new(big.Rat).SetFrac(big.NewInt(1), pow10Big(-e))
}

// rat returns q's exact value.
func (q Quantity) rat() *big.Rat {
	u, e := q.AsDecimal()
	return new(big.Rat).Mul(new(big.Rat).SetInt(u), ratPow10(int64(e)))
}

func cond[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

func TestReference(t *testing.T) {
	// The reference agrees with the table of TestParseCanonical.
	for _, s := range []string{"1.5Gi", "0.5Ki", "1000E", "2e3", "-0.0000000001", "9Ei", "1.0001Ki", "1e14"} {
		v, f, ok, known := refParse(s)
		if !ok || !known {
			t.Fatalf("%q: reference rejected it", s)
		}
		if got, want := refCanonical(v, f), MustParse(s).String(); got != want {
			t.Errorf("%q: reference prints %q, ParseQuantity %q", s, got, want)
		}
	}
}

func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{
		"0", "-0", "100m", "1.5", ".5", "1.", "128Mi", "1.5Gi", "1G", "2e3",
		"-1", "+.5e-3", "1E", "1E+3", "1e", "12x", "", " 1", "0.0000000001",
		"3.001n", "1.1E-9", "0.000000000001Ki", "0.5Ki", "1.0001Ki", "7Ei",
		"9Ei", "9223372036854775807", "9223372036854775808",
		"-9223372036854775808", "123456789012345678901234567890", "1000E",
		"1e99", "1e999999999", "1e-999999999",
		strings.Repeat("9", 100) + ".9999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkWireRoundTrip(t, s)
		q, err := ParseQuantity(s)
		want, wantFormat, wantOK, known := refParse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Input != s {
				t.Fatalf("%q: error %v is not a *ParseError for the input", s, err)
			}
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrSuffix) && !errors.Is(err, ErrRange) {
				t.Fatalf("%q: error %v has no kind", s, err)
			}
			if !strings.HasPrefix(err.Error(), "quantity ") {
				t.Fatalf("%q: message %q does not name the quantity", s, err)
			}
			if known && wantOK {
				t.Fatalf("%q: rejected (%v), but the reference reads %s", s, err, want.RatString())
			}
			return
		}
		if known {
			if !wantOK {
				t.Fatalf("%q: accepted as %s, but the reference rejects it", s, q)
			}
			if q.rat().Cmp(want) != 0 || q.Format != wantFormat {
				t.Fatalf("%q: parsed as %s %v, the reference reads %s %v", s, q.rat().RatString(), q.Format, want.RatString(), wantFormat)
			}
			if got, want := q.String(), refCanonical(want, wantFormat); got != want {
				t.Fatalf("%q: prints as %q, the reference as %q", s, got, want)
			}
		}
		if q.exp < int32(Nano) ||
			q.big == nil && (q.mant == 0 && q.exp != 0 || q.mant != 0 && q.mant%10 == 0) ||
			q.big != nil && (q.big.IsInt64() || new(big.Int).Mod(q.big, big.NewInt(10)).Sign() == 0) {
			t.Fatalf("%q: broken representation %#v", s, q)
		}

		// The canonical form parses back to the same value and is stable.
		str := q.String()
		back, err := ParseQuantity(str)
		if err != nil {
			t.Fatalf("%q: canonical form %q does not parse: %v", s, str, err)
		}
		if back.Cmp(q) != 0 || back.String() != str {
			t.Fatalf("%q: canonical form %q parses as %s", s, str, back)
		}

		// JSON round trip.
		data, err := json.Marshal(q)
		if err != nil {
			t.Fatal(err)
		}
		var fromJSON Quantity
		if err := json.Unmarshal(data, &fromJSON); err != nil {
			t.Fatalf("%q: %s does not decode: %v", s, data, err)
		}
		if fromJSON.Cmp(q) != 0 || fromJSON.String() != str {
			t.Fatalf("%q: %s decodes as %s", s, data, fromJSON)
		}

		// Arithmetic is exact, and agrees with Cmp and the int64 accessors.
		sum := q
		sum.Add(q)
		if c := sum.Cmp(q); c != q.Sign() {
			t.Fatalf("%q: q+q compares %d with q", s, c)
		}
		sum.Sub(q)
		if sum.Cmp(q) != 0 {
			t.Fatalf("%q: q+q-q is %s", s, sum)
		}
		neg := q
		neg.Neg()
		neg.Add(q)
		if !neg.IsZero() {
			t.Fatalf("%q: -q+q is %s", s, neg)
		}
		if v, ok := q.AsInt64(); ok {
			if NewQuantity(v, DecimalSI).Cmp(q) != 0 || q.Value() != v {
				t.Fatalf("%q: AsInt64 gives %d", s, v)
			}
		}
		if v := q.Value(); v != math.MaxInt64 && v != math.MinInt64 {
			// Value rounds away from zero: within one of q, on q's side.
			d := NewQuantity(v, DecimalSI)
			d.Sub(q)
			if d.Sign()*q.Sign() < 0 || d.CmpInt64(1) >= 0 || d.CmpInt64(-1) <= 0 {
				t.Fatalf("%q: Value %d is not q rounded away from zero", s, v)
			}
		}
	})
}

// checkWireRoundTrip checks that what ParseWire gives for s decodes from
// its own canonical form unchanged, format included: the property that
// lets a decoded object equal the decoding of its encoding.
func checkWireRoundTrip(t *testing.T, s string) {
	t.Helper()
	q, err := ParseWire(s)
	if err != nil {
		return
	}
	again, err := ParseWire(q.String())
	if err != nil {
		t.Fatalf("%q: its canonical form %q does not parse: %v", s, q.String(), err)
	}
	if again != q && !(again.Cmp(q) == 0 && again.Format == q.Format && again.String() == q.String()) {
		t.Fatalf("%q: %v (format %v) decodes from its canonical form %q as %v (format %v)", s, q, q.Format, q.String(), again, again.Format)
	}
	if p, _ := ParseQuantity(q.String()); p.Format != q.Format {
		t.Fatalf("%q: format %v, but ParseQuantity gives its canonical form %q format %v", s, q.Format, q.String(), p.Format)
	}
}
