// Package kubelet is the node agent: it runs the pods bound to its node on
// a container runtime (package runtime), keeps them as their specs and
// restart policies say, and reports their status to the API server.
//
// A Kubelet is made from a Config (DefaultConfig, Validate, New) and runs
// with Run until its context ends:
//
//	cfg := kubelet.DefaultConfig()
//	cfg.NodeName, cfg.Client, cfg.RootDir = "node-1", c, "/var/lib/drover"
//	cfg.Runtime, cfg.Images = driver, driver
//	cfg.NewProbeManager = kubelet.Probes(prober.DefaultConfig())
//	cfg.ResolveEnv = kubelet.ResolveEnv
//	k, err := kubelet.New(cfg)
//	err = k.Run(ctx)
//
// # How a pod runs
//
// One informer watches the pods with spec.nodeName=<NodeName> (mirror
// pods excluded); SetStaticPods adds the node's static pods. Each pod has
// a worker: its syncs run one at a time, on a goroutine that exists only
// while it syncs, triggered by a change of the pod, a change of its
// containers (the PLEG lists the runtime's containers every
// RelistPeriod), a probe result, or a timer (back-off, the ResyncPeriod).
// A sync is level-triggered: it reads the pod and the runtime, decides,
// acts, and writes the status if it changed, or if someone else wrote
// another (the node lifecycle controller marking the pod not Ready). A
// status or a deletion confirmation that could not be written is tried
// again 10 s later.
//
//   - Admission: a pod whose requests do not fit the Node's allocatable
//     next to the admitted pods is Failed (OutOfcpu, OutOfmemory,
//     OutOfpods). Pods wait, Pending, until the Node exists.
//   - Sandbox: one per pod, labelled with kubelet/internal/podlabels; one
//     that dies is made again (Attempt+1) with its containers.
//   - Images by imagePullPolicy, with imagePullSecrets; failures show
//     ErrImagePull, then ImagePullBackOff (10 s doubling to 5 min).
//   - Init containers one at a time, then the containers. Exited
//     containers restart by restartPolicy, after a back-off of 10 s
//     doubling to 5 min (CrashLoopBackOff), back at 10 s after a run of
//     10 min. Per container name, the newest container and the one
//     before are kept (logs --previous); older ones are removed.
//   - Probes through a ProbeManager (package kubelet/prober): a liveness
//     or startup failure kills the container, which restarts by policy;
//     readiness drives the Ready and ContainersReady conditions.
//   - Volumes through a VolumeManager (package kubelet/volume) and the
//     environment through an EnvResolver (package kubelet/envvars); their
//     errors are CreateContainerConfigError. configMap, secret,
//     downwardAPI and projected volumes are mounted read-only; a subPath
//     may not lead out of its volume, symbolic links included.
//   - Termination: on a deletionTimestamp, preStop hooks run, containers
//     get SIGTERM and what is left of the grace period, then SIGKILL;
//     the sandbox and volumes are removed and the deletion is confirmed
//     to the API server (grace period 0, UID precondition). Succeeded and
//     Failed pods have their containers stopped and are never restarted.
//   - Adoption: a new Kubelet on a runtime that already runs its pods
//     takes them over without restarting them (restart counts come from
//     the containers' Attempt); sandboxes of pods no longer bound here
//     are removed, and so are their volumes (with a VolumeManager that
//     is a PodVolumeLister) even when their sandboxes are gone.
//
// # Hollow mode
//
// With runtime/fake, a nil Server and a shared Recorder, a Kubelet
// simulates a node cheaply: one informer (its pods), its Node read by
// name when admitting, no goroutine per idle pod, one timer per pod.
// TestHollowAgents measures the memory per agent.
package kubelet
