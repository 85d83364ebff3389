package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Time is a timestamp on the wire as an RFC 3339 string in UTC with second
// precision ("2026-01-02T15:04:05Z"), or null when zero. Use it with the
// omitzero tag option to leave zero times out.
type Time struct {
	time.Time
}

// NewTime returns t truncated to the second, in UTC: the value it will have
// after a round trip through JSON.
func NewTime(t time.Time) Time {
	if t.IsZero() {
		return Time{}
	}
	return Time{t.UTC().Truncate(time.Second)}
}

// Equal reports whether t and u are the same instant; nil-safe for pointers
// via (*Time).Equal.
func (t Time) Equal(u Time) bool { return t.Time.Equal(u.Time) }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(time.RFC3339)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler. It accepts null and RFC 3339
// strings with or without fractional seconds; fractions are dropped.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*t = Time{}
		return nil
	}
	s, err := jsonString(b)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time string like \"2026-01-02T15:04:05Z\", got %s", b)
	}
	pt, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time string like \"2026-01-02T15:04:05Z\", got %q", s)
	}
	if err := checkYear(pt, s); err != nil {
		return err
	}
	*t = NewTime(pt)
	return nil
}

// MicroTime is a timestamp with microsecond precision, used by Leases and
// Events: "2026-01-02T15:04:05.000000Z" on the wire, or null when zero.
type MicroTime struct {
	time.Time
}

const rfc3339Micro = "2006-01-02T15:04:05.000000Z07:00"

// NewMicroTime returns t truncated to the microsecond, in UTC.
func NewMicroTime(t time.Time) MicroTime {
	if t.IsZero() {
		return MicroTime{}
	}
	return MicroTime{t.UTC().Truncate(time.Microsecond)}
}

// Equal reports whether t and u are the same instant.
func (t MicroTime) Equal(u MicroTime) bool { return t.Time.Equal(u.Time) }

// MarshalJSON implements json.Marshaler.
func (t MicroTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(rfc3339Micro)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, rfc3339Micro)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *MicroTime) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*t = MicroTime{}
		return nil
	}
	s, err := jsonString(b)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time string like \"2026-01-02T15:04:05.000000Z\", got %s", b)
	}
	pt, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time string like \"2026-01-02T15:04:05.000000Z\", got %q", s)
	}
	if err := checkYear(pt, s); err != nil {
		return err
	}
	*t = NewMicroTime(pt)
	return nil
}

// jsonString returns the JSON string b holds: sliced out directly when it
// is printable ASCII without escapes (a time always is), else through
// encoding/json. Times and int-or-strings decode with it on a decoder's
// hot path (every object has a creationTimestamp), where encoding/json's
// string decoding cost more than the rest of the value's decoding.
func jsonString(b []byte) (string, error) {
	if s, ok := unquotePlain(b); ok {
		return s, nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// unquotePlain returns the contents of b, a JSON string of printable ASCII
// without escapes, and false for anything else, which the caller hands to
// encoding/json: such a string means the same in JSON as its bytes.
func unquotePlain(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(in), true
}

// checkYear rejects times whose year in UTC falls outside 0000-9999, which
// RFC 3339 cannot write: "9999-12-31T23:00:00-05:00" parses, but is in the
// year 10000 in UTC and could not be encoded again.
func checkYear(t time.Time, s string) error {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("time %q is out of range: in UTC it must fall in the years 0000 to 9999", s)
	}
	return nil
}
