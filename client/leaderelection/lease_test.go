package leaderelection

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
)

var t0 = time.Unix(1_800_000_000, 0).UTC()

func lease(rv, holder string, seconds, transitions int32, renew time.Time) *api.Lease {
	t := api.NewMicroTime(renew)
	return &api.Lease{
		ObjectMeta: api.ObjectMeta{Namespace: "ns", Name: "l", ResourceVersion: rv},
		Spec: api.LeaseSpec{
			HolderIdentity: new(holder), LeaseDurationSeconds: new(seconds),
			AcquireTime: new(api.NewMicroTime(t0.Add(-time.Hour))), RenewTime: new(t), LeaseTransitions: new(transitions),
		},
	}
}

func TestObserveKeepsTheTimeOfTheFirstSighting(t *testing.T) {
	l1 := lease("1", "a", 15, 0, t0)
	o := observation{}.observe(l1, t0)
	require.Equal(t, t0, o.at)

	// The same version read again later: expiry still counts from t0.
	o = o.observe(lease("1", "a", 15, 0, t0), t0.Add(5*time.Second))
	require.Equal(t, t0, o.at)

	// A renewal (a new version) resets it, whatever time it carries.
	o = o.observe(lease("2", "a", 15, 0, t0.Add(-100*time.Hour)), t0.Add(7*time.Second))
	require.Equal(t, t0.Add(7*time.Second), o.at)

	// A write that changed only the resourceVersion (labels) resets it too.
	o = o.observe(lease("3", "a", 15, 0, t0.Add(-100*time.Hour)), t0.Add(9*time.Second))
	require.Equal(t, t0.Add(9*time.Second), o.at)

	// The lease gone, then back.
	o = o.observe(nil, t0.Add(10*time.Second))
	require.Nil(t, o.lease)
	o = o.observe(lease("3", "a", 15, 0, t0), t0.Add(11*time.Second))
	require.Equal(t, t0.Add(11*time.Second), o.at)
}

func TestDecide(t *testing.T) {
	const def = 15 * time.Second
	for _, tc := range []struct {
		name            string
		lease           *api.Lease
		seen, now       time.Duration // after t0
		take            bool
		wantTransitions int32
		keepAcquire     bool
	}{
		{"held by another, fresh", lease("1", "b", 15, 4, t0), 0, 14 * time.Second, false, 0, false},
		{"held by another, expired on the local clock", lease("1", "b", 15, 4, t0), 0, 15 * time.Second, true, 5, false},
		{"expiry counts from the sighting, not renewTime", lease("1", "b", 15, 4, t0.Add(-time.Hour)), 10 * time.Second, 20 * time.Second, false, 0, false},
		{"renewTime far in the future does not delay", lease("1", "b", 15, 4, t0.AddDate(10, 0, 0)), 0, 15 * time.Second, true, 5, false},
		{"the holder's duration counts", lease("1", "b", 40, 4, t0), 0, 30 * time.Second, false, 0, false},
		{"released", lease("1", "", 1, 4, t0), 0, 0, true, 5, false},
		{"held by self", lease("1", "a", 15, 4, t0), 0, 0, true, 4, true},
		{"held by self after a restart, long unrenewed", lease("1", "a", 15, 4, t0), 0, time.Hour, true, 4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := observation{}.observe(tc.lease, t0.Add(tc.seen))
			now := t0.Add(tc.now)
			spec, ok := decide(o, "a", now, 15, def)
			require.Equal(t, tc.take, ok)
			if !ok {
				return
			}
			require.Equal(t, "a", *spec.HolderIdentity)
			require.Equal(t, int32(15), *spec.LeaseDurationSeconds)
			require.Equal(t, tc.wantTransitions, *spec.LeaseTransitions)
			require.True(t, spec.RenewTime.Time.Equal(now))
			if tc.keepAcquire {
				require.True(t, spec.AcquireTime.Time.Equal(tc.lease.Spec.AcquireTime.Time))
			} else {
				require.True(t, spec.AcquireTime.Time.Equal(now))
			}
		})
	}
}

func TestDecideWithoutDurationUsesTheCandidates(t *testing.T) {
	l := lease("1", "b", 15, 0, t0)
	l.Spec.LeaseDurationSeconds = nil
	o := observation{}.observe(l, t0)
	_, ok := decide(o, "a", t0.Add(19*time.Second), 20, 20*time.Second)
	require.False(t, ok)
	_, ok = decide(o, "a", t0.Add(20*time.Second), 20, 20*time.Second)
	require.True(t, ok)
}

func TestReleaseSpec(t *testing.T) {
	spec := releaseSpec(lease("1", "a", 15, 7, t0).Spec, t0.Add(time.Second))
	require.Equal(t, "", *spec.HolderIdentity)
	require.Equal(t, int32(1), *spec.LeaseDurationSeconds)
	require.Equal(t, int32(7), *spec.LeaseTransitions)
	require.True(t, spec.RenewTime.Time.Equal(t0.Add(time.Second)))
}

func TestLeaseSeconds(t *testing.T) {
	require.Equal(t, int32(15), leaseSeconds(15*time.Second))
	require.Equal(t, int32(2), leaseSeconds(1500*time.Millisecond))
	require.Equal(t, int32(1), leaseSeconds(time.Second))
}

func TestMayCreate(t *testing.T) {
	const d = 15 * time.Second
	seen := func(holder string) observation { return observation{}.observe(lease("1", holder, 15, 0, t0), t0) }
	require.True(t, mayCreate(observation{}, "a", t0, d), "never saw a lease")
	require.True(t, mayCreate(seen(""), "a", t0, d), "saw it free")
	require.True(t, mayCreate(seen("a"), "a", t0, d), "held it itself")
	require.False(t, mayCreate(seen("b"), "a", t0.Add(d-time.Nanosecond), d), "b may still lead")
	require.True(t, mayCreate(seen("b"), "a", t0.Add(d), d), "b's lease has expired")
}
