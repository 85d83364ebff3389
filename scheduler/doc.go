// Package scheduler places pods on nodes: it watches the pods that have
// no node and name one of its profiles in spec.schedulerName, runs each
// through the profile's plugins, and binds it to the best node through
// the API server (pods/binding).
//
// # Running it
//
//	s, err := scheduler.New(scheduler.Config{Client: c, Logger: log})
//	err = s.Run(ctx)
//
// or, under a controller.Manager that runs it on the elected leader only:
//
//	s, err := scheduler.New(scheduler.Config{Client: mgr.GetClient(), Informers: mgr.Informers(), Registerer: mgr.Registry()})
//	err = mgr.Add(s)
//
// # Profiles and plugins
//
// A profile is a named set of plugins per extension point (see package
// framework for the extension points and the cycle). The default profile,
// "default-scheduler", has the default plugins (DefaultPlugins) with the
// Score weights of Kubernetes. Profiles enable and disable plugins
// relative to it and give plugins their args, in Go or in a YAML file
// (LoadConfig):
//
//	profiles:
//	- schedulerName: default-scheduler
//	- schedulerName: gpu-scheduler
//	  plugins:
//	    multiPoint:
//	      enabled: [{name: Gpu, weight: 5}]
//	  pluginConfig:
//	  - name: Gpu
//	    args: {minMemoryGiB: 16}
//
// A plugin is registered by name with a constructor that takes a typed
// argument struct; the configured args are decoded into it strictly and
// validated (if it has a Validate method):
//
//	scheduler.Register("Gpu", gpu.New) // func New(gpu.Args, framework.Handle) (*gpu.Plugin, error)
//
// # The cycle
//
// One goroutine pops the queue's best pod (ordered by the QueueSort
// plugin), copies the cache into a snapshot and runs Framework.Schedule:
// the pure part of the cycle, which a test can call on any snapshot. It
// filters the nodes in parallel, stopping once enough are feasible (an
// adaptive share on large clusters: NumFeasibleNodesToFind), scores the
// feasible ones in parallel and picks the best, at random among ties.
// Each of the two phases runs spread over Parallelism goroutines or on the
// cycle's own, whichever the scheduler has measured to take less time per
// node on this machine (spreading wakes threads and moves the nodes' data
// between caches; on a small or busy machine that costs more than it
// saves), trying the other now and then to notice a change. The
// pod is then assumed in the cache (so the next cycle counts it), Reserve
// and Permit run, and a goroutine of its own binds it: it waits for
// Permit, then PreBind, Bind, PostBind. A failure there undoes the
// assumption and Reserve and requeues the pod with backoff.
//
// # When no node fits
//
// The pod gets a FailedScheduling event and a PodScheduled=False
// condition (reason Unschedulable) whose message counts the nodes per
// reason: "0/5000 nodes are available: 3000 Insufficient cpu, 2000
// node(s) had untolerated taint {dedicated: gpu}." It waits in the
// unschedulable queue until a cluster event that could help it (a node
// added or changed, a pod deleted: each plugin says which events matter
// to it) or five minutes pass. Explain returns the pod's last attempt:
// every node's verdict, and the score per plugin of the best feasible
// nodes (the ten best and the chosen one; see Result.Scores).
package scheduler
