// Package rolloutbench measures the built-in controllers end to end
// (issue 7): with simulated nodes that report pods Running at once
// (controllertest.StartNodes), a Deployment of 1,000 replicas is created,
// then rolled to a new image, and each phase reports its wall time and the
// API requests it took, by verb and resource and by component.
//
// Everything runs in one process, as Drover's all-in-one mode does: an
// API server over a store (memstore, or a one-member raftstore over TCP
// on 127.0.0.1 with its data in a temporary directory), every component a
// client of it through its in-process transport (the same handler chain,
// metrics and limits as HTTP, without the sockets); the real scheduler
// (scheduler.New, default profile) and all the built-in controllers
// (builtin.Add, the default Config) under one controller.Manager; and the
// simulated nodes, whose Leases are renewed every 10 s throughout.
//
// Requests are counted twice: by the API server, from its
// drover_apiserver_requests_total counter (verb, resource with
// subresource, code), read from its Prometheus registry before and after
// each phase; and by component (controller manager, scheduler, nodes,
// the benchmark itself), by a counting http.RoundTripper in front of each
// component's client. The command is ../../cmd/rolloutbench.
package rolloutbench
