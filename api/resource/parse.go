package resource

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"math/bits"
	"strconv"
)

// maxMagnitude bounds what ParseQuantity accepts: a decimal quantity must be
// below 10^maxMagnitude in magnitude. It keeps hostile input such as
// "1e999999999" from building huge numbers, and is far above any real
// resource amount.
const maxMagnitude = 100

// expSaturate is where ParseQuantity stops accumulating exponent digits. Any
// exponent this large already puts the value out of range, or below nano, so
// saturating changes no result and keeps the arithmetic in int64.
const expSaturate = 1 << 40

// maxQuoted is how much of an input a ParseError quotes.
const maxQuoted = 64

// The kinds of ParseError, for errors.Is.
var (
	// ErrSyntax means the input is not a number with a suffix: it is empty,
	// has whitespace around it, or has no digits.
	ErrSyntax = errors.New("resource: malformed quantity")
	// ErrSuffix means the number is followed by something that is not a
	// known suffix or a well-formed exponent.
	ErrSuffix = errors.New("resource: unknown quantity suffix")
	// ErrRange means the quantity is too large to accept (see the package
	// documentation, Limits).
	ErrRange = errors.New("resource: quantity out of range")
)

// ParseError is the error ParseQuantity returns. Its message quotes the
// input and says what would be valid, e.g.
//
//	quantity "12x": unknown suffix "x"; allowed: n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei, or an exponent like e3
type ParseError struct {
	Input  string // the string given to ParseQuantity
	Reason string // what is wrong with it and what is allowed
	Err    error  // ErrSyntax, ErrSuffix or ErrRange
}

// Error returns the message, quoting at most the first 64 bytes of the input.
func (e *ParseError) Error() string {
	return "quantity " + quoteTrunc(e.Input) + ": " + e.Reason
}

// Unwrap returns the kind of error: ErrSyntax, ErrSuffix or ErrRange.
func (e *ParseError) Unwrap() error { return e.Err }

const (
	reasonEmpty   = "empty string; want a number with an optional suffix, e.g. 100m, 1.5 or 128Mi"
	reasonSpace   = "leading or trailing whitespace is not allowed"
	reasonNoDigit = "missing number; want an optional sign, digits with an optional decimal point, and an optional suffix, e.g. 100m, 1.5 or 128Mi"
	allowedSuffix = "allowed: n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei, or an exponent like e3"
	wantExponent  = "want e or E, an optional sign and digits, e.g. e3, E-2 or e+6"
	reasonRange   = "too large; a decimal quantity must be below 1e100 in magnitude"
)

// ParseQuantity parses s, e.g. "500m", "1.5", "128Mi" or "2e3", into an exact
// Quantity that remembers the kind of suffix s used. See the package
// documentation for the grammar, the rounding to nano and the limits. The
// error is a *ParseError.
func ParseQuantity(s string) (Quantity, error) {
	if s == "" {
		return Quantity{}, &ParseError{Input: s, Reason: reasonEmpty, Err: ErrSyntax}
	}
	if isSpace(s[0]) || isSpace(s[len(s)-1]) {
		return Quantity{}, &ParseError{Input: s, Reason: reasonSpace, Err: ErrSyntax}
	}
	i := 0
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	d := digits{a: s[start:i]}
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		d.b = s[start:i]
	}
	if d.a == "" && d.b == "" {
		return Quantity{}, &ParseError{Input: s, Reason: reasonNoDigit, Err: ErrSyntax}
	}
	format, exp10, shift, reason := parseSuffix(s[i:])
	if reason != "" {
		return Quantity{}, &ParseError{Input: s, Reason: reason, Err: ErrSuffix}
	}
	q, ok := d.quantity(exp10, shift)
	if !ok {
		return Quantity{}, &ParseError{Input: s, Reason: reasonRange, Err: ErrRange}
	}
	if shift != 0 {
		// Kubernetes caps binary quantities at 2^63-1, and shows one
		// strictly between 0 and 1 in decimal SI.
		switch {
		case q.Cmp(Quantity{mant: math.MaxInt64}) > 0:
			q = Quantity{mant: math.MaxInt64}
		case !q.IsZero() && q.Cmp(Quantity{mant: 1}) < 0:
			format = DecimalSI
		}
	}
	if neg {
		q.Neg()
	}
	q.Format = format
	return q, nil
}

