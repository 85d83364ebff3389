package framework

import "github.com/drover-io/drover/api"

// NewNodeInfo returns the NodeInfo of node with pods on it.
func NewNodeInfo(node *api.Node, pods ...*api.Pod) *NodeInfo {
	n := &NodeInfo{UsedPorts: make(map[HostPort]struct{})}
	n.SetNode(node)
	for _, p := range pods {
		n.AddPod(NewPodInfo(p))
	}
	return n
}

// SetNode sets the node (allocatable, images) keeping the pods.
func (n *NodeInfo) SetNode(node *api.Node) {
	n.Node = node
	n.nameFrom, n.name, n.unschedulable, n.taints = node, "", false, nil
	if node != nil {
		n.name, n.unschedulable, n.taints = node.Name, node.Spec.Unschedulable, node.Spec.Taints
	}
	n.Allocatable = Resource{}
	// A new map, never changed afterwards: clones share it. Nil for a
	// node that reports no images, so that ImageLocality's len on every
	// node it scores does not read a map header for nothing.
	n.ImageSizes = nil
	if node != nil {
		alloc := node.Status.Allocatable
		if len(alloc) == 0 {
			alloc = node.Status.Capacity
		}
		n.Allocatable = NewResource(alloc)
		for _, img := range node.Status.Images {
			for _, name := range img.Names {
				if n.ImageSizes == nil {
					n.ImageSizes = make(map[string]int64)
				}
				n.ImageSizes[name] = img.SizeBytes
			}
		}
	}
	n.Generation++
}

// hasAffinity reports whether a pod has pod affinity or anti-affinity
// terms, and whether it has required anti-affinity.
func hasAffinity(p *api.Pod) (any, requiredAnti bool) {
	a := p.Spec.Affinity
	if a == nil {
		return false, false
	}
	any = a.PodAffinity != nil || a.PodAntiAffinity != nil
	requiredAnti = a.PodAntiAffinity != nil && len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0
	return any, requiredAnti
}

// AddPod adds a pod to the node's sums.
func (n *NodeInfo) AddPod(pi *PodInfo) {
	n.Pods = append(n.Pods, pi)
	if aff, anti := hasAffinity(pi.Pod); aff {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pi)
		if anti {
			n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, pi)
		}
	}
	n.Requested.AddResource(pi.Requests)
	n.NonZeroRequested.MilliCPU += pi.NonZeroMilliCPU
	n.NonZeroRequested.Memory += pi.NonZeroMemory
	if n.UsedPorts == nil {
		n.UsedPorts = make(map[HostPort]struct{})
	}
	for _, hp := range pi.HostPorts {
		n.UsedPorts[hp] = struct{}{}
	}
	n.Generation++
}

// RemovePod removes the pod with pod's uid (or, without uid, its
// namespace and name); it reports whether it was there.
func (n *NodeInfo) RemovePod(pod *api.Pod) bool {
	match := func(pi *PodInfo) bool {
		if pod.UID != "" {
			return pi.Pod.UID == pod.UID
		}
		return pi.Pod.Namespace == pod.Namespace && pi.Pod.Name == pod.Name
	}
	i := -1
	for j, pi := range n.Pods {
		if match(pi) {
			i = j
			break
		}
	}
	if i < 0 {
		return false
	}
	pi := n.Pods[i]
	n.Pods = append(n.Pods[:i:i], n.Pods[i+1:]...)
	n.PodsWithAffinity = removeInfo(n.PodsWithAffinity, pi)
	n.PodsWithRequiredAntiAffinity = removeInfo(n.PodsWithRequiredAntiAffinity, pi)
	n.Requested.SubResource(pi.Requests)
	n.NonZeroRequested.MilliCPU -= pi.NonZeroMilliCPU
	n.NonZeroRequested.Memory -= pi.NonZeroMemory
	for _, hp := range pi.HostPorts {
		if !n.portHeld(hp) {
			delete(n.UsedPorts, hp)
		}
	}
	n.Generation++
	return true
}

// portHeld reports whether a pod on the node holds hp: pods bound
// directly (spec.nodeName) may share a host port, and it stays used until
// the last of them goes.
func (n *NodeInfo) portHeld(hp HostPort) bool {
	for _, pi := range n.Pods {
		for _, p := range pi.HostPorts {
			if p == hp {
				return true
			}
		}
	}
	return false
}

func removeInfo(list []*PodInfo, pi *PodInfo) []*PodInfo {
	for i, p := range list {
		if p == pi {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

// Clone returns a copy that can change without changing n (the pods
// themselves are shared).
func (n *NodeInfo) Clone() *NodeInfo {
	out := &NodeInfo{
		Node:                         n.Node,
		Pods:                         append([]*PodInfo(nil), n.Pods...),
		PodsWithAffinity:             append([]*PodInfo(nil), n.PodsWithAffinity...),
		PodsWithRequiredAntiAffinity: append([]*PodInfo(nil), n.PodsWithRequiredAntiAffinity...),
		Allocatable:                  n.Allocatable.Clone(),
		Requested:                    n.Requested.Clone(),
		NonZeroRequested:             n.NonZeroRequested.Clone(),
		UsedPorts:                    make(map[HostPort]struct{}, len(n.UsedPorts)),
		ImageSizes:                   n.ImageSizes, // replaced, never changed, by SetNode
		Generation:                   n.Generation,
		name:                         n.name,
		unschedulable:                n.unschedulable,
		taints:                       n.taints,
		nameFrom:                     n.nameFrom,
	}
	for k := range n.UsedPorts {
		out.UsedPorts[k] = struct{}{}
	}
	return out
}
