package leaderelection_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/leaderelection"
)

const (
	leaseDuration = leaderelection.DefaultLeaseDuration
	renewDeadline = leaderelection.DefaultRenewDeadline
	retryPeriod   = leaderelection.DefaultRetryPeriod
	// maxRetry is the longest wait between a follower's tries.
	maxRetry = retryPeriod + time.Duration(leaderelection.JitterFactor*float64(retryPeriod))
)

func TestSingleCandidateAcquiresRenewsAndReleases(t *testing.T) {
	e := newEnv(t)
	a := e.candidate("a", nil, nil)
	e.start(a)

	require.True(t, a.e.IsLeader())
	require.Equal(t, "a", a.e.Leader())
	require.True(t, a.leading.Load())
	l := e.lease()
	require.Equal(t, "a", *l.Spec.HolderIdentity)
	require.Equal(t, int32(15), *l.Spec.LeaseDurationSeconds)
	require.Equal(t, int32(0), *l.Spec.LeaseTransitions)
	require.True(t, l.Spec.AcquireTime.Time.Equal(start))
	require.True(t, l.Spec.RenewTime.Time.Equal(start))
	labels := map[string]string{"name": ns + "/" + leaseName}
	require.Equal(t, 1.0, metric(t, a.reg, "drover_leader_election_is_leader", labels))

	e.runFor(retryPeriod)
	l = e.lease()
	require.True(t, l.Spec.RenewTime.Time.Equal(start.Add(retryPeriod)), "renewed after RetryPeriod: %v", l.Spec.RenewTime)
	require.True(t, l.Spec.AcquireTime.Time.Equal(start), "acquireTime kept on renewal")

	e.runFor(time.Minute)
	l = e.lease()
	require.WithinDuration(t, e.clk.Now(), l.Spec.RenewTime.Time, retryPeriod)
	require.Equal(t, int32(0), *l.Spec.LeaseTransitions)
	require.Equal(t, int32(1), a.terms.Load(), "lead called once")
	require.True(t, a.leading.Load())

	require.NoError(t, e.stop(a))
	require.False(t, a.leading.Load(), "lead returned before Run")
	require.False(t, a.e.IsLeader())
	l = e.lease()
	require.Equal(t, "", *l.Spec.HolderIdentity, "released")
	require.Equal(t, int32(1), *l.Spec.LeaseDurationSeconds)
	require.Equal(t, 0.0, metric(t, a.reg, "drover_leader_election_is_leader", labels))
	require.Equal(t, 1.0, metric(t, a.reg, "drover_leader_election_transitions_total", map[string]string{"event": "acquired"}))
	require.Equal(t, 1.0, metric(t, a.reg, "drover_leader_election_transitions_total", map[string]string{"event": "released"}))
}

func TestTwoCandidatesOneLeaderAndHandOverOnShutdown(t *testing.T) {
	e := newEnv(t)
	a := e.candidate("a", nil, nil)
	b := e.candidate("b", nil, nil)
	e.start(a)
	e.start(b)
	e.runFor(time.Minute)

	require.Equal(t, a.id, e.leaderID())
	require.False(t, b.e.IsLeader())
	require.Equal(t, "a", b.e.Leader(), "the follower knows the leader")
	require.Equal(t, int32(0), b.terms.Load())

	// The leader shuts down: it releases the lease, and b takes it at its
	// next try, long before the lease would have expired.
	require.NoError(t, e.stop(a))
	e.runFor(maxRetry + time.Millisecond) // well before LeaseDuration
	require.Equal(t, b.id, e.leaderID(), "b took the released lease at its next try")
	require.True(t, b.e.IsLeader())
	l := e.lease()
	require.Equal(t, "b", *l.Spec.HolderIdentity)
	require.Equal(t, int32(1), *l.Spec.LeaseTransitions)
	require.Equal(t, int32(15), *l.Spec.LeaseDurationSeconds)
	e.runFor(time.Minute)
	require.Equal(t, b.id, e.leaderID())
}

func TestManyCandidatesNeverTwoLeaders(t *testing.T) {
	e := newEnv(t)
	var cs []*candidate
	for _, id := range []string{"a", "b", "c", "d"} {
		c := e.candidate(id, nil, nil)
		cs = append(cs, c)
		e.start(c)
	}
	e.runFor(30 * time.Second)
	// Stop the leaders one after the other; each time another takes over.
	for range 3 {
		l := e.leader()
		require.NotNil(t, l)
		require.NoError(t, e.stop(l))
		e.runFor(maxRetry + time.Millisecond)
		require.NotEqual(t, "", e.leaderID())
	}
	require.Equal(t, int32(3), *e.lease().Spec.LeaseTransitions)
}

