package apiserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/registry"
	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/memstore"
)

// fakeClock is a Clock whose time moves only by Advance, which delivers
// the ticks that fall due and waits until each is received.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*fakeTicker
}

type fakeTicker struct {
	c       chan time.Time
	period  time.Duration
	next    time.Time
	stopped atomic.Bool
}

func (t *fakeTicker) C() <-chan time.Time { return t.c }
func (t *fakeTicker) Stop()               { t.stopped.Store(true) }

func newFakeClock(now time.Time) *fakeClock { return &fakeClock{now: now} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTicker(d time.Duration) Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTicker{c: make(chan time.Time), period: d, next: c.now.Add(d)}
	c.tickers = append(c.tickers, t)
	return t
}

// activeTickers is how many tickers are running.
func (c *fakeClock) activeTickers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.tickers {
		if !t.stopped.Load() {
			n++
		}
	}
	return n
}

// Advance moves the time by d and delivers every tick due, one after the
// other, each once its receiver has taken the one before.
func (c *fakeClock) Advance(t *testing.T, d time.Duration) {
	t.Helper()
	type due struct {
		t  *fakeTicker
		at time.Time
	}
	var ticks []due
	c.mu.Lock()
	c.now = c.now.Add(d)
	for _, tk := range c.tickers {
		for !tk.stopped.Load() && !tk.next.After(c.now) {
			ticks = append(ticks, due{tk, tk.next})
			tk.next = tk.next.Add(tk.period)
		}
	}
	c.mu.Unlock()
	for _, tick := range ticks {
		select {
		case tick.t.c <- tick.at:
		case <-time.After(10 * time.Second):
			t.Fatalf("the tick at %v was not received", tick.at)
		}
	}
}

// waitUntil polls cond until it holds, failing t after 10 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestEventLastActivity(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	for _, tc := range []struct {
		name string
		ev   api.Event
		want time.Time
	}{
		{"creation only", api.Event{ObjectMeta: api.ObjectMeta{CreationTimestamp: api.NewTime(at(0))}}, at(0)},
		{"lastTimestamp", api.Event{ObjectMeta: api.ObjectMeta{CreationTimestamp: api.NewTime(at(0))},
			LastTimestamp: api.NewTime(at(5))}, at(5)},
		{"eventTime", api.Event{ObjectMeta: api.ObjectMeta{CreationTimestamp: api.NewTime(at(0))},
			EventTime: api.NewMicroTime(at(7))}, at(7)},
		{"series", api.Event{ObjectMeta: api.ObjectMeta{CreationTimestamp: api.NewTime(at(0))},
			EventTime: api.NewMicroTime(at(1)), Series: &api.EventSeries{Count: 3, LastObservedTime: api.NewMicroTime(at(9))}}, at(9)},
		{"older times do not count", api.Event{ObjectMeta: api.ObjectMeta{CreationTimestamp: api.NewTime(at(10))},
			LastTimestamp: api.NewTime(at(5)), Series: &api.EventSeries{}}, at(10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.True(t, tc.want.Equal(eventLastActivity(&tc.ev)), "got %v, want %v", eventLastActivity(&tc.ev), tc.want)
		})
	}
}

func TestExpiredEvents(t *testing.T) {
	ev := func(name string, last time.Time) api.Event {
		return api.Event{ObjectMeta: api.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: "rv-" + name,
			CreationTimestamp: api.NewTime(last)}}
	}
	items := []api.Event{
		ev("old", t0.Add(-2*time.Hour)),
		ev("exactly-ttl", t0.Add(-time.Hour)),
		ev("new", t0.Add(-time.Minute)),
	}
	require.Equal(t, []expiredEvent{{"ns", "old", "rv-old"}}, expiredEvents(items, t0, time.Hour))
	require.Empty(t, expiredEvents(nil, t0, time.Hour))
}

func TestCompactor(t *testing.T) {
	var c compactor
	require.Zero(t, c.next(10), "the first tick only records")
	require.Equal(t, int64(10), c.next(20))
	c.compacted = 10
	require.Equal(t, int64(20), c.next(20))
	c.compacted = 20
	require.Zero(t, c.next(20), "nothing new since the last compaction")
	c.reset()
	require.Zero(t, c.next(30), "after a reset the first tick only records")
	require.Equal(t, int64(30), c.next(40))
}

// hookStore calls afterList after the first List.
type hookStore struct {
	store.Store
	once      sync.Once
	afterList func()
}

func (h *hookStore) List(ctx context.Context, prefix string, opts store.ListOptions) (*store.ListResult, error) {
	res, err := h.Store.List(ctx, prefix, opts)
	if h.afterList != nil {
		h.once.Do(h.afterList)
	}
	return res, err
}

