// Package staticpod runs pods that the node agent reads from a directory of
// manifests instead of the API server ("static pods"), and mirrors them into
// the API server when it can be reached, as Kubernetes does.
//
// A Source polls the directory and hands the node agent the full set of
// static pods each time it changes. Each pod gets the identity of a
// Kubernetes static pod: its name is suffixed with the node's name, its
// UID is a hash of its manifest, the node and the file, so that it is the
// same after the node agent restarts and changes when the manifest does,
// and its annotations say where it came from (AnnotationSource,
// AnnotationHash, AnnotationSeen).
//
// A Mirror makes the API server's "mirror pods" match the static pods: one
// pod per static pod, with the same name, namespace and spec, annotated with
// AnnotationMirror and owned by the Node. A mirror pod is a read-only view
// for users and controllers: deleting it does not stop the static pod, and
// the next Sync makes it again. The node agent writes the static pod's
// status to its mirror pod with UpdateStatus.
//
// The node agent's loop is, in outline:
//
//	src, _ := staticpod.NewSource(staticpod.Config{Dir: dir, NodeName: node})
//	mirror, _ := staticpod.NewMirror(staticpod.MirrorConfig{Client: c, NodeName: node})
//	go src.Run(ctx, func(pods []*api.Pod) { setStatic(pods) })
//	// every few seconds, and when the static pods change:
//	if err := mirror.Sync(ctx, static); err != nil {
//		// the API server is unreachable or refused something: try again later
//	}
package staticpod
