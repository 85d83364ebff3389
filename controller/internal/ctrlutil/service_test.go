package ctrlutil

import (
	"slices"
	"testing"

	"github.com/drover-io/drover/api"
)

func TestFindPort(t *testing.T) {
	p := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web-0"},
		Spec: api.PodSpec{Containers: []api.Container{
			{Name: "a", Ports: []api.ContainerPort{{Name: "dns", ContainerPort: 5353, Protocol: api.ProtocolUDP}}},
			{Name: "b", Ports: []api.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "dns", ContainerPort: 5354, Protocol: api.ProtocolTCP}}},
		}},
	}
	for _, tc := range []struct {
		sp   api.ServicePort
		want int32
		err  bool
	}{
		{api.ServicePort{Port: 80, TargetPort: api.FromInt32(9090)}, 9090, false},
		{api.ServicePort{Port: 80}, 80, false}, // unset targetPort
		{api.ServicePort{Port: 80, TargetPort: api.FromString("http")}, 8080, false},
		{api.ServicePort{Port: 53, Protocol: api.ProtocolUDP, TargetPort: api.FromString("dns")}, 5353, false},
		{api.ServicePort{Port: 53, TargetPort: api.FromString("dns")}, 5354, false}, // TCP by default
		{api.ServicePort{Name: "m", Port: 80, TargetPort: api.FromString("metrics")}, 0, true},
		{api.ServicePort{Port: 80, Protocol: api.ProtocolUDP, TargetPort: api.FromString("http")}, 0, true},
	} {
		got, err := FindPort(p, &tc.sp)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("FindPort(%+v) = %d, %v; want %d, error %v", tc.sp, got, err, tc.want, tc.err)
		}
	}
}

func TestIPFamilies(t *testing.T) {
	p := &api.Pod{Status: api.PodStatus{PodIP: "10.0.0.1", PodIPs: []api.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}}}
	if ip, ok := PodIPOfFamily(p, api.IPv6Protocol); !ok || ip != "fd00::1" {
		t.Errorf("PodIPOfFamily(IPv6) = %q, %v", ip, ok)
	}
	legacy := &api.Pod{Status: api.PodStatus{PodIP: "10.0.0.2"}}
	if ip, ok := PodIPOfFamily(legacy, api.IPv4Protocol); !ok || ip != "10.0.0.2" {
		t.Errorf("PodIPOfFamily(podIP only) = %q, %v", ip, ok)
	}
	if _, ok := PodIPOfFamily(legacy, api.IPv6Protocol); ok {
		t.Error("PodIPOfFamily found an IPv6 address in an IPv4-only pod")
	}
	for _, tc := range []struct {
		spec api.ServiceSpec
		pods []*api.Pod
		want []api.IPFamily
	}{
		{api.ServiceSpec{IPFamilies: []api.IPFamily{api.IPv6Protocol, api.IPv4Protocol}}, nil, []api.IPFamily{"IPv6", "IPv4"}},
		{api.ServiceSpec{ClusterIP: "fd00::10", ClusterIPs: []string{"fd00::10"}}, nil, []api.IPFamily{"IPv6"}},
		{api.ServiceSpec{ClusterIP: api.ClusterIPNone}, []*api.Pod{p}, []api.IPFamily{"IPv4", "IPv6"}},
		{api.ServiceSpec{ClusterIP: api.ClusterIPNone}, nil, []api.IPFamily{"IPv4"}},
	} {
		if got := ServiceIPFamilies(&api.Service{Spec: tc.spec}, tc.pods); !slices.Equal(got, tc.want) {
			t.Errorf("ServiceIPFamilies(%+v) = %v, want %v", tc.spec, got, tc.want)
		}
	}
}

func TestServiceSelectsAndPodChanges(t *testing.T) {
	web := map[string]string{"app": "web", "tier": "fe"}
	svc := &api.Service{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"}, Spec: api.ServiceSpec{Selector: map[string]string{"app": "web"}}}
	none := &api.Service{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "ext"}}
	alias := &api.Service{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "alias"},
		Spec: api.ServiceSpec{Selector: map[string]string{"app": "web"}, Type: api.ServiceTypeExternalName}}
	other := &api.Service{ObjectMeta: api.ObjectMeta{Namespace: "other", Name: "web"}, Spec: svc.Spec}
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "p", Labels: web}}
	got := ServicesSelecting([]*api.Service{svc, none, alias, other}, p)
	if len(got) != 1 || got[0] != svc {
		t.Fatalf("ServicesSelecting = %v, want only default/web", got)
	}

	old := &api.Pod{ObjectMeta: api.ObjectMeta{Labels: web}, Spec: api.PodSpec{Containers: []api.Container{{Name: "c"}}}}
	same := api.DeepCopy(old)
	same.Status.Message = "probe ok"
	same.ResourceVersion = "7"
	if PodEndpointsChanged(old, same) {
		t.Error("a status message change counts as an endpoints change")
	}
	for name, mut := range map[string]func(*api.Pod){
		"labels": func(p *api.Pod) { p.Labels = map[string]string{"app": "db"} },
		"ready": func(p *api.Pod) {
			p.Status.Conditions = []api.PodCondition{{Type: api.PodReady, Status: api.ConditionTrue}}
		},
		"ip":      func(p *api.Pod) { p.Status.PodIP = "10.0.0.1" },
		"deleted": func(p *api.Pod) { p.DeletionTimestamp = &api.Time{} },
		"ports":   func(p *api.Pod) { p.Spec.Containers[0].Ports = []api.ContainerPort{{ContainerPort: 80}} },
		"phase":   func(p *api.Pod) { p.Status.Phase = api.PodFailed },
	} {
		next := api.DeepCopy(old)
		mut(next)
		if !PodEndpointsChanged(old, next) {
			t.Errorf("a %s change is not an endpoints change", name)
		}
	}
}
