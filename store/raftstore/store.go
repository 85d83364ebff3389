package raftstore

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/internal/mvcc"
)

// Store is one member of a replicated store.Store. All its methods are
// safe for concurrent use. Open starts it; Close stops it.
type Store struct {
	cfg       Config
	log       *slog.Logger
	meta      *metadata
	advertise string
	m         *metrics

	engine      *mvcc.Engine
	fsm         *fsm
	raft        *raft.Raft
	bolt        *raftboltdb.BoltStore
	logs        raft.LogStore // bolt behind a cache
	trans       *raft.NetworkTransport
	mux         *mux
	rpc         *rpcClient
	rpcSrv      *rpcServer
	batcher     *batcher
	verifier    *coalescer // the leader's quorum rounds
	readIndexes *coalescer // a follower's read-index requests
	observer    *raft.Observer

	// readyTerm is the term in which this member, as leader, has applied
	// its marker entry: from then on its commit index covers every write
	// acknowledged by earlier leaders, and linearizable reads may use it.
	readyTerm atomic.Uint64
	// changed is notified when the leader changes or readyTerm is set.
	changed notifier

	closed    atomic.Bool
	done      chan struct{} // closed by Close: stops every goroutine
	wg        sync.WaitGroup
	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open starts a member with cfg, and returns once it is part of a
// cluster:
//
//   - On a new data directory with Config.Bootstrap, it creates a
//     one-member cluster, waits until it has elected itself, and restores
//     Config.RestoreFrom if set.
//   - On a new data directory with Config.Join, it asks the members
//     listed to add it, and waits until it has caught up with the leader.
//   - On a data directory it used before, it starts Raft from the log and
//     the latest snapshot; a lone member waits until it leads again, a
//     member of a larger cluster returns at once (requests wait for a
//     leader, see Config.LeaderWait).
//
// If ctx ends first, Open stops what it started and returns ctx's error;
// the data directory keeps what was done, and the next Open finishes it.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("member", cfg.NodeID)
	dial := dialFunc(cfg.Dialer)
	if dial == nil {
		d := &net.Dialer{}
		dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	s := &Store{
		cfg:     cfg,
		log:     log,
		m:       newMetrics(cfg.NodeID),
		rpc:     newRPCClient(dial, log),
		done:    make(chan struct{}),
		changed: notifier{ch: make(chan struct{})},
	}
	if err := s.open(ctx, dial); err != nil {
		s.shutdown(false)
		return nil, err
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, dial dialFunc) error {
	cfg := s.cfg
	meta, err := checkDataDir(cfg)
	if err != nil {
		if cfg.Listener != nil {
			cfg.Listener.Close()
		}
		return err
	}
	if meta == nil {
		if !cfg.Bootstrap && len(cfg.Join) == 0 {
			return fmt.Errorf("raftstore: data directory %s is new: set Config.Bootstrap to start a new cluster "+
				"or Config.Join to join one", cfg.DataDir)
		}
		meta = &metadata{Format: metaFormat, NodeID: cfg.NodeID, Created: time.Now().UTC()}
		if cfg.Bootstrap {
			meta.ClusterID, meta.State = cfg.ClusterID, stateBootstrapping
			if meta.ClusterID == "" {
				meta.ClusterID = newClusterID()
			}
		} else {
			info, err := s.discover(ctx)
			if err != nil {
				return err
			}
			meta.ClusterID, meta.State = info.ClusterID, stateJoining
		}
		if err := writeMeta(cfg.DataDir, meta); err != nil {
			return err
		}
	}
	s.meta = meta
	if meta.State == stateMember && cfg.RestoreFrom != "" && meta.RestoredFrom == "" {
		return fmt.Errorf("raftstore: Config.RestoreFrom is %q, but data directory %s already holds cluster %q: "+
			"a backup is restored only into a new cluster", cfg.RestoreFrom, cfg.DataDir, meta.ClusterID)
	}

	// The network: one listener, shared by Raft and the RPC server.
	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.BindAddr); err != nil {
			return fmt.Errorf("raftstore: listen on Config.BindAddr %q: %w", cfg.BindAddr, err)
		}
	}
	s.advertise = cfg.AdvertiseAddr
	if s.advertise == "" {
		s.advertise = ln.Addr().String()
		if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
			ln.Close()
			return fmt.Errorf("raftstore: Config.AdvertiseAddr is empty and Config.BindAddr %q listens on all "+
				"interfaces: set AdvertiseAddr to the address other members dial", cfg.BindAddr)
		}
	}
	s.mux = newMux(ln, tcpAddr(s.advertise), s.log)

	// Storage.
	boltPath := filepath.Join(cfg.DataDir, boltFileName)
	if meta.State == stateMember {
		// bbolt initialises an empty file as a fresh database: a truncated
		// raft.db would silently start from the snapshot alone, losing the
		// writes after it and the member's term and vote.
		if fi, err := os.Stat(boltPath); err == nil && fi.Size() == 0 {
			return fmt.Errorf("raftstore: %s is empty, but %s records that member %q belongs to cluster %q: "+
				"the log was lost or truncated; refusing to start", boltPath, filepath.Join(cfg.DataDir, metaFileName), meta.NodeID, meta.ClusterID)
		}
	}
	s.bolt, err = openBolt(boltPath)
	if err != nil {
		return err
	}
	if s.logs, err = raft.NewLogCache(1024, s.bolt); err != nil {
		return fmt.Errorf("raftstore: %w", err)
	}
	hcl := newHCLog(s.log, "raft")
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, cfg.SnapshotRetain, hcl)
	if err != nil {
		return fmt.Errorf("raftstore: open snapshot store in %s: %w", filepath.Join(cfg.DataDir, snapDirName), err)
	}
	hasState, err := raft.HasExistingState(s.logs, s.bolt, snaps)
	if err != nil {
		return fmt.Errorf("raftstore: read Raft state from %s: %w", boltPath, err)
	}
	if meta.State == stateMember && !hasState {
		return fmt.Errorf("raftstore: %s holds no Raft state, but %s records that member %q belongs to cluster %q: "+
			"the log was lost or replaced; refusing to start", boltPath, filepath.Join(cfg.DataDir, metaFileName), meta.NodeID, meta.ClusterID)
	}
	if meta.State == stateMember {
		if err := checkSnapshots(filepath.Join(cfg.DataDir, snapDirName), snaps, cfg.SnapshotRetain, s.log); err != nil {
			return err
		}
		if err := checkRaftState(s.bolt, boltPath); err != nil {
			return err
		}
	}
	s.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  newRaftLayer(s.mux, dial),
		MaxPool: 4,
		Timeout: 10 * time.Second,
		Logger:  hcl,
	})

	s.engine, err = mvcc.New(mvcc.Options{WatchHistory: cfg.WatchHistory, Logger: s.log})
	if err != nil {
		return fmt.Errorf("raftstore: %w", err)
	}
	s.fsm = newFSM(s.engine, s.log, s.m)

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.CommitTimeout
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs
	rc.MaxAppendEntries = 128
	// Our batcher groups writes into entries, and keeps few in flight;
	// an unbuffered apply channel also leaves no entries stranded in it
	// at shutdown.
	rc.BatchApplyCh = false
	rc.ShutdownOnRemove = true
	rc.NoLegacyTelemetry = true
	rc.Logger = hcl
	if err := raft.ValidateConfig(rc); err != nil {
		return fmt.Errorf("raftstore: %w", err)
	}
	s.raft, err = raft.NewRaft(rc, s.fsm, s.logs, s.bolt, snaps, s.trans)
	if err != nil {
		return fmt.Errorf("raftstore: start raft on %s: %w", cfg.DataDir, err)
	}

	s.m.setGauges(cfg.NodeID,
		func() float64 { return float64(s.fsm.applied.Load()) },
		func() float64 {
			if s.raft.State() == raft.Leader {
				return 1
			}
			return 0
		})
	if err := s.m.register(cfg.Registerer); err != nil {
		return err
	}

	s.rpcSrv = newRPCServer(s.handleRPC, s.log)
	s.mux.start(s.rpcSrv.serveConn)
	s.batcher = newBatcher(s.raft, s.fsm, cfg, s.log, s.m, s.done)
	s.batcher.start()
	s.verifier = newCoalescer(s.verifyLeader, s.done)
	s.verifier.start()
	s.readIndexes = newCoalescer(s.remoteReadIndex, s.done)
	s.readIndexes.start()
	obs := make(chan raft.Observation, 64)
	s.observer = raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	s.raft.RegisterObserver(s.observer)
	s.wg.Add(2)
	go s.leadershipLoop(obs)
	go s.progressLoop()

	return s.join(ctx, hasState)
}

