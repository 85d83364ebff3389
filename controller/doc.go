// Package controller is the reconcile runtime: what turns "this object
// changed" into calls of your code, retried until the world matches the
// spec. The built-in controllers (Deployments, ReplicaSets, Jobs, garbage
// collection, ...) are written with it, in controller/<name>, and so are
// yours.
//
// # Reconcilers
//
// A controller author writes one method:
//
//	type Reconciler interface {
//		Reconcile(ctx context.Context, req Request) (Result, error)
//	}
//
// A [Request] is only a namespace and a name. Reconcile reads the current
// state (from a [Lister], which reads the shared cache, or from the
// client), compares it with the spec, acts through the client, and
// returns. It is level-triggered: it must not care which change woke it,
// or how many changes were folded into one call, and it must be
// idempotent, because it will be called again for the same object. [Func]
// adapts a plain function.
//
// What Reconcile returns decides what happens next:
//
//   - a zero [Result] and nil: done, until the object (or something mapped
//     to it) changes again;
//   - an error: logged, counted, and retried after a per-object
//     exponential backoff (5 ms doubling up to 1000 s, and at most 10
//     retries a second overall, by default); one made only of
//     optimistic-concurrency conflicts (409 Conflict: the object changed
//     since the cache had it) is routine, and logged at Debug only;
//   - an error wrapped with [TerminalError]: logged and counted, but not
//     retried: retrying cannot fix an invalid spec;
//   - Result.RequeueAfter: called again after that long (for timeouts and
//     periodic checks);
//   - Result.Requeue: called again after the backoff, without an error.
//
// A panic in Reconcile is recovered, logged with its stack, counted, and
// retried like an error; the process keeps running.
//
// # Controllers
//
// A [Controller] feeds one Reconciler. Informer events pass through
// [Predicate]s (such as [GenerationChanged]) and a [MapFunc] that names the
// Requests to queue; a work queue de-duplicates them, so a burst of
// changes costs one call; and Options.MaxConcurrentReconciles worker
// goroutines call Reconcile, never two at once for the same Request.
//
// # The Manager and the Builder
//
// A [Manager] runs a controller process: one shared informer per kind
// (however many controllers read it), the controllers, event recorders,
// optional leader election, and HTTP endpoints for /metrics, /healthz and
// /readyz. A [Builder] wires a Reconciler into it:
//
//	mgr, err := controller.NewManager(controller.ManagerConfig{
//		Client:          c,        // a *client.Client
//		Logger:          logger,
//		MetricsAddr:     ":8080",
//		HealthProbeAddr: ":8081",
//	})
//	if err != nil { ... }
//	replicaSets, err := controller.Lister[*api.ReplicaSet](mgr)
//	if err != nil { ... }
//	r := &DeploymentReconciler{client: mgr.GetClient(), replicaSets: replicaSets}
//	err = controller.NewControllerManagedBy(mgr).
//		For(&api.Deployment{}, controller.GenerationChanged()). // reconcile Deployments, on spec changes
//		Owns(&api.ReplicaSet{}).                                // and when a ReplicaSet they control changes
//		Watches(&api.Node{}, deploymentsOnNode).                // and when a Node they run on changes
//		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
//		Complete(r)
//	if err != nil { ... }
//	err = mgr.Start(ctx) // blocks until ctx ends
//
// For names the kind reconciled: its changes queue their own Request.
// Owns names a kind whose objects carry an owner reference with
// controller: true to an object of the For kind; their changes (deletes
// included) queue the owner, and a change of owner queues both. Watches
// takes a MapFunc for any other relation. Complete reports wrong use (no
// For, a kind the scheme does not know, a duplicate name) as an error.
//
// Get listers with [Lister] while setting up, before Start: Start waits for
// the caches that exist then to sync before it starts any controller, and
// /readyz fails until they have.
//
// # Leader election
//
// With ManagerConfig.LeaderElector set (a *leaderelection.Elector from
// package client/leaderelection, over a Lease), several replicas may run:
// the controllers run only on the leader. When a replica loses the lease,
// the context of its controllers ends, they finish the Reconcile calls in
// flight and stop, and the replica competes again, still serving its
// endpoints; when it leads again its controllers start with fresh queues,
// filled from the caches, which stayed up. A Runnable that every replica
// must run implements [LeaderElectionRunnable]; a controller says so with
// Options.NeedLeaderElection.
//
//	el, err := leaderelection.New(leaderelection.Config{
//		Client: c, Namespace: "drover-system", Name: "my-controllers", Identity: hostname,
//	})
//	mgr, err := controller.NewManager(controller.ManagerConfig{Client: c, LeaderElector: el})
//
// # Who calls what
//
// Informer handler goroutines (one per source of each controller) run the
// predicates and map functions and add to the queue. Worker goroutines
// call Reconcile. Manager.Start's goroutine starts and stops everything;
// on shutdown it cancels the runnables, waits for them up to
// ManagerConfig.GracefulShutdownTimeout, then stops the informers and the
// servers.
//
// # Metrics
//
// Each controller exports, labelled controller=<name>:
// drover_controller_reconcile_total{result} (success, error, conflict,
// requeue, requeue_after, terminal_error, panic),
// drover_controller_reconcile_duration_seconds,
// drover_controller_active_workers and
// drover_controller_max_concurrent_reconciles; and its queue exports the
// drover_workqueue_* metrics (depth, adds, retries, latencies), labelled
// name=<name>.
//
// # Testing a reconciler
//
// Reconcile is a function of (state in, actions out): test it by calling
// it with a client over an in-process API server (apiserver.New over
// store/memstore, client.Config{Transport: srv.Transport()}), with no
// Manager. To test the wiring, run a Manager against the same server and
// poll for the effect; pass a fakeclock.Clock in ManagerConfig.Clock to
// drive RequeueAfter and retries without waiting.
package controller
