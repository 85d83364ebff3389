// Package chaostest holds the fault-injection tests of the replicated store
// (package raftstore). It has no code of its own outside its tests; the
// tests check the two promises of store.Store under failures:
//
//   - TestLinearizable: every history is linearizable. A three-member
//     cluster runs in the test process over loopback TCP, behind a network
//     the test can cut (netsim: a listener wrapper and a dialer per member,
//     injected through Config.Listener and Config.Dialer). Concurrent
//     clients run Get, Create, Update (blind and compare-and-set on the
//     revision) and Delete on four keys (a new four every five seconds,
//     which bounds the checker's memory in long runs), while a nemesis
//     kills the leader (Store.Abort) and restarts it from its data
//     directory, crashes and restarts the leader at once, kills the leader
//     and a follower (no quorum), isolates the leader or a follower, cuts
//     the link between the leader and one follower, and restarts a
//     follower. The history is checked with porcupine
//     (github.com/anishathalye/porcupine) against a model of one key as
//     (value, ModRevision). A write whose outcome is unknown (a timeout,
//     store.ErrUnavailable, a member closing under it) may or may not have
//     happened, and the model allows both; a failed read is dropped.
//     TestModelCatchesViolations checks that the model does reject
//     non-linearizable histories, so the test can fail.
//
//   - TestKill9NoAcknowledgedWriteLost: no acknowledged write is lost. Each
//     member runs in its own process (the test binary re-executed as
//     TestHelperMember, which serves a small HTTP control API in front of
//     its Store). The test writes keys through random members while it
//     kills members with SIGKILL at random moments (the leader, followers,
//     two at once, all three at once) and restarts them on their data
//     directories; it checks that each restarted member catches up, and at
//     the end kills every member, restarts them all, and checks through
//     each member that every acknowledged write is there with its value
//     and revision.
//
// Both run by default, with -race, in a few tens of seconds each:
//
//	go test -race ./store/raftstore/chaostest/ -v
//
// To run them longer, as a soak test (with or without -race; without it
// the workload runs about four times as many operations):
//
//	DROVER_LIN_DURATION=5m DROVER_KILL9_KEYS=20000 \
//	    go test -race -timeout 30m ./store/raftstore/chaostest/ -v
//
// Environment:
//
//   - DROVER_LIN_DURATION: how long TestLinearizable's workload runs
//     (default 20s).
//   - DROVER_LIN_VIZ: a file to which TestLinearizable always writes the
//     porcupine visualization (HTML) of the history it checked (for short
//     runs: it takes a verbose check, and the file grows with the
//     history).
//   - DROVER_LIN_RECHECK: the history.jsonl that a failed run kept, for
//     TestRecheckHistory to check again (it skips otherwise).
//   - DROVER_LIN_CHECK_TIMEOUT: how long the linearizability check may take
//     before the test gives up and fails as inconclusive (default 2m plus
//     twice the workload's duration).
//   - DROVER_KILL9_KEYS: how many keys TestKill9NoAcknowledgedWriteLost
//     writes at least (default 4000); it writes more until the nemesis
//     has made at least 12 kill events.
//   - DROVER_CHAOS_SEED: the seed of the random choices of both tests
//     (workload and faults), to replay a run's choices; timing still
//     varies.
//   - DROVER_STORE_TEST_DISK=1: put data directories on disk instead of
//     tmpfs (/dev/shm).
//   - DROVER_STORE_TEST_VERBOSE=1: members log at Debug level.
//
// When a test fails it keeps its evidence in a directory under os.TempDir
// and logs the path: the porcupine visualization and the history as JSON
// lines, the members' logs, and goroutine dumps if something hung.
package chaostest
