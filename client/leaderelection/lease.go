package leaderelection

import (
	"time"

	"github.com/drover-io/drover/api"
)

// This file is the decision core: what a candidate concludes from what it
// has seen of the lease, and what it writes. It does no I/O and reads no
// clock; Elector feeds it.

// observation is what a candidate knows of the lease: the version it last
// read or wrote, and when, on its own clock, it first saw that version.
type observation struct {
	lease *api.Lease // nil: none seen, or the lease does not exist
	at    time.Time
}

// observe returns o after the candidate read (or wrote) got at now. The
// time is kept if got is the version o already holds: expiry is measured
// from the first sighting of a version, never from the renewTime in it.
func (o observation) observe(got *api.Lease, now time.Time) observation {
	if got != nil && o.lease != nil && sameVersion(o.lease, got) {
		return observation{lease: got, at: o.at}
	}
	return observation{lease: got, at: now}
}

// sameVersion reports whether a and b are the same version of the lease:
// nobody wrote it in between. Any write the holder makes changes the
// resourceVersion, and a renewal changes the spec; either resets the
// observed time.
func sameVersion(a, b *api.Lease) bool {
	return a.ResourceVersion == b.ResourceVersion && sameSpec(a.Spec, b.Spec)
}

func sameSpec(a, b api.LeaseSpec) bool {
	return deref(a.HolderIdentity) == deref(b.HolderIdentity) &&
		deref(a.LeaseDurationSeconds) == deref(b.LeaseDurationSeconds) &&
		deref(a.LeaseTransitions) == deref(b.LeaseTransitions) &&
		sameTime(a.AcquireTime, b.AcquireTime) && sameTime(a.RenewTime, b.RenewTime)
}

func sameTime(a, b *api.MicroTime) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// holder returns the lease's holder, "" for none.
func holder(l *api.Lease) string {
	if l == nil {
		return ""
	}
	return deref(l.Spec.HolderIdentity)
}

// expired reports whether the holder of the observed lease has let it
// lapse: it has not changed for its leaseDurationSeconds (or def, when the
// lease has none) on the candidate's clock.
func (o observation) expired(now time.Time, def time.Duration) bool {
	d := def
	if s := deref(o.lease.Spec.LeaseDurationSeconds); s > 0 {
		d = time.Duration(s) * time.Second
	}
	return !now.Before(o.at.Add(d))
}

// decide returns the spec candidate id writes at now to hold the observed
// lease, and false if another candidate holds it: the lease names someone
// else and has not expired. seconds is the candidate's leaseDurationSeconds,
// def its LeaseDuration (for a lease that has none). A free lease (no
// holder), an expired one and one that names id are taken; the
// transitions count goes up when the holder changes.
func decide(o observation, id string, now time.Time, seconds int32, def time.Duration) (api.LeaseSpec, bool) {
	cur := o.lease.Spec
	h := holder(o.lease)
	if h != "" && h != id && !o.expired(now, def) {
		return api.LeaseSpec{}, false
	}
	t := api.NewMicroTime(now)
	spec := api.LeaseSpec{
		HolderIdentity:       new(id),
		LeaseDurationSeconds: new(seconds),
		AcquireTime:          new(t),
		RenewTime:            new(t),
		LeaseTransitions:     new(deref(cur.LeaseTransitions)),
	}
	if h == id {
		if cur.AcquireTime != nil {
			spec.AcquireTime = new(*cur.AcquireTime)
		}
	} else {
		spec.LeaseTransitions = new(deref(cur.LeaseTransitions) + 1)
	}
	return spec, true
}

// mayCreate reports whether candidate id may create the lease, which it
// has just found missing, at now. Not while the last version it saw named
// another holder that has not expired: the lease was deleted under that
// holder, which may still lead until its renew deadline, so the candidate
// waits as for a holder that stopped renewing. A candidate that never saw
// the lease, saw it free, or held it itself creates it at once.
func mayCreate(o observation, id string, now time.Time, def time.Duration) bool {
	h := holder(o.lease)
	return h == "" || h == id || o.expired(now, def)
}

// createSpec is the spec of a lease candidate id creates at now.
func createSpec(id string, now time.Time, seconds int32) api.LeaseSpec {
	t := api.NewMicroTime(now)
	return api.LeaseSpec{
		HolderIdentity:       new(id),
		LeaseDurationSeconds: new(seconds),
		AcquireTime:          new(t),
		RenewTime:            new(t),
		LeaseTransitions:     new(int32(0)),
	}
}

// releaseSpec is the spec the holder writes at now to give the lease up:
// no holder, and a duration of one second, as client-go writes, so that
// candidates of any version take it at their next try. The transitions
// count is kept; the next holder increments it.
func releaseSpec(cur api.LeaseSpec, now time.Time) api.LeaseSpec {
	t := api.NewMicroTime(now)
	return api.LeaseSpec{
		HolderIdentity:       new(""),
		LeaseDurationSeconds: new(int32(1)),
		AcquireTime:          new(t),
		RenewTime:            new(t),
		LeaseTransitions:     new(deref(cur.LeaseTransitions)),
	}
}

// leaseSeconds is d in whole seconds, rounded up: the others must not
// take the lease before the holder would.
func leaseSeconds(d time.Duration) int32 {
	return int32((d + time.Second - 1) / time.Second)
}
