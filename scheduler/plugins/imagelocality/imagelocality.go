// Package imagelocality is the ImageLocality scheduler plugin: it prefers
// nodes that already have the pod's container images, by their size,
// discounted for images present on only a few nodes (so that pods do not
// all pile onto the one node that has pulled an image).
package imagelocality

import (
	"context"
	"strings"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// Name is the plugin's name, as in Kubernetes.
const Name = "ImageLocality"

// The thresholds of the score, as Kubernetes': a node with less than
// MinThreshold of the pod's images scores 0; one with MaxContainerThreshold
// per container or more scores 100.
const (
	mb                    int64 = 1024 * 1024
	MinThreshold                = 23 * mb
	MaxContainerThreshold       = 1000 * mb
)

// Args are the plugin's arguments; it has none.
type Args struct{}

// Validate reports nothing: there is nothing to get wrong.
func (Args) Validate() error { return nil }

// Plugin is the ImageLocality plugin. It is safe for concurrent use.
type Plugin struct {
	h framework.Handle
}

var (
	_ framework.PreScorePlugin = (*Plugin)(nil)
	_ framework.ScorePlugin    = (*Plugin)(nil)
)

// New returns the plugin. With a nil h, an image's spread is counted
// over the nodes given to PreScore instead of the whole snapshot.
func New(args Args, h framework.Handle) (*Plugin, error) {
	if err := args.Validate(); err != nil {
		return nil, err
	}
	return &Plugin{h: h}, nil
}

// Name returns Name.
func (*Plugin) Name() string { return Name }

const stateKey framework.StateKey = Name

// image is one of the pod's images and the share of nodes that have it.
type image struct {
	name   string
	spread float64 // nodes with the image / all nodes
}

// preScoreState lists the pod's images, one per container. Immutable.
type preScoreState struct{ images []image }

func (s *preScoreState) Clone() framework.StateData { return s }

// NormalizedImageName returns name with ":latest" added when it has no
// tag or digest, as nodes report image names.
func NormalizedImageName(name string) string {
	if strings.LastIndex(name, ":") <= strings.LastIndex(name, "/") {
		name += ":latest"
	}
	return name
}

// PreScore counts, for each of the pod's images, how many of the
// cluster's nodes have it.
func (p *Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *api.Pod, nodes []*framework.NodeInfo) *framework.Status {
	all := nodes
	if p.h != nil && p.h.Snapshot() != nil {
		snap := p.h.Snapshot()
		all = snap.List()
		if c, ok := snap.(framework.ImageCounter); ok {
			state.Write(stateKey, &preScoreState{images: countedImages(pod, len(all), c)})
			return nil
		}
	}
	state.Write(stateKey, &preScoreState{images: podImages(pod, all)})
	return nil
}

// countedImages is podImages with the nodes that have each image counted
// by the snapshot of numNodes nodes.
func countedImages(pod *api.Pod, numNodes int, c framework.ImageCounter) []image {
	var out []image
	add := func(cs []api.Container) {
		for i := range cs {
			name := NormalizedImageName(cs[i].Image)
			var spread float64
			if numNodes > 0 {
				spread = float64(c.NumNodesWithImage(name)) / float64(numNodes)
			}
			out = append(out, image{name: name, spread: spread})
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	return out
}

func podImages(pod *api.Pod, all []*framework.NodeInfo) []image {
	var out []image
	counted := make(map[string]float64)
	add := func(cs []api.Container) {
		for i := range cs {
			name := NormalizedImageName(cs[i].Image)
			spread, ok := counted[name]
			if !ok && len(all) > 0 {
				n := 0
				for _, ni := range all {
					if len(ni.ImageSizes) == 0 {
						continue // most nodes of a fresh cluster: skip hashing name
					}
					if _, has := ni.ImageSizes[name]; has {
						n++
					}
				}
				spread = float64(n) / float64(len(all))
				counted[name] = spread
			}
			out = append(out, image{name: name, spread: spread})
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	return out
}

// Score sums, over the pod's containers, the size of each image present
// on node times the share of nodes that have it, and maps the sum from
// [MinThreshold, MaxContainerThreshold × containers] onto [0, 100].
func (p *Plugin) Score(_ context.Context, state *framework.CycleState, pod *api.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	var images []image
	if v, ok := state.Read(stateKey); ok {
		images = v.(*preScoreState).images
	} else {
		var all []*framework.NodeInfo
		if p.h != nil && p.h.Snapshot() != nil {
			all = p.h.Snapshot().List()
		} else {
			all = []*framework.NodeInfo{node}
		}
		images = podImages(pod, all)
	}
	var sum int64
	if len(node.ImageSizes) == 0 {
		return priority(sum, len(images)), nil
	}
	for _, img := range images {
		if size, ok := node.ImageSizes[img.name]; ok {
			sum += int64(float64(size) * img.spread)
		}
	}
	return priority(sum, len(images)), nil
}

func priority(sum int64, containers int) int64 {
	maxThreshold := MaxContainerThreshold * int64(containers)
	if maxThreshold <= MinThreshold {
		return 0
	}
	sum = min(max(sum, MinThreshold), maxThreshold)
	return framework.MaxNodeScore * (sum - MinThreshold) / (maxThreshold - MinThreshold)
}

// ScoreExtensions returns nil: scores are already in [0, 100].
func (*Plugin) ScoreExtensions() framework.ScoreExtensions { return nil }
