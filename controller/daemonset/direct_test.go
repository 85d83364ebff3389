package daemonset

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
)

// These tests drive the reconciler directly: the DaemonSet cache holds
// what the test put there, the pod cache is empty and nodes are read
// from the API server.

// dsCache is a dsLister holding one DaemonSet, as the test last set it.
type dsCache struct{ ds *api.DaemonSet }

func (c *dsCache) Get(namespace, name string) (*api.DaemonSet, error) {
	if c.ds == nil || c.ds.Namespace != namespace || c.ds.Name != name {
		return nil, api.NewNotFound(api.GroupResource{Group: "apps", Resource: "daemonsets"}, name)
	}
	return api.DeepCopy(c.ds), nil
}

func (c *dsCache) List(labels.Selector) ([]*api.DaemonSet, error) {
	if c.ds == nil {
		return nil, nil
	}
	return []*api.DaemonSet{api.DeepCopy(c.ds)}, nil
}

func (c *dsCache) ListNamespace(string, labels.Selector) ([]*api.DaemonSet, error) {
	return c.List(labels.Everything())
}

// noPods is a pod cache that holds no pod.
type noPods struct{}

func (noPods) ListNamespace(string, labels.Selector) ([]*api.Pod, error) { return nil, nil }
func (noPods) OwnedBy(api.UID) ([]*api.Pod, error)                       { return nil, nil }

// serverNodes is a nodeLister that reads the API server.
type serverNodes struct{ c *client.Client }

func (s serverNodes) List(labels.Selector) ([]*api.Node, error) {
	var list api.NodeList
	if err := s.c.List(context.Background(), &list); err != nil {
		return nil, err
	}
	out := make([]*api.Node, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

type nopRecorder struct{}

func (nopRecorder) Eventf(api.Object, api.EventType, string, string, ...any) {}

// dsGets counts the GETs of DaemonSets a client sends.
type dsGets struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (t *dsGets) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/daemonsets") {
		t.n.Add(1)
	}
	return t.next.RoundTrip(req)
}

type direct struct {
	c     *client.Client
	cache *dsCache
	gets  *dsGets
	r     *reconciler
}

func newDirect(t *testing.T) *direct {
	t.Helper()
	clk := fakeclock.New(epoch)
	env := controllertest.New(t, controllertest.WithClock(clk))
	cfg := env.ClientConfig()
	gets := &dsGets{next: cfg.Transport}
	cfg.Transport = gets
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cache := &dsCache{}
	return &direct{c: env.Client, cache: cache, gets: gets,
		r: newReconciler(c, cache, noPods{}, serverNodes{env.Client}, nopRecorder{}, Options{Clock: clk})}
}

func (d *direct) setup(t *testing.T) *api.DaemonSet {
	t.Helper()
	ctx := controllertest.Context(t)
	if err := d.c.Create(ctx, &api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"}}); err != nil {
		t.Fatal(err)
	}
	ds := newDS("agent")
	if err := d.c.Create(ctx, ds); err != nil {
		t.Fatal(err)
	}
	d.cache.ds = api.DeepCopy(ds)
	return ds
}

func (d *direct) reconcile() error {
	_, err := d.r.Reconcile(context.Background(), controller.Request{Namespace: "default", Name: "agent"})
	return err
}

func (d *direct) pods(t *testing.T) int {
	t.Helper()
	var list api.PodList
	if err := d.c.List(context.Background(), &list, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

// A deletion whose event never reached the controller (it was not
// leading when the pod went) does not hold the DaemonSet for the
// expectations' TTL: the cache no longer shows the pod, which is what the
// event would have said.
func TestDeletionsSeenInTheCacheNeedNoEvent(t *testing.T) {
	d := newDirect(t)
	d.setup(t)
	d.r.exp.ExpectDeletions("default/agent", "gone")
	if err := d.reconcile(); err != nil {
		t.Fatal(err)
	}
	if n := d.pods(t); n != 1 {
		t.Fatalf("%d pods created, want 1: the DaemonSet waited for a deletion its cache had seen", n)
	}
}

// A status write from a stale cache conflicts: the reconciler returns the
// conflict (the requeue, with the cache caught up, writes it) rather than
// reading the DaemonSet from the API server.
func TestStatusConflictIsReturnedNotReadLive(t *testing.T) {
	d := newDirect(t)
	ctx := controllertest.Context(t)
	ds := d.setup(t)
	// Someone else writes the DaemonSet; the cache does not know yet.
	cur := api.DeepCopy(ds)
	cur.Labels = map[string]string{"touched": "yes"}
	if err := d.c.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if err := d.reconcile(); !api.IsConflict(err) {
		t.Fatalf("reconcile from a stale cache: err %v, want the conflict", err)
	}
	if n := d.gets.n.Load(); n != 0 {
		t.Fatalf("%d GETs of the DaemonSet, want none: the requeue reads the cache", n)
	}
	// The cache catches up: the requeue writes the status.
	fresh := &api.DaemonSet{}
	if err := d.c.Get(ctx, "default", "agent", fresh); err != nil {
		t.Fatal(err)
	}
	d.cache.ds = fresh
	if err := d.reconcile(); err != nil {
		t.Fatal(err)
	}
	if err := d.c.Get(ctx, "default", "agent", fresh); err != nil {
		t.Fatal(err)
	}
	if fresh.Status.DesiredNumberScheduled != 1 {
		t.Fatalf("status %+v after the requeue, want 1 desired", fresh.Status)
	}
}
