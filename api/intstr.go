package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// IntOrStringType says which half of an IntOrString is set.
type IntOrStringType int

// The kinds of value an IntOrString holds.
const (
	IntOrStringInt    IntOrStringType = iota // IntVal is set
	IntOrStringString                        // StrVal is set
)

// IntOrString holds an integer or a string, as fields like maxSurge ("25%" or
// 2) and a Service's targetPort ("http" or 8080) do. On the wire it is a JSON
// number or a JSON string.
type IntOrString struct {
	Type   IntOrStringType
	IntVal int32
	StrVal string
}

// FromInt32 returns an IntOrString holding i.
func FromInt32(i int32) IntOrString { return IntOrString{Type: IntOrStringInt, IntVal: i} }

// FromString returns an IntOrString holding s.
func FromString(s string) IntOrString { return IntOrString{Type: IntOrStringString, StrVal: s} }

// String returns the value as a string ("25%" or "3").
func (v IntOrString) String() string {
	if v.Type == IntOrStringString {
		return v.StrVal
	}
	return strconv.Itoa(int(v.IntVal))
}

// IsZero reports whether v is the integer 0, for the omitzero tag option.
// Kubernetes treats 0 as unset in fields such as a Service's targetPort;
// where an explicit 0 must survive encoding, use a *IntOrString instead.
func (v IntOrString) IsZero() bool { return v.Type == IntOrStringInt && v.IntVal == 0 }

// MarshalJSON implements json.Marshaler.
func (v IntOrString) MarshalJSON() ([]byte, error) {
	if v.Type == IntOrStringString {
		return json.Marshal(v.StrVal)
	}
	return strconv.AppendInt(nil, int64(v.IntVal), 10), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *IntOrString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		s, err := jsonString(b)
		if err != nil {
			return err
		}
		*v = FromString(s)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*v = IntOrString{}
		return nil
	}
	i, err := strconv.ParseInt(string(b), 10, 32)
	if err != nil {
		return fmt.Errorf("want a 32-bit integer or a string, got %s", b)
	}
	*v = FromInt32(int32(i))
	return nil
}

// ScaledValue resolves v against total: an integer is returned as is, and a
// percentage ("25%") is that share of total, rounded up or down. Any other
// string is an error.
func (v IntOrString) ScaledValue(total int, roundUp bool) (int, error) {
	if v.Type == IntOrStringInt {
		return int(v.IntVal), nil
	}
	pct, ok := strings.CutSuffix(v.StrVal, "%")
	if !ok {
		return 0, fmt.Errorf("invalid value %q: want an integer or a percentage like \"25%%\"", v.StrVal)
	}
	p, err := strconv.Atoi(pct)
	if err != nil {
		return 0, fmt.Errorf("invalid value %q: want an integer or a percentage like \"25%%\"", v.StrVal)
	}
	if p < 0 || total < 0 {
		return 0, fmt.Errorf("invalid value %q: percentages and totals must not be negative", v.StrVal)
	}
	n := int64(p) * int64(total)
	if roundUp {
		n += 99
	}
	return int(n / 100), nil
}
