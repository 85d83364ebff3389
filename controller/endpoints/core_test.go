package endpoints

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
)

func corePod(name, ip string, ready bool, ports map[string]int32) *api.Pod {
	p := withStatus(newPod(name, map[string]string{"app": "web"}, ports), ip, ready)
	p.UID = api.UID("uid-" + name)
	p.Spec.NodeName = "node-1"
	return p
}

func TestSubsetsReadyNotReadyAndExcluded(t *testing.T) {
	svc := newService("web", map[string]string{"app": "web"}, api.FromInt32(8080))
	terminating := corePod("terminating", "10.0.0.5", true, nil)
	terminating.DeletionTimestamp = &api.Time{Time: epoch}
	failed := corePod("failed", "10.0.0.6", false, nil)
	failed.Status.Phase = api.PodFailed
	succeeded := corePod("succeeded", "10.0.0.7", false, nil)
	succeeded.Status.Phase = api.PodSucceeded
	pods := []*api.Pod{
		corePod("b", "10.0.0.2", true, nil),
		corePod("a", "10.0.0.1", true, nil),
		corePod("c", "10.0.0.3", false, nil),
		corePod("noip", "", true, nil),
		terminating, failed, succeeded,
	}
	got := subsets(svc, pods)
	if len(got) != 1 {
		t.Fatalf("subsets = %+v, want one", got)
	}
	s := got[0]
	if want := []string{"10.0.0.1", "10.0.0.2"}; !slices.Equal(ips(s.Addresses), want) {
		t.Errorf("addresses = %v, want %v", ips(s.Addresses), want)
	}
	if want := []string{"10.0.0.3", "10.0.0.5"}; !slices.Equal(ips(s.NotReadyAddresses), want) {
		t.Errorf("notReadyAddresses = %v, want %v", ips(s.NotReadyAddresses), want)
	}
	if want := []api.EndpointPort{{Name: "http", Port: 8080, Protocol: api.ProtocolTCP}}; !slices.Equal(s.Ports, want) {
		t.Errorf("ports = %+v, want %+v", s.Ports, want)
	}
	a := s.Addresses[0]
	if a.TargetRef == nil || a.TargetRef.Kind != "Pod" || a.TargetRef.Name != "a" || a.TargetRef.UID != "uid-a" || a.TargetRef.Namespace != "default" {
		t.Errorf("targetRef = %+v", a.TargetRef)
	}
	if a.NodeName == nil || *a.NodeName != "node-1" {
		t.Errorf("nodeName = %v, want node-1", a.NodeName)
	}

	svc.Spec.PublishNotReadyAddresses = true
	got = subsets(svc, pods)
	if want := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.5"}; len(got) != 1 || !slices.Equal(ips(got[0].Addresses), want) || got[0].NotReadyAddresses != nil {
		t.Errorf("publishNotReadyAddresses: subsets = %+v, want addresses %v and no notReadyAddresses", got, want)
	}
}

func TestSubsetsNamedPortsRepack(t *testing.T) {
	svc := newService("web", map[string]string{"app": "web"}, api.FromString("http"))
	svc.Spec.Ports = append(svc.Spec.Ports, api.ServicePort{Name: "metrics", Port: 9100, TargetPort: api.FromInt32(9100)})
	pods := []*api.Pod{
		corePod("a", "10.0.0.1", true, map[string]int32{"http": 8080}),
		corePod("b", "10.0.0.2", true, map[string]int32{"http": 9090}),
		corePod("c", "10.0.0.3", false, map[string]int32{"http": 8080}),
		corePod("d", "10.0.0.4", true, nil), // no "http": only metrics
	}
	got := subsets(svc, pods)
	if len(got) != 3 {
		t.Fatalf("subsets = %+v, want 3 (http 8080, http 9090, metrics only)", got)
	}
	type want struct {
		ports           []int32
		ready, notReady []string
	}
	wants := []want{
		{[]int32{8080, 9100}, []string{"10.0.0.1"}, []string{"10.0.0.3"}},
		{[]int32{9090, 9100}, []string{"10.0.0.2"}, nil},
		{[]int32{9100}, []string{"10.0.0.4"}, nil},
	}
	for i, w := range wants {
		var ports []int32
		for _, p := range got[i].Ports {
			ports = append(ports, p.Port)
		}
		if !slices.Equal(ports, w.ports) || !slices.Equal(ips(got[i].Addresses), w.ready) || !slices.Equal(ips(got[i].NotReadyAddresses), w.notReady) {
			t.Errorf("subset %d = ports %v ready %v notReady %v; want %+v", i, ports, ips(got[i].Addresses), ips(got[i].NotReadyAddresses), w)
		}
	}

	// A pod that serves none of the ports is left out.
	svc.Spec.Ports = svc.Spec.Ports[:1]
	got = subsets(svc, []*api.Pod{corePod("d", "10.0.0.4", true, nil)})
	if got != nil {
		t.Errorf("subsets = %+v, want none: the pod has no port named http", got)
	}
}

