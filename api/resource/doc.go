// Package resource implements Quantity, the exact fixed-point number Drover
// uses for resource requests and limits, node capacity and quota: "500m" of
// CPU, "128Mi" of memory. It reads and writes the same strings as Kubernetes'
// resource.Quantity, so manifests move between the two unchanged, and it
// never uses floating point.
//
// # Syntax
//
// ParseQuantity accepts the Kubernetes grammar:
//
//	<quantity>        ::= <sign>? <number> <suffix>
//	<sign>            ::= "+" | "-"
//	<number>          ::= <digits> | <digits> "." <digits>? | "." <digits>
//	<suffix>          ::= <decimalSI> | <binarySI> | <decimalExponent>
//	<decimalSI>       ::= "n" | "u" | "m" | "" | "k" | "M" | "G" | "T" | "P" | "E"
//	<binarySI>        ::= "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"
//	<decimalExponent> ::= ("e" | "E") <sign>? <digits>
//
// so "100m", "1.5", "128Mi", "1G", "2e3", "-1", ".5" and "0" are all
// quantities. Note that "E" alone is exa (10^18) while "E3" is an exponent,
// and that 1Ki is 1024 but 1k is 1000. Whitespace is not allowed, and at least
// one digit is required (Kubernetes also reads "." and "-" as zero; Drover
// rejects them).
//
// # Formats
//
// A Quantity remembers which kind of suffix it was written with, its Format:
// DecimalSI ("1.5k"), BinarySI ("128Mi") or DecimalExponent ("2e3"), and
// prints itself with the same kind of suffix. The result of Add or Sub keeps
// the receiver's format, except that a zero receiver takes the other
// operand's, so a sum that starts from the zero Quantity prints like its
// first non-zero addend.
//
// Decoding (UnmarshalJSON, and the protobuf decoding of API objects) gives
// a quantity the format its canonical form parses with (ParseWire), so that
// decoding an encoding gives the same Quantity back: "1.5Ki" decodes as
// 1536 in DecimalSI, since it prints as "1536", and "1.5e3" as 1500 in
// DecimalSI. Kubernetes, which returns what it decoded from storage, gives
// clients the same. ParseQuantity and UnmarshalText keep the suffix written.
//
// # Precision
//
// Values are exact, down to nano (10^-9). A finer value is rounded away from
// zero to the next whole nano when it is parsed, for negative values as well
// as positive ones, as Kubernetes does: "0.0000000001" and "0.9n" are "1n",
// "-1.5n" is "-2n". Anything asked for is at least the smallest amount that
// can be given.
//
// Like Kubernetes, ParseQuantity caps a binary-SI quantity at 2^63-1 in
// magnitude ("9Ei" parses as 9223372036854775807), and a binary-SI value
// strictly between -1 and 1 becomes DecimalSI. Decimal quantities are not
// capped.
//
// # Canonical form
//
// String, MarshalJSON and MarshalText print the canonical form, exactly as
// Kubernetes does: the suffix or exponent is the largest one that loses no
// precision and leaves no fractional digits. "1.5" prints as "1500m", "0.1"
// as "100m", "1000" as "1k", "1500" as "1500", "1024Mi" as "1Gi", "1.5Gi" as
// "1536Mi" and "2e3" as "2e3". Zero is always "0". A binary-SI value below
// 1024 in magnitude, or one that is not a whole number, prints in decimal SI
// ("0.5Ki" is "512", "1.0001Ki" is "1024102400u"). A decimal-SI value too
// large for the "E" suffix prints with an exponent ("1000E" is "1e21"). The
// canonical string of a parsed quantity parses back to the same value.
//
// # Limits
//
// ParseQuantity rejects a decimal quantity whose magnitude is 10^100 or more,
// with an error that wraps ErrRange, so a hostile "1e999999999" costs time
// linear in its length and no large numbers. Digits below nano only decide
// the rounding, so a long tail of fractional digits is cheap too. Arithmetic
// is exact and unbounded; a sum can grow past what ParseQuantity accepts.
//
// # Representation
//
// A Quantity is a 24-byte value: an int64 mantissa and a decimal exponent
// when the value fits (the common case, which parses, adds and compares
// without allocating), and a math/big integer otherwise. The big integer is
// never modified once stored, so copying a Quantity by assignment, by
// reflection or with DeepCopy is always safe. Each value has one
// representation, so two quantities with the same value and Format are
// reflect.DeepEqual (testify's assert.Equal works on structs holding them).
// Still, compare values with Cmp or Equal: they ignore the format, and ==
// compares big integers by pointer.
//
// The zero Quantity is valid and is 0 in DecimalSI; it is what IsZero reports
// on, so a field tagged `json:",omitzero"` is left out when it is zero.
package resource