// join brings the member into its cluster, as Open describes.
func (s *Store) join(ctx context.Context, hasState bool) error {
	cfg := s.cfg
	switch {
	case s.meta.State == stateBootstrapping:
		if !hasState {
			err := s.raft.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{
				Suffrage: raft.Voter, ID: raft.ServerID(cfg.NodeID), Address: raft.ServerAddress(s.advertise),
			}}}).Error()
			if err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
				return fmt.Errorf("raftstore: bootstrap: %w", err)
			}
		}
		s.campaignNow()
		if err := s.waitLeading(ctx); err != nil {
			return fmt.Errorf("raftstore: bootstrap: %w", err)
		}
		if cfg.RestoreFrom != "" {
			rev, err := s.restoreBackup(ctx, cfg.RestoreFrom)
			if err != nil {
				return err
			}
			s.meta.RestoredFrom, s.meta.RestoredRevision = cfg.RestoreFrom, rev
		}
		s.meta.State = stateMember
		return writeMeta(cfg.DataDir, s.meta)

	case s.meta.State == stateJoining || (len(cfg.Join) > 0 && !s.inConfiguration()):
		if len(cfg.Join) == 0 {
			return fmt.Errorf("raftstore: member %q was joining cluster %q when it stopped: set Config.Join to finish",
				cfg.NodeID, s.meta.ClusterID)
		}
		if err := s.joinCluster(ctx); err != nil {
			return err
		}
		// Joined: catch up with the leader before serving.
		if err := s.linearize(ctx); err != nil {
			return fmt.Errorf("raftstore: joined cluster %q but could not catch up: %w", s.meta.ClusterID, err)
		}
		if s.meta.State != stateMember {
			s.meta.State = stateMember
			return writeMeta(cfg.DataDir, s.meta)
		}
		return nil

	default:
		// A restart. A lone member leads again at once; wait for that, so
		// the first request does not have to.
		if s.soleVoter() {
			s.campaignNow()
			if err := s.waitLeading(ctx); err != nil {
				return fmt.Errorf("raftstore: restart: %w", err)
			}
		}
		return nil
	}
}

