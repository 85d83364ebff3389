package imagelocality

import (
	"context"
	"fmt"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

const MB = 1024 * 1024

type img struct {
	names []string
	size  int64
}

func node(name string, images ...img) *framework.NodeInfo {
	n := &api.Node{}
	n.Name = name
	for _, i := range images {
		n.Status.Images = append(n.Status.Images, api.ContainerImage{Names: i.names, SizeBytes: i.size})
	}
	return framework.NewNodeInfo(n)
}

func pod(images ...string) *api.Pod {
	p := &api.Pod{}
	p.Name = "p"
	for i, im := range images {
		p.Spec.Containers = append(p.Spec.Containers, api.Container{Name: fmt.Sprint("c", i), Image: im})
	}
	return p
}

// snapshot is a framework.Handle whose snapshot is a fixed list of nodes.
type snapshot []*framework.NodeInfo

func (s snapshot) Snapshot() framework.Snapshot            { return s }
func (s snapshot) Client() framework.Client                { return nil }
func (s snapshot) WaitingPod(api.UID) framework.WaitingPod { return nil }
func (s snapshot) RunFilterPlugins(context.Context, *framework.CycleState, *api.Pod, *framework.NodeInfo) *framework.Status {
	return nil
}
func (s snapshot) RunPreFilterExtensionAddPod(context.Context, *framework.CycleState, *api.Pod, *framework.PodInfo, *framework.NodeInfo) *framework.Status {
	return nil
}
func (s snapshot) RunPreFilterExtensionRemovePod(context.Context, *framework.CycleState, *api.Pod, *framework.PodInfo, *framework.NodeInfo) *framework.Status {
	return nil
}
func (s snapshot) List() []*framework.NodeInfo { return s }
func (s snapshot) Get(name string) *framework.NodeInfo {
	for _, n := range s {
		if n.Name() == name {
			return n
		}
	}
	return nil
}
func (s snapshot) HavePodsWithAffinity() []*framework.NodeInfo             { return nil }
func (s snapshot) HavePodsWithRequiredAntiAffinity() []*framework.NodeInfo { return nil }

func scores(t testing.TB, p *Plugin, pd *api.Pod, nodes []*framework.NodeInfo) []int64 {
	ctx := context.Background()
	state := framework.NewCycleState()
	if st := p.PreScore(ctx, state, pd, nodes); !st.IsSuccess() {
		t.Fatalf("PreScore = %v", st)
	}
	out := make([]int64, len(nodes))
	for i, n := range nodes {
		s, st := p.Score(ctx, state, pd, n)
		if !st.IsSuccess() {
			t.Fatalf("Score = %v", st)
		}
		out[i] = s
	}
	return out
}

func TestScore(t *testing.T) {
	big := img{[]string{"gcr.io/big:v1", "gcr.io/big@sha256:abc"}, 900 * MB}
	small := img{[]string{"small:latest"}, 300 * MB}
	huge := img{[]string{"huge:1"}, 3000 * MB}
	tiny := img{[]string{"tiny:1"}, 20 * MB}
	tests := []struct {
		name  string
		pod   *api.Pod
		nodes []*framework.NodeInfo
		want  []int64
	}{
		// big is on 2 of 3 nodes: 900 MB × 2/3 = 600 MB; small on 1 of 3:
		// 100 MB. n1: (700 MB - 23 MB) × 100 / (2000 MB - 23 MB) = 34;
		// n2: (600 - 23) × 100 / 1977 = 29.
		{"size scaled by spread", pod("gcr.io/big:v1", "small"),
			[]*framework.NodeInfo{node("n1", big, small), node("n2", big), node("n3")}, []int64{34, 29, 0}},
		{"digest name", pod("gcr.io/big@sha256:abc"),
			[]*framework.NodeInfo{node("n1", big)}, []int64{(900 - 23) * 100 / (1000 - 23)}},
		{"above the maximum", pod("huge:1"), []*framework.NodeInfo{node("n1", huge)}, []int64{100}},
		{"below the minimum", pod("tiny:1"), []*framework.NodeInfo{node("n1", tiny)}, []int64{0}},
		{"untagged is latest only", pod("gcr.io/big"), []*framework.NodeInfo{node("n1", big)}, []int64{0}},
		{"no containers", pod(), []*framework.NodeInfo{node("n1", big)}, []int64{0}},
		// Init containers count: 900 MB of 2 × 1000 MB: (900-23)×100/(2000-23) = 44.
		{"init containers", func() *api.Pod {
			p := pod("tiny:1")
			p.Spec.InitContainers = []api.Container{{Name: "init", Image: "gcr.io/big:v1"}}
			return p
		}(), []*framework.NodeInfo{node("n1", big)}, []int64{44}},
	}
	p, _ := New(Args{}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scores(t, p, tt.pod, tt.nodes)
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("score of %s = %d, want %d", tt.nodes[i].Name(), got[i], tt.want[i])
				}
			}
		})
	}
}

func TestSpreadCountsTheWholeSnapshot(t *testing.T) {
	im := img{[]string{"app:1"}, 1000 * MB}
	all := snapshot{node("n1", im), node("n2", im), node("n3"), node("n4")}
	p, _ := New(Args{}, all)
	// Only n1 passed Filter, but the image is on 2 of the 4 nodes:
	// 500 MB, (500 - 23) × 100 / 977 = 48.
	got := scores(t, p, pod("app:1"), all[:1])
	if got[0] != 48 {
		t.Errorf("score = %d, want 48", got[0])
	}
}

func TestNormalizedImageName(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":                   "nginx:latest",
		"nginx:1.25":              "nginx:1.25",
		"registry:5000/app":       "registry:5000/app:latest",
		"registry:5000/app:v2":    "registry:5000/app:v2",
		"app@sha256:0123456789ab": "app@sha256:0123456789ab",
	} {
		if got := NormalizedImageName(in); got != want {
			t.Errorf("NormalizedImageName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestArgs(t *testing.T) {
	if err := (Args{}).Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	if p, _ := New(Args{}, nil); p.Name() != "ImageLocality" || p.ScoreExtensions() != nil {
		t.Errorf("Name() = %q", p.Name())
	}
}

func BenchmarkFilterScore(b *testing.B) {
	nodes := make(snapshot, 5000)
	for i := range nodes {
		images := []img{{[]string{"base:1"}, 200 * MB}}
		if i%4 == 0 {
			images = append(images, img{[]string{"app:2"}, 600 * MB})
		}
		for j := range 20 {
			images = append(images, img{[]string{fmt.Sprintf("other-%d:1", j)}, 50 * MB})
		}
		nodes[i] = node(fmt.Sprintf("node-%d", i), images...)
	}
	p, _ := New(Args{}, nodes)
	pd := pod("base:1", "app:2", "sidecar:3")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		state := framework.NewCycleState()
		p.PreScore(ctx, state, pd, nodes)
		for _, n := range nodes {
			p.Score(ctx, state, pd, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(nodes)), "ns/node")
}