// ParseWire is ParseQuantity for a quantity read from an API object's wire
// form (JSON or protobuf): the Quantity gets the format its canonical form
// parses with, so that decoding an object's encoding gives the same object
// back. "1.5Ki" is 1536, which prints as "1536" and so decodes in decimal
// SI, as Kubernetes, which stores the canonical form, returns it; "0Mi" is
// "0", also decimal SI. ParseQuantity keeps the kind of suffix s used.
func ParseWire(s string) (Quantity, error) {
	q, err := ParseQuantity(s)
	if err != nil {
		return q, err
	}
	q.Format = q.wireFormat()
	return q, nil
}

// wireFormat returns the format ParseQuantity gives q's canonical form.
func (q Quantity) wireFormat() Format {
	var buf [48]byte
	c := q.appendCanonical(buf[:0])
	switch {
	case c[len(c)-1] == 'i':
		return BinarySI
	case bytes.IndexByte(c, 'e') >= 0:
		return DecimalExponent
	}
	return DecimalSI
}

// parseSuffix interprets the suffix of a quantity: the value is the number
// times 10^exp10 times 2^shift. reason is empty if the suffix is valid.
func parseSuffix(suf string) (f Format, exp10 int64, shift uint, reason string) {
	switch suf {
	case "":
		return DecimalSI, 0, 0, ""
	case "n":
		return DecimalSI, -9, 0, ""
	case "u":
		return DecimalSI, -6, 0, ""
	case "m":
		return DecimalSI, -3, 0, ""
	case "k":
		return DecimalSI, 3, 0, ""
	case "M":
		return DecimalSI, 6, 0, ""
	case "G":
		return DecimalSI, 9, 0, ""
	case "T":
		return DecimalSI, 12, 0, ""
	case "P":
		return DecimalSI, 15, 0, ""
	case "E":
		return DecimalSI, 18, 0, ""
	case "Ki":
		return BinarySI, 0, 10, ""
	case "Mi":
		return BinarySI, 0, 20, ""
	case "Gi":
		return BinarySI, 0, 30, ""
	case "Ti":
		return BinarySI, 0, 40, ""
	case "Pi":
		return BinarySI, 0, 50, ""
	case "Ei":
		return BinarySI, 0, 60, ""
	}
	if suf[0] == 'e' || suf[0] == 'E' {
		if len(suf) == 1 || isDigit(suf[1]) || suf[1] == '+' || suf[1] == '-' {
			if v, ok := parseExponent(suf[1:]); ok {
				return DecimalExponent, v, 0, ""
			}
			return 0, 0, 0, "invalid exponent " + quoteTrunc(suf) + "; " + wantExponent
		}
	}
	return 0, 0, 0, "unknown suffix " + quoteTrunc(suf) + "; " + allowedSuffix
}

// parseExponent parses an optional sign and at least one digit, saturating
// at ±expSaturate.
func parseExponent(t string) (int64, bool) {
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	if t == "" {
		return 0, false
	}
	var v int64
	for i := 0; i < len(t); i++ {
		if !isDigit(t[i]) {
			return 0, false
		}
		if v < expSaturate {
			v = v*10 + int64(t[i]-'0')
		}
	}
	v = min(v, expSaturate)
	if neg {
		v = -v
	}
	return v, true
}

// digits is the digit string of a number, split at its decimal point: a
// holds the digits before it and b those after. The number is "a.b".
type digits struct{ a, b string }

func (d digits) len() int { return len(d.a) + len(d.b) }

func (d digits) at(i int) byte {
	if i < len(d.a) {
		return d.a[i]
	}
	return d.b[i-len(d.a)]
}

