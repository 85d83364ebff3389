package cache

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/scheduler/framework"
)

// makeNode returns a node with cpu millicores allocatable.
func makeNode(name string, milliCPU int64) *api.Node {
	return &api.Node{
		ObjectMeta: api.ObjectMeta{Name: name},
		Status: api.NodeStatus{Allocatable: api.ResourceList{
			api.ResourceCPU: resource.NewMilliQuantity(milliCPU, resource.DecimalSI),
			"pods":          resource.NewQuantity(110, resource.DecimalSI),
		}},
	}
}

// makePod returns pod default/name (uid "uid-name") on node requesting
// cpu millicores.
func makePod(name, node string, milliCPU int64) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name, UID: api.UID("uid-" + name)},
		Spec: api.PodSpec{
			NodeName: node,
			Containers: []api.Container{{
				Name: "c",
				Resources: api.ResourceRequirements{Requests: api.ResourceList{
					api.ResourceCPU: resource.NewMilliQuantity(milliCPU, resource.DecimalSI),
				}},
			}},
		},
	}
}

// onNode returns a copy of p on node, as the scheduler assumes it.
func onNode(p *api.Pod, node string) *api.Pod {
	cp := *p
	cp.Spec.NodeName = node
	return &cp
}

// withCPU returns a copy of p requesting milliCPU (an update).
func withCPU(p *api.Pod, milliCPU int64) *api.Pod {
	cp := makePod(p.Name, p.Spec.NodeName, milliCPU)
	cp.ObjectMeta = p.ObjectMeta
	cp.Spec.Affinity = p.Spec.Affinity
	return cp
}

var term = api.PodAffinityTerm{
	LabelSelector: &api.LabelSelector{MatchLabels: map[string]string{"app": "x"}},
	TopologyKey:   "kubernetes.io/hostname",
}

// withAffinity returns p with a preferred pod affinity term.
func withAffinity(p *api.Pod) *api.Pod {
	p.Spec.Affinity = &api.Affinity{PodAffinity: &api.PodAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []api.WeightedPodAffinityTerm{{Weight: 1, PodAffinityTerm: term}},
	}}
	return p
}

// withAntiAffinity returns p with a required pod anti-affinity term.
func withAntiAffinity(p *api.Pod) *api.Pod {
	p.Spec.Affinity = &api.Affinity{PodAntiAffinity: &api.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []api.PodAffinityTerm{term},
	}}
	return p
}

// describe prints what a snapshot shows, one node per line:
//
//	n1 cpu=1500/4000 pods=a,b
//	affinity: n1
//	anti-affinity:
func describe(s *Snapshot) string {
	var b strings.Builder
	for _, ni := range s.List() {
		var pods []string
		for _, pi := range ni.Pods {
			pods = append(pods, pi.Pod.Name)
		}
		slices.Sort(pods)
		fmt.Fprintf(&b, "%s cpu=%d/%d pods=%s\n", ni.Name(), ni.Requested.MilliCPU, ni.Allocatable.MilliCPU, strings.Join(pods, ","))
	}
	fmt.Fprintf(&b, "affinity: %s\n", names(s.HavePodsWithAffinity()))
	fmt.Fprintf(&b, "anti-affinity: %s\n", names(s.HavePodsWithRequiredAntiAffinity()))
	return b.String()
}

// describeCache prints what a cache holds beyond its snapshot: the
// placeholders (with their pods) and the assumed pods, sorted.
func describeCache(c *Cache) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var holders, assumed []string
	for name, it := range c.nodes {
		if it.info.Node == nil {
			var pods []string
			for _, pi := range it.info.Pods {
				pods = append(pods, pi.Pod.Name)
			}
			slices.Sort(pods)
			holders = append(holders, name+"("+strings.Join(pods, ",")+")")
		}
	}
	for _, st := range c.assumed {
		assumed = append(assumed, st.pod.Name+"@"+st.pod.Spec.NodeName)
	}
	slices.Sort(holders)
	slices.Sort(assumed)
	return fmt.Sprintf("placeholders: %s\nassumed: %s\n", strings.Join(holders, " "), strings.Join(assumed, " "))
}

func names(list []*framework.NodeInfo) string {
	var out []string
	for _, ni := range list {
		out = append(out, ni.Name())
	}
	return strings.Join(out, ",")
}

// checkSnapshot checks that s shows exactly what a new snapshot of c
// shows, NodeInfo by NodeInfo.
func checkSnapshot(t *testing.T, c *Cache, s *Snapshot) {
	t.Helper()
	fresh := NewSnapshot()
	if err := c.UpdateSnapshot(fresh); err != nil {
		t.Fatalf("UpdateSnapshot(new): %v", err)
	}
	if got, want := describe(s), describe(fresh); got != want {
		t.Fatalf("incremental snapshot:\n%s\nwant (new snapshot):\n%s", got, want)
	}
	if len(s.nodes) != len(s.list) {
		t.Fatalf("snapshot has %d nodes by name, %d listed", len(s.nodes), len(s.list))
	}
	for _, want := range fresh.List() {
		got := s.Get(want.Name())
		if got == nil {
			t.Fatalf("Get(%q) = nil", want.Name())
		}
		if got.Generation != want.Generation || got.Node != want.Node ||
			len(got.Pods) != len(want.Pods) || got.Requested.MilliCPU != want.Requested.MilliCPU ||
			len(got.UsedPorts) != len(want.UsedPorts) {
			t.Fatalf("node %s: incremental generation %d, %d pods, cpu %d; new snapshot: generation %d, %d pods, cpu %d",
				want.Name(), got.Generation, len(got.Pods), got.Requested.MilliCPU, want.Generation, len(want.Pods), want.Requested.MilliCPU)
		}
	}
	counts := make(map[string]int)
	for _, ni := range s.List() {
		for name := range ni.ImageSizes {
			counts[name]++
		}
	}
	if !maps.Equal(counts, s.images) {
		t.Fatalf("image counts %v, want (counted over List) %v", s.images, counts)
	}
	for _, list := range [][]*framework.NodeInfo{s.List(), s.HavePodsWithAffinity(), s.HavePodsWithRequiredAntiAffinity()} {
		for _, ni := range list {
			if s.Get(ni.Name()) != ni {
				t.Fatalf("node %s: a list holds another NodeInfo than Get", ni.Name())
			}
		}
	}
}
