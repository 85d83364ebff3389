package endpointslice

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/drover-io/drover/api"
)

// world is a Service's slices as the API server would hold them after a
// plan is applied, for driving planSlices over several steps.
type world struct {
	svc    *api.Service
	slices map[string]*api.EndpointSlice
	n      int
}

func newWorld(svc *api.Service) *world {
	svc.UID = "svc-uid"
	return &world{svc: svc, slices: map[string]*api.EndpointSlice{}}
}

func (w *world) existing() []*api.EndpointSlice {
	return slices.Collect(maps.Values(w.slices))
}

// step plans for pods and applies the plan.
func (w *world) step(t *testing.T, pods []*api.Pod, max int) plan {
	t.Helper()
	p := planSlices(w.svc, desiredGroups(w.svc, pods, zones), w.existing(), max)
	for _, s := range p.create {
		w.n++
		s = api.DeepCopy(s)
		s.Name = fmt.Sprintf("%s%03d", s.GenerateName, w.n)
		s.UID = api.UID("slice-uid-" + s.Name)
		w.slices[s.Name] = s
	}
	for _, s := range p.update {
		if w.slices[s.Name] == nil {
			t.Fatalf("update of unknown slice %s", s.Name)
		}
		w.slices[s.Name] = s
	}
	for _, s := range p.delete {
		delete(w.slices, s.Name)
	}
	for _, s := range w.slices {
		if len(s.Endpoints) > max || len(s.Endpoints) == 0 {
			t.Fatalf("slice %s holds %d endpoints (max %d)", s.Name, len(s.Endpoints), max)
		}
	}
	return p
}

// endpoints returns the endpoints of the world by pod name.
func (w *world) endpoints() map[string]api.Endpoint {
	out := map[string]api.Endpoint{}
	for _, s := range w.slices {
		for _, ep := range s.Endpoints {
			out[ep.TargetRef.Name] = ep
		}
	}
	return out
}

func zones(node string) string {
	if node == "node-1" {
		return "zone-a"
	}
	return ""
}

func corePod(name, ip string, ready bool, ports map[string]int32) *api.Pod {
	p := withStatus(newPod(name, map[string]string{"app": "web"}, ports), ip, ready)
	p.UID = api.UID("uid-" + name)
	p.Spec.NodeName = "node-1"
	return p
}

func manyPods(n int) []*api.Pod {
	var pods []*api.Pod
	for i := range n {
		pods = append(pods, corePod(fmt.Sprintf("p%03d", i), fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), true, nil))
	}
	return pods
}

func counts(p plan) string {
	return fmt.Sprintf("%d created, %d updated, %d deleted", len(p.create), len(p.update), len(p.delete))
}

func TestPlanSpreadsAndKeepsChurnLow(t *testing.T) {
	w := newWorld(newService("web", map[string]string{"app": "web"}, api.FromInt32(8080)))
	pods := manyPods(250)

	p := w.step(t, pods, 100)
	if got := counts(p); got != "3 created, 0 updated, 0 deleted" {
		t.Fatalf("first plan: %s", got)
	}
	if n := len(w.endpoints()); n != 250 {
		t.Fatalf("%d endpoints, want 250", n)
	}
	for _, s := range w.slices {
		if s.Labels[api.LabelServiceName] != "web" || s.Labels[api.LabelManagedBy] != ManagedByValue || s.Labels["team"] != "a" ||
			!s.IsControlledBy("svc-uid") || s.AddressType != api.AddressTypeIPv4 || !strings.HasPrefix(s.Name, "web-") ||
			len(s.Ports) != 1 || *s.Ports[0].Port != 8080 || *s.Ports[0].Name != "http" {
			t.Fatalf("slice %+v", s)
		}
	}
	if p := w.step(t, pods, 100); p.writes() != 0 {
		t.Fatalf("unchanged state: %s, want no writes", counts(p))
	}

	// One pod stops being ready: only its slice is written.
	pods[17] = corePod("p017", "10.0.0.18", false, nil)
	if got := counts(w.step(t, pods, 100)); got != "0 created, 1 updated, 0 deleted" {
		t.Fatalf("one pod changed: %s", got)
	}
	if ep := w.endpoints()["p017"]; *ep.Conditions.Ready || *ep.Conditions.Serving {
		t.Fatalf("p017 conditions = %+v, want not ready", ep.Conditions)
	}

	// A new pod goes into the partly full slice: one update, no create.
	pods = append(pods, corePod("p250", "10.0.1.1", true, nil))
	if got := counts(w.step(t, pods, 100)); got != "0 created, 1 updated, 0 deleted" {
		t.Fatalf("one pod added: %s", got)
	}
	// A pod deleted and another added at once: both in one write when
	// they are in the same slice.
	pods = slices.DeleteFunc(pods, func(p *api.Pod) bool { return p.Name == "p005" })
	pods = append(pods, corePod("p251", "10.0.1.2", true, nil))
	if got := counts(w.step(t, pods, 100)); got != "0 created, 1 updated, 0 deleted" {
		t.Fatalf("one pod replaced: %s", got)
	}
	if n := len(w.endpoints()); n != 251 || len(w.slices) != 3 {
		t.Fatalf("%d endpoints in %d slices, want 251 in 3", n, len(w.slices))
	}

	// All pods go: every slice is deleted.
	if got := counts(w.step(t, nil, 100)); got != "0 created, 0 updated, 3 deleted" {
		t.Fatalf("no pods: %s", got)
	}
}

