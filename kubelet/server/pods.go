package server

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/drover-io/drover/kubelet/internal/podlabels"
	"github.com/drover-io/drover/runtime"
)

// PodList is the answer of GET /pods: the pods the node's runtime runs,
// as the node agent's labels name them. It is a small list of its own,
// not a v1 PodList: the node agent's API is not the API server's.
type PodList struct {
	Items []Pod `json:"items"`
}

// Pod is a pod the runtime runs: its newest sandbox's identity and the
// containers of every sandbox of it.
type Pod struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
	// SandboxID and SandboxState are those of the pod's newest sandbox.
	SandboxID    string      `json:"sandboxID"`
	SandboxState string      `json:"sandboxState"`
	Containers   []Container `json:"containers"`
}

// Container is a container of a pod, current or exited.
type Container struct {
	Name    string `json:"name"`
	ID      string `json:"id"`
	Attempt uint32 `json:"attempt"`
	// State is "Created", "Running", "Exited" or "Unknown".
	State     string    `json:"state"`
	Image     string    `json:"image"`
	StartedAt time.Time `json:"startedAt,omitzero"`
}

// podView is what the runtime holds of one pod (one UID): its sandboxes,
// newest last, and their containers.
type podView struct {
	namespace, name, uid string
	sandboxes            []*runtime.SandboxStatus
	containers           []*runtime.ContainerStatus
	order                map[string]int // sandbox ID → index in sandboxes
}

// newest is the pod's newest sandbox.
func (p *podView) newest() *runtime.SandboxStatus { return p.sandboxes[len(p.sandboxes)-1] }

// sortContainers orders the pod's containers from the oldest to the
// newest: by sandbox, then by attempt, then by creation.
func (p *podView) sortContainers() {
	slices.SortStableFunc(p.containers, func(a, b *runtime.ContainerStatus) int {
		return cmp.Or(cmp.Compare(p.order[a.SandboxID], p.order[b.SandboxID]),
			cmp.Compare(a.Attempt, b.Attempt), a.CreatedAt.Compare(b.CreatedAt))
	})
}

// named returns the containers named name, oldest first.
func (p *podView) named(name string) []*runtime.ContainerStatus {
	var out []*runtime.ContainerStatus
	for _, c := range p.containers {
		if c.Labels[podlabels.ContainerName] == name {
			out = append(out, c)
		}
	}
	return out
}

// managed says whether the node agent made the sandbox.
func managed(sb *runtime.SandboxStatus) bool {
	return sb.Labels[podlabels.ManagedBy] == podlabels.ManagedByValue
}

// sandboxOlder orders sandboxes by creation, then attempt.
func sandboxOlder(a, b *runtime.SandboxStatus) int {
	return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Metadata.Attempt, b.Metadata.Attempt), cmp.Compare(a.ID, b.ID))
}

// findPod returns the pod namespace/name as the runtime has it: the UID
// of its newest sandbox, with every sandbox and container of that UID.
// It returns nil when the runtime has no sandbox of the pod.
func (s *Server) findPod(ctx context.Context, namespace, name string) (*podView, error) {
	sbs, err := s.cfg.Runtime.ListPodSandboxes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list pod sandboxes: %w", err)
	}
	var mine []*runtime.SandboxStatus
	for _, sb := range sbs {
		if managed(sb) && sb.Labels[podlabels.PodNamespace] == namespace && sb.Labels[podlabels.PodName] == name {
			mine = append(mine, sb)
		}
	}
	if len(mine) == 0 {
		return nil, nil
	}
	slices.SortFunc(mine, sandboxOlder)
	uid := mine[len(mine)-1].Labels[podlabels.PodUID]
	mine = slices.DeleteFunc(mine, func(sb *runtime.SandboxStatus) bool { return sb.Labels[podlabels.PodUID] != uid })
	cs, err := s.cfg.Runtime.ListContainers(ctx, runtime.ContainerFilter{Labels: map[string]string{
		podlabels.ManagedBy: podlabels.ManagedByValue,
		podlabels.PodUID:    uid,
	}})
	if err != nil {
		return nil, fmt.Errorf("list the containers of pod %s/%s: %w", namespace, name, err)
	}
	return newPodView(namespace, name, uid, mine, cs), nil
}

func newPodView(namespace, name, uid string, sbs []*runtime.SandboxStatus, cs []*runtime.ContainerStatus) *podView {
	p := &podView{namespace: namespace, name: name, uid: uid, sandboxes: sbs, order: make(map[string]int, len(sbs))}
	for i, sb := range sbs {
		p.order[sb.ID] = i
	}
	for _, c := range cs {
		if _, ok := p.order[c.SandboxID]; ok {
			p.containers = append(p.containers, c)
		}
	}
	p.sortContainers()
	return p
}

// allPods returns every pod the node agent runs, by namespace and name.
// A pod name with sandboxes of several UIDs (deleted and made anew) is
// the UID of its newest sandbox.
func (s *Server) allPods(ctx context.Context) ([]*podView, error) {
	sbs, err := s.cfg.Runtime.ListPodSandboxes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list pod sandboxes: %w", err)
	}
	cs, err := s.cfg.Runtime.ListContainers(ctx, runtime.ContainerFilter{Labels: map[string]string{
		podlabels.ManagedBy: podlabels.ManagedByValue,
	}})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	type key struct{ namespace, name string }
	byPod := map[key][]*runtime.SandboxStatus{}
	for _, sb := range sbs {
		if managed(sb) {
			k := key{sb.Labels[podlabels.PodNamespace], sb.Labels[podlabels.PodName]}
			byPod[k] = append(byPod[k], sb)
		}
	}
	byUID := map[string][]*runtime.ContainerStatus{}
	for _, c := range cs {
		uid := c.Labels[podlabels.PodUID]
		byUID[uid] = append(byUID[uid], c)
	}
	out := make([]*podView, 0, len(byPod))
	for k, mine := range byPod {
		slices.SortFunc(mine, sandboxOlder)
		uid := mine[len(mine)-1].Labels[podlabels.PodUID]
		mine = slices.DeleteFunc(mine, func(sb *runtime.SandboxStatus) bool { return sb.Labels[podlabels.PodUID] != uid })
		out = append(out, newPodView(k.namespace, k.name, uid, mine, byUID[uid]))
	}
	slices.SortFunc(out, func(a, b *podView) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
	})
	return out, nil
}

// servePods serves GET /pods.
func (s *Server) servePods(w http.ResponseWriter, r *http.Request) {
	pods, err := s.allPods(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	list := PodList{Items: make([]Pod, 0, len(pods))}
	for _, p := range pods {
		sb := p.newest()
		item := Pod{Name: p.name, Namespace: p.namespace, UID: p.uid, SandboxID: sb.ID, SandboxState: sb.State.String(),
			Containers: make([]Container, 0, len(p.containers))}
		for _, c := range p.containers {
			item.Containers = append(item.Containers, Container{
				Name: c.Labels[podlabels.ContainerName], ID: c.ID, Attempt: c.Attempt,
				State: c.State.String(), Image: c.Image, StartedAt: c.StartedAt,
			})
		}
		list.Items = append(list.Items, item)
	}
	writeJSON(w, list)
}

// writeJSON answers 200 with v in JSON.
func writeJSON(w http.ResponseWriter, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode the answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(data, '\n'))
}
