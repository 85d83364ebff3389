package website

import (
	"slices"
	"testing"

	"github.com/drover-io/drover/api"
)

func TestDefault(t *testing.T) {
	w := &Website{Spec: WebsiteSpec{Image: "nginx"}}
	w.Default()
	if w.Spec.Replicas == nil || *w.Spec.Replicas != 1 || w.Spec.Port != 80 {
		t.Fatalf("defaulted spec %+v, want 1 replica on port 80", w.Spec)
	}
	w.Spec.Replicas, w.Spec.Port = new(int32(0)), 8080
	w.Default()
	if *w.Spec.Replicas != 0 || w.Spec.Port != 8080 {
		t.Errorf("Default overwrote values the user gave: %+v", w.Spec)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Website)
		fields []string
	}{
		{"valid", func(*Website) {}, nil},
		{"zero replicas", func(w *Website) { w.Spec.Replicas = new(int32(0)) }, nil},
		{"unset port and replicas", func(w *Website) { w.Spec.Replicas, w.Spec.Port = nil, 0 }, nil},
		{"no image", func(w *Website) { w.Spec.Image = "" }, []string{"spec.image"}},
		{"image with a space", func(w *Website) { w.Spec.Image = "nginx latest" }, []string{"spec.image"}},
		{"negative replicas", func(w *Website) { w.Spec.Replicas = new(int32(-1)) }, []string{"spec.replicas"}},
		{"port too high", func(w *Website) { w.Spec.Port = 65536 }, []string{"spec.port"}},
		{"negative port", func(w *Website) { w.Spec.Port = -1 }, []string{"spec.port"}},
		{"highest port", func(w *Website) { w.Spec.Port = 65535 }, nil},
		{"name with a dot", func(w *Website) { w.Name = "my.site" }, []string{"metadata.name"}},
		{"name starting with a digit", func(w *Website) { w.Name = "1site" }, []string{"metadata.name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := testWebsite()
			tc.change(w)
			var got []string
			for _, e := range w.Validate() {
				got = append(got, e.Field)
			}
			if !slices.Equal(got, tc.fields) {
				t.Errorf("errors on %q, want %q: %v", got, tc.fields, w.Validate())
			}
		})
	}
}

func TestValidateStatusUpdate(t *testing.T) {
	w := testWebsite()
	w.Status = WebsiteStatus{ReadyReplicas: -1, Conditions: []Condition{{Type: "", Status: "Maybe"}}}
	var got []string
	for _, e := range w.ValidateStatusUpdate(testWebsite()) {
		got = append(got, e.Field)
	}
	want := []string{"status.readyReplicas", "status.conditions[0].type", "status.conditions[0].status"}
	if !slices.Equal(got, want) {
		t.Errorf("errors on %q, want %q", got, want)
	}
	ok := testWebsite()
	ok.Status = WebsiteStatus{ReadyReplicas: 1, Conditions: []Condition{{Type: ConditionReady, Status: api.ConditionTrue}}}
	if errs := ok.ValidateStatusUpdate(testWebsite()); len(errs) != 0 {
		t.Errorf("valid status refused: %v", errs)
	}
}