// campaignNow makes a lone voter stand for election at once, instead of
// after a heartbeat timeout: hashicorp/raft re-arms a follower's timer
// when the heartbeat timeout is lowered, and a follower that never heard
// from a leader then starts an election. Raising the timeout by a
// nanosecond and setting it back counts as lowering it, and leaves the
// configuration as it was. Only a lone voter does this: in a cluster it
// would disturb a leader.
func (s *Store) campaignNow() {
	rc := s.raft.ReloadableConfig()
	hb := rc.HeartbeatTimeout
	rc.HeartbeatTimeout = hb + 1
	if err := s.raft.ReloadConfig(rc); err != nil {
		s.log.Debug("campaign now", "err", err)
		return
	}
	rc.HeartbeatTimeout = hb
	if err := s.raft.ReloadConfig(rc); err != nil {
		s.log.Warn("restore the heartbeat timeout", "err", err)
	}
}

// openBolt opens the Raft log and stable store, and refuses a file that
// is not a readable bolt database.
func openBolt(path string) (_ *raftboltdb.BoltStore, err error) {
	defer func() {
		// bbolt panics on some kinds of damage; turn that into an error
		// naming the file rather than crash the process.
		if r := recover(); r != nil {
			err = fmt.Errorf("raftstore: open Raft log %s: the file is damaged: %v", path, r)
		}
	}()
	b, err := raftboltdb.New(raftboltdb.Options{
		Path:        path,
		BoltOptions: &bbolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true},
	})
	if err != nil {
		if errors.Is(err, bbolt.ErrTimeout) {
			return nil, fmt.Errorf("raftstore: open Raft log %s: the file is locked: another process uses this data directory", path)
		}
		return nil, fmt.Errorf("raftstore: open Raft log %s (corrupt, or not a Raft log?): %w", path, err)
	}
	// Read what Raft reads at start, so damage shows here, naming the file.
	if _, err := b.FirstIndex(); err == nil {
		_, err = b.LastIndex()
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("raftstore: read Raft log %s: %w", path, err)
	}
	return b, nil
}

// Close stops the member gracefully: a leader first hands leadership to
// another voter, so the cluster does not wait for an election timeout.
// Then it stops Raft, ends every watch, closes the data files and waits
// for its goroutines. Requests in flight fail with store.ErrClosed (a
// write in flight may still be applied by the cluster). Close is safe to
// call more than once; calls after the first return nil.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() { err = s.shutdown(true) })
	return err
}

