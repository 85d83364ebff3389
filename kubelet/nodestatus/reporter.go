// Package nodestatus registers a node agent's Node with the API server,
// keeps its status current and heartbeats through its Lease: issue 9's
// "registration and heartbeats".
//
// A Reporter, made with New from a Config, does it all in Run:
//
//   - Registration. It creates the Node, with its status, in one write (a
//     node agent is Ready well under 2 s after it starts), or adopts the
//     Node already there (a restart, or a re-registration): it sets the
//     labels it owns (kubernetes.io/hostname, kubernetes.io/os,
//     kubernetes.io/arch and Config.Labels) and adds its configured
//     taints, and keeps everything users set (other labels, their
//     taints, unschedulable). Run calls its registered function once the
//     Node is Ready in the API server.
//   - Status. Capacity (CPUs, memory, pods, the ephemeral storage of
//     RootDir's filesystem), allocatable (capacity minus
//     Config.Reserved), addresses, daemon endpoints, node info and the
//     MaxImages largest images; the conditions Ready (the runtime answers
//     and Config.ReadyFunc passes), MemoryPressure, DiskPressure and
//     PIDPressure, with their heartbeat and transition times as
//     Kubernetes sets them. The status is checked every
//     StatusUpdateFrequency (10 s) and written only when it changed, or
//     when StatusReportFrequency (5 min) has passed since the last write.
//     A Node deleted while the Reporter runs is created again.
//   - Lease. The Lease kube-node-lease/<node>, held by the node, owned by
//     the Node (so that the garbage collector removes it with the Node),
//     renewed every RenewInterval (10 s). The node lifecycle controller
//     takes the newer of its renewTime and the Ready condition's
//     heartbeat as the agent's sign of life.
//
// Time comes from Config.Clock; the host's memory, disk and process
// counts from Config's probes (MemoryAvailable, Filesystem, Processes),
// which tests replace.
package nodestatus

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/prometheus/client_golang/prometheus"
)

// Back-off between failed registrations.
const (
	registerBackoffInitial = 100 * time.Millisecond
	registerBackoffMax     = 7 * time.Second
)

// Reporter registers a Node and keeps its status and Lease current. Make
// one with New; call Run once.
type Reporter struct {
	cfg     Config
	spec    spec
	log     *slog.Logger
	metrics *metrics

	// The fields below belong to Run's goroutine.
	lastReport time.Time  // when the status was last written
	nodeUID    api.UID    // the Node's UID as last seen
	lease      *api.Lease // as last written; nil to read it again
	lastReady  bool       // the last status written was Ready
	wroteReady bool       // a Ready status was written once
	ready      bool       // registered has been called
}

// New returns a Reporter for cfg. It detects the machine and the
// addresses when cfg leaves them nil (a file it cannot read is logged
// and its fields left empty), and registers the metrics with
// cfg.Registerer.
func New(cfg Config) (*Reporter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	r := &Reporter{cfg: cfg, log: cfg.Logger.With("node", cfg.NodeName)}
	machine := cfg.Machine
	if machine == nil {
		m, err := DetectMachine()
		if err != nil {
			r.log.Warn("nodestatus: machine detection incomplete", "err", err)
		}
		machine = m
	}
	addrs := cfg.Addresses
	if addrs == nil {
		a, err := DetectAddresses()
		if err != nil {
			return nil, err
		}
		addrs = a
	}
	r.spec = spec{
		name: cfg.NodeName, labels: cfg.Labels, taints: slices.Clone(cfg.Taints),
		reserved: cfg.Reserved, maxPods: cfg.MaxPods, addresses: slices.Clone(addrs),
		port: cfg.KubeletPort, version: cfg.Version, machine: *machine,
		memoryPressureBytes: cfg.MemoryPressureBytes,
		diskPressureRatio:   cfg.DiskPressureRatio,
		pidPressureRatio:    cfg.PIDPressureRatio,
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	r.metrics = m
	return r, nil
}

// Run registers the Node, calls registered (if not nil) once the Node is
// Ready in the API server, and then keeps its status and Lease current
// until ctx ends, when it returns nil and leaves the Node as it is. A
// registration that fails is retried with back-off (100 ms doubling to
// 7 s, on the Clock); a heartbeat that fails is logged, counted and
// tried again at the next interval. registered is called from Run's
// goroutine and must not block; a Node registered not Ready (its
// runtime down) has it called at the first check that finds it Ready.
// Run must be called once.
func (r *Reporter) Run(ctx context.Context, registered func()) error {
	clock := r.cfg.Clock
	// The timers are armed before each write, so that a test that sees
	// the write and moves a fake clock finds the next one armed.
	statusC := clock.After(r.cfg.StatusUpdateFrequency)
	leaseC := clock.After(r.cfg.RenewInterval)
	backoff := registerBackoffInitial
	for {
		err := r.syncNode(ctx, true)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		r.log.Warn("nodestatus: register the Node; will retry", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-clock.After(backoff):
		}
		backoff = min(2*backoff, registerBackoffMax)
	}
	r.log.Info("nodestatus: Node registered", "uid", r.nodeUID)
	r.notifyReady(registered)
	r.renewLease(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-statusC:
			statusC = clock.After(r.cfg.StatusUpdateFrequency)
			uid := r.nodeUID
			if err := r.syncNode(ctx, false); err != nil && ctx.Err() == nil {
				r.log.Warn("nodestatus: update the Node's status", "err", err)
			}
			r.notifyReady(registered)
			if r.nodeUID != uid {
				// A new Node: point the Lease at it now.
				r.renewLease(ctx)
			}
		case <-leaseC:
			leaseC = clock.After(r.cfg.RenewInterval)
			r.renewLease(ctx)
		}
	}
}

