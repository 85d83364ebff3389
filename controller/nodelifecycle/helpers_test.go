package nodelifecycle

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/admission"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
)

// t0 is when every scenario starts: a whole second, as api.Time keeps
// seconds only.
var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// scenario is a controllertest Env on a fake clock with the controller
// running, and a record of its reconciles.
type scenario struct {
	t   *testing.T
	ctx context.Context
	env *controllertest.Env
	c   *client.Client
	clk *fakeclock.Clock
	reg *prometheus.Registry
	// nodes is the controller's cache of nodes.
	nodes informer.Lister[*api.Node]

	mu    sync.Mutex
	calls []call // finished reconciles
}

// call is one finished Reconcile: of which node, at what time, and when it
// asked to be called again (zero: not).
type call struct {
	node string
	at   time.Time
	wake time.Time
}

func newScenario(t *testing.T, opts Options) *scenario {
	return newScenarioWith(t, opts, nil)
}

// newScenarioWith is newScenario with the controller's requests going
// through the transport wrap returns, if wrap is not nil.
func newScenarioWith(t *testing.T, opts Options, wrap func(http.RoundTripper) http.RoundTripper) *scenario {
	clk := fakeclock.New(t0)
	// No admission plugins: the tests give the pods their tolerations
	// themselves (with the DefaultTolerationSeconds plugin where it
	// matters), so that a pod can have none.
	env := controllertest.New(t, controllertest.WithClock(clk), controllertest.WithAdmission(admission.NewChain(nil, nil)))
	s := &scenario{t: t, ctx: controllertest.Context(t), env: env, c: env.Client, clk: clk}
	require.NoError(t, env.CreateNamespace(s.ctx, LeaseNamespace))
	var cfg controller.ManagerConfig
	if wrap != nil {
		ccfg := env.ClientConfig()
		ccfg.Transport = wrap(ccfg.Transport)
		var err error
		cfg.Client, err = client.New(ccfg)
		require.NoError(t, err)
	}
	mgr, err := env.NewManager(cfg)
	require.NoError(t, err)
	s.reg = mgr.Registry()
	s.nodes, err = controller.Lister[*api.Node](mgr)
	require.NoError(t, err)
	require.NoError(t, add(mgr, opts, func(r controller.Reconciler) controller.Reconciler {
		return controller.Func(func(ctx context.Context, req controller.Request) (controller.Result, error) {
			now := s.clk.Now()
			res, err := r.Reconcile(ctx, req)
			s.mu.Lock()
			c := call{node: req.Name, at: now}
			if err == nil && res.RequeueAfter > 0 {
				c.wake = now.Add(res.RequeueAfter)
			}
			s.calls = append(s.calls, c)
			s.mu.Unlock()
			return res, err
		})
	}))
	require.NoError(t, env.StartManager(mgr))
	return s
}

// reconciledAt waits until node has been reconciled at the clock's time
// now or later, and the queue knows what that reconcile asked for next.
func (s *scenario) reconciledAt(node string) {
	s.t.Helper()
	s.reconciledSince(node, s.clk.Now())
}

// reconciledSinceNow reports whether node has been reconciled at since or
// later.
func (s *scenario) reconciledSinceNow(node string, since time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.calls, func(c call) bool { return c.node == node && !c.at.Before(since) })
}

// advanceUntil waits until cond holds, moving the clock by step between
// polls, up to limit: for what happens after a retry's backoff of a few
// milliseconds, which starts at a time the test does not know (a step of
// a millisecond), or at a recheck that such a retry may have moved.
func (s *scenario) advanceUntil(limit time.Time, step time.Duration, cond func() bool, what string) {
	s.t.Helper()
	s.eventually(func() bool {
		if cond() {
			return true
		}
		if s.clk.Now().Before(limit) {
			s.clk.Advance(min(step, limit.Sub(s.clk.Now())))
		}
		return false
	}, "%s by t0+%v", what, limit.Sub(t0))
}

// reconciledSince waits until node has been reconciled at since or later,
// and the queue knows what that reconcile asked for next (see armed): a
// test may move the clock only then.
func (s *scenario) reconciledSince(node string, since time.Time) {
	s.t.Helper()
	s.eventually(func() bool {
		s.mu.Lock()
		calls := slices.Clone(s.calls)
		s.mu.Unlock()
		return slices.ContainsFunc(calls, func(c call) bool { return c.node == node && !c.at.Before(since) }) &&
			s.reconciles() >= len(calls)
	}, "a reconcile of %s at t0+%v or later", node, since.Sub(t0))
}

