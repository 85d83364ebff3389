// Package storebench runs the same workload against a three-member Drover
// raftstore and a three-member etcd, side by side in one process, and
// reports throughput and latency per operation and client count.
//
// Run is the whole benchmark; cmd/storebench is its command line. A
// System is a cluster under test (Etcd, Drover) and hands out Clients,
// each pinned to one member, round robin, so that both systems see writes
// through followers (which forward them to the leader) and linearizable
// reads served by every member.
//
// Each cell (system, op, client count) runs its clients for a warm-up
// and then a measured window; every operation that completes in the
// window is timed into a Histogram, which gives the percentiles.
package storebench
