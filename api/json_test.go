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
