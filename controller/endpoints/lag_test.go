package endpoints

import (
	"context"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
)

// noEndpoints is an Endpoints cache that has seen none yet.
type noEndpoints struct{}

func (noEndpoints) Get(_, name string) (*api.Endpoints, error) {
	return nil, api.NewNotFound(api.GroupResource{Resource: "endpoints"}, name)
}

// An AlreadyExists from a cache that has not seen the Endpoints yet is
// routine, like a conflict: the reconciler asks to be queued again
// rather than failing (which logs at Error).
func TestCreateOverLaggingCacheRequeues(t *testing.T) {
	env, r, _ := direct(t)
	ctx := controllertest.Context(t)
	c := env.Client
	if err := c.Create(ctx, newService("web", web, api.FromInt32(8080))); err != nil {
		t.Fatal(err)
	}
	reconcile(t, r, "web")
	r.endpoints = noEndpoints{}

	createPod(t, c, withStatus(newPod("a", web, nil), "10.0.0.1", true))
	res, err := r.Reconcile(context.Background(), controller.Request{Namespace: "default", Name: "web"})
	if err != nil {
		t.Fatalf("reconcile over a lagging cache: %v, want no error", err)
	}
	if !res.Requeue {
		t.Fatalf("result %+v, want a requeue", res)
	}
}