// notifyReady calls registered the first time the Node was written Ready.
func (r *Reporter) notifyReady(registered func()) {
	if r.ready || !r.wroteReady {
		return
	}
	r.ready = true
	if registered != nil {
		registered()
	}
}

// observe asks the runtime and the probes about the node.
func (r *Reporter) observe(ctx context.Context) *observation {
	obs := &observation{}
	obs.runtime, obs.runtimeErr = r.cfg.Runtime.Version(ctx)
	if r.cfg.ReadyFunc != nil {
		obs.readyErr = r.cfg.ReadyFunc(ctx)
	}
	obs.memAvailable, obs.memErr = r.cfg.MemoryAvailable(ctx)
	obs.fs, obs.fsErr = r.cfg.Filesystem(ctx, r.cfg.RootDir)
	obs.procs, obs.procErr = r.cfg.Processes(ctx)
	for _, err := range []error{obs.memErr, obs.fsErr, obs.procErr} {
		if err != nil {
			r.log.Debug("nodestatus: probe failed; no pressure reported for it", "err", err)
		}
	}
	if r.cfg.Images != nil && obs.runtimeErr == nil {
		imgs, err := r.cfg.Images.ListImages(ctx)
		if err != nil {
			r.log.Debug("nodestatus: list images", "err", err)
		} else {
			obs.images = nodeImages(imgs)
		}
	}
	return obs
}

// syncNode brings the Node in the API server to what the node is: it
// creates it if it is missing; when registering, it sets the agent's
// labels and taints on one that exists; then it writes the status if it
// changed, if StatusReportFrequency has passed since the last write, or
// when registering.
func (r *Reporter) syncNode(ctx context.Context, registering bool) error {
	err := r.sync(ctx, registering)
	r.metrics.checks.Inc()
	return err
}

func (r *Reporter) sync(ctx context.Context, registering bool) error {
	c := r.cfg.Client
	obs := r.observe(ctx)
	var cur api.Node
	err := c.Get(ctx, "", r.spec.name, &cur)
	switch {
	case api.IsNotFound(err):
		return r.create(ctx, obs)
	case err != nil:
		return fmt.Errorf("get Node %s: %w", r.spec.name, err)
	}
	if cur.UID != r.nodeUID && r.nodeUID != "" {
		r.log.Info("nodestatus: the Node was replaced", "uid", cur.UID)
	}
	r.nodeUID = cur.UID
	if registering {
		err := client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
			if !r.spec.reconcileMeta(&cur) {
				return nil
			}
			err := c.Update(ctx, &cur)
			if api.IsConflict(err) {
				if gerr := c.Get(ctx, "", r.spec.name, &cur); gerr != nil {
					return gerr
				}
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("set the labels and taints of Node %s: %w", r.spec.name, err)
		}
	}
	now := r.cfg.Clock.Now()
	want := cur.DeepCopy()
	r.spec.setStatus(want, obs, now)
	if !registering && statusEqual(&cur.Status, &want.Status) && now.Sub(r.lastReport) < r.cfg.StatusReportFrequency {
		return nil
	}
	patch, err := client.MergePatchFrom(&cur, want)
	if err != nil {
		return err
	}
	if err := c.PatchStatus(ctx, want, client.MergePatch, patch); err != nil {
		r.metrics.statusWrites.WithLabelValues("error").Inc()
		return fmt.Errorf("write the status of Node %s: %w", r.spec.name, err)
	}
	r.metrics.statusWrites.WithLabelValues("success").Inc()
	r.wrote(want, now)
	return nil
}

// create creates the Node with its status: one write when the API
// server keeps the status given on create (Drover's does), else a second
// through the status subresource.
func (r *Reporter) create(ctx context.Context, obs *observation) error {
	c := r.cfg.Client
	now := r.cfg.Clock.Now()
	n := r.spec.newNode(obs, now)
	want := n.Status
	if err := c.Create(ctx, n); err != nil {
		r.metrics.statusWrites.WithLabelValues("error").Inc()
		return fmt.Errorf("create Node %s: %w", r.spec.name, err)
	}
	if r.nodeUID != "" {
		r.log.Info("nodestatus: the Node was gone; created it again", "uid", n.UID)
	}
	r.nodeUID = n.UID
	r.lease = nil // its owner reference names the old Node
	if !statusEqual(&n.Status, &want) {
		n.Status = want
		if err := c.UpdateStatus(ctx, n); err != nil {
			r.metrics.statusWrites.WithLabelValues("error").Inc()
			return fmt.Errorf("write the status of Node %s: %w", r.spec.name, err)
		}
	}
	r.metrics.statusWrites.WithLabelValues("success").Inc()
	r.wrote(n, now)
	return nil
}