// quantity returns the non-negative quantity a.b * 10^exp10 * 2^shift,
// rounded up to a whole nano, without its format. ok is false if a decimal
// quantity (shift == 0) is too large. A binary one is never too large:
// ParseQuantity caps it at 2^63-1, so one far above that comes out as just
// 2^63-1 here.
func (d digits) quantity(exp10 int64, shift uint) (q Quantity, ok bool) {
	n := d.len()
	first := 0
	for first < n && d.at(first) == '0' {
		first++
	}
	if first == n {
		return Quantity{}, true
	}
	last := n - 1
	for d.at(last) == '0' {
		last--
	}
	// The significant digits G = d[first..last] have no leading or trailing
	// zeros, and the value is G * 10^x with 10^(top-1) <= value < 10^top.
	count := int64(last - first + 1)
	x := exp10 - int64(len(d.b)) + int64(n-1-last)
	top := count + x

	if shift == 0 {
		if top > maxMagnitude {
			return Quantity{}, false
		}
		keep := top + 9 // the digits of G worth at least one nano
		switch {
		case keep >= count:
			return d.number(first, int(count), false, 0, x), true
		case keep <= 0:
			return Quantity{mant: 1, exp: int32(Nano)}, true
		}
		// Dropping the digits below nano drops G's last digit, which is
		// not zero, so the kept part rounds up by one nano.
		if top == maxMagnitude && d.allNines(first, int(keep)) {
			return Quantity{}, false // rounds up to exactly 10^maxMagnitude
		}
		q = d.number(first, int(keep), false, 0, int64(Nano))
		q.Add(Quantity{mant: 1, exp: int32(Nano)})
		return q, true
	}

	if top >= 20 {
		// At least 10^19 before the binary multiplier, so over 2^63-1,
		// where ParseQuantity caps it anyway.
		return Quantity{mant: math.MaxInt64}, true
	}
	// Boundaries between whole nanos, expressed in the number before the
	// binary multiplier 2^shift = 10^shift / 5^shift, fall on multiples of
	// 10^-(9+shift). Digits below that only tell whether the value is past
	// a multiple, so they are replaced by a single 1 one place lower.
	hi := top + 9 + int64(shift)
	sticky := hi < count
	if sticky {
		count = max(hi, 0)
		x = -10 - int64(shift)
	}
	return d.number(first, int(count), sticky, shift, x), true
}

// number returns the non-negative quantity (D * 2^shift) * 10^x rounded up to
// a whole nano, where D is the count digits of d from index first, followed
// by a 1 if sticky.
func (d digits) number(first, count int, sticky bool, shift uint, x int64) Quantity {
	width := count
	if sticky {
		width++
	}
	if width <= 18 {
		var u uint64
		for i := first; i < first+count; i++ {
			u = u*10 + uint64(d.at(i)-'0')
		}
		if sticky {
			u = u*10 + 1
		}
		if bits.Len64(u)+int(shift) <= 63 {
			u <<= shift
			if x >= int64(Nano) {
				return small(int64(u), x)
			}
			drop := int64(Nano) - x
			if drop > 18 {
				return Quantity{mant: 1, exp: int32(Nano)} // 0 < u < 2^63 < 10^drop
			}
			p := uint64(pow10[drop])
			quo := u / p
			if u%p != 0 {
				quo++
			}
			return small(int64(quo), int64(Nano))
		}
	}
	buf := make([]byte, 0, width)
	for i := first; i < first+count; i++ {
		buf = append(buf, d.at(i))
	}
	if sticky {
		buf = append(buf, '1')
	}
	z, _ := new(big.Int).SetString(string(buf), 10) // buf is all digits
	z.Lsh(z, shift)
	if x < int64(Nano) {
		rem := new(big.Int)
		z.QuoRem(z, pow10Big(int64(Nano)-x), rem)
		if rem.Sign() != 0 {
			z.Add(z, big.NewInt(1))
		}
		x = int64(Nano)
	}
	return fromBig(z, x)
}

// allNines reports whether the count digits of d from index first are all 9.
func (d digits) allNines(first, count int) bool {
	for i := first; i < first+count; i++ {
		if d.at(i) != '9' {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// quoteTrunc quotes s as Go would, keeping at most maxQuoted bytes of it.
func quoteTrunc(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "..."
	}
	return strconv.Quote(s)
}