func TestPartitionedLeaderStepsDownAndFollowsAfterHealing(t *testing.T) {
	e := newEnv(t)
	a := e.candidate("a", nil, nil)
	b := e.candidate("b", nil, nil)
	e.start(a)
	e.start(b)
	e.runFor(20 * time.Second)
	require.Equal(t, a.id, e.leaderID())

	a.net.down.Store(true)
	renewed := e.lease().Spec.RenewTime.Time // a's last successful renewal

	// a leads until RenewDeadline after its last renewal, then stops.
	e.runUntil(renewed.Add(renewDeadline - time.Millisecond))
	require.True(t, a.e.IsLeader())
	require.True(t, a.leading.Load())
	e.runUntil(renewed.Add(renewDeadline))
	require.False(t, a.e.IsLeader(), "IsLeader false at the deadline")
	require.False(t, a.leading.Load(), "lead's context cancelled at the deadline")
	require.Equal(t, "", e.leaderID())
	require.Equal(t, 1.0, metric(t, a.reg, "drover_leader_election_transitions_total", map[string]string{"event": "lost"}))

	// b waits for LeaseDuration of staleness as it observed it: it saw the
	// last renewal no earlier than when it was written.
	e.runUntil(renewed.Add(leaseDuration - time.Millisecond))
	require.False(t, b.e.IsLeader())
	e.runUntil(renewed.Add(leaseDuration + 2*maxRetry))
	require.Equal(t, b.id, e.leaderID())
	l := e.lease()
	require.Equal(t, "b", *l.Spec.HolderIdentity)
	require.Equal(t, int32(1), *l.Spec.LeaseTransitions)

	// a keeps competing while cut off, and follows once healed.
	e.runFor(time.Minute)
	require.False(t, a.returned(), "a's Run goes on while cut off")
	a.net.down.Store(false)
	e.runFor(time.Minute)
	require.Equal(t, b.id, e.leaderID())
	require.False(t, a.e.IsLeader())
	require.Equal(t, "b", a.e.Leader())
	require.Equal(t, int32(1), a.terms.Load())

	// And a takes over again when b goes.
	require.NoError(t, e.stop(b))
	e.runFor(2 * maxRetry)
	require.Equal(t, a.id, e.leaderID())
	require.Equal(t, int32(2), a.terms.Load())
}

func TestLeaseOfADeadHolder(t *testing.T) {
	// The dead holder's renewTime was written by its own clock, which may be
	// anywhere: the candidate measures expiry from when it first saw the
	// lease, on its own clock.
	for _, tc := range []struct {
		name  string
		renew time.Time
	}{
		{"renewTime now", start},
		{"renewTime far in the future", start.AddDate(10, 0, 0)},
		{"renewTime far in the past", start.AddDate(-10, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			rt := api.NewMicroTime(tc.renew)
			_, err := client.Resource[api.Lease](e.admin).Create(context.Background(), &api.Lease{
				ObjectMeta: api.ObjectMeta{Namespace: ns, Name: leaseName},
				Spec: api.LeaseSpec{HolderIdentity: new("dead"), LeaseDurationSeconds: new(int32(15)),
					AcquireTime: &rt, RenewTime: &rt, LeaseTransitions: new(int32(3))},
			})
			require.NoError(t, err)
			b := e.candidate("b", nil, nil)
			e.start(b)
			require.Equal(t, "dead", b.e.Leader())

			e.runFor(leaseDuration - time.Millisecond)
			require.False(t, b.e.IsLeader())
			e.runFor(maxRetry + time.Millisecond)
			require.True(t, b.e.IsLeader())
			require.True(t, b.leading.Load())
			l := e.lease()
			require.Equal(t, "b", *l.Spec.HolderIdentity)
			require.Equal(t, int32(4), *l.Spec.LeaseTransitions)
			require.False(t, l.Spec.AcquireTime.Time.Before(start.Add(leaseDuration)), "acquired at the takeover")
		})
	}
}

func TestSkewedClocksDoNotMatter(t *testing.T) {
	e := newEnv(t)
	a := e.candidate("a", skewed{e.clk, time.Hour}, nil)
	b := e.candidate("b", skewed{e.clk, -time.Hour}, nil)
	e.start(a)
	e.start(b)
	e.runFor(time.Minute)
	require.Equal(t, a.id, e.leaderID(), "b does not take a lease renewed an hour 'ahead'")
	require.True(t, e.lease().Spec.RenewTime.Time.After(e.clk.Now().Add(59*time.Minute)))

	a.net.down.Store(true)
	e.runFor(leaseDuration + 2*maxRetry)
	require.Equal(t, b.id, e.leaderID())

	// b's renewals are two hours behind a's clock: a still follows.
	a.net.down.Store(false)
	e.runFor(time.Minute)
	require.Equal(t, b.id, e.leaderID())
	require.Equal(t, "b", a.e.Leader())
}

