// Package volume makes the volumes of the pods a node runs: the node
// agent calls Manager.SetUp before it starts a pod's containers, mounts
// the host paths SetUp returns into them, calls SetUp again periodically
// so that configMap, secret, projected and downwardAPI volumes follow
// their sources, and calls Manager.TearDown once the pod is gone.
//
// Volumes live under Config.Root (<RootDir>/pods):
//
//	<Root>/<pod uid>/volumes/empty-dir/<name>     emptyDir
//	<Root>/<pod uid>/volumes/configmap/<name>     configMap
//	<Root>/<pod uid>/volumes/secret/<name>        secret
//	<Root>/<pod uid>/volumes/projected/<name>     projected
//	<Root>/<pod uid>/volumes/downward-api/<name>  downwardAPI
//
// A hostPath volume is the node's path itself, checked (or made) as its
// type says; nothing is copied.
//
// An emptyDir is a directory anyone in the pod may write; with medium
// Memory it is a tmpfs, which needs root: without it SetUp fails rather
// than pretend. A disk-backed sizeLimit is recorded, not enforced
// (enforcing it is eviction's, which the node agent does not do yet).
//
// Secret and projected volumes are on a tmpfs when the node agent runs
// as root, as in Kubernetes, so that secrets never reach the disk;
// otherwise they are on disk in a 0700 directory.
//
// The files of configMap, secret, projected and downwardAPI volumes are
// written atomically: the contents go to a new timestamped directory
// (..2026_11_21_13_45_07.123), a ..data symlink is switched to it with a
// rename, and each user-visible name is a link through ..data
// (key -> ..data/key). A reader never sees a mix of two versions or a
// partly written file; an update removes the previous directory. File
// paths (keys, items) are checked: relative, clean, no "." or ".."
// element, not starting with "..", so nothing escapes the volume.
//
// Not supported yet: serviceAccountToken projections (an error naming
// the field), fsGroup ownership, subPath (the caller's, at mount time).
package volume
