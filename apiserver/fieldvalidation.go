package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"

	"github.com/drover-io/drover/api"
)

// fieldValidation is the fieldValidation query parameter of a write: what
// to do with the unknown and duplicate fields of a body.
type fieldValidation int

const (
	// validateStrict refuses the request (400, every field named): the
	// default, since a field Drover does not implement must never be
	// dropped without a word.
	validateStrict fieldValidation = iota
	// validateWarn drops them, and says so in Warning headers, which
	// kubectl prints.
	validateWarn
	// validateIgnore drops them silently.
	validateIgnore
)

// parseFieldValidation reads the fieldValidation parameter.
func parseFieldValidation(r *http.Request) (fieldValidation, error) {
	switch v := first(r.URL.Query(), "fieldValidation"); v {
	case "", "Strict":
		return validateStrict, nil
	case "Warn":
		return validateWarn, nil
	case "Ignore":
		return validateIgnore, nil
	default:
		return 0, api.NewBadRequest("invalid fieldValidation %q: must be Strict, Warn or Ignore", v)
	}
}

// decodeJSONInto decodes a JSON or YAML body into obj as fv says: with
// Warn or Ignore, a body whose only problems are unknown or duplicate
// fields is decoded without them (the last of duplicates wins), and with
// Warn each is written to w as a Warning header. Any other problem (a
// wrong type, bad syntax) is an error whatever fv.
func (s *Server) decodeJSONInto(w http.ResponseWriter, data []byte, obj api.Object, fv fieldValidation) error {
	err := s.cfg.Scheme.DecodeInto(data, obj)
	if err == nil || fv == validateStrict {
		return err
	}
	de, ok := errors.AsType[*api.DecodeError](err)
	if !ok || de.Err != nil || len(de.Fields) == 0 {
		return err
	}
	for _, fe := range de.Fields {
		if fe.Type != api.ErrorTypeUnknown && fe.Type != api.ErrorTypeDuplicateKey {
			return err
		}
	}
	lenient, lerr := s.cfg.Scheme.DecodeTrusted(data)
	if lerr != nil || reflect.TypeOf(lenient) != reflect.TypeOf(obj) {
		return err
	}
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(lenient).Elem())
	if fv == validateWarn {
		for _, fe := range de.Fields {
			what := "unknown field"
			if fe.Type == api.ErrorTypeDuplicateKey {
				what = "duplicate field"
			}
			warning := "299 - " + strconv.Quote(fmt.Sprintf("%s %q", what, fe.Field))
			if !slices.Contains(w.Header().Values("Warning"), warning) { // a patch retried on a conflict
				w.Header().Add("Warning", warning)
			}
		}
	}
	return nil
}
