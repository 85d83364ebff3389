package cluster

import "path/filepath"

// The layout of a data directory, for the programs that work on one while
// its cluster is stopped (drover snapshot, drover image) and for the node
// agent, so that they all find the same files.

// StoreDir returns the directory under dataDir that holds the store
// member's Raft log, snapshots and metadata (raftstore.Config.DataDir).
func StoreDir(dataDir string) string { return storeDir(dataDir) }

// ImagesDir returns the directory under dataDir that holds the node's
// image store (image.Config.Root): `drover image import` writes there and
// the node agent runs containers from there.
func ImagesDir(dataDir string) string { return filepath.Join(dataDir, "images") }
