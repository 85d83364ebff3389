package endpointslice

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
)

var epoch = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// newService returns a Service in default selecting sel (nil: no
// selector) with one port 80 → target.
func newService(name string, sel map[string]string, target api.IntOrString) *api.Service {
	return &api.Service{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"team": "a"}},
		Spec: api.ServiceSpec{
			Selector: sel,
			Ports:    []api.ServicePort{{Name: "http", Port: 80, TargetPort: target}},
		},
	}
}

// newPod returns a pod in default with labels lbls whose one container
// has the named ports ("name" → number).
func newPod(name string, lbls map[string]string, ports map[string]int32) *api.Pod {
	p := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name, Labels: lbls},
		Spec:       api.PodSpec{Containers: []api.Container{{Name: "c", Image: "nginx"}}},
	}
	for n, port := range ports {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, api.ContainerPort{Name: n, ContainerPort: port})
	}
	return p
}

// withStatus sets what a node agent reports: phase Running, ip and the
// Ready condition.
func withStatus(p *api.Pod, ip string, ready bool) *api.Pod {
	p.Status.Phase = api.PodRunning
	p.Status.PodIP = ip
	if ip != "" {
		p.Status.PodIPs = []api.PodIP{{IP: ip}}
	}
	st := api.ConditionFalse
	if ready {
		st = api.ConditionTrue
	}
	p.Status.Conditions = []api.PodCondition{{Type: api.PodReady, Status: st}}
	return p
}

// createPod creates p and then writes its status, as the node agent
// would; it returns the pod as the server has it.
func createPod(t testing.TB, c *client.Client, p *api.Pod) *api.Pod {
	t.Helper()
	st := p.Status
	if err := c.Create(context.Background(), p); err != nil {
		t.Fatalf("create pod %s: %v", p.Name, err)
	}
	p.Status = st
	if err := c.UpdateStatus(context.Background(), p); err != nil {
		t.Fatalf("update status of pod %s: %v", p.Name, err)
	}
	return p
}

// setReady flips the Ready condition of the pod name.
func setReady(t testing.TB, c *client.Client, name string, ready bool) {
	t.Helper()
	err := client.RetryOnConflict(context.Background(), client.DefaultRetry, func() error {
		p := &api.Pod{}
		if err := c.Get(context.Background(), "default", name, p); err != nil {
			return err
		}
		withStatus(p, p.Status.PodIP, ready)
		return c.UpdateStatus(context.Background(), p)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// countingTransport counts the writes (POST, PUT, PATCH, DELETE) it
// passes on, and the Conflict answers.
type countingTransport struct {
	next              http.RoundTripper
	writes, conflicts atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		t.writes.Add(1)
	}
	resp, err := t.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusConflict {
		t.conflicts.Add(1)
	}
	return resp, err
}

// countingClient returns a client of env's server that counts its writes.
func countingClient(t testing.TB, env *controllertest.Env) (*client.Client, *countingTransport) {
	t.Helper()
	cfg := env.ClientConfig()
	ct := &countingTransport{next: cfg.Transport}
	cfg.Transport = ct
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, ct
}

// live reads objects of one kind straight from the API server: a cache
// that never lags, for tests that drive the reconciler directly. It
// implements serviceLister, podLister and endpointsLister for its kind.
type live[E any, PE interface {
	*E
	api.Object
}] struct{ c *client.Client }

func (l live[E, PE]) Get(ns, name string) (PE, error) {
	obj := PE(new(E))
	if err := l.c.Get(context.Background(), ns, name, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

func (l live[E, PE]) ListNamespace(ns string, sel labels.Selector) ([]PE, error) {
	var list api.List[E]
	if err := l.c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	var out []PE
	for i := range list.Items {
		obj := PE(&list.Items[i])
		if sel.Matches(labels.Set(obj.GetObjectMeta().Labels)) {
			out = append(out, obj)
		}
	}
	return out, nil
}

// nopRecorder drops events.
type nopRecorder struct{}

func (nopRecorder) Eventf(api.Object, api.EventType, string, string, ...any) {}

// direct returns a reconciler reading the server directly and writing
// through a counting client.
func direct(t testing.TB, opts Options) (*controllertest.Env, *reconciler, *countingTransport) {
	t.Helper()
	clk := fakeclock.New(epoch)
	env := controllertest.New(t, controllertest.WithClock(clk))
	c, ct := countingClient(t, env)
	opts.Clock = clk
	r := newReconciler(c, live[api.Service, *api.Service]{env.Client}, live[api.Pod, *api.Pod]{env.Client},
		live[api.EndpointSlice, *api.EndpointSlice]{env.Client}, live[api.Node, *api.Node]{env.Client}, nopRecorder{}, opts.withDefaults())
	return env, r, ct
}

// reconcile runs r once for default/name, then feeds it the events of
// the slices it created, as its informer would.
func reconcile(t testing.TB, r *reconciler, name string) {
	t.Helper()
	if !r.exp.Satisfied("default/" + name) {
		t.Fatalf("reconcile %s: the expectations are not met", name)
	}
	if _, err := r.Reconcile(context.Background(), controller.Request{Namespace: "default", Name: name}); err != nil {
		t.Fatalf("reconcile %s: %v", name, err)
	}
	// What the informer would report: the slices created.
	for _, s := range serviceSlices(t, r.c, name) {
		r.observe(controller.Event{Type: controller.Create, Object: s})
	}
}

// manager starts a Manager running the controller with opts on a fresh
// Env with a fake clock, writing through a counting client.
func manager(t testing.TB, opts Options) (*controllertest.Env, *countingTransport) {
	t.Helper()
	clk := fakeclock.New(epoch)
	env := controllertest.New(t, controllertest.WithClock(clk))
	c, ct := countingClient(t, env)
	m, err := env.NewManager(controller.ManagerConfig{Client: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := Add(m, opts); err != nil {
		t.Fatal(err)
	}
	if err := env.StartManager(m); err != nil {
		t.Fatal(err)
	}
	return env, ct
}

// serviceSlices returns the slices of the Service default/name on the
// server, by name.
func serviceSlices(t testing.TB, c *client.Client, name string) []*api.EndpointSlice {
	t.Helper()
	var list api.EndpointSliceList
	if err := c.List(context.Background(), &list, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	var out []*api.EndpointSlice
	for i := range list.Items {
		if s := &list.Items[i]; s.Labels[api.LabelServiceName] == name {
			out = append(out, s)
		}
	}
	return out
}

// summary is what a Service's slices hold: endpoint count, ready count
// and addresses by address type.
type summary struct {
	slices, endpoints, ready int
	byType                   map[api.AddressType]int
}

func summarize(ss []*api.EndpointSlice) summary {
	s := summary{slices: len(ss), byType: map[api.AddressType]int{}}
	for _, sl := range ss {
		for _, ep := range sl.Endpoints {
			s.endpoints++
			s.byType[sl.AddressType]++
			if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
				s.ready++
			}
		}
	}
	return s
}
