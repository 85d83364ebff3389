package endpoints

import (
	"slices"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/prometheus/client_golang/prometheus"
)

var web = map[string]string{"app": "web"}

func TestEndpointsFollowReadiness(t *testing.T) {
	env, _ := manager(t)
	ctx := controllertest.Context(t)
	c := env.Client
	if err := c.Create(ctx, newService("web", web, api.FromInt32(8080))); err != nil {
		t.Fatal(err)
	}
	createPod(t, c, withStatus(newPod("a", web, nil), "10.0.0.1", true))
	createPod(t, c, withStatus(newPod("b", web, nil), "10.0.0.2", false))
	createPod(t, c, withStatus(newPod("noip", web, nil), "", false))
	createPod(t, c, withStatus(newPod("other", map[string]string{"app": "db"}, nil), "10.0.0.9", true))

	ep := waitEndpoints(t, c, "web", func(ep *api.Endpoints) bool {
		return len(ep.Subsets) == 1 && len(ep.Subsets[0].Addresses) == 1 && len(ep.Subsets[0].NotReadyAddresses) == 1
	})
	if ep.Labels["team"] != "a" || ep.Annotations[ManagedByAnnotation] != ManagedByValue || ep.Annotations[LastChangeTriggerTimeAnnotation] == "" {
		t.Errorf("metadata = labels %v annotations %v", ep.Labels, ep.Annotations)
	}
	if s := ep.Subsets[0]; s.Addresses[0].IP != "10.0.0.1" || s.NotReadyAddresses[0].IP != "10.0.0.2" || s.Ports[0].Port != 8080 {
		t.Fatalf("subset = %+v", s)
	}

	// b becomes ready: it moves to addresses.
	setReady(t, c, "b", true)
	waitEndpoints(t, c, "web", func(ep *api.Endpoints) bool {
		return len(ep.Subsets) == 1 && slices.Equal(ips(ep.Subsets[0].Addresses), []string{"10.0.0.1", "10.0.0.2"}) && len(ep.Subsets[0].NotReadyAddresses) == 0
	})
	// a fails its readiness probe: it moves back.
	setReady(t, c, "a", false)
	waitEndpoints(t, c, "web", func(ep *api.Endpoints) bool {
		return len(ep.Subsets) == 1 && slices.Equal(ips(ep.Subsets[0].Addresses), []string{"10.0.0.2"}) &&
			slices.Equal(ips(ep.Subsets[0].NotReadyAddresses), []string{"10.0.0.1"})
	})
	// a is deleted: gone. b is deleted: no subsets left.
	if err := c.Delete(ctx, &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "a"}}); err != nil {
		t.Fatal(err)
	}
	waitEndpoints(t, c, "web", func(ep *api.Endpoints) bool {
		return len(ep.Subsets) == 1 && len(ep.Subsets[0].NotReadyAddresses) == 0 && len(ep.Subsets[0].Addresses) == 1
	})
	if err := c.Delete(ctx, &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "b"}}); err != nil {
		t.Fatal(err)
	}
	waitEndpoints(t, c, "web", func(ep *api.Endpoints) bool { return len(ep.Subsets) == 0 })
}

func TestEndpointsNamedTargetPorts(t *testing.T) {
	env, _ := manager(t)
	ctx := controllertest.Context(t)
	c := env.Client
	if err := c.Create(ctx, newService("web", web, api.FromString("web"))); err != nil {
		t.Fatal(err)
	}
	createPod(t, c, withStatus(newPod("a", web, map[string]int32{"web": 8080}), "10.0.0.1", true))
	createPod(t, c, withStatus(newPod("b", web, map[string]int32{"web": 9090}), "10.0.0.2", true))
	createPod(t, c, withStatus(newPod("c", web, map[string]int32{"admin": 7000}), "10.0.0.3", true))

	ep := waitEndpoints(t, c, "web", func(ep *api.Endpoints) bool { return len(ep.Subsets) == 2 })
	for i, want := range []struct {
		port int32
		ip   string
	}{{8080, "10.0.0.1"}, {9090, "10.0.0.2"}} {
		s := ep.Subsets[i]
		if len(s.Ports) != 1 || s.Ports[0].Port != want.port || s.Ports[0].Name != "http" || !slices.Equal(ips(s.Addresses), []string{want.ip}) {
			t.Errorf("subset %d = %+v, want port %d for %s", i, s, want.port, want.ip)
		}
	}
}

