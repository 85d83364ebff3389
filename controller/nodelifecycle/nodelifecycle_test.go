package nodelifecycle

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/controllertest"
)

// touch changes a label of the node, which makes the controller reconcile
// it.
func (s *scenario) touch(name string) {
	s.t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"labels":{"touched":"%d"}}}`, s.clk.Now().Unix())
	require.NoError(s.t, s.c.Patch(s.ctx, &api.Node{ObjectMeta: api.ObjectMeta{Name: name}}, client.MergePatch, []byte(patch)))
}

// advanceKeeping moves the clock to at in steps of 30 s, the node agents
// of keep heartbeating before each step and at the end.
func (s *scenario) advanceKeeping(at time.Time, keep ...string) {
	s.t.Helper()
	beat := func() {
		for _, n := range keep {
			s.heartbeat(n, api.ConditionTrue)
		}
	}
	for s.clk.Now().Before(at) {
		beat()
		s.advanceTo(minTime(s.clk.Now().Add(30*time.Second), at))
	}
	beat()
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// A node that stops heartbeating is Unknown and tainted unreachable after
// exactly the grace period; its pods are evicted as their tolerations
// say; when it heartbeats again, its taint goes.
func TestNodeStopsHeartbeatingThenComesBack(t *testing.T) {
	s := newScenario(t, Options{})
	s.addNode("n1", "a")
	s.addNode("n2", "a") // stays healthy: the zone is not fully disrupted
	s.addPod("none", "n1", false)
	s.addPod("five-min", "n1", true) // 300 s, from the admission plugin
	s.addPod("forever", "n1", false, api.Toleration{Operator: api.TolerationOpExists})
	grace := t0.Add(DefaultNodeMonitorGracePeriod)
	s.waitArmed("n1", grace)

	// One second before the grace period ends, nothing has happened.
	s.advanceKeeping(grace.Add(-time.Second), "n2")
	s.touch("n1")
	s.reconciledAt("n1")
	n1 := s.node("n1")
	require.Equal(t, api.ConditionTrue, readyStatus(n1))
	require.Empty(t, managedTaints(n1))
	for _, p := range []string{"none", "five-min", "forever"} {
		require.False(t, s.evicted(p), p)
	}

	// At the grace period: Unknown, tainted, the intolerant pod evicted.
	s.advanceTo(grace)
	n1 = s.waitNode("n1", func(n *api.Node) bool { return len(managedTaints(n)) > 0 })
	require.Equal(t, []api.Taint{{Key: TaintNodeUnreachable, Effect: api.TaintEffectNoExecute, TimeAdded: new(api.NewTime(grace))}}, managedTaints(n1))
	require.Equal(t, []api.Taint{{Key: TaintNodeUnreachable, Effect: api.TaintEffectNoSchedule}}, noScheduleTaints(n1),
		"the scheduler must keep new pods off the node")
	for _, ct := range agentConditions {
		c := nodeCondition(n1, ct)
		require.Equal(t, api.ConditionUnknown, c.Status, ct)
		require.Equal(t, ReasonNodeStatusUnknown, c.Reason, ct)
		require.Equal(t, "Kubelet stopped posting node status.", c.Message, ct)
		require.True(t, c.LastTransitionTime.Equal(api.NewTime(grace)), ct)
	}
	require.Equal(t, api.ConditionTrue, readyStatus(s.node("n2")))
	require.Empty(t, managedTaints(s.node("n2")))
	controllertest.Eventually(t, func() bool { return s.evicted("none") })
	controllertest.Eventually(t, func() bool { return slices.Contains(s.events("default", "none"), ReasonTaintManagerEviction) })
	controllertest.Eventually(t, func() bool { return slices.Contains(s.events("default", "n1"), ReasonNodeNotReady) })
	// The others stay, but are no longer ready.
	for _, name := range []string{"five-min", "forever"} {
		controllertest.Eventually(t, func() bool {
			p := s.pod(name)
			return p != nil && p.Status.Conditions[0].Status == api.ConditionFalse
		})
		require.False(t, s.evicted(name), name)
	}

	// The pod tolerating 300 s goes at exactly 300 s after the taint.
	deadline := grace.Add(300 * time.Second)
	s.waitArmed("n1", deadline)
	s.advanceKeeping(deadline.Add(-time.Second), "n2")
	s.touch("n1")
	s.reconciledAt("n1")
	require.False(t, s.evicted("five-min"))
	s.advanceTo(deadline)
	controllertest.Eventually(t, func() bool { return s.evicted("five-min") })
	require.False(t, s.evicted("forever"))

	// The node comes back: untainted, Ready as its agent reports.
	s.advanceKeeping(deadline.Add(5*time.Second), "n2")
	s.heartbeat("n1", api.ConditionTrue)
	n1 = s.waitNode("n1", func(n *api.Node) bool { return len(managedTaints(n)) == 0 })
	require.Equal(t, api.ConditionTrue, readyStatus(n1))
	require.Empty(t, noScheduleTaints(n1))
	require.False(t, s.evicted("forever"))
	require.Equal(t, api.ConditionTrue, readyStatus(s.node("n2")))
}

// A node whose agent reports Ready=False is tainted not-ready at once; when
// it then goes silent, the taint becomes unreachable, keeping no rate
// limit; Ready=True removes it.
func TestNotReadyThenUnreachable(t *testing.T) {
	s := newScenario(t, Options{})
	s.addNode("n1", "")
	s.addNode("n2", "")
	s.addNode("n3", "")
	s.advanceTo(t0.Add(10 * time.Second))
	s.heartbeat("n1", api.ConditionFalse)
	n1 := s.waitNode("n1", func(n *api.Node) bool { return len(managedTaints(n)) > 0 })
	require.Equal(t, TaintNodeNotReady, managedTaints(n1)[0].Key)
	require.Equal(t, []api.Taint{{Key: TaintNodeNotReady, Effect: api.TaintEffectNoSchedule}}, noScheduleTaints(n1))

	// n1 goes silent at t0+10: unreachable at t0+50.
	s.advanceKeeping(t0.Add(50*time.Second), "n2", "n3")
	n1 = s.waitNode("n1", func(n *api.Node) bool {
		ts := managedTaints(n)
		return len(ts) == 1 && ts[0].Key == TaintNodeUnreachable
	})
	require.Equal(t, api.ConditionUnknown, readyStatus(n1))
	require.Equal(t, []api.Taint{{Key: TaintNodeUnreachable, Effect: api.TaintEffectNoSchedule}}, noScheduleTaints(n1))

	s.heartbeat("n1", api.ConditionTrue)
	n1 = s.waitNode("n1", func(n *api.Node) bool { return len(managedTaints(n)) == 0 })
	require.Empty(t, noScheduleTaints(n1))
}

// Nodes that go silent together are tainted one per 1/EvictionRate
// seconds, as the token bucket allows.
func TestTaintingIsRateLimited(t *testing.T) {
	s := newScenario(t, Options{}) // 0.1 nodes/s, burst 1
	for _, n := range []string{"n1", "n2", "n3", "n4", "n5"} {
		s.addNode(n, "a")
	}
	grace := t0.Add(DefaultNodeMonitorGracePeriod)
	s.waitArmed("n1", grace)
	s.waitArmed("n2", grace)
	// n1 and n2 go silent (2 of 5: the zone is healthy enough).
	s.advanceKeeping(grace, "n3", "n4", "n5")
	tainted := func() []string {
		var names []string
		for _, n := range []string{"n1", "n2"} {
			if len(managedTaints(s.node(n))) > 0 {
				names = append(names, n)
			}
		}
		return names
	}
	controllertest.Eventually(t, func() bool {
		return readyStatus(s.node("n1")) == api.ConditionUnknown && readyStatus(s.node("n2")) == api.ConditionUnknown &&
			len(tainted()) == 1
	})
	first := tainted()[0]
	second := map[string]string{"n1": "n2", "n2": "n1"}[first]
	// The NoSchedule taint is not rate limited: it only keeps new pods
	// away, it evicts nothing.
	s.waitNode(second, func(n *api.Node) bool { return len(noScheduleTaints(n)) == 1 })
	next := grace.Add(10 * time.Second)
	s.waitArmed(second, next)
	s.advanceKeeping(next.Add(-time.Second), "n3", "n4", "n5")
	s.touch(second)
	s.reconciledAt(second)
	require.Equal(t, []string{first}, tainted())
	s.advanceTo(next)
	n := s.waitNode(second, func(n *api.Node) bool { return len(managedTaints(n)) > 0 })
	require.True(t, managedTaints(n)[0].TimeAdded.Equal(api.NewTime(next)))
}

// conflictOnce answers the first update of a node's spec that adds a
// NoExecute taint with 409 Conflict, as the API server does when the
// controller's cache was behind; it passes everything else on.
type conflictOnce struct {
	next http.RoundTripper
	done atomic.Bool
}

func (c *conflictOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && strings.HasPrefix(req.URL.Path, "/api/v1/nodes/") &&
		!strings.HasSuffix(req.URL.Path, "/status") && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(`"NoExecute"`)) && c.done.CompareAndSwap(false, true) {
			status := `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Conflict","code":409,` +
				`"message":"Operation cannot be fulfilled on nodes: the object has been modified"}`
			return &http.Response{StatusCode: http.StatusConflict, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(status)), Request: req}, nil
		}
	}
	return c.next.RoundTrip(req)
}

