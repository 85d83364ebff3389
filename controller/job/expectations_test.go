package job

import (
	"context"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
)

// serverJobs is a jobLister that reads the API server: a Job cache that
// is always up to date.
type serverJobs struct{ c *client.Client }

func (s serverJobs) Get(namespace, name string) (*api.Job, error) {
	j := &api.Job{}
	if err := s.c.Get(context.Background(), namespace, name, j); err != nil {
		return nil, err
	}
	return j, nil
}

func (s serverJobs) ListNamespace(string, labels.Selector) ([]*api.Job, error) { return nil, nil }

// noPods is a pod cache that holds no pod.
type noPods struct{}

func (noPods) ListNamespace(string, labels.Selector) ([]*api.Pod, error) { return nil, nil }
func (noPods) OwnedBy(api.UID) ([]*api.Pod, error)                       { return nil, nil }

type nopRecorder struct{}

func (nopRecorder) Eventf(api.Object, api.EventType, string, string, ...any) {}

// A deletion whose event never reached the controller (it was not
// leading when the pod went) does not hold the Job for the expectations'
// TTL: the cache no longer shows the pod, which is what the event would
// have said.
func TestDeletionsSeenInTheCacheNeedNoEvent(t *testing.T) {
	clk := fakeclock.New(epoch)
	env := controllertest.New(t, controllertest.WithClock(clk))
	c := env.Client
	ctx := controllertest.Context(t)
	j := newJob("work", new(int32(1)), nil)
	if err := c.Create(ctx, j); err != nil {
		t.Fatal(err)
	}
	r := newReconciler(c, serverJobs{c}, noPods{}, nopRecorder{}, Options{Clock: clk})
	// A deletion asked for in the previous term, its event dropped.
	r.exp.ExpectDeletions("default/work", "gone")

	if _, err := r.Reconcile(ctx, controller.Request{Namespace: "default", Name: "work"}); err != nil {
		t.Fatal(err)
	}
	var list api.PodList
	if err := c.List(ctx, &list, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d pods created, want 1: the Job waited for a deletion its cache had seen", len(list.Items))
	}
	if _, dels := r.exp.Pending("default/work"); dels != 0 {
		t.Fatalf("%d deletions pending, want 0", dels)
	}
}
