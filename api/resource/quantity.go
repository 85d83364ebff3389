package resource

import (
	"math"
	"math/big"
	"strconv"
)

// Format is the kind of suffix a Quantity prints with. The zero Format is
// DecimalSI. A value other than the three constants prints as
// DecimalExponent, as in Kubernetes.
type Format uint8

// The formats a Quantity can have.
const (
	// DecimalSI prints with a decimal SI suffix, e.g. "12M" (12 * 10^6) or
	// "500m".
	DecimalSI Format = iota
	// BinarySI prints with a binary SI suffix, e.g. "12Mi" (12 * 2^20).
	BinarySI
	// DecimalExponent prints with a decimal exponent, e.g. "12e6".
	DecimalExponent
)

// String returns the name of f, e.g. "BinarySI", as Kubernetes spells it.
func (f Format) String() string {
	switch f {
	case DecimalSI:
		return "DecimalSI"
	case BinarySI:
		return "BinarySI"
	case DecimalExponent:
		return "DecimalExponent"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// Scale is a power of ten, used by NewScaledQuantity and
// Quantity.ScaledValue: a value v at scale s is v * 10^s.
type Scale int32

// Common scales.
const (
	Nano  Scale = -9
	Micro Scale = -6
	Milli Scale = -3
	Kilo  Scale = 3
	Mega  Scale = 6
	Giga  Scale = 9
	Tera  Scale = 12
	Peta  Scale = 15
	Exa   Scale = 18
)

// maxScale is the largest scale NewScaledQuantity honours; a larger one is
// clamped to it. It keeps every exponent small so that aligning two
// quantities for Add or Cmp stays cheap.
const maxScale = 100

// Quantity is an exact decimal number with a Format, such as "500m" or
// "128Mi". See the package documentation for its syntax, precision and
// canonical form.
//
// The zero value is 0 in DecimalSI. A Quantity is a small value: pass and
// copy it freely. Methods with a value receiver do not modify it and are safe
// to call from many goroutines at once; Add, Sub, Neg, UnmarshalJSON and
// UnmarshalText modify the receiver. Compare quantities with Cmp or Equal,
// not with ==.
type Quantity struct {
	// When big is nil the value is mant * 10^exp; otherwise it is
	// big * 10^exp and big does not fit an int64. Neither mant nor big has
	// trailing decimal zeros, and zero is mant 0 with exp 0, so a value has
	// exactly one representation. big is never modified after it is
	// stored, so copies may share it. exp is at least -9 (nano).
	big  *big.Int
	mant int64
	exp  int32

	// Format is the kind of suffix the quantity prints with. Setting it
	// changes how the value prints, never the value.
	Format Format
}

// MustParse is ParseQuantity that panics on error. It is meant for tests and
// for constants known to be valid, e.g. MustParse("500m").
func MustParse(s string) Quantity {
	q, err := ParseQuantity(s)
	if err != nil {
		panic(err)
	}
	return q
}

// NewQuantity returns the quantity v (a whole number) in format f.
func NewQuantity(v int64, f Format) Quantity {
	q := small(v, 0)
	q.Format = f
	return q
}

// NewMilliQuantity returns the quantity v/1000 in format f. A BinarySI
// quantity that is not a whole number, or is below 1024 in magnitude, prints
// in DecimalSI ("1024m").
func NewMilliQuantity(v int64, f Format) Quantity {
	if v == 0 {
		return Quantity{Format: f}
	}
	q := small(v, int64(Milli))
	q.Format = f
	return q
}

// NewScaledQuantity returns the quantity v * 10^scale in DecimalSI. A scale
// below Nano keeps nano precision, rounding a finer value away from zero as
// ParseQuantity does (NewScaledQuantity(1, -12) is 1n); a scale above 100 is
// taken as 100.
func NewScaledQuantity(v int64, scale Scale) Quantity {
	if v == 0 {
		return Quantity{}
	}
	e := int64(scale)
	if e > maxScale {
		e = maxScale
	}
	if e < int64(Nano) {
		d := int64(Nano) - e
		if d > 18 {
			v = int64(sign64(v)) // |v| < 10^19 <= 10^d: rounds to one nano
		} else {
			p := pow10[d]
			quo := v / p
			if v%p != 0 {
				quo += int64(sign64(v))
			}
			v = quo
		}
		e = int64(Nano)
	}
	return small(v, e)
}

// IsZero reports whether q is zero. It is what the omitzero JSON option
// consults.
func (q Quantity) IsZero() bool {
	return q.big == nil && q.mant == 0
}

// Sign returns -1, 0 or +1 as q is negative, zero or positive.
func (q Quantity) Sign() int {
	if q.big != nil {
		return q.big.Sign()
	}
	return sign64(q.mant)
}

// Cmp returns -1, 0 or +1 as q is less than, equal to or greater than y.
// Formats do not take part: "1k" equals "1000" and "1e3".
func (q Quantity) Cmp(y Quantity) int {
	if q.big == nil && y.big == nil {
		if q.exp == y.exp {
			return cmp64(q.mant, y.mant)
		}
		qs, ys := sign64(q.mant), sign64(y.mant)
		if qs != ys {
			return cmpInt(qs, ys)
		}
		// Same sign, both non-zero: bring the one with the larger exponent
		// down to the other's. If that overflows, it has the larger
		// magnitude.
		if q.exp > y.exp {
			if a, ok := mulPow10(q.mant, int64(q.exp)-int64(y.exp)); ok {
				return cmp64(a, y.mant)
			}
			return qs
		}
		if b, ok := mulPow10(y.mant, int64(y.exp)-int64(q.exp)); ok {
			return cmp64(q.mant, b)
		}
		return -ys
	}
	qs, ys := q.Sign(), y.Sign()
	if qs != ys {
		return cmpInt(qs, ys)
	}
	e := min(q.exp, y.exp)
	return q.bigView(e).Cmp(y.bigView(e))
}

// CmpInt64 compares q with the whole number y, as Cmp does.
func (q Quantity) CmpInt64(y int64) int {
	return q.Cmp(Quantity{mant: y})
}

// Equal reports whether q and y have the same value, whatever their formats.
func (q Quantity) Equal(y Quantity) bool {
	return q.Cmp(y) == 0
}

// Add sets q to q + y, exactly. The result keeps q's format, unless q was
// zero, in which case it takes y's. Like Kubernetes' Quantity.Add, it
// modifies the receiver: sum.Add(x) accumulates into sum.
func (q *Quantity) Add(y Quantity) {
	if q.IsZero() {
		q.Format = y.Format
	}
	if q.big == nil && y.big == nil {
		if m, e, ok := addFast(q.mant, q.exp, y.mant, y.exp); ok {
			q.mant, q.exp = normalize(m, e)
			return
		}
	}
	e := min(q.exp, y.exp)
	x := q.bigAt(e)
	q.setBig(x.Add(x, y.bigView(e)), e)
}

// Sub sets q to q - y, exactly. The result keeps q's format, unless q was
// zero, in which case it takes y's. Like Add, it modifies the receiver.
func (q *Quantity) Sub(y Quantity) {
	if q.IsZero() {
		q.Format = y.Format
	}
	if q.big == nil && y.big == nil && y.mant != math.MinInt64 {
		if m, e, ok := addFast(q.mant, q.exp, -y.mant, y.exp); ok {
			q.mant, q.exp = normalize(m, e)
			return
		}
	}
	e := min(q.exp, y.exp)
	x := q.bigAt(e)
	q.setBig(x.Sub(x, y.bigView(e)), e)
}

// Neg sets q to -q. It modifies the receiver and keeps its format.
func (q *Quantity) Neg() {
	if q.big == nil && q.mant != math.MinInt64 {
		q.mant = -q.mant
		return
	}
	x := q.bigAt(q.exp)
	q.setBig(x.Neg(x), q.exp)
}

// Value returns q as a whole number, rounded away from zero ("1.5" is 2,
// "-1.5" is -2) as in Kubernetes. A value beyond the int64 range saturates
// at math.MaxInt64 or math.MinInt64; Kubernetes leaves that case undefined.
func (q Quantity) Value() int64 {
	return q.ScaledValue(0)
}

// MilliValue returns q * 1000 as a whole number, rounded and saturated as
// Value is. "100m" is 100 and "2" is 2000.
func (q Quantity) MilliValue() int64 {
	return q.ScaledValue(Milli)
}

// ScaledValue returns q / 10^scale as a whole number, rounded away from zero
// and saturated at the int64 range. ScaledValue(Milli) is MilliValue and
// ScaledValue(0) is Value.
func (q Quantity) ScaledValue(scale Scale) int64 {
	shift := int64(q.exp) - int64(scale) // the result is mantissa * 10^shift
	if q.big == nil {
		m := q.mant
		switch {
		case m == 0:
			return 0
		case shift >= 0:
			if v, ok := mulPow10(m, shift); ok {
				return v
			}
			return saturate(sign64(m))
		case shift < -18:
			return int64(sign64(m)) // 0 < |m| < 10^19 <= 10^-shift
		}
		p := pow10[-shift]
		quo := m / p
		if m%p != 0 {
			quo += int64(sign64(m))
		}
		return quo
	}
	s := q.big.Sign()
	if shift >= 0 {
		return saturate(s) // q.big alone is beyond the int64 range
	}
	if -shift > int64(q.big.BitLen()) {
		return int64(s) // 0 < |big| < 2^BitLen < 10^-shift
	}
	quo, rem := new(big.Int).QuoRem(q.big, pow10Big(-shift), new(big.Int))
	if rem.Sign() != 0 {
		quo.Add(quo, big.NewInt(int64(s)))
	}
	if !quo.IsInt64() {
		return saturate(s)
	}
	return quo.Int64()
}

// AsInt64 returns q as an int64 and true if q is a whole number in the int64
// range, and 0 and false otherwise.
func (q Quantity) AsInt64() (int64, bool) {
	if q.big != nil {
		// A stored big integer has no trailing zeros and does not fit an
		// int64, so q is either fractional or beyond the int64 range.
		return 0, false
	}
	if q.exp >= 0 {
		return mulPow10(q.mant, int64(q.exp))
	}
	if -q.exp > 18 {
		return 0, q.mant == 0
	}
	p := pow10[-q.exp]
	if q.mant%p != 0 {
		return 0, false
	}
	return q.mant / p, true
}

// AsDecimal returns q exactly as unscaled * 10^exponent. The big.Int is a
// new one that the caller owns.
func (q Quantity) AsDecimal() (unscaled *big.Int, exponent int32) {
	return q.bigAt(q.exp), q.exp
}

// DeepCopy returns a copy of q. Since a Quantity never shares mutable state,
// this is the same as assignment and does not allocate.
func (q Quantity) DeepCopy() Quantity {
	return q
}

// DeepCopyInto copies q into out.
func (q *Quantity) DeepCopyInto(out *Quantity) {
	*out = *q
}

// bigAt returns q's value as a new big.Int scaled to exponent e, which must
// not exceed q.exp: the result times 10^e is q.
func (q Quantity) bigAt(e int32) *big.Int {
	z := new(big.Int)
	if q.big != nil {
		z.Set(q.big)
	} else {
		z.SetInt64(q.mant)
	}
	if d := int64(q.exp) - int64(e); d > 0 && z.Sign() != 0 {
		z.Mul(z, pow10Big(d))
	}
	return z
}

// bigView is bigAt for a caller that only reads the result: it may return
// q.big itself.
func (q Quantity) bigView(e int32) *big.Int {
	if q.big != nil && q.exp == e {
		return q.big
	}
	return q.bigAt(e)
}

// setBig sets q's value to z * 10^e, keeping q's format. It takes ownership
// of z.
func (q *Quantity) setBig(z *big.Int, e int32) {
	f := q.Format
	*q = fromBig(z, int64(e))
	q.Format = f
}

// fromBig returns the DecimalSI quantity z * 10^e, taking ownership of z. It
// strips z's trailing zeros and uses the int64 form when the result fits.
func fromBig(z *big.Int, e int64) Quantity {
	if z.Sign() == 0 {
		return Quantity{}
	}
	if z.Bit(0) == 0 { // only an even number can end in a decimal zero
		ten := big.NewInt(10)
		quo, rem := new(big.Int), new(big.Int)
		for {
			quo.QuoRem(z, ten, rem)
			if rem.Sign() != 0 {
				break
			}
			z, quo = quo, z
			e++
		}
	}
	if z.IsInt64() {
		return small(z.Int64(), e)
	}
	return Quantity{big: z, exp: int32(e)}
}

// addFast returns a*10^ea + b*10^eb as m*10^e if that fits an int64 at the
// smaller of the two exponents.
func addFast(a int64, ea int32, b int64, eb int32) (m int64, e int32, ok bool) {
	switch {
	case ea > eb:
		if a, ok = mulPow10(a, int64(ea)-int64(eb)); !ok {
			return 0, 0, false
		}
		e = eb
	case eb > ea:
		if b, ok = mulPow10(b, int64(eb)-int64(ea)); !ok {
			return 0, 0, false
		}
		e = ea
	default:
		e = ea
	}
	m = a + b
	if (a^m)&(b^m) < 0 { // both operands differ in sign from the sum
		return 0, 0, false
	}
	return m, e, true
}

// small returns the DecimalSI quantity m * 10^e; e must fit an int32.
func small(m int64, e int64) Quantity {
	mant, exp := normalize(m, int32(e))
	return Quantity{mant: mant, exp: exp}
}

// normalize strips m's trailing decimal zeros into e, and makes zero 0*10^0,
// so that one value has one int64 representation.
func normalize(m int64, e int32) (int64, int32) {
	if m == 0 {
		return 0, 0
	}
	for m%10 == 0 {
		m /= 10
		e++
	}
	return m, e
}

// pow10 holds the powers of ten that fit an int64, and maxMul[n] the largest
// int64 that can be multiplied by pow10[n] without overflow. Neither is ever
// modified.
var (
	pow10 = [19]int64{
		1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
		10000000000, 100000000000, 1000000000000, 10000000000000, 100000000000000,
		1000000000000000, 10000000000000000, 100000000000000000, 1000000000000000000,
	}
	maxMul = [19]int64{
		9223372036854775807, 922337203685477580, 92233720368547758,
		9223372036854775, 922337203685477, 92233720368547,
		9223372036854, 922337203685, 92233720368,
		9223372036, 922337203, 92233720,
		9223372, 922337, 92233,
		9223, 922, 92,
		9,
	}
)

// mulPow10 returns x * 10^n and whether it fits an int64. n must be >= 0.
func mulPow10(x int64, n int64) (int64, bool) {
	if x == 0 || n == 0 {
		return x, true
	}
	if n > 18 {
		return 0, false
	}
	lim := maxMul[n]
	if x > lim || x < -lim {
		return 0, false
	}
	return x * pow10[n], true
}

// pow10Big returns a new big.Int holding 10^n, n >= 0.
func pow10Big(n int64) *big.Int {
	if n <= 18 {
		return big.NewInt(pow10[n])
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil)
}

func sign64(x int64) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpInt(a, b int) int {
	return cmp64(int64(a), int64(b))
}

func saturate(sign int) int64 {
	if sign < 0 {
		return math.MinInt64
	}
	return math.MaxInt64
}
