package kubelet

import (
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/kubelet/prober"
	"github.com/drover-io/drover/runtime/fake"
)

// TestRealProber runs the agent with package prober: a failing exec
// liveness probe restarts the container, and a passing readiness probe
// makes the pod Ready.
func TestRealProber(t *testing.T) {
	e := newEnv(t, withScripts(map[string]*fake.Script{
		"web": {Exec: map[string]fake.ExecResult{"check live": {ExitCode: 1}, "check ready": {}}},
	}), func(e *env, c *Config) {
		c.NewProbeManager = Probes(prober.Config{Execer: e.rt, Clock: e.clk})
	})
	p := simplePod("p", api.RestartPolicyAlways, "web")
	p.Spec.Containers[0].ReadinessProbe = &api.Probe{ProbeHandler: api.ProbeHandler{Exec: &api.ExecAction{Command: []string{"check", "ready"}}}, PeriodSeconds: 1}
	p.Spec.Containers[0].LivenessProbe = &api.Probe{ProbeHandler: api.ProbeHandler{Exec: &api.ExecAction{Command: []string{"check", "live"}}}, InitialDelaySeconds: 5, PeriodSeconds: 1, FailureThreshold: 3}
	e.createPod(p)
	e.waitPod("p", func(p *api.Pod) bool { return p.Status.Phase == api.PodRunning })
	// Move the clock a second at a time: readiness passes, then liveness
	// fails three times and the container is restarted after its back-off.
	ready := false
	controllertest.Eventually(t, func() bool {
		var got api.Pod
		if err := e.api.Client.Get(e.ctx, "default", "p", &got); err != nil {
			return false
		}
		if condition(&got, api.PodReady) == api.ConditionTrue {
			ready = true
		}
		if cs := containerStatusOf(&got, "web"); cs.RestartCount >= 1 && cs.LastTerminationState.Terminated != nil && ready {
			return true
		}
		e.advance(time.Second)
		return false
	})
}
