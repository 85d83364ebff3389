package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/registry"
)

// Defaults of the maintenance that Run does.
const (
	// DefaultEventTTL is the default Config.EventTTL: one hour, as
	// Kubernetes' --event-ttl.
	DefaultEventTTL = time.Hour
	// DefaultCompactionInterval is the default Config.CompactionInterval:
	// five minutes, as Kubernetes' --etcd-compaction-interval.
	DefaultCompactionInterval = 5 * time.Minute
)

// maxEventScanInterval bounds the time between two scans for expired
// events: an event goes at most this long after its TTL.
const maxEventScanInterval = time.Minute

// eventPageSize is how many events a scan lists at a time.
const eventPageSize = 500

// Clock is where Run gets the time and its tickers from; it also stamps
// creationTimestamp when Config.Registry.Now is nil. Run calls it from its
// own goroutine, registries from the request goroutines, so it must be
// safe for concurrent use. Tests pass one that ticks when they move time,
// instead of waiting for real time to pass.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTicker returns a Ticker that ticks every d, like time.NewTicker.
	NewTicker(d time.Duration) Ticker
}

// Ticker is a time.Ticker as a Clock makes it.
type Ticker interface {
	// C returns the channel the ticks arrive on.
	C() <-chan time.Time
	// Stop turns the ticker off.
	Stop()
}

// SystemClock returns the Clock of package time.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time                   { return time.Now() }
func (systemClock) NewTicker(d time.Duration) Ticker { return systemTicker{time.NewTicker(d)} }

type systemTicker struct{ t *time.Ticker }

func (t systemTicker) C() <-chan time.Time { return t.t.C }
func (t systemTicker) Stop()               { t.t.Stop() }

// Run does the server's periodic maintenance until ctx ends, and then
// returns nil:
//
//   - Events expire: every minute (or every Config.EventTTL, if shorter)
//     the core/v1 Events are scanned, a page at a time, and those whose
//     last activity (the latest of metadata.creationTimestamp,
//     lastTimestamp, eventTime and series.lastObservedTime; the last
//     three only if they are at most Config.EventTTL ahead of now) is
//     older than Config.EventTTL are deleted, on condition that their
//     resourceVersion is still the one scanned, so that an event updated
//     meanwhile stays.
//   - The store is compacted: every Config.CompactionInterval, to the
//     revision it had at the previous tick, so that watches and lists can
//     always go back at least one interval.
//   - The system namespaces (Config.SystemNamespaces: "default",
//     "kube-system", ...) are created if they do not exist, at start (and
//     every 10 s until that succeeds), by every server.
//   - Service addresses (cluster IPs, node ports) allocated by a create
//     that never wrote its Service are freed, at start and every
//     ServiceRepairInterval, by the leader.
//
// The handler serves without Run, but a production server must run it:
// without it events pile up and the store keeps its whole history. With
// several API servers over one store, Config.Leader makes one of them do
// the work. Run may be called once at a time; a second concurrent call
// fails.
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("apiserver: Run is already running")
	}
	defer s.running.Store(false)
	var eventC, compactC <-chan time.Time
	if ttl := s.cfg.EventTTL; ttl > 0 {
		t := s.cfg.Clock.NewTicker(min(ttl, maxEventScanInterval))
		defer t.Stop()
		eventC = t.C()
	}
	if iv := s.cfg.CompactionInterval; iv > 0 {
		t := s.cfg.Clock.NewTicker(iv)
		defer t.Stop()
		compactC = t.C()
	}
	var systemT Ticker
	var systemC <-chan time.Time
	if s.ensureSystemNamespaces(ctx) {
		systemT = s.cfg.Clock.NewTicker(systemNamespaceRetry)
		defer func() {
			if systemT != nil {
				systemT.Stop()
			}
		}()
		systemC = systemT.C()
	}
	// Allocations of Service addresses left by a crash between the
	// allocation and the Service's write are freed (registry/ipalloc.go).
	var repairC <-chan time.Time
	if iv := s.cfg.ServiceRepairInterval; iv >= 0 {
		if iv == 0 {
			iv = ServiceRepairInterval
		}
		s.repairServicesTick(ctx)
		t := s.cfg.Clock.NewTicker(iv)
		defer t.Stop()
		repairC = t.C()
	}
	var c compactor
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-repairC:
			s.repairServicesTick(ctx)
		case <-systemC:
			if !s.ensureSystemNamespaces(ctx) {
				systemT.Stop()
				systemT, systemC = nil, nil
			}
		case <-eventC:
			if !s.leads() {
				continue
			}
			n, err := s.expireEvents(ctx, eventPageSize)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("expire events", "expired", n, "err", err)
			} else if n > 0 {
				s.log.Info("expired events", "count", n, "ttl", s.cfg.EventTTL)
			}
		case <-compactC:
			if err := s.compactTick(ctx, &c); err != nil && ctx.Err() == nil {
				s.log.Warn("compact the store", "err", err)
			}
		}
	}
}

// systemNamespaceRetry is how often Run tries again to create the system
// namespaces while the store refuses.
const systemNamespaceRetry = 10 * time.Second

// DefaultSystemNamespaces are the namespaces a cluster has from the start,
// as in Kubernetes: "default" for objects with no namespace given,
// "kube-system" for the cluster's own components, "kube-public", and
// "kube-node-lease" for the node agents' heartbeat Leases.
func DefaultSystemNamespaces() []string {
	return []string{"default", "kube-system", "kube-public", "kube-node-lease"}
}