func newMaintenanceServer(t *testing.T, st store.Store, mutate func(*Config)) *Server {
	t.Helper()
	// Only the maintenance a test looks at runs: no system namespaces, no
	// Service address repair (its own tests are in registry).
	cfg := Config{Store: st, Scheme: api.NewDefaultScheme(), Registerer: prometheus.NewRegistry(),
		SystemNamespaces: []string{}, ServiceRepairInterval: -1}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	require.NoError(t, err)
	return s
}

func newMemstore(t *testing.T) *memstore.Store {
	t.Helper()
	ms, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ms.Close() })
	return ms
}

func eventNames(t *testing.T, s *Server) []string {
	t.Helper()
	list, err := s.regs[api.CoreV1.WithResource("events")].List(context.Background(), "", registry.ListOptions{})
	require.NoError(t, err)
	var out []string
	for _, e := range list.(*api.EventList).Items {
		out = append(out, e.Namespace+"/"+e.Name)
	}
	return out
}

// TestExpireEvents: events go once their last activity is older than the
// TTL, page by page; one updated between the scan and the delete stays.
func TestExpireEvents(t *testing.T) {
	clock := newFakeClock(t0)
	hs := &hookStore{Store: newMemstore(t)}
	s := newMaintenanceServer(t, hs, func(c *Config) { c.Clock = clock })
	events := s.regs[api.CoreV1.WithResource("events")]
	ctx := context.Background()
	create := func(ns, name string, mod func(*api.Event)) {
		ev := &api.Event{ObjectMeta: api.ObjectMeta{Namespace: ns, Name: name},
			InvolvedObject: api.ObjectReference{Kind: "Pod", Namespace: ns, Name: "p"}, Reason: "Test"}
		if mod != nil {
			mod(ev)
		}
		_, err := events.Create(ctx, ev, registry.CreateOptions{})
		require.NoError(t, err)
	}
	later := t0.Add(50 * time.Minute)
	create("a", "old", nil)
	create("a", "updated", nil)
	create("a", "last", func(e *api.Event) { e.LastTimestamp = api.NewTime(later) })
	newStyle := func(e *api.Event) {
		e.ReportingController, e.ReportingInstance, e.Action = "test", "test-1", "Testing"
	}
	create("b", "eventtime", func(e *api.Event) {
		newStyle(e)
		e.EventTime = api.NewMicroTime(later)
	})
	create("b", "series", func(e *api.Event) {
		newStyle(e)
		e.EventTime = api.NewMicroTime(t0)
		e.Series = &api.EventSeries{Count: 2, LastObservedTime: api.NewMicroTime(later)}
	})
	clock.Advance(t, 30*time.Minute)
	create("b", "new", nil)

	// "updated" changes after the scan read it: its delete must not happen.
	hs.afterList = func() {
		obj, err := events.Get(ctx, "a", "updated", registry.GetOptions{})
		require.NoError(t, err)
		obj.(*api.Event).Message = "changed"
		_, err = events.Update(ctx, obj, registry.UpdateOptions{})
		require.NoError(t, err)
	}
	clock.Advance(t, 40*time.Minute) // t0+70m: only "old" and "updated" are past the hour
	n, err := s.expireEvents(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []string{"a/last", "a/updated", "b/eventtime", "b/new", "b/series"}, eventNames(t, s))
	require.Equal(t, 1.0, metricValue(s.metrics.eventsExpired))

	clock.Advance(t, 50*time.Minute) // t0+120m: everything is
	n, err = s.expireEvents(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.Empty(t, eventNames(t, s))
	require.Equal(t, 6.0, metricValue(s.metrics.eventsExpired))
}

// recStore hands the revisions Run reads and the compactions it makes to
// the test, one at a time.
type recStore struct {
	store.Store
	revisions chan int64
	compacted chan int64
}

func (r *recStore) Revision(ctx context.Context) (int64, error) {
	rev, err := r.Store.Revision(ctx)
	if err == nil {
		r.revisions <- rev
	}
	return rev, err
}

func (r *recStore) Compact(ctx context.Context, rev int64) error {
	err := r.Store.Compact(ctx, rev)
	if err == nil {
		r.compacted <- rev
	}
	return err
}

// runServer starts s.Run and stops it at the end of the test.
func runServer(t *testing.T, s *Server, clock *fakeClock, tickers int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	waitUntil(t, "Run's tickers", func() bool { return clock.activeTickers() == tickers })
	require.Error(t, s.Run(ctx), "a second Run")
}

// TestRunCompacts: every interval Run compacts to the revision of the
// tick before, when it leads.
func TestRunCompacts(t *testing.T) {
	clock := newFakeClock(t0)
	ms := newMemstore(t)
	rs := &recStore{Store: ms, revisions: make(chan int64), compacted: make(chan int64)}
	leader := make(chan bool)
	s := newMaintenanceServer(t, rs, func(c *Config) {
		c.Clock = clock
		c.EventTTL = -1
		c.Leader = func() bool { return <-leader }
	})
	runServer(t, s, clock, 1)
	ctx := context.Background()
	var n int
	write := func() int64 {
		n++
		rev, err := ms.Create(ctx, fmt.Sprintf("/k/%d", n), []byte("v"))
		require.NoError(t, err)
		return rev
	}
	tick := func(lead bool) {
		clock.Advance(t, DefaultCompactionInterval)
		leader <- lead
	}
	write()
	r1 := write()
	tick(true)
	require.Equal(t, r1, <-rs.revisions)
	r2 := write()
	tick(true)
	require.Equal(t, r2, <-rs.revisions)
	require.Equal(t, r1, <-rs.compacted, "compacted to the revision of the tick before")
	_, err := ms.Get(ctx, "/k/1", store.ReadOptions{Revision: r1 - 1})
	require.ErrorIs(t, err, store.ErrCompacted)
	_, err = ms.Get(ctx, "/k/2", store.ReadOptions{Revision: r1})
	require.NoError(t, err, "the revision compacted to stays readable")

	// Another server leads: nothing is read or compacted, and after
	// leading again the first tick only records.
	tick(false)
	r3 := write()
	tick(true)
	require.Equal(t, r3, <-rs.revisions)
	tick(true)
	require.Equal(t, r3, <-rs.revisions)
	require.Equal(t, r3, <-rs.compacted)
	tick(false) // the tick before has been handled
	require.Equal(t, 2.0, metricValue(s.metrics.compactions))
	require.Equal(t, float64(r3), metricValue(s.metrics.compactedRevision))
}

// TestRunExpiresEvents: Run scans for expired events every minute, when
// it leads.
func TestRunExpiresEvents(t *testing.T) {
	clock := newFakeClock(t0)
	leader := make(chan bool)
	var created atomic.Pointer[time.Time]
	s := newMaintenanceServer(t, newMemstore(t), func(c *Config) {
		c.Clock = clock
		c.CompactionInterval = -1
		c.Leader = func() bool { return <-leader }
		c.Registry.Now = func() time.Time { return *created.Load() }
	})
	events := s.regs[api.CoreV1.WithResource("events")]
	for name, at := range map[string]time.Time{"old": t0.Add(-2 * time.Hour), "new": t0} {
		created.Store(&at)
		_, err := events.Create(context.Background(), &api.Event{ObjectMeta: api.ObjectMeta{Namespace: "ns", Name: name},
			InvolvedObject: api.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "p"}}, registry.CreateOptions{})
		require.NoError(t, err)
	}
	runServer(t, s, clock, 1)
	clock.Advance(t, time.Minute)
	leader <- false
	clock.Advance(t, time.Minute)
	leader <- true
	clock.Advance(t, time.Minute)
	leader <- false // the tick before has been handled
	require.Equal(t, []string{"ns/new"}, eventNames(t, s))
	require.Equal(t, 1.0, metricValue(s.metrics.eventsExpired))
}

func TestMaintenanceConfig(t *testing.T) {
	ms := newMemstore(t)
	for _, tc := range []struct {
		cfg   func(*Config)
		field string
	}{
		{func(c *Config) { c.EventTTL = time.Millisecond }, "Config.EventTTL"},
		{func(c *Config) { c.CompactionInterval = 10 * time.Millisecond }, "Config.CompactionInterval"},
	} {
		cfg := Config{Store: ms, Scheme: api.NewDefaultScheme()}
		tc.cfg(&cfg)
		_, err := New(cfg)
		require.ErrorContains(t, err, tc.field)
	}
	s, err := New(Config{Store: ms, Scheme: api.NewDefaultScheme()})
	require.NoError(t, err)
	require.Equal(t, DefaultEventTTL, s.cfg.EventTTL)
	require.Equal(t, DefaultCompactionInterval, s.cfg.CompactionInterval)
	// Both off: Run only waits for ctx.
	s, err = New(Config{Store: ms, Scheme: api.NewDefaultScheme(), EventTTL: -1, CompactionInterval: -1})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, s.Run(ctx))
	require.False(t, errors.Is(s.Run(ctx), context.Canceled), "Run returns nil when ctx ends")
}