func TestPlanFillsRoomBeforeCreating(t *testing.T) {
	w := newWorld(newService("web", map[string]string{"app": "web"}, api.FromInt32(8080)))
	pods := manyPods(160)
	w.step(t, pods, 100) // 100 + 60
	// 30 more: they fit in the slice of 60.
	pods = append(pods, manyPods(190)[160:]...)
	if got := counts(w.step(t, pods, 100)); got != "0 created, 1 updated, 0 deleted" {
		t.Fatalf("30 pods added: %s", got)
	}
	// 110 more: one full new slice, and the 10 left into the slice of 90.
	pods = append(pods, manyPods(300)[190:]...)
	if got := counts(w.step(t, pods, 100)); got != "1 created, 1 updated, 0 deleted" {
		t.Fatalf("110 pods added: %s", got)
	}
	// 30 more: no slice has room for them all, so a new one.
	pods = append(pods, manyPods(330)[300:]...)
	if got := counts(w.step(t, pods, 100)); got != "1 created, 0 updated, 0 deleted" {
		t.Fatalf("30 more pods added: %s", got)
	}
	if n := len(w.endpoints()); n != 330 || len(w.slices) != 4 {
		t.Fatalf("%d endpoints in %d slices, want 330 in 4", n, len(w.slices))
	}
	// A slice emptied by deletions is refilled in place rather than
	// deleted and a new one created.
	w2 := newWorld(newService("web", map[string]string{"app": "web"}, api.FromInt32(8080)))
	pods = manyPods(200)
	w2.step(t, pods, 100)
	next := append(slices.Clone(pods[100:]), manyPods(300)[200:]...) // the first 100 replaced by 100 new
	if got := counts(w2.step(t, next, 100)); got != "0 created, 1 updated, 0 deleted" {
		t.Fatalf("100 pods replaced: %s", got)
	}
}

