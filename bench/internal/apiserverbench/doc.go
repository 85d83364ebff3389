// Package apiserverbench measures watch fan-out through the API server's
// HTTP interface and etcd's watch fan-out through its Go client, side by
// side in one run.
//
// For each watcher count, each system gets that many watches of one
// prefix (Drover: HTTP watches of the ConfigMaps of a namespace, one
// loopback connection each, as client-go opens them over HTTP/1.1; etcd:
// clientv3 watches spread over a few gRPC streams, as etcd's own
// benchmark tool does), then writers create objects as fast as the
// slowest watcher keeps up with (at most MaxLag writes ahead of it), and
// the events every watcher receives are counted over a measured window.
// Before the writes, the server's memory is read with every watch open
// and idle: for Drover, the Go heap and stacks in use (after a GC) of the
// API server process, which runs apart from the clients
// (Serve, in a child process); for etcd, the member's resident set.
package apiserverbench
