package replicaset

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// newRS returns a ReplicaSet of n pods labelled app=name.
func newRS(name string, n int32) *api.ReplicaSet {
	return &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec: api.ReplicaSetSpec{
			Replicas: new(n),
			Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "c", Image: "nginx"}}},
			},
		},
	}
}

// serverPods returns the pods of the namespace default on the server
// that rs controls and that are active.
func serverPods(t testing.TB, c *client.Client, rs *api.ReplicaSet) []*api.Pod {
	t.Helper()
	var list api.PodList
	if err := c.List(context.Background(), &list, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	var out []*api.Pod
	for i := range list.Items {
		p := &list.Items[i]
		if p.IsControlledBy(rs.UID) && ctrlutil.IsPodActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// fakeCache stands in for the informer caches in tests that drive the
// reconciler directly: it holds what the test synced into it, so a test
// decides how far it lags behind the server. It implements podLister and
// rsLister.
type fakeCache struct {
	mu   sync.Mutex
	pods map[string]*api.Pod
	rss  map[string]*api.ReplicaSet
}

func newFakeCache() *fakeCache {
	return &fakeCache{pods: map[string]*api.Pod{}, rss: map[string]*api.ReplicaSet{}}
}

func (f *fakeCache) ListNamespace(ns string, sel labels.Selector) ([]*api.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*api.Pod
	for _, p := range f.pods {
		if p.Namespace == ns && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakeCache) OwnedBy(uid api.UID) ([]*api.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*api.Pod
	for _, p := range f.pods {
		for _, r := range p.OwnerReferences {
			if r.UID == uid {
				out = append(out, p)
				break
			}
		}
	}
	return out, nil
}

// rsView adapts fakeCache to rsLister.
type rsView struct{ f *fakeCache }

func (v rsView) Get(ns, name string) (*api.ReplicaSet, error) {
	v.f.mu.Lock()
	defer v.f.mu.Unlock()
	rs, ok := v.f.rss[ns+"/"+name]
	if !ok {
		return nil, api.NewNotFound(api.GroupResource{Group: "apps", Resource: "replicasets"}, name)
	}
	return rs, nil
}

func (v rsView) ListNamespace(ns string, sel labels.Selector) ([]*api.ReplicaSet, error) {
	v.f.mu.Lock()
	defer v.f.mu.Unlock()
	var out []*api.ReplicaSet
	for _, rs := range v.f.rss {
		if rs.Namespace == ns && sel.Matches(labels.Set(rs.Labels)) {
			out = append(out, rs)
		}
	}
	return out, nil
}

// setRS puts rs, as the server has it now, in the cache.
func (f *fakeCache) setRS(t testing.TB, c *client.Client, name string) *api.ReplicaSet {
	t.Helper()
	rs := &api.ReplicaSet{}
	if err := c.Get(context.Background(), "default", name, rs); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.rss[rs.Namespace+"/"+rs.Name] = rs
	f.mu.Unlock()
	return rs
}

// deliver makes the cache catch up with the server's pods, as an
// informer would: each change goes into the cache, then to observe (the
// order an informer keeps). limit caps how many changes are delivered (<0:
// all); it returns how many were.
func (f *fakeCache) deliver(t testing.TB, c *client.Client, observe func(controller.Event) bool, limit int) int {
	t.Helper()
	var list api.PodList
	if err := c.List(context.Background(), &list, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	n := 0
	more := func() bool { return limit < 0 || n < limit }
	seen := map[string]bool{}
	for i := range list.Items {
		p := &list.Items[i]
		key := p.Namespace + "/" + p.Name
		seen[key] = true
		f.mu.Lock()
		old, had := f.pods[key]
		f.mu.Unlock()
		if had && old.ResourceVersion == p.ResourceVersion || !more() {
			continue
		}
		f.mu.Lock()
		f.pods[key] = p
		f.mu.Unlock()
		n++
		if had {
			observe(controller.Event{Type: controller.Update, Object: p, Old: old})
		} else {
			observe(controller.Event{Type: controller.Create, Object: p})
		}
	}
	f.mu.Lock()
	var gone []*api.Pod
	for key, p := range f.pods {
		if !seen[key] {
			gone = append(gone, p)
		}
	}
	f.mu.Unlock()
	for _, p := range gone {
		if !more() {
			break
		}
		f.mu.Lock()
		delete(f.pods, p.Namespace+"/"+p.Name)
		f.mu.Unlock()
		n++
		observe(controller.Event{Type: controller.Delete, Object: p})
	}
	return n
}

// fakeRecorder records the reasons of the events it is given.
type fakeRecorder struct {
	mu      sync.Mutex
	reasons []string
}

func (r *fakeRecorder) Eventf(_ api.Object, _ api.EventType, reason, _ string, _ ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reasons = append(r.reasons, reason)
}

func (r *fakeRecorder) count(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, x := range r.reasons {
		if x == reason {
			n++
		}
	}
	return n
}

// countingTransport counts the requests it passes on, by method, and
// fails pod creates once quota of them succeeded (quota < 0: no limit),
// as a ResourceQuota would.
type countingTransport struct {
	next http.RoundTripper

	total, gets, creates, podCreates, patches, deletes, puts atomic.Int64
	podCreatesOK                                             atomic.Int64
	quota                                                    atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.total.Add(1)
	switch req.Method {
	case http.MethodGet:
		t.gets.Add(1)
	case http.MethodPost:
		t.creates.Add(1)
		if strings.HasSuffix(req.URL.Path, "/pods") {
			t.podCreates.Add(1)
			if q := t.quota.Load(); q >= 0 && t.podCreatesOK.Add(1) > q {
				t.podCreatesOK.Add(-1)
				if req.Body != nil {
					_ = req.Body.Close()
				}
				body := `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,` +
					`"message":"pods is forbidden: exceeded quota: compute"}`
				return &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{"Content-Type": {"application/json"}},
					Body: io.NopCloser(bytes.NewBufferString(body)), Request: req}, nil
			}
		}
	case http.MethodPatch:
		t.patches.Add(1)
	case http.MethodDelete:
		t.deletes.Add(1)
	case http.MethodPut:
		t.puts.Add(1)
	}
	return t.next.RoundTrip(req)
}

// countingClient returns a client of env's server whose requests go
// through a countingTransport with no quota.
func countingClient(t testing.TB, env *controllertest.Env) (*client.Client, *countingTransport) {
	t.Helper()
	cfg := env.ClientConfig()
	ct := &countingTransport{next: cfg.Transport}
	ct.quota.Store(-1)
	cfg.Transport = ct
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, ct
}

// direct is a reconciler driven by the test, over a fakeCache.
type direct struct {
	env   *controllertest.Env
	clk   *fakeclock.Clock
	cache *fakeCache
	rec   *fakeRecorder
	r     *reconciler
	ct    *countingTransport
}

func newDirect(t testing.TB, opts Options) *direct {
	t.Helper()
	clk := fakeclock.New(epoch)
	env := controllertest.New(t, controllertest.WithClock(clk))
	c, ct := countingClient(t, env)
	cache := newFakeCache()
	rec := &fakeRecorder{}
	opts.Clock = clk
	return &direct{env: env, clk: clk, cache: cache, rec: rec, ct: ct,
		r: newReconciler(c, rsView{cache}, cache, rec, opts.withDefaults())}
}

func (d *direct) reconcile(t testing.TB, name string) (controller.Result, error) {
	t.Helper()
	return d.r.Reconcile(context.Background(), controller.Request{Namespace: "default", Name: name})
}

// reconcileSyncRS reconciles name, then brings the ReplicaSet in the cache
// up to date with the server, as the ReplicaSet informer would: for tests
// in which only the pods lag (a status write from a stale ReplicaSet
// conflicts, and is retried only once the cache has caught up).
func (d *direct) reconcileSyncRS(t testing.TB, name string) (controller.Result, error) {
	t.Helper()
	res, err := d.reconcile(t, name)
	d.cache.setRS(t, d.env.Client, name)
	return res, err
}

// manager starts a Manager on a fresh Env with a fake clock, running the
// controller with opts (its Clock set to the Env's).
func manager(t testing.TB, opts Options) (*controllertest.Env, *fakeclock.Clock) {
	t.Helper()
	env, clk, _ := managerOf(t, opts)
	return env, clk
}

// managerOf is manager, also returning the running Manager (for tests
// that wait on its caches).
func managerOf(t testing.TB, opts Options) (*controllertest.Env, *fakeclock.Clock, *controller.Manager) {
	t.Helper()
	clk := fakeclock.New(epoch)
	env := controllertest.New(t, controllertest.WithClock(clk))
	m, err := env.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Clock == nil {
		opts.Clock = clk
	}
	if err := Add(m, opts); err != nil {
		t.Fatal(err)
	}
	if err := env.StartManager(m); err != nil {
		t.Fatal(err)
	}
	return env, clk, m
}