func TestSubsetsHostnameHeadlessAndFamily(t *testing.T) {
	svc := newService("db", map[string]string{"app": "web"}, api.FromInt32(5432))
	svc.Spec.ClusterIP = api.ClusterIPNone
	svc.Spec.Ports = nil
	a := corePod("a", "10.0.0.1", true, nil)
	a.Spec.Hostname, a.Spec.Subdomain = "db-0", "db"
	b := corePod("b", "10.0.0.2", true, nil)
	b.Spec.Hostname, b.Spec.Subdomain = "db-1", "other"
	got := subsets(svc, []*api.Pod{a, b})
	if len(got) != 1 || got[0].Ports != nil || len(got[0].Addresses) != 2 {
		t.Fatalf("subsets = %+v, want one portless subset of 2", got)
	}
	if got[0].Addresses[0].Hostname != "db-0" || got[0].Addresses[1].Hostname != "" {
		t.Errorf("hostnames = %q, %q; want db-0 and none (other subdomain)", got[0].Addresses[0].Hostname, got[0].Addresses[1].Hostname)
	}
	if _, ep := decide(svc, []*api.Pod{a}, nil, epoch); ep == nil || ep.Labels[HeadlessLabel] != "" || len(ep.Labels) != 2 {
		t.Errorf("labels = %v, want the Service's and %s", ep.Labels, HeadlessLabel)
	}

	// Dual-stack pods: the Service's primary family picks the address.
	svc.Spec.IPFamilies = []api.IPFamily{api.IPv6Protocol, api.IPv4Protocol}
	a.Status.PodIPs = []api.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}
	got = subsets(svc, []*api.Pod{a, b})
	if len(got) != 1 || !slices.Equal(ips(got[0].Addresses), []string{"fd00::1"}) {
		t.Errorf("IPv6-first service: subsets = %+v, want only fd00::1 (b has no IPv6 address)", got)
	}
}

func TestDecide(t *testing.T) {
	svc := newService("web", map[string]string{"app": "web"}, api.FromInt32(8080))
	pods := []*api.Pod{corePod("a", "10.0.0.1", true, nil)}

	act, ep := decide(svc, pods, nil, epoch)
	if act != actCreate || ep.Name != "web" || ep.Annotations[ManagedByAnnotation] != ManagedByValue ||
		ep.Annotations[LastChangeTriggerTimeAnnotation] != "2026-03-04T05:06:07Z" || ep.Labels["team"] != "a" {
		t.Fatalf("decide(no endpoints) = %v, %+v", act, ep)
	}
	if act, _ := decide(svc, pods, ep, epoch.Add(time.Hour)); act != actNone {
		t.Errorf("decide(unchanged) = %v, want none", act)
	}
	pods = append(pods, corePod("b", "10.0.0.2", false, nil))
	act, next := decide(svc, pods, ep, epoch.Add(time.Hour))
	if act != actUpdate || len(next.Subsets[0].NotReadyAddresses) != 1 || next.Annotations[LastChangeTriggerTimeAnnotation] != "2026-03-04T06:06:07Z" {
		t.Errorf("decide(new pod) = %v, %+v", act, next)
	}
	if len(ep.Subsets[0].NotReadyAddresses) != 0 {
		t.Error("decide modified the current Endpoints")
	}

	// Not ours: taken over when the Service has a selector, left alone
	// otherwise.
	hand := &api.Endpoints{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web", Annotations: map[string]string{"note": "by hand"}}}
	act, next = decide(svc, pods, hand, epoch)
	if act != actUpdate || next.Annotations["note"] != "by hand" || !isManaged(next) {
		t.Errorf("decide(hand-made, selector) = %v, %+v", act, next)
	}
	noSel := newService("web", nil, api.FromInt32(8080))
	alias := newService("web", map[string]string{"app": "web"}, api.FromInt32(8080))
	alias.Spec.Type, alias.Spec.ExternalName = api.ServiceTypeExternalName, "db.example.com"
	for _, s := range []*api.Service{noSel, alias, nil} {
		if act, _ := decide(s, nil, hand, epoch); act != actNone {
			t.Errorf("decide(hand-made, service %v) = %v, want none", s, act)
		}
		if act, _ := decide(s, nil, ep, epoch); act != actDelete {
			t.Errorf("decide(managed, service %v) = %v, want delete", s, act)
		}
	}
	deleting := newService("web", map[string]string{"app": "web"}, api.FromInt32(8080))
	deleting.DeletionTimestamp = &api.Time{Time: epoch}
	if act, _ := decide(deleting, pods, ep, epoch); act != actNone {
		t.Errorf("decide(service being deleted) = %v, want none", act)
	}
}

func TestDecideTruncatesOverCapacity(t *testing.T) {
	svc := newService("web", map[string]string{"app": "web"}, api.FromString("http"))
	var pods []*api.Pod
	for i := range MaxAddresses + 10 {
		port := int32(8080 + i%2) // two subsets
		pods = append(pods, corePod(fmt.Sprintf("p%04d", i), fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), i >= 20, map[string]int32{"http": port}))
	}
	act, ep := decide(svc, pods, nil, epoch)
	if act != actCreate || ep.Annotations[OverCapacityAnnotation] != "truncated" {
		t.Fatalf("decide = %v, annotations %v; want a create marked over capacity", act, ep.Annotations)
	}
	ready, notReady := 0, 0
	for _, s := range ep.Subsets {
		ready += len(s.Addresses)
		notReady += len(s.NotReadyAddresses)
	}
	if ready != MaxAddresses-10 || notReady != 10 {
		t.Fatalf("%d ready and %d not ready addresses, want all %d ready and the first 10 not ready", ready, notReady, MaxAddresses-10)
	}
	if act, _ := decide(svc, pods, ep, epoch); act != actNone {
		t.Fatalf("decide(unchanged, truncated) = %v, want none", act)
	}
	// Back under the cap: the annotation goes.
	act, next := decide(svc, pods[:10], ep, epoch)
	if _, ok := next.Annotations[OverCapacityAnnotation]; act != actUpdate || ok {
		t.Fatalf("decide(under the cap) = %v, annotations %v", act, next.Annotations)
	}
}
