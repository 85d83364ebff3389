// Package prober runs the liveness, readiness and startup probes of the
// containers on a node, as Kubernetes does, and tells the node agent when
// a result changes.
//
// The node agent makes one Manager and, for every container it starts (or
// adopts after a restart), calls Add with the pod, the container's spec,
// the runtime's container ID, when it started and where its network
// probes connect (a Target). It reads the results with Ready and Started
// when it writes the pod's status, and reacts to OnUpdate: a liveness or
// startup Failure means the container must be killed and restarted (the
// agent then Adds the new container ID and Removes the old one); a
// readiness change means the pod's Ready condition changes.
//
// The semantics are Kubernetes': the first probe runs initialDelaySeconds
// after the container started, then one every periodSeconds, each bounded
// by timeoutSeconds; a result counts once it repeats failureThreshold
// times (Failure) or successThreshold times (Success; readiness only,
// the others use 1). Readiness starts as Failure (not ready), liveness as
// Success. While a container has a startup probe that has not passed,
// its liveness and readiness probes do not run. After a liveness or
// startup Failure the container's probes of that kind pause: the agent
// restarts the container under a new ID.
//
// Probes are exec (through the runtime's runtime.Execer), httpGet and
// tcpSocket (through Target.Dial, so the agent can connect inside a pod's
// network namespace). The API has no grpc probes.
//
// A Manager is cheap per container: no goroutine per probe, only a heap
// of next-probe times driven by one timer of the Clock; due probes run
// on a small pool of goroutines (Config.MaxConcurrentProbes). A hollow
// node with thousands of containers on runtime/fake costs a few hundred
// bytes per probe.
package prober