// A taint whose write fails gives its token back: the retry, a few
// milliseconds later, taints at once rather than a token's interval (10 s
// at the default rate) later.
func TestFailedTaintKeepsItsToken(t *testing.T) {
	inject := &conflictOnce{}
	s := newScenarioWith(t, Options{}, func(next http.RoundTripper) http.RoundTripper { inject.next = next; return inject })
	for _, n := range []string{"n1", "n2", "n3"} {
		s.addNode(n, "a")
	}
	grace := t0.Add(DefaultNodeMonitorGracePeriod)
	s.waitArmed("n1", grace)
	s.advanceKeeping(grace, "n2", "n3")
	// The retry after the conflict waits for a backoff of milliseconds on
	// the fake clock: move it, by at most a second.
	s.advanceUntil(grace.Add(time.Second), 50*time.Millisecond, func() bool {
		n, err := s.nodes.Get("", "n1")
		return err == nil && len(managedTaints(n)) > 0
	}, "n1 tainted NoExecute")
	require.True(t, inject.done.Load(), "no conflict was injected")
}

// When every node is down, the controller assumes it is the one cut off
// and taints none.
func TestFullDisruptionTaintsNothing(t *testing.T) {
	s := newScenario(t, Options{})
	s.addNode("n1", "a")
	s.addNode("n2", "b")
	grace := t0.Add(DefaultNodeMonitorGracePeriod)
	s.waitArmed("n1", grace)
	s.waitArmed("n2", grace)
	s.advanceTo(grace)
	for _, n := range []string{"n1", "n2"} {
		s.waitNode(n, func(n *api.Node) bool { return readyStatus(n) == api.ConditionUnknown })
	}
	// New pods are kept away all the same: that evicts nothing.
	for _, n := range []string{"n1", "n2"} {
		s.waitNode(n, func(n *api.Node) bool { return len(noScheduleTaints(n)) == 1 })
	}
	// Checked again after DisruptionRecheckInterval: still nothing. (A
	// write that conflicted with the controller's own previous one is
	// retried a few milliseconds later, which moves the recheck by as
	// much: the clock moves in small steps, up to a second after.)
	recheck := grace.Add(DefaultDisruptionRecheckInterval)
	s.advanceUntil(recheck.Add(time.Second), 50*time.Millisecond, func() bool {
		return s.reconciledSinceNow("n1", recheck) && s.reconciledSinceNow("n2", recheck)
	}, "n1 and n2 rechecked")
	require.Empty(t, managedTaints(s.node("n1")))
	require.Empty(t, managedTaints(s.node("n2")))
	// One node back makes the other's zone an ordinary outage, at n1's
	// next recheck at the latest (DisruptionRecheckInterval).
	s.heartbeat("n2", api.ConditionTrue)
	s.advanceUntil(s.clk.Now().Add(DefaultDisruptionRecheckInterval+time.Second), 100*time.Millisecond, func() bool {
		n, err := s.nodes.Get("", "n1")
		return err == nil && len(managedTaints(n)) > 0
	}, "n1 tainted NoExecute")
}