// eventually is controllertest.Eventually, with the reconciles seen in the
// failure message.
func (s *scenario) eventually(cond func() bool, format string, args ...any) {
	s.t.Helper()
	deadline := time.Now().Add(controllertest.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			s.mu.Lock()
			var b strings.Builder
			for _, c := range s.calls {
				fmt.Fprintf(&b, "\n  %s at t0+%v, wake t0+%v", c.node, c.at.Sub(t0), c.wake.Sub(t0))
			}
			s.mu.Unlock()
			s.t.Fatalf("waited %v for %s; the reconciles:%s", controllertest.Timeout, fmt.Sprintf(format, args...), b.String())
		}
		t := time.NewTimer(5 * time.Millisecond)
		<-t.C
	}
}

// waitArmed waits until the controller has asked to reconcile node at at,
// and its queue knows: a test may move the clock only then, as a delay
// queued after the move would count from the new time.
func (s *scenario) waitArmed(node string, at time.Time) {
	s.t.Helper()
	s.eventually(func() bool { return s.armed(node, at) }, "%s to ask for a reconcile at t0+%v", node, at.Sub(t0))
}

// armed reports whether the controller has asked to reconcile node at at,
// and its queue knows.
func (s *scenario) armed(node string, at time.Time) bool {
	s.mu.Lock()
	calls := slices.Clone(s.calls)
	s.mu.Unlock()
	// The controller counts a reconcile after it has queued what comes
	// next: once the count covers every call seen, every one of their
	// delays is in the queue.
	return slices.ContainsFunc(calls, func(c call) bool { return c.node == node && c.wake.Equal(at) }) &&
		s.reconciles() >= len(calls)
}

// reconciles returns how many reconciles the controller has counted.
func (s *scenario) reconciles() int {
	s.t.Helper()
	mfs, err := s.reg.Gather()
	require.NoError(s.t, err)
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "drover_controller_reconcile_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == Name {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return int(total)
}

// advanceTo moves the clock to at.
func (s *scenario) advanceTo(at time.Time) {
	s.t.Helper()
	require.False(s.t, at.Before(s.clk.Now()), "the clock cannot go back")
	s.clk.Advance(at.Sub(s.clk.Now()))
}

// addNode creates a node in zone whose agent reports Ready=True now, and
// its Lease renewed now.
func (s *scenario) addNode(name, zone string) {
	s.t.Helper()
	n := &api.Node{ObjectMeta: api.ObjectMeta{Name: name}}
	if zone != "" {
		n.Labels = map[string]string{LabelZone: zone}
	}
	require.NoError(s.t, s.c.Create(s.ctx, n))
	holder := name
	require.NoError(s.t, s.c.Create(s.ctx, &api.Lease{
		ObjectMeta: api.ObjectMeta{Namespace: LeaseNamespace, Name: name},
		Spec:       api.LeaseSpec{HolderIdentity: &holder},
	}))
	s.heartbeat(name, api.ConditionTrue)
}

// heartbeat does what a node agent does: renews the node's Lease and
// posts its Ready condition with status (and no pressure), as of now.
func (s *scenario) heartbeat(name string, ready api.ConditionStatus) {
	s.t.Helper()
	now := s.clk.Now()
	require.NoError(s.t, client.RetryOnConflict(s.ctx, client.DefaultRetry, func() error {
		var l api.Lease
		if err := s.c.Get(s.ctx, LeaseNamespace, name, &l); err != nil {
			return err
		}
		renew := api.NewMicroTime(now)
		l.Spec.RenewTime = &renew
		return s.c.Update(s.ctx, &l)
	}))
	require.NoError(s.t, client.RetryOnConflict(s.ctx, client.DefaultRetry, func() error {
		var n api.Node
		if err := s.c.Get(s.ctx, "", name, &n); err != nil {
			return err
		}
		t := api.NewTime(now)
		var conds []api.NodeCondition
		for _, ct := range agentConditions {
			st := api.ConditionFalse
			if ct == api.NodeReady {
				st = ready
			}
			c := api.NodeCondition{Type: ct, Status: st, LastHeartbeatTime: t, LastTransitionTime: t, Reason: "KubeletReady"}
			if old := nodeCondition(&n, ct); old != nil && old.Status == st {
				c.LastTransitionTime = old.LastTransitionTime
			}
			conds = append(conds, c)
		}
		n.Status.Conditions = conds
		return s.c.UpdateStatus(s.ctx, &n)
	}))
	// The controller judges a zone's health from its cache: wait until
	// the cache has the heartbeat, as it would long before the next
	// deadline in a real cluster.
	controllertest.Eventually(s.t, func() bool {
		n, err := s.nodes.Get("", name)
		if err != nil {
			return false
		}
		c := nodeCondition(n, api.NodeReady)
		return c != nil && c.Status == ready && c.LastHeartbeatTime.Equal(api.NewTime(now))
	})
}

