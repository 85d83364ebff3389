package api

// This file holds the coordination.k8s.io/v1 kinds: Lease.

// Lease is a lock with a holder and an expiry, used for leader election and
// node heartbeats. Holders renew it by updating RenewTime with
// compare-and-swap on the resourceVersion.
type Lease struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	Spec       LeaseSpec `json:"spec,omitzero"`
}

// LeaseList is a list of Leases.
type LeaseList = List[Lease]

// LeaseSpec is the state of a Lease.
type LeaseSpec struct {
	// HolderIdentity is the current holder; nil or empty means free.
	HolderIdentity *string `json:"holderIdentity,omitempty"`
	// LeaseDurationSeconds is how long after RenewTime others must wait
	// before taking the lease over.
	LeaseDurationSeconds *int32 `json:"leaseDurationSeconds,omitempty"`
	// AcquireTime is when the current holder took the lease.
	AcquireTime *MicroTime `json:"acquireTime,omitempty"`
	// RenewTime is when the current holder last renewed the lease.
	RenewTime *MicroTime `json:"renewTime,omitempty"`
	// LeaseTransitions counts changes of holder.
	LeaseTransitions *int32 `json:"leaseTransitions,omitempty"`
}
