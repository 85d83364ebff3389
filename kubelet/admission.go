package kubelet

import (
	"context"
	"fmt"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
)

// podRequests is what pod asks of a node: the larger of its containers'
// requests summed and its largest init container's, plus its overhead.
// CPU is in millicores, memory in bytes.
func podRequests(pod *api.Pod) (cpu, mem int64) {
	for i := range pod.Spec.Containers {
		c, m := containerRequests(&pod.Spec.Containers[i])
		cpu, mem = cpu+c, mem+m
	}
	for i := range pod.Spec.InitContainers {
		c, m := containerRequests(&pod.Spec.InitContainers[i])
		cpu, mem = max(cpu, c), max(mem, m)
	}
	if q, ok := pod.Spec.Overhead[api.ResourceCPU]; ok {
		cpu += q.MilliValue()
	}
	if q, ok := pod.Spec.Overhead[api.ResourceMemory]; ok {
		mem += q.Value()
	}
	return cpu, mem
}

func containerRequests(c *api.Container) (cpu, mem int64) {
	get := func(name api.ResourceName) (resource.Quantity, bool) {
		if q, ok := c.Resources.Requests[name]; ok {
			return q, true
		}
		q, ok := c.Resources.Limits[name]
		return q, ok
	}
	if q, ok := get(api.ResourceCPU); ok {
		cpu = q.MilliValue()
	}
	if q, ok := get(api.ResourceMemory); ok {
		mem = q.Value()
	}
	return cpu, mem
}

// allocatable is what the node offers pods: CPU (millicores), memory
// (bytes) and pods; a negative value means no limit.
type allocatable struct{ cpu, mem, pods int64 }

func (k *Kubelet) allocatable(n *api.Node) allocatable {
	get := func(name api.ResourceName) (resource.Quantity, bool) {
		if q, ok := n.Status.Allocatable[name]; ok {
			return q, true
		}
		q, ok := n.Status.Capacity[name]
		if ok {
			if r, has := k.cfg.Reserved[name]; has {
				q.Sub(r)
			}
		}
		return q, ok
	}
	a := allocatable{cpu: -1, mem: -1, pods: int64(k.cfg.MaxPods)}
	if q, ok := get(api.ResourceCPU); ok {
		a.cpu = q.MilliValue()
	}
	if q, ok := get(api.ResourceMemory); ok {
		a.mem = q.Value()
	}
	if q, ok := get(api.ResourcePods); ok {
		a.pods = q.Value()
	}
	return a
}

// admitDecision decides whether pod fits next to the admitted pods. It
// returns "" or the reason (OutOfpods, OutOfcpu, OutOfmemory) and the
// message of a rejection, as Kubernetes words them.
func admitDecision(alloc allocatable, admitted []*api.Pod, pod *api.Pod) (reason, message string) {
	var usedCPU, usedMem int64
	for _, p := range admitted {
		c, m := podRequests(p)
		usedCPU, usedMem = usedCPU+c, usedMem+m
	}
	cpu, mem := podRequests(pod)
	reject := func(res string, req, used, capacity int64) (string, string) {
		return "OutOf" + res, fmt.Sprintf("Pod was rejected: Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d", res, req, used, capacity)
	}
	switch {
	case alloc.pods >= 0 && int64(len(admitted))+1 > alloc.pods:
		return reject("pods", 1, int64(len(admitted)), alloc.pods)
	case alloc.cpu >= 0 && cpu > 0 && usedCPU+cpu > alloc.cpu:
		return reject("cpu", cpu, usedCPU, alloc.cpu)
	case alloc.mem >= 0 && mem > 0 && usedMem+mem > alloc.mem:
		return reject("memory", mem, usedMem, alloc.mem)
	}
	return "", ""
}

// admit decides whether the node takes pod. A rejected pod is Failed. It
// waits (returns false and a retry time) while the Node is unknown. Pods
// that already run here (adopted) or that the API server shows running
// are admitted without a check.
func (k *Kubelet) admit(ctx context.Context, w *podWorker, pod *api.Pod, static bool) (bool, time.Duration) {
	k.admitMu.Lock()
	defer k.admitMu.Unlock()
	node := k.getNode(ctx)
	k.mu.Lock()
	var admitted []*api.Pod
	for _, o := range k.workers {
		if o != w && o.active && o.pod != nil {
			admitted = append(admitted, o.pod)
		}
	}
	k.mu.Unlock()
	known := pod.Status.Phase == api.PodRunning || static
	if !known {
		if st, err := k.runtimeState(ctx, w.uid); err == nil && len(st.sandboxes) > 0 {
			known = true
		}
	}
	if !known && !isTerminal(pod.Status.Phase) {
		if node == nil {
			return false, time.Second // until the Node is registered
		}
		if reason, msg := admitDecision(k.allocatable(node), admitted, pod); reason != "" {
			k.rec.Eventf(pod, api.EventTypeWarning, reason, "%s", msg)
			t := api.NewTime(k.now())
			w.rejected = &api.PodStatus{Phase: api.PodFailed, Reason: reason, Message: msg, StartTime: &t}
			if !k.writeStatus(ctx, w, pod, static, w.rejected) {
				return false, statusRetry
			}
			return false, 0
		}
	}
	k.mu.Lock()
	w.admitted, w.active = true, true
	k.mu.Unlock()
	return true, 0
}