// addPod creates a running, ready pod on node with tolerations ts; with
// defaults, the DefaultTolerationSeconds admission plugin adds its own.
func (s *scenario) addPod(name, node string, defaults bool, ts ...api.Toleration) {
	s.t.Helper()
	p := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec: api.PodSpec{
			NodeName:    node,
			Containers:  []api.Container{{Name: "c", Image: "busybox"}},
			Tolerations: ts,
		},
	}
	if defaults {
		m := admission.DefaultTolerationSeconds(admission.DefaultTolerationSecondsValue, admission.DefaultTolerationSecondsValue)
		require.NoError(s.t, m.Admit(s.ctx, &admission.Attributes{Operation: admission.Create, Object: p}))
	}
	require.NoError(s.t, s.c.Create(s.ctx, p))
	now := api.NewTime(s.clk.Now())
	p.Status.Phase = api.PodRunning
	p.Status.Conditions = []api.PodCondition{{Type: api.PodReady, Status: api.ConditionTrue, LastTransitionTime: now}}
	require.NoError(s.t, s.c.UpdateStatus(s.ctx, p))
}

func (s *scenario) node(name string) *api.Node {
	s.t.Helper()
	var n api.Node
	require.NoError(s.t, s.c.Get(s.ctx, "", name, &n))
	return &n
}

func (s *scenario) pod(name string) *api.Pod {
	s.t.Helper()
	var p api.Pod
	err := s.c.Get(s.ctx, "default", name, &p)
	if api.IsNotFound(err) {
		return nil
	}
	require.NoError(s.t, err)
	return &p
}

// evicted reports whether the pod is gone or going.
func (s *scenario) evicted(name string) bool {
	p := s.pod(name)
	return p == nil || p.DeletionTimestamp != nil
}

// waitNode waits until cond holds for the node.
func (s *scenario) waitNode(name string, cond func(*api.Node) bool) *api.Node {
	s.t.Helper()
	n, err := controllertest.WaitFor(s.ctx, s.c, "", name, cond)
	require.NoError(s.t, err)
	// And until the controller's cache has it, so that moving the clock
	// next does not find the controller reading what it wrote before.
	controllertest.Eventually(s.t, func() bool {
		c, err := s.nodes.Get("", name)
		return err == nil && rv(s.t, c) >= rv(s.t, n)
	})
	return n
}

// events returns the reasons of the Events about the object named name.
func (s *scenario) events(namespace, name string) []string {
	s.t.Helper()
	var list api.EventList
	require.NoError(s.t, s.c.List(s.ctx, &list, client.InNamespace(namespace)))
	var reasons []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}

// rv returns the resourceVersion of obj as the number it is.
func rv(t *testing.T, obj api.Object) uint64 {
	v, err := strconv.ParseUint(obj.GetObjectMeta().ResourceVersion, 10, 64)
	require.NoError(t, err)
	return v
}

func managedTaints(n *api.Node) []api.Taint {
	var ts []api.Taint
	for _, t := range n.Spec.Taints {
		if isManagedTaint(&t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// noScheduleTaints returns the NoSchedule taints of n the controller
// keeps in step with its Ready condition.
func noScheduleTaints(n *api.Node) []api.Taint {
	var ts []api.Taint
	for _, t := range n.Spec.Taints {
		if t.Effect == api.TaintEffectNoSchedule && (t.Key == TaintNodeNotReady || t.Key == TaintNodeUnreachable) {
			ts = append(ts, t)
		}
	}
	return ts
}

func readyStatus(n *api.Node) api.ConditionStatus {
	if c := nodeCondition(n, api.NodeReady); c != nil {
		return c.Status
	}
	return ""
}

func seconds(s int64) *int64 { return &s }
