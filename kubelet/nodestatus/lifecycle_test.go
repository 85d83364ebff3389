package nodestatus

import (
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/controller/nodelifecycle"
)

// The node lifecycle controller keeps a node with a running Reporter
// Ready for minutes on end, through the Lease alone (the status is not
// rewritten within StatusReportFrequency), marks it Unknown and taints it
// once the Reporter stops, and sees it Ready again, untainted, when a
// Reporter comes back.
func TestNodeLifecycleControllerSeesTheNodeAlive(t *testing.T) {
	h := newHarness(t, nil)
	mgr, err := h.env.NewManager(controller.ManagerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	leases, err := controller.Lister[*api.Lease](mgr)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := controller.Lister[*api.Node](mgr)
	if err != nil {
		t.Fatal(err)
	}
	if err := nodelifecycle.Add(mgr, nodelifecycle.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := h.env.StartManager(mgr); err != nil {
		t.Fatal(err)
	}
	h.start()
	if nodelifecycle.LeaseNamespace != LeaseNamespace {
		t.Fatalf("the controller reads Leases in %s, the Reporter writes them in %s", nodelifecycle.LeaseNamespace, LeaseNamespace)
	}
	// seen waits until the controller's cache holds the Lease renewed now.
	seen := func() {
		t.Helper()
		now := h.clock.Now()
		controllertest.Eventually(t, func() bool {
			l, err := leases.Get(LeaseNamespace, "n1")
			return err == nil && l.Spec.RenewTime != nil && !l.Spec.RenewTime.Time.Before(now)
		})
	}
	seen()
	writes := counter(h.r.metrics.statusWrites.WithLabelValues("success"))
	for range 18 { // 3 minutes
		h.tick(10 * time.Second)
		seen()
	}
	n := h.node()
	if !isReady(n) || len(n.Spec.Taints) != 0 {
		t.Fatalf("after 3 min of heartbeats: Ready %+v, taints %+v; want Ready, untainted", condition(n, api.NodeReady), n.Spec.Taints)
	}
	if got := counter(h.r.metrics.statusWrites.WithLabelValues("success")); got != writes {
		t.Fatalf("the status was written %v times in 3 min with nothing changed", got-writes)
	}

	// The agent stops: Unknown and tainted after the 40 s grace period.
	// The controller's requeues are armed from its workers, at times the
	// test does not see: move the clock a little at a time until it acts.
	h.stop()
	controllertest.Eventually(t, func() bool {
		n := h.node()
		if condition(n, api.NodeReady).Status == api.ConditionUnknown && len(n.Spec.Taints) > 0 {
			return true
		}
		h.clock.Advance(2 * time.Second)
		return false
	})
	if gone := h.clock.Now().Sub(t0.Add(180 * time.Second)); gone < nodelifecycle.DefaultNodeMonitorGracePeriod {
		t.Errorf("the node was marked Unknown %v after its last heartbeat, before the grace period", gone)
	}

	// It comes back: Ready, and the controller lifts its taints.
	h.start()
	h.waitNode(func(n *api.Node) bool { return isReady(n) && len(n.Spec.Taints) == 0 })
	controllertest.Eventually(t, func() bool {
		ns, err := nodes.List(labels.Everything())
		return err == nil && len(ns) == 1 && isReady(ns[0])
	})
}
