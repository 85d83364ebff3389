package kubelet

import (
	"slices"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/fake"
)

// TestForceDeleteShortensTermination: a pod whose container ignores
// SIGTERM is deleted with a 60 s grace period, then force-deleted while
// the agent waits out those 60 s: its container is killed without waiting
// for the first grace period to pass (Kubernetes gives it a second).
func TestForceDeleteShortensTermination(t *testing.T) {
	e := newEnv(t, withScripts(map[string]*fake.Script{"web": {IgnoreTERM: true}}))
	p := simplePod("p", api.RestartPolicyAlways, "web")
	grace := int64(60)
	p.Spec.TerminationGracePeriodSeconds = &grace
	e.createPod(p)
	got := e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	if err := e.api.Client.Delete(e.ctx, got); err != nil {
		t.Fatal(err)
	}
	if !pollUntil(func() bool { return slices.Contains(e.rt.log(), "stop web grace=1m0s") }) {
		t.Fatalf("no graceful stop: %q", e.rt.log())
	}
	zero := int64(0)
	if err := e.api.Client.Delete(e.ctx, got, client.DeleteOptions{GracePeriodSeconds: &zero}); err != nil && !api.IsNotFound(err) {
		t.Fatal(err)
	}
	// The agent stops it again, with at most a second.
	if !pollUntil(func() bool {
		return slices.Contains(e.rt.log(), "stop web grace=1s") || slices.Contains(e.rt.log(), "stop web grace=0s")
	}) {
		t.Fatalf("not stopped again with a shorter grace period: %q", e.rt.log())
	}
	e.advance(time.Second) // far less than the 60 s first asked for
	controllertest.Eventually(t, func() bool {
		cs, err := e.rt.ListContainers(e.ctx, runtime.ContainerFilter{Labels: map[string]string{"drover.io/pod-uid": string(got.UID)}})
		if err != nil {
			return false
		}
		for _, c := range cs {
			if c.State == runtime.ContainerRunning {
				return false
			}
		}
		return true
	})
}

// pollUntil polls cond for up to controllertest.Timeout.
func pollUntil(cond func() bool) bool {
	deadline := time.Now().Add(controllertest.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
	return true
}

// TestShorterGracePeriodShortensTermination: deleted again with a shorter
// grace period (kubectl delete --grace-period=5 while terminating), the
// pod's container is stopped again with the new one.
func TestShorterGracePeriodShortensTermination(t *testing.T) {
	e := newEnv(t, withScripts(map[string]*fake.Script{"web": {IgnoreTERM: true}}))
	p := simplePod("p", api.RestartPolicyAlways, "web")
	grace := int64(60)
	p.Spec.TerminationGracePeriodSeconds = &grace
	e.createPod(p)
	got := e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	if err := e.api.Client.Delete(e.ctx, got); err != nil {
		t.Fatal(err)
	}
	if !pollUntil(func() bool { return slices.Contains(e.rt.log(), "stop web grace=1m0s") }) {
		t.Fatalf("no graceful stop: %q", e.rt.log())
	}
	five := int64(5)
	if err := e.api.Client.Delete(e.ctx, got, client.DeleteOptions{GracePeriodSeconds: &five}); err != nil {
		t.Fatal(err)
	}
	if !pollUntil(func() bool { return slices.Contains(e.rt.log(), "stop web grace=5s") }) {
		t.Fatalf("not stopped again with the shorter grace period: %q", e.rt.log())
	}
	e.advance(5 * time.Second)
	// The agent confirms the deletion once the container is gone.
	controllertest.Eventually(t, func() bool {
		var pod api.Pod
		return api.IsNotFound(e.api.Client.Get(e.ctx, "default", "p", &pod))
	})
}
