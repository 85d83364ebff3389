package resource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// MarshalJSON writes q as a JSON string holding its canonical form, e.g.
// "1536Mi". It never fails.
func (q Quantity) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 24)
	b = append(b, '"')
	b = q.appendCanonical(b)
	return append(b, '"'), nil
}

// UnmarshalJSON sets q from a JSON string ("500m") or a JSON number (2, 0.5,
// 1e3), as Kubernetes does; YAML such as "cpu: 2" reaches it as a number.
// q gets the format its canonical form decodes with (ParseWire), so that
// decoding what MarshalJSON writes gives q back.
// Whitespace around the quantity inside a string is ignored, also as in
// Kubernetes. JSON null sets q to zero. Any other JSON value, or a string or
// number that ParseQuantity rejects, is an error and leaves q unchanged.
func (q *Quantity) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		*q = Quantity{}
		return nil
	}
	var s string
	switch {
	case len(data) > 0 && data[0] == '"':
		if len(data) >= 2 && data[len(data)-1] == '"' && bytes.IndexByte(data[1:len(data)-1], '\\') < 0 &&
			bytes.IndexByte(data[1:len(data)-1], '"') < 0 {
			s = string(data[1 : len(data)-1])
		} else if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("quantity: invalid JSON string %s: %w", quoteTrunc(string(data)), err)
		}
		s = strings.TrimSpace(s)
	case len(data) > 0 && (data[0] == '-' || isDigit(data[0])):
		s = string(data)
	default:
		return fmt.Errorf("quantity: cannot decode JSON %s; want a string such as \"500m\" or \"128Mi\", or a number", quoteTrunc(string(data)))
	}
	parsed, err := ParseWire(s)
	if err != nil {
		return err
	}
	*q = parsed
	return nil
}

// MarshalText returns the canonical form of q. It implements
// encoding.TextMarshaler and never fails.
func (q Quantity) MarshalText() ([]byte, error) {
	return q.appendCanonical(nil), nil
}

// UnmarshalText sets q to ParseQuantity(string(text)). It implements
// encoding.TextUnmarshaler, so a Quantity can be a flag (flag.TextVar) or a
// YAML scalar. On error q is unchanged.
func (q *Quantity) UnmarshalText(text []byte) error {
	parsed, err := ParseQuantity(string(text))
	if err != nil {
		return err
	}
	*q = parsed
	return nil
}