func TestEndpointsPublishNotReadyAddresses(t *testing.T) {
	env, _ := manager(t)
	ctx := controllertest.Context(t)
	c := env.Client
	svc := newService("web", web, api.FromInt32(8080))
	svc.Spec.PublishNotReadyAddresses = true
	if err := c.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	createPod(t, c, withStatus(newPod("a", web, nil), "10.0.0.1", false))
	createPod(t, c, withStatus(newPod("b", web, nil), "10.0.0.2", true))
	waitEndpoints(t, c, "web", func(ep *api.Endpoints) bool {
		return len(ep.Subsets) == 1 && slices.Equal(ips(ep.Subsets[0].Addresses), []string{"10.0.0.1", "10.0.0.2"}) && ep.Subsets[0].NotReadyAddresses == nil
	})
}

func TestEndpointsSelectorChangeAndRemoval(t *testing.T) {
	env, _ := manager(t)
	ctx := controllertest.Context(t)
	c := env.Client
	svc := newService("web", web, api.FromInt32(8080))
	if err := c.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	createPod(t, c, withStatus(newPod("a", web, nil), "10.0.0.1", true))
	createPod(t, c, withStatus(newPod("b", map[string]string{"app": "api"}, nil), "10.0.0.2", true))
	waitEndpoints(t, c, "web", func(ep *api.Endpoints) bool {
		return len(ep.Subsets) == 1 && slices.Equal(ips(ep.Subsets[0].Addresses), []string{"10.0.0.1"})
	})

	svc.Spec.Selector = map[string]string{"app": "api"}
	if err := c.Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	waitEndpoints(t, c, "web", func(ep *api.Endpoints) bool {
		return len(ep.Subsets) == 1 && slices.Equal(ips(ep.Subsets[0].Addresses), []string{"10.0.0.2"})
	})

	// A pod relabelled out of the selector leaves.
	b := &api.Pod{}
	if err := c.Get(ctx, "default", "b", b); err != nil {
		t.Fatal(err)
	}
	b.Labels = map[string]string{"app": "gone"}
	if err := c.Update(ctx, b); err != nil {
		t.Fatal(err)
	}
	waitEndpoints(t, c, "web", func(ep *api.Endpoints) bool { return len(ep.Subsets) == 0 })

	// No selector: the controller's Endpoints are deleted.
	svc.Spec.Selector = nil
	if err := c.Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := controllertest.WaitForDeletion[api.Endpoints](ctx, c, "default", "web"); err != nil {
		t.Fatal(err)
	}
}

func TestEndpointsDeletedWithService(t *testing.T) {
	env, _ := manager(t)
	ctx := controllertest.Context(t)
	c := env.Client
	svc := newService("web", web, api.FromInt32(8080))
	if err := c.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	createPod(t, c, withStatus(newPod("a", web, nil), "10.0.0.1", true))
	waitEndpoints(t, c, "web", func(ep *api.Endpoints) bool { return len(ep.Subsets) == 1 })
	if err := c.Delete(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := controllertest.WaitForDeletion[api.Endpoints](ctx, c, "default", "web"); err != nil {
		t.Fatal(err)
	}

	// Someone deleting the Endpoints of a live Service gets them back.
	svc = newService("api", web, api.FromInt32(8080))
	if err := c.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	ep := waitEndpoints(t, c, "api", func(ep *api.Endpoints) bool { return len(ep.Subsets) == 1 })
	if err := c.Delete(ctx, ep); err != nil {
		t.Fatal(err)
	}
	waitEndpoints(t, c, "api", func(e *api.Endpoints) bool { return e.UID != ep.UID && len(e.Subsets) == 1 })
}

// TestEndpointsHandMadeLeftAlone drives the reconciler directly: a
// selector-less Service's Endpoints, made by hand, are neither rewritten
// nor deleted, with the Service or without it.
func TestEndpointsHandMadeLeftAlone(t *testing.T) {
	env, r, ct := direct(t)
	ctx := controllertest.Context(t)
	c := env.Client
	if err := c.Create(ctx, newService("ext", nil, api.FromInt32(5432))); err != nil {
		t.Fatal(err)
	}
	createPod(t, c, withStatus(newPod("a", web, nil), "10.0.0.1", true))
	hand := &api.Endpoints{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "ext"},
		Subsets: []api.EndpointSubset{{
			Addresses: []api.EndpointAddress{{IP: "192.168.1.10"}},
			Ports:     []api.EndpointPort{{Port: 5432}},
		}},
	}
	if err := c.Create(ctx, hand); err != nil {
		t.Fatal(err)
	}
	reconcile(t, r, "ext")
	if err := c.Delete(ctx, &api.Service{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "ext"}}); err != nil {
		t.Fatal(err)
	}
	reconcile(t, r, "ext")
	if n := ct.writes.Load(); n != 0 {
		t.Fatalf("%d writes for hand-made Endpoints, want 0", n)
	}
	got := &api.Endpoints{}
	if err := c.Get(ctx, "default", "ext", got); err != nil {
		t.Fatalf("the hand-made Endpoints are gone: %v", err)
	}
	if got.ResourceVersion != hand.ResourceVersion {
		t.Fatal("the hand-made Endpoints were changed")
	}
}