// A node whose agent never posted status is Unknown after the startup
// grace period.
func TestNodeNeverReported(t *testing.T) {
	s := newScenario(t, Options{NodeStartupGracePeriod: 90 * time.Second})
	s.addNode("healthy", "")
	require.NoError(t, s.c.Create(s.ctx, &api.Node{ObjectMeta: api.ObjectMeta{Name: "silent"}}))
	startup := t0.Add(90 * time.Second)
	s.waitArmed("silent", startup)
	s.advanceKeeping(startup.Add(-time.Second), "healthy")
	s.touch("silent")
	s.reconciledAt("silent")
	require.Empty(t, s.node("silent").Status.Conditions)
	s.advanceTo(startup)
	n := s.waitNode("silent", func(n *api.Node) bool { return len(managedTaints(n)) > 0 })
	for _, ct := range agentConditions {
		c := nodeCondition(n, ct)
		require.Equal(t, api.ConditionUnknown, c.Status)
		require.Equal(t, ReasonNodeStatusNeverUpdated, c.Reason)
	}
}

func TestOptionsValidate(t *testing.T) {
	require.NoError(t, Options{}.Validate())
	for _, o := range []Options{
		{Workers: -1}, {NodeMonitorGracePeriod: -1}, {NodeStartupGracePeriod: -1}, {EvictionBurst: -1},
		{LargeClusterSizeThreshold: -1}, {UnhealthyZoneThreshold: 1.5}, {DisruptionRecheckInterval: -1},
	} {
		require.Error(t, o.Validate(), "%+v", o)
	}
}
