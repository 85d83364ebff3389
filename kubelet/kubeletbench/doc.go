// Package kubeletbench holds the node agent's benchmarks (issue 9): pod
// start latency on runc with a local image, and the memory and CPU of
// hollow nodes on runtime/fake. It has no API; its benchmarks are in its
// test files:
//
//	go test -run '^$' -bench PodStart -benchtime 40x ./kubelet/kubeletbench/
//	go test -run '^$' -bench HollowNodes -benchtime 1x -timeout 30m ./kubelet/kubeletbench/
//
// docs/benchmarks.md ("Node agent") records the results.
package kubeletbench
