package storebench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/raftstore"
)

// DroverConfig configures StartDrover.
type DroverConfig struct {
	// Dir holds the members' data directories (m1, m2, m3). It is
	// created, and removed by Close.
	Dir string
	// ProfileDir, if not empty, receives a CPU profile of this process
	// for every measured window (see Config.CPUProfileDir).
	ProfileDir string
}

// Drover is a three-member raftstore cluster in this process, on loopback
// TCP, with the library's default configuration (data on disk, fsync on
// every commit, group commit, ReadIndex reads).
type Drover struct {
	cfg     DroverConfig
	members []*raftstore.Store
	reg     *prometheus.Registry
}

// StartDrover starts three members: m1 bootstraps a cluster, m2 and m3
// join it. It returns once every member is ready for linearizable
// requests.
func StartDrover(ctx context.Context, cfg DroverConfig) (_ *Drover, err error) {
	d := &Drover{cfg: cfg, reg: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	for i := range 3 {
		id := fmt.Sprintf("m%d", i+1)
		// Holding the listener avoids a race for a free port; the
		// member's address is the one the listener got.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("storebench: drover %s: listen: %w", id, err)
		}
		rc := raftstore.DefaultConfig(filepath.Join(cfg.Dir, id))
		rc.NodeID = id
		rc.Listener = ln
		rc.Registerer = d.reg
		if i > 0 {
			rc.Bootstrap = false
			rc.Join = []string{d.members[0].Addr()}
		}
		octx, cancel := context.WithTimeout(ctx, time.Minute)
		s, err := raftstore.Open(octx, rc)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("storebench: drover %s: %w", id, err)
		}
		d.members = append(d.members, s)
	}
	if err := pollUntil(ctx, time.Minute, func() error {
		for _, s := range d.members {
			if err := s.Ready(); err != nil {
				return fmt.Errorf("member %s: %w", s.NodeID(), err)
			}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("storebench: drover cluster not ready: %w", err)
	}
	return d, nil
}

// Name implements System.
func (d *Drover) Name() string { return "drover" }

// Addrs returns the members' addresses.
func (d *Drover) Addrs() []string {
	var a []string
	for _, s := range d.members {
		a = append(a, s.NodeID()+"="+s.Addr())
	}
	return a
}

// Leader returns the ID of the member that leads.
func (d *Drover) Leader() string {
	id, _ := d.members[0].Leader()
	return id
}

// Clients implements System.
func (d *Drover) Clients(ctx context.Context, n int) ([]Client, error) {
	var order []*raftstore.Store // followers, then the leader
	var leader *raftstore.Store
	for _, s := range d.members {
		if s.IsLeader() {
			leader = s
		} else {
			order = append(order, s)
		}
	}
	if leader == nil {
		return nil, fmt.Errorf("drover: no member leads")
	}
	order = append(order, leader)
	clients := make([]Client, n)
	for i := range clients {
		clients[i] = droverClient{order[i%len(order)]}
	}
	return clients, nil
}

// Load implements System: it creates the keys from 64 goroutines spread
// over the members.
func (d *Drover) Load(ctx context.Context, keys []string, value []byte) error {
	return parallel(ctx, len(keys), 64, func(ctx context.Context, w, i int) error {
		_, err := d.members[w%len(d.members)].Create(ctx, keys[i], value)
		return err
	})
}

// Close aborts every member (their data is thrown away, so there is no
// point in handing leadership over) and removes the data directories.
func (d *Drover) Close() error {
	var errs []error
	for _, s := range d.members {
		if err := s.Abort(); err != nil {
			errs = append(errs, err)
		}
	}
	d.members = nil
	if err := os.RemoveAll(d.cfg.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

type droverClient struct{ s *raftstore.Store }

// Put is Update with expected revision 0: an unconditional overwrite of an
// existing key, as etcd's Put of an existing key.
func (c droverClient) Put(ctx context.Context, key string, value []byte) error {
	_, err := c.s.Update(ctx, key, value, 0)
	return err
}

// Get is a linearizable read (zero ReadOptions).
func (c droverClient) Get(ctx context.Context, key string) error {
	_, err := c.s.Get(ctx, key, store.ReadOptions{})
	return err
}

// BeginCell implements cellObserver: it reports the store's own metrics
// over the window (group commit, commit and read-index latency, forwarded
// requests) and the CPU this process used, and writes a CPU profile if
// asked to.
func (d *Drover) BeginCell(c Cell) func() (string, error) {
	before, gerr := d.gather()
	cpu0 := selfCPU()
	start := time.Now()
	var profile *os.File
	var perr error
	if d.cfg.ProfileDir != "" {
		path := filepath.Join(d.cfg.ProfileDir, fmt.Sprintf("drover-%s-%d.pprof", c.Op, c.Clients))
		if profile, perr = os.Create(path); perr == nil {
			if perr = pprof.StartCPUProfile(profile); perr != nil {
				profile.Close()
				profile = nil
			}
		}
	}
	return func() (string, error) {
		cpu := selfCPU() - cpu0
		elapsed := time.Since(start)
		var errs []error
		if profile != nil {
			pprof.StopCPUProfile()
			errs = append(errs, profile.Close())
		}
		errs = append(errs, perr, gerr)
		after, err := d.gather()
		errs = append(errs, err)
		var b strings.Builder
		fmt.Fprintf(&b, "cpu: this process %.0f%% of a core (members and clients)", 100*cpu.Seconds()/elapsed.Seconds())
		if gerr == nil && err == nil {
			describeDrover(&b, before, after)
		}
		return b.String(), errors.Join(errs...)
	}
}

func (d *Drover) gather() (metricValues, error) {
	mfs, err := d.reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather drover metrics: %w", err)
	}
	return flatten(mfs, ""), nil
}

// describeDrover writes what the store's metrics moved by.
func describeDrover(b *strings.Builder, before, after metricValues) {
	delta := func(name, member string) float64 {
		k := metricKey{name, member}
		return after[k] - before[k]
	}
	for _, m := range []string{"m1", "m2", "m3"} {
		entries := delta("drover_raftstore_batch_size_count", m)
		if entries > 0 {
			writes := delta("drover_raftstore_batch_size_sum", m)
			fmt.Fprintf(b, "; leader %s: %.0f entries, %.1f writes/entry, commit+apply %s mean", m,
				entries, writes/entries,
				fmtSeconds(delta("drover_raftstore_commit_latency_seconds_sum", m)/delta("drover_raftstore_commit_latency_seconds_count", m)))
		}
	}
	var reads, readSum, fwdWrites, fwdReads float64
	for _, m := range []string{"m1", "m2", "m3"} {
		reads += delta("drover_raftstore_read_index_latency_seconds_count", m)
		readSum += delta("drover_raftstore_read_index_latency_seconds_sum", m)
		fwdWrites += delta("drover_raftstore_forwarded_requests_total/write", m)
		fwdReads += delta("drover_raftstore_forwarded_requests_total/read_index", m)
	}
	if reads > 0 {
		fmt.Fprintf(b, "; read index %s mean over %.0f reads", fmtSeconds(readSum/reads), reads)
	}
	fmt.Fprintf(b, "; forwarded %.0f writes, %.0f read-index RPCs", fwdWrites, fwdReads)
	if lc := delta("drover_raftstore_leader_changes_total", "m1") + delta("drover_raftstore_leader_changes_total", "m2") +
		delta("drover_raftstore_leader_changes_total", "m3"); lc > 0 {
		fmt.Fprintf(b, "; %.0f LEADER CHANGES", lc)
	}
}

// selfCPU returns the user and system CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// parallel calls fn(ctx, worker, i) for every i in [0, n) from workers
// goroutines, and returns the first error.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, w, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan int)
	)
	for w := range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, w, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			i = n
		}
	}
	close(next)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}

// pollUntil calls check every 50ms until it returns nil, ctx ends or
// timeout passes; then it returns check's last error.
func pollUntil(ctx context.Context, timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", timeout, err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		}
		sleep(ctx, 50*time.Millisecond)
	}
}
