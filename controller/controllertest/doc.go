// Package controllertest runs reconcilers against a real Drover API server
// in the test's own process: the apiserver package over an in-memory
// store (store/memstore), with the client talking to it through the
// server's in-process transport. Objects get the API server's defaulting,
// validation (422 Invalid with one cause per field), admission,
// resourceVersion conflicts (409), generation, the status subresource,
// finalizers and watches, exactly as over HTTP: what a reconciler meets in
// a cluster, without a cluster, and with nothing to install.
//
// An Env starts in about a millisecond (BenchmarkStart; the target is
// 100 ms, where controller-runtime's envtest starts etcd and
// kube-apiserver processes in 5–10 s), so every test gets its own:
//
//	func TestGreeter(t *testing.T) {
//		env := controllertest.New(t, controllertest.WithScheme(scheme))
//		ctx := controllertest.Context(t)
//
//		mgr, err := env.NewManager(controller.ManagerConfig{})
//		if err != nil {
//			t.Fatal(err)
//		}
//		err = controller.NewControllerManagedBy(mgr).For(&api.ConfigMap{}).Complete(&Greeter{c: mgr.GetClient()})
//		if err != nil {
//			t.Fatal(err)
//		}
//		if err := env.StartManager(mgr); err != nil {
//			t.Fatal(err)
//		}
//
//		cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "app"}}
//		if err := env.Client.Create(ctx, cm); err != nil {
//			t.Fatal(err)
//		}
//		_, err = controllertest.WaitFor(ctx, env.Client, "default", "app",
//			func(cm *api.ConfigMap) bool { return cm.Annotations["greeting"] == "hello" })
//		if err != nil {
//			t.Fatal(err)
//		}
//	}
//
// New stops the Env when the test ends; Start and Close do the same for
// programs and examples. An Env has the namespaces "default" and
// "kube-system" (WithNamespaces for others) and serves the built-in kinds
// and those of WithScheme: your own kinds, registered with api.Register,
// with their api.Validator rules and status subresource.
//
// # Time
//
// WithClock puts the API server (creationTimestamp, deletionTimestamp,
// event expiry, compaction), the store and Env.Clock on a
// fakeclock.Clock; a manager made with Env.NewManager uses Env.Clock for
// RequeueAfter and for the backoff of failed reconciles. The test then
// moves time with Advance rather than waiting for it. The client's own
// waits between retries stay in real time (see Env.ClientConfig).
//
// # Waiting
//
// A reconciler runs on its own goroutines, so a test waits for its
// effects: WaitFor and WaitForDeletion watch one object until a condition
// holds, without polling, and say what they saw last when they time out;
// Eventually polls any condition, with a deadline. Neither sleeps for a
// fixed time.
//
// # Tools
//
// WithHTTP also serves the API server on a loopback port (Env.URL), and
// Env.Kubeconfig writes a kubeconfig for it, for kubectl, client-go or
// curl while debugging a test.
//
// # Logs
//
// New sends the API server's warnings and errors to the test log; set
// DROVER_TEST_LOG=debug (or info) to see more, or pass WithLogger.
//
// # Not here
//
// An Env runs the API server only: no scheduler, no node agent and no
// built-in controllers. Pods stay Pending unless the test binds them,
// owned objects are not deleted with their owner, and a deleted namespace
// stays Terminating. Run what a test needs: the built-in controllers in
// its manager (controller/builtin, or one controller package's Add), the
// scheduler (scheduler.New), and simulated nodes (StartNodes), which act
// as node agents for the pods bound to them.
package controllertest
