// Package raftstore is the replicated store.Store: the MVCC engine of
// store/internal/mvcc, fed by a hashicorp/raft log, on one member (the
// embedded default) or a cluster of three or five. It is the cluster's
// source of truth: an acknowledged write is on disk on a quorum of members
// and is never lost, and reads are linearizable unless the caller asks
// for a stale one.
//
// # Starting
//
// One member, in a data directory:
//
//	s, err := raftstore.Open(ctx, raftstore.DefaultConfig("/var/lib/drover/store"))
//
// Three members: the first bootstraps a cluster, the others join it
// through any member (a follower forwards the join to the leader):
//
//	cfg := raftstore.DefaultConfig(dir)
//	cfg.NodeID, cfg.BindAddr = "cp-1", "10.0.0.1:7000"
//	// on cp-2 and cp-3: cfg.Bootstrap = false; cfg.Join = []string{"10.0.0.1:7000"}
//
// A data directory holds the Raft log and stable store (raft.db, bbolt
// through raft-boltdb), snapshots (snapshots/, raft.FileSnapshotStore) and
// drover-store.json, which names the member and its cluster; Open refuses
// a directory whose files are damaged or belong to another member or
// cluster, naming the file, and never resets it.
//
// # Writes
//
// Any member accepts writes. A follower forwards them to the leader over
// the member-to-member RPC (rpc.go), which shares the Raft port: each
// connection starts with a byte that says whether it is Raft's or ours.
// The leader groups concurrent writes into one Raft entry (batcher.go),
// so they share a log append and an fsync on every member; the FSM gives
// each write its own revision, last+1 in log order, so every member
// agrees on revisions.
//
// # Reads and watches
//
// Linearizable reads use the ReadIndex protocol (read.go): the leader
// confirms it still leads with one quorum round shared by all concurrent
// reads, and the member serving the read waits until it has applied the
// leader's commit index, then reads locally. Stale reads
// (ReadOptions.Stale, ListOptions.Stale) are served locally at once.
// Watches are served by every member from its own engine, in revision
// order.
//
// # Operations
//
// Backup writes a consistent snapshot while the store serves;
// Config.RestoreFrom starts a new cluster from it with the same revisions.
// Raft snapshots bound the log (Config.SnapshotThreshold, TrailingLogs).
// Close hands leadership over before stopping; RemoveMember removes a
// member. Ready and Healthy back /readyz and /healthz, and
// Config.Registerer exports Prometheus metrics.
//
// # Processors
//
// Raft appends to its log on the goroutine that leads it, and the append
// ends in fsyncs (two fdatasyncs per bbolt commit), which hold one of the
// Go runtime's processors (a P) for as long as the disk takes: the
// runtime hands a P stuck in a system call to another thread only when
// its monitor has seen the call on two of its ticks, and the monitor
// ticks as seldom as every 10 ms once it has had nothing to do for a
// while. On a 2-core machine under load that leaves a core idle while
// goroutines wait to run: an execution trace of the scheduler benchmark
// (bench/cmd/schedulerbench, e2e-inprocess) had one goroutine running and
// three or more runnable for 32 % of the run. With GOMAXPROCS one above
// the cores the other Ps keep every core busy while one waits for the
// disk (5 % of the run), and the benchmark places pods 40 to 70 % faster;
// two above was slower than one. RaiseGOMAXPROCS sets it, once per
// process, unless GOMAXPROCS is set in the environment; the drover binary
// calls it. Setting GOMAXPROCS stops the runtime from following a
// container's CPU limit if it changes later (Go 1.25); the process keeps
// the limit it started with, plus one.
//
// # Testing failures
//
// Config.Listener and Config.Dialer replace the member's network, so a
// test can cut a member off (see the partition helper in this package's
// tests); Abort stops a member as a crash would, without handing over
// leadership; every Config field but the hooks is plain data, so a member
// can run in a subprocess that a test kills with SIGKILL.
package raftstore
