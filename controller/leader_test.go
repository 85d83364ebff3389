package controller_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/leaderelection"
	"github.com/drover-io/drover/controller"
)

var _ controller.LeaderElector = (*leaderelection.Elector)(nil)

// TestLeaderElectionFailover runs two managers competing for one Lease:
// only the leader's controller reconciles; when the leader's manager stops
// (releasing the lease) its controller has stopped, and the other takes
// over and reconciles what the first left.
func TestLeaderElectionFailover(t *testing.T) {
	s, scheme := newServer(t)
	c := newClient(t, s, scheme)
	ctx := testCtx(t)

	type replica struct {
		m    *controller.Manager
		rec  *recorder
		stop func() error
		done <-chan struct{}
	}
	replicas := make([]*replica, 2)
	for i := range replicas {
		el, err := leaderelection.New(leaderelection.Config{
			Client: newClient(t, s, scheme), Namespace: "default", Name: "test-controllers",
			Identity:      fmt.Sprint("replica-", i),
			LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 50 * time.Millisecond,
		})
		require.NoError(t, err)
		m := newManager(t, s, scheme, controller.ManagerConfig{LeaderElector: el})
		rec := newRecorder(nil)
		require.NoError(t, controller.NewControllerManagedBy(m).For(&api.ConfigMap{}).Complete(rec))
		stop, done := start(t, m.Start)
		replicas[i] = &replica{m: m, rec: rec, stop: stop, done: done}
	}
	var leader, follower *replica
	eventually(t, func() bool {
		switch {
		case replicas[0].m.IsLeader() && !replicas[1].m.IsLeader():
			leader, follower = replicas[0], replicas[1]
		case replicas[1].m.IsLeader() && !replicas[0].m.IsLeader():
			leader, follower = replicas[1], replicas[0]
		default:
			return false
		}
		return true
	}, "one leader")

	a := controller.Request{Namespace: "default", Name: "a"}
	require.NoError(t, c.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "a"}}))
	eventually(t, func() bool { return leader.rec.count(a) == 1 }, "the leader reconciles")
	assert.Zero(t, follower.rec.count(a), "the follower does not")
	assert.False(t, follower.m.IsLeader())

	require.NoError(t, leader.stop())
	afterStop := leader.rec.total()
	eventually(t, follower.m.IsLeader, "the follower takes over")
	eventually(t, func() bool { return follower.rec.count(a) == 1 }, "the new leader reconciles what exists")
	b := controller.Request{Namespace: "default", Name: "b"}
	require.NoError(t, c.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "b"}}))
	eventually(t, func() bool { return follower.rec.count(b) == 1 }, "and what comes next")
	assert.Equal(t, afterStop, leader.rec.total(), "the old leader's controller stopped")
}

// TestLeadershipIsKeptWithoutLeaderOnlyRunnables: a Manager with a
// LeaderElector but no runnable that needs leadership (every controller
// runs everywhere) keeps the lease it won, rather than releasing it and
// winning it again every RetryPeriod, a write and two log lines each time.
func TestLeadershipIsKeptWithoutLeaderOnlyRunnables(t *testing.T) {
	s, scheme := newServer(t)
	reg := prometheus.NewRegistry()
	el, err := leaderelection.New(leaderelection.Config{
		Client: newClient(t, s, scheme), Namespace: "default", Name: "idle", Identity: "only",
		LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 20 * time.Millisecond,
		Registerer: reg,
	})
	require.NoError(t, err)
	m := newManager(t, s, scheme, controller.ManagerConfig{LeaderElector: el})
	no := false
	require.NoError(t, controller.NewControllerManagedBy(m).For(&api.ConfigMap{}).
		WithOptions(controller.Options{NeedLeaderElection: &no}).Complete(newRecorder(nil)))
	start(t, m.Start)
	eventually(t, el.IsLeader, "leads")
	released := func() float64 {
		return metricValue(t, reg, "drover_leader_election_transitions_total", map[string]string{"event": "released"})
	}
	// Ten retry periods: time for several needless hand-overs.
	time.Sleep(200 * time.Millisecond)
	assert.LessOrEqual(t, released(), 0.0, "the lease was released while the manager runs")
	assert.True(t, el.IsLeader())
}