// Abort stops the member at once, without handing leadership over, as if
// its process had died: the cluster notices only when heartbeats stop.
// Nothing acknowledged is lost, since every acknowledged write is on
// disk on a quorum. It exists for tests of failover; it is safe to call
// more than once, and with Close.
func (s *Store) Abort() error {
	var err error
	s.closeOnce.Do(func() { err = s.shutdown(false) })
	return err
}

// shutdown stops whatever Open started. It copes with a Store that Open
// built only in part.
func (s *Store) shutdown(transfer bool) error {
	s.closed.Store(true)
	var errs []error
	if transfer && s.raft != nil && s.raft.State() == raft.Leader && s.otherVoters() > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*s.cfg.ElectionTimeout)
		err := futureErrCtx(ctx, s.raft.LeadershipTransfer(), nil)
		cancel()
		if err != nil {
			s.log.Warn("leadership transfer before shutdown failed", "err", err)
		} else {
			s.log.Info("handed leadership over before shutdown")
		}
	}
	close(s.done)
	if s.rpcSrv != nil {
		s.rpcSrv.close()
	}
	if s.raft != nil {
		if s.observer != nil {
			s.raft.DeregisterObserver(s.observer)
		}
		if err := s.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raftstore: shut down raft: %w", err))
		}
	}
	if s.batcher != nil {
		s.batcher.wait()
	}
	if s.verifier != nil {
		s.verifier.wait()
		s.readIndexes.wait()
	}
	s.wg.Wait()
	if s.mux != nil {
		s.mux.close()
	}
	if s.trans != nil {
		s.trans.Close()
	}
	s.rpc.close()
	if s.bolt != nil {
		if err := s.bolt.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raftstore: close Raft log: %w", err))
		}
	}
	if s.engine != nil {
		s.engine.Close()
	}
	s.m.unregister()
	return errors.Join(errs...)
}

// leadershipLoop follows leader changes: it counts them, wakes requests
// waiting for a leader, and, when this member leads, appends the marker
// entry that makes it ready for linearizable reads.
func (s *Store) leadershipLoop(obs <-chan raft.Observation) {
	defer s.wg.Done()
	tick := time.NewTicker(s.cfg.HeartbeatTimeout)
	defer tick.Stop()
	for {
		select {
		case o := <-obs:
			if lo, ok := o.Data.(raft.LeaderObservation); ok {
				s.m.leaderChanges.Inc()
				s.log.Info("leader changed", "leader", lo.LeaderID, "address", lo.LeaderAddr)
			}
			s.changed.notify()
		case <-tick.C:
		case <-s.done:
			return
		}
		s.ensureReady()
	}
}

// ensureReady appends and waits for the marker entry if this member leads
// and has not done so in this term. It is called only from
// leadershipLoop.
func (s *Store) ensureReady() {
	if s.raft.State() != raft.Leader {
		return
	}
	if term := s.raft.CurrentTerm(); s.readyTerm.Load() != term {
		s.appendMarker(term)
	}
}

// appendMarker appends a marker entry and, once it is applied, records
// that this member is ready to serve reads in term, if it still leads in
// that term.
func (s *Store) appendMarker(term uint64) {
	if err := futureErr(s.raft.Apply([]byte{entryMarker}, s.cfg.ElectionTimeout), s.done); err != nil {
		s.log.Debug("marker entry failed", "term", term, "err", err)
		return
	}
	if s.raft.State() != raft.Leader || s.raft.CurrentTerm() != term {
		return
	}
	first := s.readyTerm.Swap(term) != term
	s.changed.notify()
	if first {
		s.log.Info("leading", "term", term)
		s.updateOwnAddress()
	}
}

// updateOwnAddress fixes the address of a lone voter whose port changed
// since the cluster was made (BindAddr with port 0).
func (s *Store) updateOwnAddress() {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	servers := f.Configuration().Servers
	if len(servers) != 1 || servers[0].ID != raft.ServerID(s.cfg.NodeID) || servers[0].Address == raft.ServerAddress(s.advertise) {
		return
	}
	s.log.Info("updating own address in the cluster configuration", "old", servers[0].Address, "new", s.advertise)
	if err := futureErr(s.raft.AddVoter(servers[0].ID, raft.ServerAddress(s.advertise), 0, s.cfg.ElectionTimeout), s.done); err != nil {
		s.log.Warn("update own address", "err", err)
	}
}

