package scheduler

import (
	"fmt"
	"sync"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/scheduler/framework"
)

// waitingPods are the pods Permit holds, by uid.
type waitingPods struct {
	mu   sync.Mutex
	pods map[api.UID]*waitingPod
}

func newWaitingPods() *waitingPods { return &waitingPods{pods: make(map[api.UID]*waitingPod)} }

func (w *waitingPods) add(pod *api.Pod, waits map[string]framework.Duration, clock workqueue.Clock) {
	wp := &waitingPod{pod: pod, pending: make(map[string]func() bool, len(waits)), done: make(chan *framework.Status, 1)}
	wp.mu.Lock()
	for name, d := range waits {
		plugin := name
		wp.pending[plugin] = clock.AfterFunc(d, func() {
			wp.Reject(plugin, fmt.Sprintf("rejected due to timeout after waiting %v at plugin %s", d, plugin))
		})
	}
	wp.mu.Unlock()
	w.mu.Lock()
	w.pods[pod.UID] = wp
	w.mu.Unlock()
}

func (w *waitingPods) get(uid api.UID) *waitingPod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pods[uid]
}

func (w *waitingPods) remove(uid api.UID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.pods, uid)
}

// list returns the waiting pods.
func (w *waitingPods) list() []*waitingPod {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]*waitingPod, 0, len(w.pods))
	for _, p := range w.pods {
		out = append(out, p)
	}
	return out
}

// waitingPod is a pod held in Permit. It implements framework.WaitingPod.
type waitingPod struct {
	pod     *api.Pod
	mu      sync.Mutex
	pending map[string]func() bool // plugin → stop its timeout
	decided bool
	done    chan *framework.Status // receives the verdict, once
}

var _ framework.WaitingPod = (*waitingPod)(nil)

// Pod returns the pod.
func (w *waitingPod) Pod() *api.Pod { return w.pod }

// Pending returns the plugins still to allow the pod.
func (w *waitingPod) Pending() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.pending))
	for p := range w.pending {
		out = append(out, p)
	}
	return out
}

// Allow approves the pod for plugin; once every waiting plugin has, the
// pod goes on to binding.
func (w *waitingPod) Allow(plugin string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.decided {
		return
	}
	if stop, ok := w.pending[plugin]; ok {
		stop()
		delete(w.pending, plugin)
	}
	if len(w.pending) == 0 {
		w.decided = true
		w.done <- nil
	}
}

// Reject rejects the pod: it goes back to the queue as unschedulable.
func (w *waitingPod) Reject(plugin, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.decided {
		return
	}
	for _, stop := range w.pending {
		stop()
	}
	w.pending = nil
	w.decided = true
	w.done <- framework.NewStatus(framework.Unschedulable, msg).WithPlugin(plugin)
}
