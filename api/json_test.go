package api

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestUnmarshalTrustedErrorsAreEncodingJSONs checks that the fast decoder
// of the built-in kinds fails as encoding/json does, with its error types
// and words, and that users' kinds and the built-in ones decode alike.
func TestUnmarshalTrustedErrorsAreEncodingJSONs(t *testing.T) {
	type widget struct {
		TypeMeta   `json:",inline"`
		ObjectMeta `json:"metadata"`
	}
	for _, tc := range []struct {
		in   string
		want any
	}{
		{`{"metadata":{"name":"a"}`, new(*json.SyntaxError)},
		{`{"metadata":{"name":1}}`, new(*json.UnmarshalTypeError)},
	} {
		for _, v := range []any{&Pod{}, &widget{}} {
			err := UnmarshalTrusted([]byte(tc.in), v)
			wantErr := json.Unmarshal([]byte(tc.in), v)
			if err == nil || !errors.As(err, tc.want) || err.Error() != wantErr.Error() {
				t.Errorf("%T from %s: %v, want encoding/json's %v", v, tc.in, err, wantErr)
			}
		}
	}
	p := &Pod{}
	if err := UnmarshalTrusted([]byte(`{"metadata":{"name":"a","labels":{"x":"y"}}}`), p); err != nil || p.Name != "a" || p.Labels["x"] != "y" {
		t.Errorf("decode: %v, %+v", err, p.ObjectMeta)
	}
}

// FuzzUnquotePlain holds the shortcut that times and int-or-strings take
// to encoding/json: whatever it accepts, encoding/json decodes to the same
// string.
func FuzzUnquotePlain(f *testing.F) {
	for _, s := range []string{`"2026-01-02T15:04:05Z"`, `"a\"b"`, `"\u0032"`, `""`, `"`, `"é"`, "\"\x7f\"", "\"\t\"", `null`, `"50%"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := unquotePlain(b)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(b, &want); err != nil || got != want {
			t.Fatalf("unquotePlain(%q) = %q; encoding/json: %q, %v", b, got, want, err)
		}
	})
}

// TestTimesDecodeEscapedStrings checks the times' way around the shortcut:
// a time written with escapes still decodes, and what is not a string is
// refused in the times' words.
func TestTimesDecodeEscapedStrings(t *testing.T) {
	var tm Time
	if err := json.Unmarshal([]byte(`"\u0032026-01-02T15:04:05Z"`), &tm); err != nil || tm.Year() != 2026 {
		t.Fatalf("escaped time: %v, %v", tm, err)
	}
	var mt MicroTime
	if err := json.Unmarshal([]byte(`"2026-01-02T15:04:05.123456\u005a"`), &mt); err != nil || mt.Nanosecond() != 123456000 {
		t.Fatalf("escaped micro time: %v, %v", mt, err)
	}
	for _, in := range []string{`5`, `"2026-01-02"`, `{}`} {
		if err := tm.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("Time from %s: no error", in)
		}
		if err := mt.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("MicroTime from %s: no error", in)
		}
	}
	var v IntOrString
	if err := json.Unmarshal([]byte(`"5\u0030%"`), &v); err != nil || v.StrVal != "50%" {
		t.Fatalf("escaped int-or-string: %v, %v", v, err)
	}
}