// progressLoop paces watch progress notifications.
func (s *Store) progressLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.engine.ProgressNotify()
		case <-s.done:
			return
		}
	}
}

// waitLeading waits until this member leads and is ready (a lone member
// after bootstrap or restart).
func (s *Store) waitLeading(ctx context.Context) error {
	for {
		ch := s.changed.wait()
		if s.raft.State() == raft.Leader && s.readyTerm.Load() == s.raft.CurrentTerm() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting to be elected leader: %w", ctx.Err())
		case <-s.done:
			return store.ErrClosed
		}
	}
}

// notifier wakes every goroutine waiting for a change.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel that is closed at the next notify.
func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

func (n *notifier) notify() {
	n.mu.Lock()
	close(n.ch)
	n.ch = make(chan struct{})
	n.mu.Unlock()
}

// checkOpen returns store.ErrClosed once Close has begun.
func (s *Store) checkOpen() error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

// Get implements store.Store. Unless opts.Stale, it is linearizable.
func (s *Store) Get(ctx context.Context, key string, opts store.ReadOptions) (*store.KeyValue, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: get %q: %w", key, err)
	}
	if err := store.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("store: get: %w", err)
	}
	if err := s.read(ctx, opts.Stale); err != nil {
		return nil, fmt.Errorf("store: get %q: %w", key, err)
	}
	return s.engine.Get(key, opts.Revision)
}

// List implements store.Store. Unless opts.Stale, it is linearizable.
func (s *Store) List(ctx context.Context, prefix string, opts store.ListOptions) (*store.ListResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: list %q: %w", prefix, err)
	}
	if err := s.read(ctx, opts.Stale); err != nil {
		return nil, fmt.Errorf("store: list %q: %w", prefix, err)
	}
	return s.engine.List(prefix, opts)
}

// Revision implements store.Store. It is linearizable.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("store: revision: %w", err)
	}
	if err := s.read(ctx, false); err != nil {
		return 0, fmt.Errorf("store: revision: %w", err)
	}
	return s.engine.Revision()
}

// Watch implements store.Store. Any member serves watches from its own
// state, in revision order. The start is linearizable: afterRev 0 means
// the cluster's current revision, and a start older than a compaction
// the cluster has acknowledged fails with store.ErrCompacted.
func (s *Store) Watch(ctx context.Context, prefix string, afterRev int64, opts store.WatchOptions) (<-chan store.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: watch %q: %w", prefix, err)
	}
	if err := s.read(ctx, false); err != nil {
		return nil, fmt.Errorf("store: watch %q: %w", prefix, err)
	}
	return s.engine.Watch(ctx, prefix, afterRev, opts)
}

// read prepares a read: a linearizable one waits for the read index (see
// linearize); a stale one only checks that the store is open.
func (s *Store) read(ctx context.Context, stale bool) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if stale {
		return nil
	}
	return s.linearize(ctx)
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, key string, value []byte) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("store: create %q: %w", key, err)
	}
	if err := store.ValidateKey(key); err != nil {
		return 0, fmt.Errorf("store: create: %w", err)
	}
	if err := store.ValidateValue(value); err != nil {
		return 0, fmt.Errorf("store: create %q: %w", key, err)
	}
	r, err := s.write(ctx, mvcc.Command{Op: mvcc.OpCreate, Key: key, Value: value})
	return r.Rev, err
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, key string, value []byte, expectedRev int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("store: update %q: %w", key, err)
	}
	if err := store.ValidateKey(key); err != nil {
		return 0, fmt.Errorf("store: update: %w", err)
	}
	if err := store.ValidateValue(value); err != nil {
		return 0, fmt.Errorf("store: update %q: %w", key, err)
	}
	if expectedRev < 0 {
		return 0, fmt.Errorf("store: update %q: expected revision %d is negative", key, expectedRev)
	}
	r, err := s.write(ctx, mvcc.Command{Op: mvcc.OpUpdate, Key: key, Value: value, Rev: expectedRev})
	return r.Rev, err
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key string, expectedRev int64) (*store.KeyValue, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: delete %q: %w", key, err)
	}
	if err := store.ValidateKey(key); err != nil {
		return nil, 0, fmt.Errorf("store: delete: %w", err)
	}
	if expectedRev < 0 {
		return nil, 0, fmt.Errorf("store: delete %q: expected revision %d is negative", key, expectedRev)
	}
	r, err := s.write(ctx, mvcc.Command{Op: mvcc.OpDelete, Key: key, Rev: expectedRev})
	return r.Prev, r.Rev, err
}

