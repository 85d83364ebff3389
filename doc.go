// Package drover is the map of Drover, a library-first control-plane
// framework: the parts of a Kubernetes-style container orchestrator as
// importable Go packages with small interfaces, and a binary that wires them
// into a cluster. This package holds no code; it tells you where things are.
//
// # The shape
//
// Every component talks only to the API server, and only the API server
// touches the store. Components never call each other: the scheduler, the
// controllers, the node agent and the proxy each watch the API for the
// objects they care about and write back what they decide.
//
// # The packages
//
// Landed so far:
//
//   - [github.com/drover-io/drover/api]: the resource model. Object and list
//     metadata, the Status error object and watch events; the built-in kinds
//     (Pod, Node, Service, Deployment, Job, ...); the Scheme, which maps each
//     kind to its Go type and its resource name and takes your own kinds
//     with no code generation; strict JSON and multi-document YAML decoding;
//     validation with field paths; defaulting; deep copies.
//   - [github.com/drover-io/drover/api/resource]: resource quantities such
//     as "100m" and "128Mi", exact, with canonical printing.
//   - [github.com/drover-io/drover/api/labels] and
//     [github.com/drover-io/drover/api/fields]: label and field selectors.
//   - [github.com/drover-io/drover/store]: the contract of the cluster's
//     source of truth, a revisioned key-value store with compare-and-swap
//     and watch. [github.com/drover-io/drover/store/memstore] is the
//     in-memory reference; [github.com/drover-io/drover/store/raftstore]
//     replicates it with Raft (hashicorp/raft on raft-boltdb) across one,
//     three or five members; [github.com/drover-io/drover/store/storetest]
//     is the conformance suite every implementation passes.
//   - [github.com/drover-io/drover/apiserver/registry]: objects of one kind
//     in a store: the server-side rules of create, get, list, update,
//     delete and watch (uid, generateName, generation, the status
//     subresource, finalizers, optimistic concurrency, paging, selectors).
//   - [github.com/drover-io/drover/apiserver]: the Kubernetes REST front
//     over the registries: paths and verbs (watch, patch, deletecollection,
//     graceful deletion), subresources (status, scale, binding, eviction,
//     log), discovery, OpenAPI, Table output for kubectl, JSON, YAML and
//     protobuf request bodies, Status errors, health and metrics; an
//     in-process transport; event expiry and store compaction (Run).
//     [github.com/drover-io/drover/apiserver/admission] is the ordered chain
//     of mutating and validating plugins every write goes through.
//   - [github.com/drover-io/drover/client]: the client every component and
//     user talks to the API server with, over HTTP (kubeconfig, TLS,
//     tokens) or in process, with retries and a typed facade;
//     [github.com/drover-io/drover/client/informer] keeps indexed,
//     shared, in-memory copies of a kind's objects in step with the server;
//     [github.com/drover-io/drover/client/workqueue] is the rate-limited,
//     de-duplicating queue; [github.com/drover-io/drover/client/record]
//     writes aggregated Events; [github.com/drover-io/drover/client/leaderelection]
//     elects one leader through a Lease.
//   - [github.com/drover-io/drover/controller]: the reconcile runtime
//     (Reconciler, Builder, Manager) that Drover's own controllers and
//     yours are written with; [github.com/drover-io/drover/controller/controllertest]
//     runs them against a real in-process API server in a millisecond.
//     The built-in controllers are packages of their own under controller/
//     (replicaset, deployment, job, daemonset, nodelifecycle, nodeipam,
//     endpoints, endpointslice, garbagecollector, namespace,
//     serviceaccount), each with Name, Options and Add;
//     [github.com/drover-io/drover/controller/builtin] runs them all.
//   - [github.com/drover-io/drover/scheduler]: the scheduling framework
//     (queue, cache, cycle, profiles, explanations, a Simulator), with the
//     default plugins under scheduler/plugins and the extension points in
//     [github.com/drover-io/drover/scheduler/framework].
//   - [github.com/drover-io/drover/kubelet]: the node agent. It registers
//     its Node and renews its Lease
//     ([github.com/drover-io/drover/kubelet/nodestatus]), runs each pod
//     bound to it through a runtime driver (admission, image pulls,
//     sandboxes, init containers, restarts with back-off, lifecycle hooks,
//     graceful termination), probes containers
//     ([github.com/drover-io/drover/kubelet/prober]), makes volumes
//     ([github.com/drover-io/drover/kubelet/volume]) and environments
//     ([github.com/drover-io/drover/kubelet/envvars]), serves logs, exec
//     and stats over HTTPS ([github.com/drover-io/drover/kubelet/server]),
//     runs static pods ([github.com/drover-io/drover/kubelet/staticpod]),
//     and adopts its running containers after a restart.
//   - [github.com/drover-io/drover/runtime]: the interfaces the node agent
//     runs containers through, with the image store
//     ([github.com/drover-io/drover/runtime/image]), CRI log files
//     ([github.com/drover-io/drover/runtime/logs]), an in-memory driver
//     ([github.com/drover-io/drover/runtime/fake]) and the conformance
//     suite ([github.com/drover-io/drover/runtime/runtimetest]).
//   - [github.com/drover-io/drover/cluster]: the parts composed into
//     processes: a ControlPlane (a store member, the API server, and the
//     scheduler and the controllers on the member that leads) and an
//     Node (a node agent with a built-in runtime driver) and an AllInOne
//     (a one-member control plane plus this machine's Node), each
//     with a validated Config from DefaultControlPlaneConfig or
//     DefaultAllInOneConfig, Start/Close or Run, progress callbacks and a
//     kubeconfig: a whole cluster embedded in your program in a few lines
//     (examples/allinone).
//   - [github.com/drover-io/drover/cmd/drover]: the drover binary, thin
//     over cluster and client: `drover up` (all in one process), `drover
//     server` (a member of a highly available control plane), and client
//     verbs named and behaving like kubectl's (apply, get, describe,
//     delete, rollout, logs, ...).
//
// # Reading manifests
//
// A program that reads manifests decodes them strictly, defaults them and
// validates them, as the API server does:
//
//	scheme := api.NewDefaultScheme()
//	objs, err := scheme.DecodeAll(manifest) // a typo such as spec.replcas is an error
//	if err != nil {
//		return err
//	}
//	for _, obj := range objs {
//		scheme.SetDefaultNamespace(obj, "default") // as kubectl does
//		api.Default(obj)
//		if errs := scheme.Validate(obj); len(errs) > 0 {
//			return errs // every problem, each with its field path
//		}
//	}
//
// # The store
//
// Only the API server touches the store. An embedded single member is one
// call:
//
//	st, err := raftstore.Open(ctx, raftstore.DefaultConfig(dataDir))
//	if err != nil {
//		return err
//	}
//	defer st.Close()
//	rev, err := st.Create(ctx, "/registry/pods/default/web", podJSON)
//	kv, err := st.Get(ctx, "/registry/pods/default/web", store.ReadOptions{}) // linearizable
//	events, err := st.Watch(ctx, "/registry/pods/", rev, store.WatchOptions{})
//
// Three or five members form a highly available store: the first
// bootstraps, the others Join through any member; every member accepts
// writes and linearizable reads.
//
// # A controller
//
// A reconciler reads the state of one object and makes the world match it;
// the Manager feeds it the keys of objects that changed:
//
//	mgr, err := controller.NewManager(controller.ManagerConfig{Client: c})
//	if err != nil {
//		return err
//	}
//	err = controller.NewControllerManagedBy(mgr).
//		For(&api.Deployment{}).   // reconcile a Deployment when it changes,
//		Owns(&api.ReplicaSet{}).  // or when a ReplicaSet it controls does
//		Complete(controller.Func(func(ctx context.Context, req controller.Request) (controller.Result, error) {
//			// read, compare, act; idempotent
//			return controller.Result{}, nil
//		}))
//	if err != nil {
//		return err
//	}
//	return mgr.Start(ctx)
//
// # Your own kinds
//
// A kind is a Go struct that embeds api.TypeMeta and api.ObjectMeta.
// Register it in a scheme and every generic part of Drover serves it:
//
//	type Widget struct {
//		api.TypeMeta   `json:",inline"`
//		api.ObjectMeta `json:"metadata,omitzero"`
//		Spec           WidgetSpec `json:"spec"`
//	}
//
//	err := api.Register[Widget](scheme, api.Kind{
//		GroupVersionKind: api.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"},
//		Resource:         "widgets",
//		Namespaced:       true,
//	})
package drover
