package resource

import (
	"math/big"
	"math/bits"
	"strconv"
)

// decimalSuffixes are the decimal SI suffixes by (exponent+9)/3.
var decimalSuffixes = [...]string{"n", "u", "m", "", "k", "M", "G", "T", "P", "E"}

// binarySuffixes are the binary SI suffixes by power of 1024.
var binarySuffixes = [...]string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}

// String returns the canonical form of q, as Kubernetes prints it: "1500m",
// "1536Mi", "2e3", "0". See the package documentation.
func (q Quantity) String() string {
	var buf [32]byte
	return string(q.appendCanonical(buf[:0]))
}

// AppendText appends the canonical form of q to b. It implements
// encoding.TextAppender and never fails.
func (q Quantity) AppendText(b []byte) ([]byte, error) {
	return q.appendCanonical(b), nil
}

// appendCanonical appends the canonical form of q to dst.
func (q Quantity) appendCanonical(dst []byte) []byte {
	if q.IsZero() {
		return append(dst, '0')
	}
	if q.big == nil {
		if out, ok := appendSmall(dst, q.mant, int64(q.exp), q.Format); ok {
			return out
		}
	}
	return appendBig(dst, q.bigAt(q.exp), int64(q.exp), q.Format)
}

// appendSmall appends the canonical form of the non-zero m * 10^e in format
// f using machine integers. It returns false, having appended nothing, when
// they would overflow.
func appendSmall(dst []byte, m int64, e int64, f Format) ([]byte, bool) {
	neg := m < 0
	u := uint64(m)
	if neg {
		u = -u // also right for math.MinInt64
	}
	switch f {
	case DecimalSI, DecimalExponent:
	case BinarySI:
		if e < -15 {
			return dst, false
		}
		// Below 1024 in magnitude, or not a whole number: decimal SI.
		f = DecimalSI
		if e >= 0 {
			if e > 19 {
				return dst, false
			}
			hi, n := bits.Mul64(u, uint64(pow10u(e)))
			if hi != 0 {
				return dst, false
			}
			if n >= 1024 {
				return appendBinary(dst, neg, n), true
			}
		} else {
			p := uint64(pow10[-e])
			if u%p == 0 && u/p >= 1024 {
				return appendBinary(dst, neg, u/p), true
			}
		}
	default:
		f = DecimalExponent
	}
	for u%10 == 0 {
		u /= 10
		e++
	}
	if r := mod3(e); r != 0 {
		hi, n := bits.Mul64(u, uint64(pow10[r]))
		if hi != 0 {
			return dst, false
		}
		u, e = n, e-r
	}
	if neg {
		dst = append(dst, '-')
	}
	dst = strconv.AppendUint(dst, u, 10)
	return appendDecimalSuffix(dst, e, f), true
}

// appendBinary appends the whole number n >= 1024, negated if neg, with the
// largest binary SI suffix that leaves it whole.
func appendBinary(dst []byte, neg bool, n uint64) []byte {
	k := min(bits.TrailingZeros64(n)/10, len(binarySuffixes)-1)
	if neg {
		dst = append(dst, '-')
	}
	dst = strconv.AppendUint(dst, n>>(10*k), 10)
	return append(dst, binarySuffixes[k]...)
}

// appendBig appends the canonical form of the non-zero z * 10^e in format f,
// using big integers. It takes ownership of z.
func appendBig(dst []byte, z *big.Int, e int64, f Format) []byte {
	neg := z.Sign() < 0
	z.Abs(z)
	switch f {
	case DecimalSI, DecimalExponent:
	case BinarySI:
		f = DecimalSI
		n := new(big.Int).Set(z)
		whole := true
		if e >= 0 {
			n.Mul(n, pow10Big(e))
		} else {
			rem := new(big.Int)
			n.QuoRem(n, pow10Big(-e), rem)
			whole = rem.Sign() == 0
		}
		if whole && n.Cmp(big.NewInt(1024)) >= 0 {
			k := min(n.TrailingZeroBits()/10, uint(len(binarySuffixes)-1))
			n.Rsh(n, 10*k)
			if neg {
				dst = append(dst, '-')
			}
			dst = n.Append(dst, 10)
			return append(dst, binarySuffixes[k]...)
		}
	default:
		f = DecimalExponent
	}
	if z.Bit(0) == 0 {
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
	if r := mod3(e); r != 0 {
		z.Mul(z, big.NewInt(pow10[r]))
		e -= r
	}
	if neg {
		dst = append(dst, '-')
	}
	dst = z.Append(dst, 10)
	return appendDecimalSuffix(dst, e, f)
}

// appendDecimalSuffix appends the suffix for 10^e, e a multiple of 3, in
// format f (DecimalSI or DecimalExponent). A decimal SI exponent with no
// suffix (beyond E, 10^18) is written as an exponent, as Kubernetes does.
func appendDecimalSuffix(dst []byte, e int64, f Format) []byte {
	if f == DecimalSI && e >= -9 && e <= 18 {
		return append(dst, decimalSuffixes[(e+9)/3]...)
	}
	if e == 0 {
		return dst
	}
	dst = append(dst, 'e')
	return strconv.AppendInt(dst, e, 10)
}

// mod3 returns e modulo 3, in [0, 2] even for a negative e.
func mod3(e int64) int64 {
	return ((e % 3) + 3) % 3
}

// pow10u returns 10^e for 0 <= e <= 19 as a uint64.
func pow10u(e int64) uint64 {
	if e == 19 {
		return 10000000000000000000
	}
	return uint64(pow10[e])
}