func TestLeadReturningReleasesAndCompetesAgain(t *testing.T) {
	e := newEnv(t)
	a := e.candidate("a", nil, nil)
	b := e.candidate("b", nil, nil)
	a.lead = func(context.Context) {} // gives up at once
	e.start(a)
	require.Equal(t, int32(1), a.terms.Load())
	require.False(t, a.e.IsLeader())
	require.Equal(t, "", *e.lease().Spec.HolderIdentity, "released when lead returned")
	e.start(b)
	require.Equal(t, b.id, e.leaderID(), "b took the released lease")
	require.Equal(t, int32(1), *e.lease().Spec.LeaseTransitions)
	e.runFor(time.Minute)
	require.Equal(t, b.id, e.leaderID())
}

func TestRunArguments(t *testing.T) {
	e := newEnv(t)
	a := e.candidate("a", nil, nil)
	require.ErrorContains(t, a.e.Run(context.Background(), nil), "lead is nil")
	e.start(a)
	require.ErrorContains(t, a.e.Run(context.Background(), func(context.Context) {}), "already running")
	require.NoError(t, e.stop(a))
}

func TestReleaseFailsWhenCutOff(t *testing.T) {
	e := newEnv(t)
	a := e.candidate("a", nil, nil)
	e.start(a)
	a.net.down.Store(true)
	err := e.stop(a)
	require.ErrorIs(t, err, errPartitioned)
	require.Equal(t, "a", *e.lease().Spec.HolderIdentity)
}

func TestLeaderStepsDownWhenAnotherWroteTheLease(t *testing.T) {
	e := newEnv(t)
	a := e.candidate("a", nil, nil)
	e.start(a)
	e.runFor(5 * time.Second)
	require.Equal(t, "a", e.leaderID())

	// Someone else takes the lease by hand: a's next renewal conflicts,
	// it reads the lease, and stops leading at once.
	l := e.lease()
	l.Spec.HolderIdentity = new("intruder")
	_, err := client.Resource[api.Lease](e.admin).Update(context.Background(), l)
	require.NoError(t, err)
	e.runFor(retryPeriod)
	require.False(t, a.e.IsLeader())
	require.Equal(t, "", e.leaderID())
	require.Equal(t, "intruder", a.e.Leader())
	require.Equal(t, 1.0, metric(t, a.reg, "drover_leader_election_transitions_total", map[string]string{"event": "lost"}))

	// The intruder never renews: a takes the lease back after LeaseDuration.
	e.runFor(leaseDuration + maxRetry)
	require.Equal(t, "a", e.leaderID())
	require.Equal(t, int32(2), a.terms.Load())
	require.Equal(t, int32(1), *e.lease().Spec.LeaseTransitions)
}

// TestDeletedLeaseNeverTwoLeaders: someone deletes the Lease while a leads
// (kubectl delete lease, or its namespace going away). b, which saw a hold
// it, must not create a new Lease and lead before a has stopped: it waits
// LeaseDuration from when it last saw a's lease, as for a holder that
// stopped renewing; and a, whose renewal finds no Lease, stops at once.
// runFor fails the test if two candidates ever lead at once.
func TestDeletedLeaseNeverTwoLeaders(t *testing.T) {
	e := newEnv(t)
	a := e.candidate("a", nil, nil)
	b := e.candidate("b", nil, nil)
	e.start(a)
	e.start(b)
	e.runFor(5 * time.Second)
	require.Equal(t, "a", e.leaderID())
	require.Equal(t, "a", b.e.Leader())

	require.NoError(t, client.Resource[api.Lease](e.admin).Delete(context.Background(), ns, leaseName))
	e.runFor(retryPeriod * 3)
	require.Equal(t, 1.0, metric(t, a.reg, "drover_leader_election_transitions_total", map[string]string{"event": "lost"}),
		"a's renewal found no Lease: it stopped leading")
	// a, the last holder, may make the Lease again at once; b may not.
	e.runFor(leaseDuration + 2*maxRetry)
	require.NotEqual(t, "", e.leaderID(), "someone leads again")
	require.Equal(t, e.leaderID(), *e.lease().Spec.HolderIdentity)
}

// TestDeletedLeaseWhileLeaderCutOff: the Lease is deleted while the
// leader a cannot reach the API server, so it cannot see the deletion and
// leads until its renew deadline. b must not create a new Lease before a
// would have lost the old one.
func TestDeletedLeaseWhileLeaderCutOff(t *testing.T) {
	e := newEnv(t)
	a := e.candidate("a", nil, nil)
	b := e.candidate("b", nil, nil)
	e.start(a)
	e.start(b)
	e.runFor(5 * time.Second)
	require.Equal(t, "a", e.leaderID())

	a.net.down.Store(true)
	require.NoError(t, client.Resource[api.Lease](e.admin).Delete(context.Background(), ns, leaseName))
	e.runFor(leaseDuration + 2*maxRetry) // fails if b leads while a still does
	require.Equal(t, "b", e.leaderID(), "b took over once a's lease would have expired")
	a.net.down.Store(false)
	e.runFor(time.Minute)
	require.Equal(t, "b", e.leaderID())
}