// ensureSystemNamespaces creates the system namespaces that do not exist,
// and reports whether some could not be created (to try again later).
func (s *Server) ensureSystemNamespaces(ctx context.Context) (missing bool) {
	reg, ok := s.regs[api.CoreV1.WithResource("namespaces")]
	if !ok {
		return false
	}
	for _, name := range s.cfg.SystemNamespaces {
		_, err := reg.Get(ctx, "", name, registry.GetOptions{})
		if err == nil {
			continue
		}
		if api.IsNotFound(err) {
			_, err = reg.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: name}}, registry.CreateOptions{})
			if err == nil || api.IsAlreadyExists(err) {
				s.log.Info("created a system namespace", "namespace", name)
				continue
			}
		}
		if ctx.Err() == nil {
			s.log.Warn("create a system namespace", "namespace", name, "err", err)
		}
		missing = true
	}
	return missing
}

// leads reports whether this server does the cluster-wide maintenance.
func (s *Server) leads() bool { return s.cfg.Leader == nil || s.cfg.Leader() }

// compactor decides the compactions: fed the store's revision at every
// tick, it compacts to the revision of the tick before, so one interval of
// history always remains.
type compactor struct {
	prev      int64 // the revision at the previous tick; 0 if none
	compacted int64 // the last revision compacted to
}

// next takes the revision read at this tick and returns the revision to
// compact to, or 0 for none.
func (c *compactor) next(rev int64) int64 {
	to := c.prev
	c.prev = rev
	if to <= c.compacted {
		return 0
	}
	return to
}

// reset forgets the previous tick: another server does the work.
func (c *compactor) reset() { c.prev = 0 }

// compactTick is one tick of the compaction.
func (s *Server) compactTick(ctx context.Context, c *compactor) error {
	if !s.leads() {
		c.reset()
		return nil
	}
	rev, err := s.cfg.Store.Revision(ctx)
	if err != nil {
		c.reset()
		return fmt.Errorf("read the revision: %w", err)
	}
	to := c.next(rev)
	if to == 0 {
		return nil
	}
	if err := s.cfg.Store.Compact(ctx, to); err != nil {
		return fmt.Errorf("compact at revision %d: %w", to, err)
	}
	c.compacted = to
	s.metrics.compactions.Inc()
	s.metrics.compactedRevision.Set(float64(to))
	s.log.Debug("compacted the store", "revision", to)
	return nil
}

// expiredEvent names an event to delete and the resourceVersion it was
// seen at.
type expiredEvent struct {
	namespace, name, resourceVersion string
}

// eventLastActivity returns the latest of the times of ev.
func eventLastActivity(ev *api.Event) time.Time {
	t := ev.CreationTimestamp.Time
	for _, u := range []time.Time{ev.LastTimestamp.Time, ev.EventTime.Time} {
		if u.After(t) {
			t = u
		}
	}
	if ev.Series != nil && ev.Series.LastObservedTime.After(t) {
		t = ev.Series.LastObservedTime.Time
	}
	return t
}

// expiredEvents returns the events of items whose last activity is older
// than ttl at now. The activity times other than creationTimestamp are
// written by clients: one more than a ttl ahead of now is not believed (the
// server-set creationTimestamp counts instead), so that no client clock,
// wrong or malicious, keeps an event for ever.
func expiredEvents(items []api.Event, now time.Time, ttl time.Duration) []expiredEvent {
	var out []expiredEvent
	for i := range items {
		ev := &items[i]
		last := eventLastActivity(ev)
		if last.After(now.Add(ttl)) {
			last = ev.CreationTimestamp.Time
		}
		if now.Sub(last) > ttl {
			out = append(out, expiredEvent{ev.Namespace, ev.Name, ev.ResourceVersion})
		}
	}
	return out
}

// expireEvents deletes the expired events, listing pageSize at a time,
// and returns how many it deleted. An event updated or deleted since it
// was listed is left alone.
func (s *Server) expireEvents(ctx context.Context, pageSize int64) (int, error) {
	reg, ok := s.regs[api.CoreV1.WithResource("events")]
	if !ok {
		return 0, nil
	}
	now := s.cfg.Clock.Now()
	deleted := 0
	opts := registry.ListOptions{Limit: pageSize}
	for {
		list, err := reg.List(ctx, "", opts)
		if err != nil {
			return deleted, fmt.Errorf("list events: %w", err)
		}
		events, ok := list.(*api.EventList)
		if !ok {
			return deleted, fmt.Errorf("list events: got a %T", list)
		}
		for _, e := range expiredEvents(events.Items, now, s.cfg.EventTTL) {
			_, err := reg.Delete(ctx, e.namespace, e.name, registry.DeleteOptions{
				Preconditions: &registry.Preconditions{ResourceVersion: e.resourceVersion},
			})
			if err != nil {
				if se, ok := errors.AsType[*api.StatusError](err); ok &&
					(se.Status.Code == http.StatusNotFound || se.Status.Code == http.StatusConflict) {
					continue // deleted or updated meanwhile
				}
				return deleted, fmt.Errorf("delete event %s/%s: %w", e.namespace, e.name, err)
			}
			deleted++
			s.metrics.eventsExpired.Inc()
		}
		if list.GetListMeta().Continue == "" {
			return deleted, nil
		}
		opts.Continue = list.GetListMeta().Continue
	}
}