// Compact implements store.Store. Compaction goes through the log like a
// write, so every member compacts at the same point.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: compact at %d: %w", rev, err)
	}
	if rev < 0 {
		return fmt.Errorf("store: compact at %d: revision is negative", rev)
	}
	_, err := s.write(ctx, mvcc.Command{Op: mvcc.OpCompact, Rev: rev})
	return err
}

// write commits cmd through the leader: this member's batcher if it
// leads, else the leader's over RPC. It retries, for up to
// Config.LeaderWait, while there is no leader or the member it asked
// turns out not to lead, as long as the command was surely not applied.
// The error is the engine's for a command that failed (not found,
// conflict...), or one wrapping store.ErrUnavailable, store.ErrClosed or
// ctx's error.
func (s *Store) write(ctx context.Context, cmd mvcc.Command) (mvcc.Result, error) {
	// The command is encoded later, on the batcher's goroutine, possibly
	// after this call has returned on a cancelled ctx: it must not share the
	// caller's buffer, which the caller may reuse as soon as we return.
	cmd.Value = bytes.Clone(cmd.Value)
	op := cmd.Op.String()
	wrap := func(err error) error {
		if cmd.Op == mvcc.OpCompact {
			return fmt.Errorf("store: compact at %d: %w", cmd.Rev, err)
		}
		return fmt.Errorf("store: %s %q: %w", op, cmd.Key, err)
	}
	deadline := time.Now().Add(s.cfg.LeaderWait)
	for {
		if err := s.checkOpen(); err != nil {
			return mvcc.Result{}, wrap(err)
		}
		var (
			res mvcc.Result
			err error
		)
		leader := ""
		if s.raft.State() == raft.Leader {
			res, err = s.batcher.submit(ctx, cmd)
			if err == nil {
				return res, res.Err
			}
		} else {
			leader, err = s.waitLeader(ctx, deadline)
			if err != nil {
				return res, wrap(err)
			}
			if leader == s.advertise {
				err = errNotLeader // raft knows before State says so
			} else {
				res, err = s.forwardWrite(ctx, leader, cmd)
				if err == nil {
					return res, nil
				}
			}
		}
		switch {
		case errors.Is(err, errStopped):
			return res, wrap(store.ErrClosed)
		case ctx.Err() != nil:
			return res, wrap(ctx.Err())
		case !errors.Is(err, errNotLeader) && !errors.Is(err, errNotSent):
			return res, s.mapDomainErr(err, wrap)
		}
		if berr := s.backoff(ctx, deadline); berr != nil {
			return res, wrap(fmt.Errorf("%w; last attempt: %v", berr, lastAttempt(leader, err)))
		}
	}
}

// mapDomainErr returns engine and remote errors as they are (they already
// name the operation), and wraps the others.
func (s *Store) mapDomainErr(err error, wrap func(error) error) error {
	var re *remoteError
	var ce *store.ConflictError
	switch {
	case errors.As(err, &ce), errors.As(err, &re) && !errors.Is(err, store.ErrUnavailable):
		return err
	}
	return wrap(err)
}

// lastAttempt describes the error of the last attempt, for the error of a
// request that gave up.
func lastAttempt(leader string, err error) error {
	if leader == "" {
		return err
	}
	return fmt.Errorf("leader %s: %w", leader, err)
}

// backoff waits a little before a retry: until the leader changes, 20ms
// pass, or the deadline; it fails once the deadline has passed.
func (s *Store) backoff(ctx context.Context, deadline time.Time) error {
	left := time.Until(deadline)
	if left <= 0 {
		return fmt.Errorf("%w: no leader could take the request within %v (Config.LeaderWait)", store.ErrUnavailable, s.cfg.LeaderWait)
	}
	t := time.NewTimer(min(left, 20*time.Millisecond))
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.changed.wait():
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return store.ErrClosed
	}
	return nil
}

