// Package leaderelection elects one leader among candidates that share a
// coordination.k8s.io/v1 Lease, so that work which must run once per
// cluster (controllers, a scheduler) runs in one process at a time while
// the others stand by.
//
//	e, err := leaderelection.New(leaderelection.Config{
//		Client: c, Namespace: "kube-system", Name: "drover-controllers", Identity: hostname,
//	})
//	err = e.Run(ctx, func(ctx context.Context) {
//		runControllers(ctx) // returns when ctx ends: leadership lost or shutdown
//	})
//
// # The protocol
//
// The lease's spec says who holds it (holderIdentity), for how long after
// its last renewal (leaseDurationSeconds), since when (acquireTime), when it
// was last renewed (renewTime) and how many times it changed hands
// (leaseTransitions). A candidate takes the lease when it does not exist
// (create; AlreadyExists means another candidate won), when it is free
// (holderIdentity empty: released), when it already holds it, or when the
// holder has not renewed it for leaseDurationSeconds. Every write is a
// compare-and-swap on the resourceVersion, so of two candidates that try at
// once one wins and the other gets a Conflict and reads again.
//
// Expiry is measured on the candidate's own clock, from the moment it
// first saw the current version of the lease, never from renewTime, which
// the holder wrote with its clock: clocks of different machines may
// disagree by any amount without harm, as long as they run at about the
// same rate.
//
// The leader renews every RetryPeriod. If no renewal has succeeded for
// RenewDeadline (measured from when the last successful one was sent), it
// stops leading at once: the context given to lead is cancelled, and once
// lead has returned the candidate competes again. Since RenewDeadline is
// shorter than LeaseDuration, the old leader has stopped before any other
// candidate may see the lease as expired.
//
// A Lease deleted while held (kubectl delete, or its namespace going) is
// not a free lease: the leader stops leading at its next renewal, which
// finds no Lease, and the other candidates create a new one only once the
// old one would have expired, LeaseDuration after they last saw it, since
// the leader may not have seen the deletion yet. The last holder, or a
// candidate that never saw the Lease held, creates it at once.
//
// When Run's context ends, the leader cancels lead, keeps the lease
// renewed until lead has returned, then releases it (holderIdentity
// cleared, leaseDurationSeconds 1, as client-go does) so that another
// candidate takes over at its next try rather than after LeaseDuration.
//
// The lead function must return soon after its context ends: the
// guarantee that at most one candidate leads at a time holds only for
// leaders whose lead has returned within LeaseDuration-RenewDeadline of
// its context ending after a lost renewal.
package leaderelection
