// Package schedulerbench measures the scheduler (issue 6): N simulated
// nodes (no node agents) and M pods, in several scenarios (basic, node
// affinity, pod anti-affinity, topology spread, preemption), in two
// modes: the scheduler against its cache alone (scheduler.Simulator) and
// end to end through an API server on a one-member raftstore, pods
// created by concurrent clients and watched until bound. It reports
// throughput (pods/s) and per-pod latency (p50, p99) as a Markdown table.
// The command is ../../cmd/schedulerbench.
package schedulerbench