// waitLeader returns the leader's address, waiting until the deadline for
// one to be elected.
func (s *Store) waitLeader(ctx context.Context, deadline time.Time) (string, error) {
	for {
		ch := s.changed.wait()
		if addr, _ := s.raft.LeaderWithID(); addr != "" {
			return string(addr), nil
		}
		if s.raft.State() == raft.Shutdown {
			return "", fmt.Errorf("%w: raft has shut down (was this member removed from the cluster?)", store.ErrUnavailable)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return "", fmt.Errorf("%w: no leader elected within %v (Config.LeaderWait); this member's view: %s",
				store.ErrUnavailable, s.cfg.LeaderWait, s.raft.State())
		}
		t := time.NewTimer(left)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-s.done:
			t.Stop()
			return "", store.ErrClosed
		}
		t.Stop()
	}
}

// forwardWrite sends cmd to the leader.
func (s *Store) forwardWrite(ctx context.Context, leader string, cmd mvcc.Command) (mvcc.Result, error) {
	s.m.forwarded.WithLabelValues("write").Inc()
	resp, err := s.rpc.call(ctx, leader, rpcWrite, appendCommand(make([]byte, 0, cmdSize(&cmd)), &cmd))
	if err != nil {
		return mvcc.Result{}, err
	}
	d := decoder{b: resp}
	res := mvcc.Result{Rev: d.varint(), Prev: d.kv()}
	if d.err != nil {
		return mvcc.Result{}, fmt.Errorf("%w: bad answer from leader %s: %v", store.ErrUnavailable, leader, d.err)
	}
	return res, nil
}

// leaderWrite serves a write forwarded by a follower.
func (s *Store) leaderWrite(ctx context.Context, payload []byte) ([]byte, error) {
	d := decoder{b: payload}
	cmd := d.command()
	if d.err != nil {
		return nil, fmt.Errorf("raftstore: malformed write request: %w", d.err)
	}
	if s.raft.State() != raft.Leader {
		return nil, s.notLeader()
	}
	res, err := s.batcher.submit(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if res.Err != nil {
		return nil, res.Err
	}
	out := binary.AppendVarint(make([]byte, 0, 16), res.Rev)
	return appendKV(out, res.Prev), nil
}

// notLeader returns errNotLeader, naming the leader if known.
func (s *Store) notLeader() error {
	if addr, id := s.raft.LeaderWithID(); addr != "" {
		return fmt.Errorf("%w: the leader is %s at %s", errNotLeader, id, addr)
	}
	return fmt.Errorf("%w: no leader known", errNotLeader)
}

// checkRaftState refuses a log store that cannot belong to a member: once
// a member has taken part in an election it keeps its current term in the
// stable store. A raft.db replaced by an empty database fails here instead
// of silently losing writes and votes. (The log itself may legitimately end
// before the newest snapshot: a follower that installed a snapshot from its
// leader keeps its older, shorter log.)
func checkRaftState(bolt *raftboltdb.BoltStore, boltPath string) error {
	if _, err := bolt.GetUint64([]byte("CurrentTerm")); err != nil {
		return fmt.Errorf("raftstore: %s holds no current term (%v): it is not this member's log; refusing to start", boltPath, err)
	}
	return nil
}

// checkSnapshots refuses a snapshot directory that raft would quietly work
// around: raft.FileSnapshotStore skips snapshots whose meta.json does not
// read, and raft falls back to an older snapshot when the newest fails its
// checksum, after which replaying a log that was compacted past the older
// snapshot fails deep inside raft. Both are refused here, naming the file.
//
// What a SIGKILL leaves behind is sound and opens:
//   - an unfinished snapshot, its directory still named .tmp: raft skips
//     it but never deletes it (each is up to a whole copy of the data), so
//     it is removed here;
//   - more than retain snapshots, when the member was killed after a new
//     snapshot was moved into place and before the oldest were reaped
//     (which is why every meta.json is read here: snaps.List stops at
//     retain);
//   - an old snapshot that a reap had begun to delete: without meta.json
//     (removed here, if at least retain sound snapshots are newer, as they
//     are when raft reaps), or without state.bin (raft lists it among the
//     old ones and deletes it at its next reap).
//
// A meta.json that is there but does not read is damage, never the work
// of a kill, and is refused. Nothing is removed unless the member starts.
func checkSnapshots(dir string, snaps raft.SnapshotStore, retain int, log *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("raftstore: read snapshot directory %s: %w", dir, err)
	}
	var sound, headless []raft.SnapshotMeta // headless: meta.json gone
	var unfinished []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if strings.HasSuffix(e.Name(), ".tmp") {
			unfinished = append(unfinished, e.Name())
			continue
		}
		metaPath := filepath.Join(dir, e.Name(), "meta.json")
		meta, err := readSnapshotMeta(metaPath, e.Name())
		switch {
		case err == nil:
			sound = append(sound, meta)
		case errors.Is(err, errNoSnapshotMeta):
			// Named as raft names snapshots, term-index-time, or not
			// raft's doing.
			m := raft.SnapshotMeta{ID: e.Name()}
			var ms uint64
			if _, err := fmt.Sscanf(e.Name(), "%d-%d-%d", &m.Term, &m.Index, &ms); err != nil {
				return fmt.Errorf("raftstore: %s is missing, and raft names no snapshot %q; refusing to start", metaPath, e.Name())
			}
			headless = append(headless, m)
		default:
			return fmt.Errorf("raftstore: snapshot %s does not read (%v); refusing to start", metaPath, err)
		}
	}
	for _, h := range headless {
		newer := 0
		for _, m := range sound {
			if compareSnapshots(m, h) > 0 {
				newer++
			}
		}
		if newer < retain {
			return fmt.Errorf("raftstore: %s is missing, and only %d sound snapshots are newer than its snapshot "+
				"(a reap leaves one without it only behind SnapshotRetain = %d); refusing to start",
				filepath.Join(dir, h.ID, "meta.json"), newer, retain)
		}
	}
	list, err := snaps.List()
	if err != nil {
		return fmt.Errorf("raftstore: list snapshots in %s: %w", dir, err)
	}
	if len(sound) > 0 {
		if newest := slices.MaxFunc(sound, compareSnapshots); len(list) == 0 || list[0].ID != newest.ID {
			return fmt.Errorf("raftstore: snapshot %s is the newest, but raft does not read it; refusing to start",
				filepath.Join(dir, newest.ID, "meta.json"))
		}
	}
	if len(list) > 0 {
		// Open reads the whole snapshot and checks it against its CRC.
		_, rc, err := snaps.Open(list[0].ID)
		if err != nil {
			return fmt.Errorf("raftstore: newest snapshot %s is damaged: %w; refusing to start",
				filepath.Join(dir, list[0].ID, "state.bin"), err)
		}
		rc.Close()
	}

	// The member starts: clear away what the kill left.
	for _, name := range unfinished {
		path := filepath.Join(dir, name)
		log.Info("removing an unfinished snapshot", "snapshot", path)
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("raftstore: remove unfinished snapshot %s: %w", path, err)
		}
	}
	for _, h := range headless {
		path := filepath.Join(dir, h.ID)
		log.Warn("removing what an interrupted reap left of an old snapshot (no meta.json)", "snapshot", path)
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("raftstore: remove the remains of old snapshot %s: %w", path, err)
		}
	}
	return nil
}

