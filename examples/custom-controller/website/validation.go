package website

import (
	"strings"
	"unicode"

	"github.com/drover-io/drover/api"
)

// Defaults of WebsiteSpec.
const (
	DefaultReplicas = 1
	DefaultPort     = 80
)

// Default sets the fields the user left unset: one replica, port 80. The
// API server calls it (api.Defaulter) before Validate, on create and on
// update.
func (w *Website) Default() {
	if w.Spec.Replicas == nil {
		w.Spec.Replicas = new(int32(DefaultReplicas))
	}
	if w.Spec.Port == 0 {
		w.Spec.Port = DefaultPort
	}
}

var specPath = api.NewPath("spec")

// Validate reports every problem of w's spec, each with its field path.
// The API server calls it (api.Validator) after Default and after its own
// checks of the metadata, and answers 422 Invalid with one cause per
// problem.
//
// The name must be a DNS-1035 label, because the Service is named after
// the Website. As Drover's validation does for the built-in kinds, a
// field that Default fills (replicas, port) is accepted when unset.
func (w *Website) Validate() api.ErrorList {
	var errs api.ErrorList
	if w.Name != "" {
		for _, msg := range api.NameIsDNS1035Label(w.Name, false) {
			errs = append(errs, api.Invalid(api.NewPath("metadata", "name"), w.Name,
				msg+" (the website's Service is named after it)"))
		}
	}
	switch image := w.Spec.Image; {
	case image == "":
		errs = append(errs, api.Required(specPath.Child("image"), "the container image to serve, such as \"nginx:1.27\""))
	case strings.IndexFunc(image, unicode.IsSpace) >= 0:
		errs = append(errs, api.Invalid(specPath.Child("image"), image, "must not contain spaces"))
	}
	if r := w.Spec.Replicas; r != nil && *r < 0 {
		errs = append(errs, api.Invalid(specPath.Child("replicas"), *r, "must be greater than or equal to 0"))
	}
	if p := w.Spec.Port; p < 0 || p > 65535 {
		errs = append(errs, api.Invalid(specPath.Child("port"), p, "must be between 1 and 65535, inclusive"))
	}
	return errs
}

// ValidateStatusUpdate checks what the controller writes to the status
// subresource (api.StatusUpdateValidator): counts that are not negative,
// conditions with a type and a known status.
func (w *Website) ValidateStatusUpdate(api.Object) api.ErrorList {
	var errs api.ErrorList
	p := api.NewPath("status")
	if n := w.Status.ReadyReplicas; n < 0 {
		errs = append(errs, api.Invalid(p.Child("readyReplicas"), n, "must be greater than or equal to 0"))
	}
	if g := w.Status.ObservedGeneration; g < 0 {
		errs = append(errs, api.Invalid(p.Child("observedGeneration"), g, "must be greater than or equal to 0"))
	}
	for i, c := range w.Status.Conditions {
		cp := p.Child("conditions").Index(i)
		if c.Type == "" {
			errs = append(errs, api.Required(cp.Child("type"), ""))
		}
		switch c.Status {
		case api.ConditionTrue, api.ConditionFalse, api.ConditionUnknown:
		default:
			errs = append(errs, api.NotSupported(cp.Child("status"), c.Status,
				[]api.ConditionStatus{api.ConditionTrue, api.ConditionFalse, api.ConditionUnknown}))
		}
	}
	return errs
}

// The interfaces the API server looks for.
var (
	_ api.Defaulter             = (*Website)(nil)
	_ api.Validator             = (*Website)(nil)
	_ api.StatusUpdateValidator = (*Website)(nil)
)
