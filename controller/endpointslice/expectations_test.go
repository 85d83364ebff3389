package endpointslice

import (
	"context"
	"fmt"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
)

// frozen is a slice cache that never sees anything: the worst lag.
type frozen struct{}

func (frozen) ListNamespace(string, labels.Selector) ([]*api.EndpointSlice, error) { return nil, nil }

// TestLaggingCacheNoDuplicates drives the reconciler over a slice cache
// that has not seen its creates: it waits for them instead of creating
// the slices again.
func TestLaggingCacheNoDuplicates(t *testing.T) {
	env, r, ct := direct(t, Options{})
	r.slices = frozen{}
	ctx := controllertest.Context(t)
	c := env.Client
	if err := c.Create(ctx, newService("web", web, api.FromInt32(8080))); err != nil {
		t.Fatal(err)
	}
	for i := range 150 {
		createPod(t, c, withStatus(newPod(fmt.Sprintf("p%03d", i), web, nil), fmt.Sprintf("10.0.0.%d", i+1), true))
	}
	req := controller.Request{Namespace: "default", Name: "web"}
	for i := range 3 {
		res, err := r.Reconcile(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && res.RequeueAfter == 0 {
			t.Fatal("a reconcile waiting for its creates does not requeue")
		}
	}
	if w := ct.writes.Load(); w != 2 {
		t.Fatalf("%d writes, want 2: the creates were repeated", w)
	}
	if n := len(serviceSlices(t, c, "web")); n != 2 {
		t.Fatalf("%d slices, want 2", n)
	}
}