// compareSnapshots orders snapshots as raft.FileSnapshotStore does: by
// term, index, then ID.
func compareSnapshots(a, b raft.SnapshotMeta) int {
	return cmp.Or(cmp.Compare(a.Term, b.Term), cmp.Compare(a.Index, b.Index), cmp.Compare(a.ID, b.ID))
}

// errNoSnapshotMeta is readSnapshotMeta's answer for a missing meta.json.
var errNoSnapshotMeta = errors.New("its meta.json is missing")

// readSnapshotMeta reads the meta.json of snapshot directory name as
// raft.FileSnapshotStore does (the first JSON value in the file, with the
// data's CRC), and checks what raft checks (the version) and that it
// names its own directory, which raft opens it by.
func readSnapshotMeta(path, name string) (raft.SnapshotMeta, error) {
	var meta struct {
		raft.SnapshotMeta
		CRC []byte
	}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return meta.SnapshotMeta, errNoSnapshotMeta
	}
	if err != nil {
		return meta.SnapshotMeta, err
	}
	defer f.Close()
	if err := json.NewDecoder(bufio.NewReader(f)).Decode(&meta); err != nil {
		return meta.SnapshotMeta, fmt.Errorf("its meta.json is damaged: %w", err)
	}
	if meta.Version < raft.SnapshotVersionMin || meta.Version > raft.SnapshotVersionMax {
		return meta.SnapshotMeta, fmt.Errorf("its version %d is not one raft reads (%d to %d)",
			meta.Version, raft.SnapshotVersionMin, raft.SnapshotVersionMax)
	}
	if meta.ID != name {
		return meta.SnapshotMeta, fmt.Errorf("its meta.json names snapshot %q, not its directory", meta.ID)
	}
	return meta.SnapshotMeta, nil
}
