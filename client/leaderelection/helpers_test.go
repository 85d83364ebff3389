package leaderelection_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/leaderelection"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/store/memstore"
)

const (
	ns        = "drover-system"
	leaseName = "controllers"
)

var start = time.Unix(1_800_000_000, 0).UTC()

// env is a real API server over a memstore, a fake clock, and the
// candidates of one test.
type env struct {
	t      *testing.T
	server *apiserver.Server
	clk    *fakeclock.Clock
	admin  *client.Client // never partitioned
	cands  []*candidate

	leaders    atomic.Int32 // lead calls running, across candidates
	maxLeaders atomic.Int32
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ms, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ms.Close() })
	s, err := apiserver.New(apiserver.Config{Store: ms, Scheme: api.NewDefaultScheme(), Registerer: prometheus.NewRegistry()})
	require.NoError(t, err)
	e := &env{t: t, server: s, clk: fakeclock.New(start)}
	e.admin = e.client(s.Transport())
	require.NoError(t, e.admin.Create(context.Background(), &api.Namespace{ObjectMeta: api.ObjectMeta{Name: ns}}))
	return e
}

func (e *env) client(rt http.RoundTripper) *client.Client {
	c, err := client.New(client.Config{Transport: rt, Scheme: api.NewDefaultScheme(), Retry: client.RetryPolicy{MaxAttempts: 1}})
	require.NoError(e.t, err)
	return c
}

// netSwitch is a transport that fails every request while it is down.
type netSwitch struct {
	next http.RoundTripper
	down atomic.Bool
}

var errPartitioned = errors.New("test: the network is partitioned")

func (s *netSwitch) RoundTrip(req *http.Request) (*http.Response, error) {
	if s.down.Load() {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, errPartitioned
	}
	return s.next.RoundTrip(req)
}

// candidate is one Elector and its Run.
type candidate struct {
	id   string
	e    *leaderelection.Elector
	net  *netSwitch
	reg  *prometheus.Registry
	lead func(ctx context.Context) // what lead does; nil: wait for ctx

	leading atomic.Bool  // its lead is running
	terms   atomic.Int32 // calls of lead
	cancel  context.CancelFunc
	done    chan error // Run's result, once it has returned
}

// candidate makes a candidate with the Kubernetes default durations (15s,
// 10s, 2s), clock clk (nil: the env's) and, if mod is set, further
// changes to its Config. It does not start it.
func (e *env) candidate(id string, clk leaderelection.Clock, mod func(*leaderelection.Config)) *candidate {
	e.t.Helper()
	if clk == nil {
		clk = e.clk
	}
	c := &candidate{id: id, net: &netSwitch{next: e.server.Transport()}, reg: prometheus.NewRegistry()}
	cfg := leaderelection.Config{
		Client: e.client(c.net), Namespace: ns, Name: leaseName, Identity: id,
		Clock: clk, Registerer: c.reg,
		Logger: slog.New(slog.NewTextHandler(e.t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	el, err := leaderelection.New(cfg)
	require.NoError(e.t, err)
	c.e = el
	e.cands = append(e.cands, c)
	return c
}

// start runs c's Run until stop; the lead callback counts the leaders.
func (e *env) start(c *candidate) {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.done = make(chan error, 1)
	go func() {
		c.done <- c.e.Run(ctx, func(ctx context.Context) {
			n := e.leaders.Add(1)
			for {
				m := e.maxLeaders.Load()
				if n <= m || e.maxLeaders.CompareAndSwap(m, n) {
					break
				}
			}
			c.terms.Add(1)
			c.leading.Store(true)
			defer e.leaders.Add(-1)
			defer c.leading.Store(false)
			if c.lead != nil {
				c.lead(ctx)
				return
			}
			<-ctx.Done()
		})
	}()
	e.t.Cleanup(func() { cancel(); <-c.done; c.done <- nil })
	e.settle()
}

// stop ends c's Run and returns its result.
func (e *env) stop(c *candidate) error {
	c.cancel()
	var err error
	e.poll("Run to return", func() bool {
		select {
		case err = <-c.done:
			c.done <- err // for the cleanup
			return true
		default:
			return false
		}
	})
	return err
}

func (c *candidate) returned() bool {
	select {
	case err := <-c.done:
		c.done <- err
		return true
	default:
		return false
	}
}

// settle waits until every started candidate has done what the last move
// of the clock caused: it is blocked on its clock, or its Run returned.
func (e *env) settle() {
	e.t.Helper()
	e.poll("the candidates to settle", func() bool {
		for _, c := range e.cands {
			if c.done == nil {
				continue // not started
			}
			if c.returned() {
				if c.leading.Load() {
					return false
				}
				continue
			}
			// Idle, with lead started if it leads (lead runs on a
			// goroutine of its own) and returned if not.
			if !leaderelection.Idle(c.e) || c.e.IsLeader() != c.leading.Load() {
				return false
			}
		}
		return true
	})
}

// runFor moves the clock forward by d, one due timer at a time, letting the
// candidates settle after each, and fails the test if two candidates ever
// led at once.
func (e *env) runFor(d time.Duration) { e.runUntil(e.clk.Now().Add(d)) }

func (e *env) runUntil(target time.Time) {
	e.t.Helper()
	for {
		e.settle()
		next, ok := e.clk.Next()
		if !ok || next.After(target) {
			e.clk.Set(target)
			e.settle()
			break
		}
		e.clk.Set(next)
	}
	require.LessOrEqual(e.t, e.maxLeaders.Load(), int32(1), "two candidates led at once")
}

// poll waits, up to ten seconds of real time, until cond holds.
func (e *env) poll(what string, cond func() bool) {
	e.t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// lease reads the Lease through a client that is never partitioned.
func (e *env) lease() *api.Lease {
	e.t.Helper()
	l, err := client.Resource[api.Lease](e.admin).Get(context.Background(), ns, leaseName)
	require.NoError(e.t, err)
	return l
}

// leaderID returns the identity of the candidate whose lead runs, or "".
func (e *env) leaderID() string {
	if l := e.leader(); l != nil {
		return l.id
	}
	return ""
}

// leader returns the candidate whose lead runs, or nil.
func (e *env) leader() *candidate {
	var l *candidate
	for _, c := range e.cands {
		if c.leading.Load() {
			require.Nil(e.t, l, "two candidates lead")
			l = c
		}
	}
	return l
}

// metric returns the value of the series of name with labels in reg, or -1.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue series
				}
			}
			if m.Gauge != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

// skewed is a clock that reads off from the env's clock.
type skewed struct {
	*fakeclock.Clock
	off time.Duration
}

func (s skewed) Now() time.Time { return s.Clock.Now().Add(s.off) }
