// Package server is the node agent's HTTPS API, what the API server and
// the CLI reach on a node (port 10250, as the kubelet's):
//
//	GET /containerLogs/{namespace}/{pod}/{container}  a container's log; the API server's pods/log proxies here
//	GET /stats/summary                                CPU and memory of the node, its pods and containers (Summary)
//	GET /pods                                         the pods the runtime runs (PodList, not a v1 PodList)
//	GET|POST /exec/{namespace}/{pod}/{container}      a command in a running container over WebSocket
//	GET /healthz, /readyz, /metrics                   health, readiness, Prometheus metrics
//
// The server reads everything from the runtime (runtime.Runtime and its
// optional StatsProvider and Execer) and the containers' log files: it
// finds a pod's sandboxes and containers by the labels of
// kubelet/internal/podlabels, so it needs no state of the pod workers and
// answers the same after the node agent restarts.
//
// New makes a Server of a Config; Run serves it over TLS with the
// configured certificate, or a self-signed one kept in Config.CertDir;
// Handler serves it on a listener of one's own (tests: httptest).
package server