func TestPlanConditionsAndFields(t *testing.T) {
	svc := newService("web", map[string]string{"app": "web"}, api.FromInt32(8080))
	term := corePod("term", "10.0.0.2", true, nil)
	term.DeletionTimestamp = &api.Time{Time: epoch}
	named := corePod("named", "10.0.0.3", false, nil)
	named.Spec.Hostname, named.Spec.Subdomain = "web-0", "web"
	other := corePod("other", "10.0.0.4", true, nil)
	other.Spec.NodeName = "node-2"
	failed := corePod("failed", "10.0.0.5", true, nil)
	failed.Status.Phase = api.PodFailed
	noip := corePod("noip", "", true, nil)

	w := newWorld(svc)
	w.step(t, []*api.Pod{corePod("ok", "10.0.0.1", true, nil), term, named, other, failed, noip}, 100)
	eps := w.endpoints()
	if len(eps) != 4 {
		t.Fatalf("endpoints %v, want ok, term, named, other", slices.Collect(maps.Keys(eps)))
	}
	cond := func(name string) string {
		c := eps[name].Conditions
		return fmt.Sprintf("ready=%v serving=%v terminating=%v", *c.Ready, *c.Serving, *c.Terminating)
	}
	for name, want := range map[string]string{
		"ok":    "ready=true serving=true terminating=false",
		"term":  "ready=false serving=true terminating=true",
		"named": "ready=false serving=false terminating=false",
	} {
		if got := cond(name); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	ok := eps["ok"]
	if ok.Zone == nil || *ok.Zone != "zone-a" || *ok.NodeName != "node-1" || ok.TargetRef.UID != "uid-ok" || ok.TargetRef.Kind != "Pod" || ok.Hostname != nil {
		t.Errorf("endpoint ok = %+v", ok)
	}
	if eps["other"].Zone != nil {
		t.Errorf("other has zone %q; its node has none", *eps["other"].Zone)
	}
	if h := eps["named"].Hostname; h == nil || *h != "web-0" {
		t.Errorf("named hostname = %v, want web-0", h)
	}

	svc.Spec.PublishNotReadyAddresses = true
	w.step(t, []*api.Pod{term, named}, 100)
	eps = w.endpoints()
	if got := cond("term"); got != "ready=true serving=true terminating=true" {
		t.Errorf("publishNotReadyAddresses: term %s", got)
	}
	if got := cond("named"); got != "ready=true serving=false terminating=false" {
		t.Errorf("publishNotReadyAddresses: named %s", got)
	}
}

func TestPlanNamedPortsDualStackAndStaleSlices(t *testing.T) {
	svc := newService("web", map[string]string{"app": "web"}, api.FromString("http"))
	svc.Spec.IPFamilies = []api.IPFamily{api.IPv4Protocol, api.IPv6Protocol}
	a := corePod("a", "10.0.0.1", true, map[string]int32{"http": 8080})
	a.Status.PodIPs = []api.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}
	b := corePod("b", "10.0.0.2", true, map[string]int32{"http": 9090})
	b.Status.PodIPs = []api.PodIP{{IP: "10.0.0.2"}, {IP: "fd00::2"}}
	c := corePod("c", "10.0.0.3", true, nil) // no port named http

	w := newWorld(svc)
	w.step(t, []*api.Pod{a, b, c}, 100)
	type shape struct {
		at   api.AddressType
		port int32
		addr string
	}
	var got []shape
	for _, s := range w.slices {
		if len(s.Endpoints) != 1 {
			t.Fatalf("slice %s has %d endpoints, want 1", s.Name, len(s.Endpoints))
		}
		got = append(got, shape{s.AddressType, *s.Ports[0].Port, s.Endpoints[0].Addresses[0]})
	}
	slices.SortFunc(got, func(x, y shape) int { return strings.Compare(x.addr, y.addr) })
	want := []shape{{"IPv4", 8080, "10.0.0.1"}, {"IPv4", 9090, "10.0.0.2"}, {"IPv6", 8080, "fd00::1"}, {"IPv6", 9090, "fd00::2"}}
	if !slices.Equal(got, want) {
		t.Fatalf("slices = %v, want %v", got, want)
	}

	// Single-stack again: the IPv6 slices go. A slice of an earlier
	// Service of the same name goes too; another controller's stays (it is
	// never listed: the reconciler selects on the managed-by label).
	svc.Spec.IPFamilies = []api.IPFamily{api.IPv4Protocol}
	old := api.DeepCopy(w.slices["web-001"])
	old.Name, old.OwnerReferences = "web-old", []api.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: "web", UID: "old-uid", Controller: new(true)}}
	w.slices[old.Name] = old
	p := w.step(t, []*api.Pod{a, b, c}, 100)
	if got := counts(p); got != "0 created, 0 updated, 3 deleted" {
		t.Fatalf("back to IPv4: %s", got)
	}
	for _, s := range w.slices {
		if s.AddressType != api.AddressTypeIPv4 || !s.IsControlledBy("svc-uid") {
			t.Errorf("slice %s (%s) left", s.Name, s.AddressType)
		}
	}
}
