// Package cluster composes Drover's parts into the processes the drover
// binary runs, and that programs embedding Drover run themselves:
//
//   - A ControlPlane is one control-plane member: a member of the replicated
//     store (store/raftstore), the API server over it (HTTP, with /healthz,
//     /readyz and /metrics for the whole process), the API server's
//     maintenance, and, on the member that leads the store's Raft cluster
//     only, the scheduler and the built-in controllers. One member bootstraps
//     a cluster; the others join it through any member's Raft address.
//   - A Node is this machine as a worker node: a runtime driver (oci: runc
//     or crun; process; fake; or one of yours) and the node agent (package
//     kubelet) that registers the Node and runs the pods bound to it, with
//     its HTTPS API (logs, exec, stats) behind a pinned certificate and a
//     bearer token.
//   - An AllInOne is a one-member control plane plus this machine's Node
//     (AllInOneConfig.Node), or a node agent of your own (NodeAgent).
//
// Both follow the same lifecycle: build the configuration from
// DefaultControlPlaneConfig or DefaultAllInOneConfig, change what you need,
// then New, Start (which returns once the API server answers), Wait, Close;
// or Run, which does all of that until its context ends. Config.OnProgress
// hears each part as it becomes ready, which is how `drover up` prints its
// progress lines.
//
//	cfg := cluster.DefaultAllInOneConfig(dir)
//	cfg.APIAddr = "127.0.0.1:0"
//	a, err := cluster.NewAllInOne(cfg)
//	err = a.Start(ctx)
//	defer a.Close()
//	c := a.Client() // in process; a.KubeconfigPath() for kubectl
//
// # Data directory
//
// A data directory holds store/ (the store member's Raft log and snapshots)
// and kubeconfig (the API server's URL, for the CLI and kubectl); a Node's
// adds images/ (the image store), oci/ or process/ (the runtime's state),
// kubelet/ (pod logs and volumes, the node agent's certificate) and
// manifests/ (static pods). Starting
// again on the same directory finds the same objects in the same cluster.
//
// # Leadership
//
// The scheduler and the controllers run on one member at a time: the one
// that leads the store's Raft cluster. Its controller.Manager's
// LeaderElector follows Raft leadership (see RaftLeaderElector) rather than
// a coordination.k8s.io Lease, because Raft already elects exactly one
// leader among the same members with a quorum: a Lease would add a write
// every few seconds and a failover bounded by the Lease's duration (15 s),
// where Raft fails over within its election timeout, and the controllers
// then run where writes are applied without a forwarding hop. Two members
// may briefly both believe they lead (an old leader that has not yet noticed
// it lost its quorum); every controller write carries a resourceVersion
// precondition, so that costs conflicts, not wrong state.
package cluster
