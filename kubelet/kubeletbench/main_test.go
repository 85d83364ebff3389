package kubeletbench_test

import (
	"context"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/oci"
)

// TestMain lets the test binary serve as the oci driver's container
// monitor (the driver re-executes it).
func TestMain(m *testing.M) {
	oci.RunShimIfRequested()
	os.Exit(m.Run())
}

// podWatch follows the pods of a namespace with one watch and tells who
// waits for a pod when it is first Running and Ready, and when it is gone.
type podWatch struct {
	w *client.Watcher

	mu      sync.Mutex
	ready   map[string]chan time.Time // by pod name: gets the time of the event
	deleted map[string]chan struct{}
	err     error
}

// watchPods starts a podWatch on namespace ns; it stops when tb ends.
func watchPods(tb testing.TB, c *client.Client, ns string) *podWatch {
	tb.Helper()
	w, err := c.Watch(context.Background(), &api.PodList{}, client.InNamespace(ns))
	if err != nil {
		tb.Fatal(err)
	}
	pw := &podWatch{w: w, ready: map[string]chan time.Time{}, deleted: map[string]chan struct{}{}}
	tb.Cleanup(w.Stop)
	go pw.run()
	return pw
}

func (pw *podWatch) run() {
	for ev := range pw.w.Events() {
		at := time.Now()
		if ev.Type == api.WatchError {
			pw.mu.Lock()
			pw.err = ev.Err
			pw.mu.Unlock()
			continue
		}
		p, ok := ev.Object.(*api.Pod)
		if !ok {
			continue
		}
		pw.mu.Lock()
		if ev.Type == api.WatchDeleted {
			if ch := pw.deleted[p.Name]; ch != nil {
				close(ch)
				delete(pw.deleted, p.Name)
			}
		} else if ch := pw.ready[p.Name]; ch != nil && runningAndReady(p) {
			ch <- at
			delete(pw.ready, p.Name)
		}
		pw.mu.Unlock()
	}
}

// expect registers the wait for pod name; call it before the change.
func (pw *podWatch) expect(name string) (ready <-chan time.Time, gone <-chan struct{}) {
	r, g := make(chan time.Time, 1), make(chan struct{})
	pw.mu.Lock()
	pw.ready[name], pw.deleted[name] = r, g
	pw.mu.Unlock()
	return r, g
}

// runningAndReady reports whether p is Running with the Ready condition
// True.
func runningAndReady(p *api.Pod) bool {
	if p.Status.Phase != api.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == api.PodReady {
			return c.Status == api.ConditionTrue
		}
	}
	return false
}

// sleepPod is a pod of one busybox container that sleeps, unbound, with
// no grace period (so that deleting it is quick).
func sleepPod(name, image string) *api.Pod {
	zero := int64(0)
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name}}
	p.Spec.RestartPolicy = api.RestartPolicyAlways
	p.Spec.TerminationGracePeriodSeconds = &zero
	p.Spec.Containers = []api.Container{{Name: "c", Image: image, ImagePullPolicy: api.PullIfNotPresent, Command: []string{"sleep", "3600"}}}
	return p
}

// The steps of a pod's start that timedRuntime measures.
const (
	stepSandbox = iota // RunPodSandbox
	stepCreate         // CreateContainer
	stepStart          // StartContainer
	numSteps
)

// span is a call's start and end.
type span struct{ from, to time.Time }

// timedRuntime is a runtime that records when the calls of a pod's start
// begin and end, by pod UID.
type timedRuntime struct {
	runtime.Runtime

	mu      sync.Mutex
	sandbox map[string]string // sandbox ID → pod UID
	cont    map[string]string // container ID → pod UID
	spans   map[string]*[numSteps]span
}

func newTimedRuntime(rt runtime.Runtime) *timedRuntime {
	return &timedRuntime{Runtime: rt, sandbox: map[string]string{}, cont: map[string]string{}, spans: map[string]*[numSteps]span{}}
}

func (r *timedRuntime) record(uid string, step int, from time.Time) {
	to := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.spans[uid]
	if s == nil {
		s = new([numSteps]span)
		r.spans[uid] = s
	}
	if s[step].from.IsZero() { // the first attempt
		s[step] = span{from, to}
	}
}

func (r *timedRuntime) RunPodSandbox(ctx context.Context, cfg *runtime.SandboxConfig) (string, error) {
	from := time.Now()
	id, err := r.Runtime.RunPodSandbox(ctx, cfg)
	if err == nil {
		r.mu.Lock()
		r.sandbox[id] = cfg.Metadata.UID
		r.mu.Unlock()
		r.record(cfg.Metadata.UID, stepSandbox, from)
	}
	return id, err
}

func (r *timedRuntime) CreateContainer(ctx context.Context, sandboxID string, cfg *runtime.ContainerConfig) (string, error) {
	from := time.Now()
	id, err := r.Runtime.CreateContainer(ctx, sandboxID, cfg)
	if err == nil {
		r.mu.Lock()
		uid := r.sandbox[sandboxID]
		r.cont[id] = uid
		r.mu.Unlock()
		r.record(uid, stepCreate, from)
	}
	return id, err
}

func (r *timedRuntime) StartContainer(ctx context.Context, id string) error {
	from := time.Now()
	err := r.Runtime.StartContainer(ctx, id)
	if err == nil {
		r.mu.Lock()
		uid := r.cont[id]
		r.mu.Unlock()
		r.record(uid, stepStart, from)
	}
	return err
}

// spansOf returns the recorded spans of pod uid.
func (r *timedRuntime) spansOf(uid string) ([numSteps]span, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.spans[uid]
	if s == nil {
		return [numSteps]span{}, false
	}
	return *s, true
}

// quantile returns the q-quantile (0..1) of ds, nearest rank.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// ms is d in milliseconds, for ReportMetric.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childCPUTime is the user+system CPU time of the process's children
// that have been waited for (runc, which the oci driver runs and waits
// for; not the container monitors, which live on).
func childCPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
