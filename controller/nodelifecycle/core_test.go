package nodelifecycle

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
)

func TestEvictionTime(t *testing.T) {
	added := t0
	unreachable := api.Taint{Key: TaintNodeUnreachable, Effect: api.TaintEffectNoExecute, TimeAdded: new(api.NewTime(added))}
	gpu := api.Taint{Key: "gpu", Value: "broken", Effect: api.TaintEffectNoExecute, TimeAdded: new(api.NewTime(added.Add(time.Minute)))}
	noSchedule := api.Taint{Key: "dedicated", Effect: api.TaintEffectNoSchedule}
	since := func(t *api.Taint) time.Time { return t.TimeAdded.Time }
	tol := func(key string, op api.TolerationOperator, value string, s *int64) api.Toleration {
		return api.Toleration{Key: key, Operator: op, Value: value, Effect: api.TaintEffectNoExecute, TolerationSeconds: s}
	}
	for _, tc := range []struct {
		name   string
		taints []api.Taint
		ts     []api.Toleration
		want   time.Duration // after added; -1: never
	}{
		{"no taints", nil, nil, -1},
		{"NoSchedule only", []api.Taint{noSchedule}, nil, -1},
		{"not tolerated: at once", []api.Taint{unreachable}, nil, 0},
		{"tolerated 300 s", []api.Taint{unreachable}, []api.Toleration{tol(TaintNodeUnreachable, api.TolerationOpExists, "", seconds(300))}, 300 * time.Second},
		{"tolerated forever", []api.Taint{unreachable}, []api.Toleration{tol(TaintNodeUnreachable, api.TolerationOpExists, "", nil)}, -1},
		{"shortest of matching", []api.Taint{unreachable}, []api.Toleration{
			tol(TaintNodeUnreachable, api.TolerationOpExists, "", seconds(300)),
			tol("", api.TolerationOpExists, "", seconds(60)),
			tol(TaintNodeUnreachable, api.TolerationOpExists, "", nil),
		}, 60 * time.Second},
		{"negative seconds: at once", []api.Taint{unreachable}, []api.Toleration{tol(TaintNodeUnreachable, api.TolerationOpExists, "", seconds(-5))}, 0},
		{"value must equal", []api.Taint{gpu}, []api.Toleration{tol("gpu", api.TolerationOpEqual, "ok", nil)}, time.Minute},
		{"value equal", []api.Taint{gpu}, []api.Toleration{tol("gpu", "", "broken", seconds(10))}, time.Minute + 10*time.Second},
		{"earliest taint wins", []api.Taint{unreachable, gpu}, []api.Toleration{
			tol(TaintNodeUnreachable, api.TolerationOpExists, "", seconds(300)),
			tol("gpu", api.TolerationOpExists, "", seconds(30)),
		}, 90 * time.Second},
		{"one taint untolerated", []api.Taint{unreachable, gpu}, []api.Toleration{tol(TaintNodeUnreachable, api.TolerationOpExists, "", nil)}, time.Minute},
		{"NoSchedule toleration does not count", []api.Taint{unreachable}, []api.Toleration{{Key: TaintNodeUnreachable, Operator: api.TolerationOpExists, Effect: api.TaintEffectNoSchedule}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at, ok := evictionTime(tc.ts, tc.taints, since)
			if tc.want < 0 {
				require.False(t, ok, "evicted at %v", at)
				return
			}
			require.True(t, ok)
			require.Equal(t, added.Add(tc.want), at)
		})
	}
}

func TestHeartbeatDeadline(t *testing.T) {
	node := &api.Node{ObjectMeta: api.ObjectMeta{Name: "n", CreationTimestamp: api.NewTime(t0)}}
	// Never reported: the startup grace period from creation.
	require.Equal(t, t0.Add(time.Minute), heartbeatDeadline(node, nil, 40*time.Second, time.Minute))
	renew := api.NewMicroTime(t0.Add(5 * time.Second))
	lease := &api.Lease{Spec: api.LeaseSpec{RenewTime: &renew}}
	require.Equal(t, t0.Add(65*time.Second), heartbeatDeadline(node, lease, 40*time.Second, time.Minute))
	// Reported: the newer of the lease and the Ready heartbeat.
	node.Status.Conditions = []api.NodeCondition{{Type: api.NodeReady, Status: api.ConditionTrue, LastHeartbeatTime: api.NewTime(t0.Add(2 * time.Second))}}
	require.Equal(t, t0.Add(45*time.Second), heartbeatDeadline(node, lease, 40*time.Second, time.Minute))
	require.Equal(t, t0.Add(42*time.Second), heartbeatDeadline(node, nil, 40*time.Second, time.Minute))
	node.Status.Conditions[0].LastHeartbeatTime = api.NewTime(t0.Add(9 * time.Second))
	require.Equal(t, t0.Add(49*time.Second), heartbeatDeadline(node, lease, 40*time.Second, time.Minute))
}

