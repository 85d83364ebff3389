// Package client is how programs talk to a Drover API server (or any
// Kubernetes-compatible one, for the kinds Drover has): controllers, the
// scheduler, the node agent, the CLI and your own programs.
//
// # Connecting
//
// A Config says where the server is and how to authenticate: by hand, from
// a kubeconfig file, or over the in-process transport of an embedded API
// server (same validation, admission, resourceVersion and watch behaviour
// as HTTP, no sockets):
//
//	cfg, err := client.KubeconfigFromEnv("")     // $KUBECONFIG or ~/.kube/config, current context
//	cfg, err := client.LoadKubeconfig(path, "dev")
//	cfg := client.Config{Host: "https://10.0.0.1:6443", BearerToken: tok, TLS: client.TLSConfig{CAFile: ca}}
//	cfg := client.Config{Transport: server.Transport()}
//	c, err := client.New(cfg)
//
// # Objects
//
// The Client's methods take objects and lists of any kind registered in
// its scheme (the built-in kinds and yours) and find the URL from the Go
// type, so one client serves every kind:
//
//	var pod api.Pod
//	err := c.Get(ctx, "default", "web", &pod)
//	err = c.List(ctx, &api.PodList{}, client.InNamespace("default"), client.MatchingLabels{"app": "web"})
//	err = c.Create(ctx, &pod)           // pod is updated with what the server stored
//	err = c.Update(ctx, &pod)           // compare-and-swap on pod's resourceVersion
//	err = c.UpdateStatus(ctx, &pod)     // through the status subresource
//	err = c.Patch(ctx, &pod, client.MergePatch, []byte(`{"metadata":{"labels":{"tier":"web"}}}`))
//	err = c.Delete(ctx, &pod, client.DeleteOptions{Preconditions: &client.Preconditions{UID: pod.UID}})
//
// Resource gives a typed view that returns new objects instead of filling
// the caller's:
//
//	pods := client.Resource[api.Pod](c)
//	pod, err := pods.Get(ctx, "default", "web")
//
// Writes take DryRunAll, which asks the server to check and answer without
// storing. MergePatchFrom computes the merge patch between two copies of an
// object, for writes that must not conflict with other writers.
//
// The subresources other than status have their own methods: Bind
// (pods/binding, for schedulers), Evict (pods/eviction), GetScale and
// Scale (the scale of Deployments and ReplicaSets) and Logs (pods/log).
//
// # Errors
//
// Every error response of the server is a *api.StatusError, its Status as
// the server sent it, so errors.Is(err, api.ErrNotFound) (ErrConflict,
// ErrAlreadyExists, ErrInvalid, ErrGone, ...) and api.IsNotFound work.
// Errors of the transport are wrapped with the verb and the path, such as
// "client: get /api/v1/namespaces/default/pods/web: dial tcp ...: connection
// refused".
//
// # Retries
//
// Requests the server refused with 429 or Retry-After, and requests that
// could not connect, are retried; so are reads that got another 5xx or a
// broken connection. Writes that may have reached the server are not: see
// RetryPolicy for the rules and the backoff. Optimistic-concurrency
// conflicts are the caller's to resolve, with RetryOnConflict.
//
// # Watch
//
// Watch returns a Watcher whose Events channel carries decoded objects of
// the watched kind, in order; BOOKMARK events are passed through, and an
// ERROR event carries a *api.StatusError (api.IsGone when the revision
// asked for was compacted: list again). Stop, or the end of the ctx,
// closes the connection and the channel. Informers
// (package client/informer) build their caches on List and Watch.
//
// # Events
//
// Package client/record records Kubernetes Events about objects,
// aggregating repeats and rate-limiting floods.
package client