// TestEndpointsNoWritesWhenUnchanged counts API writes: the first
// reconcile creates, the next ones (nothing changed, or a change that does
// not matter) write nothing.
func TestEndpointsNoWritesWhenUnchanged(t *testing.T) {
	env, r, ct := direct(t)
	ctx := controllertest.Context(t)
	c := env.Client
	svc := newService("web", web, api.FromString("http"))
	svc.Spec.Ports = append(svc.Spec.Ports, api.ServicePort{Name: "metrics", Port: 9100})
	if err := c.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"c", "a", "b", "d"} {
		port := int32(8080 + i%2)
		createPod(t, c, withStatus(newPod(name, web, map[string]int32{"http": port}), "10.0.0."+string(rune('1'+i)), i != 2))
	}
	reconcile(t, r, "web")
	if n := ct.writes.Load(); n != 1 {
		t.Fatalf("%d writes on the first reconcile, want 1 (the create)", n)
	}
	for range 3 {
		reconcile(t, r, "web")
	}
	// A status write that does not touch readiness or IPs.
	p := &api.Pod{}
	if err := c.Get(ctx, "default", "a", p); err != nil {
		t.Fatal(err)
	}
	p.Status.Message = "still fine"
	if err := c.UpdateStatus(ctx, p); err != nil {
		t.Fatal(err)
	}
	reconcile(t, r, "web")
	if n := ct.writes.Load(); n != 1 {
		t.Fatalf("%d writes after reconciling an unchanged state, want still 1", n)
	}
	setReady(t, c, "a", false)
	reconcile(t, r, "web")
	reconcile(t, r, "web")
	if n := ct.writes.Load(); n != 2 {
		t.Fatalf("%d writes after one readiness change, want 2", n)
	}
}

// TestEndpointsResyncWritesNothing runs the controller in a Manager and
// restarts it (a new leader replays every Service): nothing is written.
func TestEndpointsResyncWritesNothing(t *testing.T) {
	env, _ := manager(t)
	ctx := controllertest.Context(t)
	c := env.Client
	if err := c.Create(ctx, newService("web", web, api.FromInt32(8080))); err != nil {
		t.Fatal(err)
	}
	createPod(t, c, withStatus(newPod("a", web, nil), "10.0.0.1", true))
	createPod(t, c, withStatus(newPod("b", web, nil), "10.0.0.2", false))
	ep := waitEndpoints(t, c, "web", func(ep *api.Endpoints) bool {
		return len(ep.Subsets) == 1 && len(ep.Subsets[0].Addresses) == 1 && len(ep.Subsets[0].NotReadyAddresses) == 1
	})

	// A second manager, as after a failover: it reconciles every Service
	// once its caches sync.
	cc, ct := countingClient(t, env)
	m, err := env.NewManager(controller.ManagerConfig{Client: cc})
	if err != nil {
		t.Fatal(err)
	}
	if err := Add(m, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := env.StartManager(m); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func() bool { return reconciles(t, m.Registry()) >= 1 })
	if n := ct.writes.Load(); n != 0 {
		t.Fatalf("%d writes by a resync of an unchanged state, want 0", n)
	}
	got := &api.Endpoints{}
	if err := c.Get(ctx, "default", "web", got); err != nil || got.ResourceVersion != ep.ResourceVersion {
		t.Fatalf("the Endpoints changed: %v %s → %s", err, ep.ResourceVersion, got.ResourceVersion)
	}
}

// reconciles returns how many reconciles of the controller succeeded.
func reconciles(t testing.TB, g prometheus.Gatherer) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "drover_controller_reconcile_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ours, ok bool
			for _, l := range m.GetLabel() {
				ours = ours || l.GetName() == "controller" && l.GetValue() == Name
				ok = ok || l.GetName() == "result" && l.GetValue() == controller.ResultSuccess
			}
			if ours && ok {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