func TestSetTaintsKeepsOthersAndTimeAdded(t *testing.T) {
	other := api.Taint{Key: "dedicated", Value: "db", Effect: api.TaintEffectNoSchedule}
	schedule := func(key string) api.Taint { return api.Taint{Key: key, Effect: api.TaintEffectNoSchedule} }
	execute := func(key string, at time.Time) api.Taint {
		return api.Taint{Key: key, Effect: api.TaintEffectNoExecute, TimeAdded: new(api.NewTime(at))}
	}
	n := &api.Node{Spec: api.NodeSpec{Taints: []api.Taint{other}}}
	require.True(t, setTaints(n, TaintNodeNotReady, TaintNodeNotReady, t0))
	require.Equal(t, []api.Taint{other, schedule(TaintNodeNotReady), execute(TaintNodeNotReady, t0)}, n.Spec.Taints)
	require.False(t, setTaints(n, TaintNodeNotReady, TaintNodeNotReady, t0.Add(time.Hour)), "the taints were already there")
	require.True(t, n.Spec.Taints[2].TimeAdded.Equal(api.NewTime(t0)))
	// The NoSchedule taint follows at once; the NoExecute one waits (for
	// the rate limit) and is left as it is.
	require.True(t, setTaints(n, TaintNodeUnreachable, "", t0.Add(time.Hour)))
	require.Equal(t, []api.Taint{other, schedule(TaintNodeUnreachable)}, n.Spec.Taints)
	require.True(t, setTaints(n, TaintNodeUnreachable, TaintNodeUnreachable, t0.Add(time.Hour)))
	require.Equal(t, []api.Taint{other, schedule(TaintNodeUnreachable), execute(TaintNodeUnreachable, t0.Add(time.Hour))}, n.Spec.Taints)
	// Duplicates go.
	n.Spec.Taints = append(n.Spec.Taints, schedule(TaintNodeUnreachable))
	require.True(t, setTaints(n, TaintNodeUnreachable, TaintNodeUnreachable, t0.Add(2*time.Hour)))
	require.Equal(t, []api.Taint{other, schedule(TaintNodeUnreachable), execute(TaintNodeUnreachable, t0.Add(time.Hour))}, n.Spec.Taints)
	require.True(t, setTaints(n, "", "", t0))
	require.Equal(t, []api.Taint{other}, n.Spec.Taints)
	require.False(t, setTaints(n, "", "", t0))
}

func TestMarkUnknown(t *testing.T) {
	n := &api.Node{Status: api.NodeStatus{Conditions: []api.NodeCondition{
		{Type: api.NodeReady, Status: api.ConditionTrue},
		{Type: api.NodeNetworkUnavailable, Status: api.ConditionFalse},
	}}}
	require.True(t, markUnknown(n, t0))
	require.Equal(t, api.ConditionUnknown, nodeCondition(n, api.NodeReady).Status)
	require.Equal(t, ReasonNodeStatusUnknown, nodeCondition(n, api.NodeReady).Reason)
	require.Equal(t, ReasonNodeStatusNeverUpdated, nodeCondition(n, api.NodeDiskPressure).Reason)
	require.Equal(t, api.ConditionFalse, nodeCondition(n, api.NodeNetworkUnavailable).Status, "not the agent's")
	require.False(t, markUnknown(n, t0.Add(time.Minute)), "already Unknown")
	require.True(t, nodeCondition(n, api.NodeReady).LastTransitionTime.Equal(api.NewTime(t0)))
}

func TestBucket(t *testing.T) {
	var b bucket
	ok, _ := b.take(t0, 0.1, 2)
	require.True(t, ok)
	ok, _ = b.take(t0, 0.1, 2)
	require.True(t, ok, "burst 2")
	ok, wait := b.take(t0, 0.1, 2)
	require.False(t, ok)
	require.Equal(t, 10*time.Second, wait)
	ok, wait = b.take(t0.Add(4*time.Second), 0.1, 2)
	require.False(t, ok)
	require.Equal(t, 6*time.Second, wait)
	ok, _ = b.take(t0.Add(10*time.Second), 0.1, 2)
	require.True(t, ok)
	// A long wait fills up to the burst only.
	for range 2 {
		ok, _ = b.take(t0.Add(time.Hour), 0.1, 2)
		require.True(t, ok)
	}
	ok, _ = b.take(t0.Add(time.Hour), 0.1, 2)
	require.False(t, ok)
	// A token given back is there again, up to the burst.
	b.refund(2)
	ok, _ = b.take(t0.Add(time.Hour), 0.1, 2)
	require.True(t, ok)
	b.refund(2)
	b.refund(2)
	b.refund(2)
	for range 2 {
		ok, _ = b.take(t0.Add(time.Hour), 0.1, 2)
		require.True(t, ok)
	}
	ok, _ = b.take(t0.Add(time.Hour), 0.1, 2)
	require.False(t, ok, "refunds beyond the burst are not kept")
	// At rate 0 the bucket does not fill, and there is no telling when it
	// will.
	ok, wait = b.take(t0.Add(3*time.Hour), 0, 2)
	require.False(t, ok)
	require.Zero(t, wait)
}

func TestZoneState(t *testing.T) {
	const threshold = 0.55
	for _, tc := range []struct {
		h    zoneHealth
		want zoneState
	}{
		{zoneHealth{ready: 3}, zoneNormal},
		{zoneHealth{ready: 1, notReady: 2}, zoneNormal}, // two are never a disruption
		{zoneHealth{ready: 2, notReady: 3}, zonePartialDisruption},
		{zoneHealth{ready: 3, notReady: 3}, zoneNormal},
		{zoneHealth{notReady: 1}, zoneFullDisruption},
		{zoneHealth{}, zoneNormal},
	} {
		require.Equal(t, tc.want, tc.h.state(threshold), "%+v", tc.h)
	}
}
