package endpointslice

import (
	"context"
	"fmt"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/controllertest"
)

var web = map[string]string{"app": "web"}

// waitSlices waits until the slices of the Service default/name satisfy
// cond, and returns them.
func waitSlices(t testing.TB, c *client.Client, name string, cond func(summary) bool) []*api.EndpointSlice {
	t.Helper()
	var ss []*api.EndpointSlice
	controllertest.Eventually(t, func() bool {
		ss = serviceSlices(t, c, name)
		return cond(summarize(ss))
	})
	return ss
}

func TestSlicesManyPodsAndOneChange(t *testing.T) {
	env, ct := manager(t, Options{})
	c := env.Client
	node := &api.Node{ObjectMeta: api.ObjectMeta{Name: "node-1", Labels: map[string]string{ZoneLabel: "zone-a"}}}
	if err := c.Create(context.Background(), node); err != nil {
		t.Fatal(err)
	}
	// The pods first (the slow part on a loaded machine), then the
	// Service: one reconcile writes its slices.
	const n = 150
	for i := range n {
		p := withStatus(newPod(fmt.Sprintf("p%03d", i), web, nil), fmt.Sprintf("10.0.%d.%d", i/200, i%200+1), true)
		p.Spec.NodeName = "node-1"
		createPod(t, c, p)
	}
	ctx := controllertest.Context(t)
	svc := newService("web", web, api.FromInt32(8080))
	if err := c.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	ss := waitSlices(t, c, "web", func(s summary) bool { return s.endpoints == n && s.ready == n })
	if len(ss) != 2 {
		t.Fatalf("%d slices for %d endpoints, want 2", len(ss), n)
	}
	for _, s := range ss {
		if len(s.Endpoints) > DefaultMaxEndpointsPerSlice || !s.IsControlledBy(svc.UID) || s.Labels[api.LabelManagedBy] != ManagedByValue {
			t.Fatalf("slice %s: %d endpoints, owners %+v, labels %v", s.Name, len(s.Endpoints), s.OwnerReferences, s.Labels)
		}
		if z := s.Endpoints[0].Zone; z == nil || *z != "zone-a" {
			t.Fatalf("slice %s: zone %v, want zone-a", s.Name, z)
		}
	}
	t.Logf("writes to reach %d endpoints: %d", n, ct.writes.Load())
	if k := ct.conflicts.Load(); k != 0 {
		// Only the controller writes slices here: a Conflict means it
		// planned on a cache older than its own last write.
		t.Fatalf("%d Conflicts on slice writes, want 0", k)
	}
	before := map[string]string{}
	for _, s := range ss {
		before[s.Name] = s.ResourceVersion
	}

	// One pod stops being ready: exactly one slice is written.
	writes := ct.writes.Load()
	setReady(t, c, "p123", false)
	ss = waitSlices(t, c, "web", func(s summary) bool { return s.ready == n-1 })
	changed := 0
	for _, s := range ss {
		if before[s.Name] == "" {
			t.Fatalf("a new slice %s appeared", s.Name)
		}
		if before[s.Name] != s.ResourceVersion {
			changed++
		}
	}
	if changed != 1 || len(ss) != 2 {
		t.Fatalf("%d of %d slices changed, want 1 of 2", changed, len(ss))
	}
	if w := ct.writes.Load() - writes; w != 1 {
		t.Fatalf("%d API writes for one pod's change, want 1", w)
	}

	// The Service is deleted: its slices go (no garbage collector runs
	// here, so the controller did it).
	if err := c.Delete(ctx, svc); err != nil {
		t.Fatal(err)
	}
	waitSlices(t, c, "web", func(s summary) bool { return s.slices == 0 })
}

func TestSlicesFollowPodsAndSelector(t *testing.T) {
	env, _ := manager(t, Options{MaxEndpointsPerSlice: 2})
	ctx := controllertest.Context(t)
	c := env.Client
	svc := newService("web", web, api.FromString("http"))
	if err := c.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	createPod(t, c, withStatus(newPod("a", web, map[string]int32{"http": 8080}), "10.0.0.1", true))
	createPod(t, c, withStatus(newPod("b", web, map[string]int32{"http": 8080}), "10.0.0.2", false))
	createPod(t, c, withStatus(newPod("c", web, map[string]int32{"http": 9090}), "10.0.0.3", true))
	createPod(t, c, withStatus(newPod("d", web, map[string]int32{"http": 8080}), "10.0.0.4", true))
	createPod(t, c, withStatus(newPod("x", web, nil), "10.0.0.5", true)) // no port named http
	// 3 pods on 8080 (max 2: two slices) and 1 on 9090.
	ss := waitSlices(t, c, "web", func(s summary) bool { return s.endpoints == 4 && s.ready == 3 })
	if len(ss) != 3 {
		t.Fatalf("%d slices, want 3", len(ss))
	}

	setReady(t, c, "b", true)
	waitSlices(t, c, "web", func(s summary) bool { return s.endpoints == 4 && s.ready == 4 })
	if err := c.Delete(ctx, &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "c"}}); err != nil {
		t.Fatal(err)
	}
	waitSlices(t, c, "web", func(s summary) bool { return s.endpoints == 3 && s.slices == 2 })

	// The selector stops matching: the slices empty and go.
	svc.Spec.Selector = map[string]string{"app": "none"}
	if err := c.Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	waitSlices(t, c, "web", func(s summary) bool { return s.slices == 0 })
	svc.Spec.Selector = web
	if err := c.Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	waitSlices(t, c, "web", func(s summary) bool { return s.endpoints == 3 })
	// No selector: the controller's slices are deleted, another's stay.
	foreign := &api.EndpointSlice{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web-by-hand",
			Labels: map[string]string{api.LabelServiceName: "web", api.LabelManagedBy: "someone-else"}},
		AddressType: api.AddressTypeIPv4,
		Endpoints:   []api.Endpoint{{Addresses: []string{"192.168.0.1"}}},
	}
	if err := c.Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	svc.Spec.Selector = nil
	if err := c.Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	ss = waitSlices(t, c, "web", func(s summary) bool { return s.slices == 1 })
	if ss[0].Name != "web-by-hand" {
		t.Fatalf("slice left: %s, want web-by-hand", ss[0].Name)
	}
}

// TestSlicesNoWritesWhenUnchanged counts the writes of reconciles driven
// directly: one create per slice, then nothing while nothing changes.
func TestSlicesNoWritesWhenUnchanged(t *testing.T) {
	env, r, ct := direct(t, Options{})
	ctx := controllertest.Context(t)
	c := env.Client
	if err := c.Create(ctx, newService("web", web, api.FromInt32(8080))); err != nil {
		t.Fatal(err)
	}
	for i := range 120 {
		createPod(t, c, withStatus(newPod(fmt.Sprintf("p%03d", i), web, nil), fmt.Sprintf("10.0.0.%d", i+1), i%3 != 0))
	}
	reconcile(t, r, "web")
	if w := ct.writes.Load(); w != 2 {
		t.Fatalf("%d writes on the first reconcile, want 2 (two slices)", w)
	}
	for range 3 {
		reconcile(t, r, "web")
	}
	if w := ct.writes.Load(); w != 2 {
		t.Fatalf("%d writes after reconciling an unchanged state, want still 2", w)
	}
}