// wrote records a successful status write of n at now.
func (r *Reporter) wrote(n *api.Node, now time.Time) {
	r.lastReport = now
	ready := isReady(n)
	if ready != r.lastReady {
		if ready {
			r.log.Info("nodestatus: Node is Ready")
		} else if c := readyCondition(n); c != nil {
			r.log.Warn("nodestatus: Node is not Ready", "reason", c.Reason, "message", c.Message)
		}
	}
	r.lastReady = ready
	r.wroteReady = r.wroteReady || ready
}

// renewLease writes the Lease with renewTime now, creating it (and its
// namespace, if missing) when needed, and counts the heartbeat.
func (r *Reporter) renewLease(ctx context.Context) {
	if err := r.writeLease(ctx); err != nil {
		r.metrics.heartbeats.WithLabelValues("error").Inc()
		if ctx.Err() == nil {
			r.log.Warn("nodestatus: renew the Lease", "err", err)
		}
		return
	}
	r.metrics.heartbeats.WithLabelValues("success").Inc()
}

func (r *Reporter) writeLease(ctx context.Context) error {
	c := r.cfg.Client
	name := r.spec.name
	for attempt := 0; ; attempt++ {
		now := api.NewMicroTime(r.cfg.Clock.Now())
		if r.lease == nil {
			var cur api.Lease
			err := c.Get(ctx, LeaseNamespace, name, &cur)
			switch {
			case api.IsNotFound(err):
				l := r.newLease(now)
				err := c.Create(ctx, l)
				if api.IsNotFound(err) && attempt == 0 {
					// The namespace is missing: Drover's API server
					// makes it, test servers may not.
					ns := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: LeaseNamespace}}
					if err := c.Create(ctx, ns); err != nil && !api.IsAlreadyExists(err) {
						return fmt.Errorf("create Namespace %s: %w", LeaseNamespace, err)
					}
					continue
				}
				if api.IsAlreadyExists(err) && attempt < 3 {
					continue
				}
				if err != nil {
					return fmt.Errorf("create Lease %s/%s: %w", LeaseNamespace, name, err)
				}
				r.lease = l
				return nil
			case err != nil:
				return fmt.Errorf("get Lease %s/%s: %w", LeaseNamespace, name, err)
			}
			r.lease = &cur
		}
		l := r.lease.DeepCopy()
		r.fillLease(l, now)
		err := c.Update(ctx, l)
		if err == nil {
			r.lease = l
			return nil
		}
		r.lease = nil
		if (api.IsConflict(err) || api.IsNotFound(err)) && attempt < 3 {
			continue
		}
		return fmt.Errorf("renew Lease %s/%s: %w", LeaseNamespace, name, err)
	}
}

// newLease returns the node's Lease, renewed at now.
func (r *Reporter) newLease(now api.MicroTime) *api.Lease {
	l := &api.Lease{
		TypeMeta:   api.TypeMeta{Kind: "Lease", APIVersion: "coordination.k8s.io/v1"},
		ObjectMeta: api.ObjectMeta{Namespace: LeaseNamespace, Name: r.spec.name},
	}
	r.fillLease(l, now)
	return l
}

// fillLease sets the fields of l the node agent owns: holder, duration,
// renewTime now, and the owner reference to the Node.
func (r *Reporter) fillLease(l *api.Lease, now api.MicroTime) {
	holder := r.spec.name
	secs := int32(r.cfg.LeaseDuration / time.Second)
	l.Spec.HolderIdentity = &holder
	l.Spec.LeaseDurationSeconds = &secs
	l.Spec.RenewTime = &now
	if r.nodeUID != "" {
		l.OwnerReferences = []api.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: r.spec.name, UID: r.nodeUID}}
	}
}

// metrics are the Reporter's Prometheus metrics.
type metrics struct {
	heartbeats   *prometheus.CounterVec
	statusWrites *prometheus.CounterVec
	checks       prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		heartbeats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "drover", Subsystem: "kubelet", Name: "node_lease_renewals_total",
			Help: "Renewals of the node's heartbeat Lease, by result (success, error).",
		}, []string{"result"}),
		statusWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "drover", Subsystem: "kubelet", Name: "node_status_writes_total",
			Help: "Writes of the Node (creation) and its status, by result (success, error).",
		}, []string{"result"}),
		checks: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "drover", Subsystem: "kubelet", Name: "node_status_checks_total",
			Help: "Checks of the node's status, written or not.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.heartbeats, m.statusWrites, m.checks} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("nodestatus: register metrics: %w", err)
		}
	}
	return m, nil
}
