package raftstore

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Files in a data directory.
const (
	metaFileName = "drover-store.json"
	boltFileName = "raft.db"
	snapDirName  = "snapshots" // made by raft.FileSnapshotStore
	metaFormat   = 1
)

// The states a member's metadata records. A member is "bootstrapping" or
// "joining" from the moment it writes its metadata until it is part of a
// cluster; after a crash in between, Open finishes the job.
const (
	stateBootstrapping = "bootstrapping"
	stateJoining       = "joining"
	stateMember        = "member"
)

// metadata is the content of drover-store.json: who this data directory
// belongs to. It is written atomically (temporary file, fsync, rename,
// fsync of the directory) before the Raft log is created, and checked on
// every Open, so that a member never starts on another member's or
// another cluster's data, or on a directory it did not create.
type metadata struct {
	Format    int       `json:"format"`
	ClusterID string    `json:"clusterID"`
	NodeID    string    `json:"nodeID"`
	State     string    `json:"state"`
	Created   time.Time `json:"created"`
	// RestoredFrom and RestoredRevision record the backup the cluster was
	// restored from at bootstrap, if any.
	RestoredFrom     string `json:"restoredFrom,omitempty"`
	RestoredRevision int64  `json:"restoredRevision,omitempty"`
}

func newClusterID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// readMeta reads dir's metadata file; nil and no error if there is none.
func readMeta(dir string) (*metadata, error) {
	path := filepath.Join(dir, metaFileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("raftstore: read %s: %w", path, err)
	}
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("raftstore: %s is not valid store metadata (corrupt, or not written by this store); "+
			"refusing to start rather than reset it: %s", path, fmt.Sprintf(format, args...))
	}
	var m metadata
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, corrupt("%v", err)
	}
	switch {
	case m.Format != metaFormat:
		return nil, corrupt("format version %d, this build reads version %d", m.Format, metaFormat)
	case !nodeIDPattern.MatchString(m.NodeID):
		return nil, corrupt("nodeID %q is not valid", m.NodeID)
	case !nodeIDPattern.MatchString(m.ClusterID):
		return nil, corrupt("clusterID %q is not valid", m.ClusterID)
	case m.State != stateBootstrapping && m.State != stateJoining && m.State != stateMember:
		return nil, corrupt("unknown state %q", m.State)
	}
	return &m, nil
}

// writeMeta writes m to dir atomically.
func writeMeta(dir string, m *metadata) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("raftstore: encode metadata: %w", err)
	}
	path := filepath.Join(dir, metaFileName)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("raftstore: write %s: %w", tmp, err)
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("raftstore: write %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("raftstore: write %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirAllSync is os.MkdirAll that also makes the directories it creates
// durable: it fsyncs the parent of each one, so that a new data directory
// (and the metadata that writeMeta then syncs into it) is not lost with
// its directory entry on power loss. Directories that already exist are
// left alone.
func mkdirAllSync(dir string, perm os.FileMode) error {
	dir = filepath.Clean(dir)
	// The directories to create, deepest first.
	var missing []string
	for p := dir; ; {
		if _, err := os.Stat(p); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			break // let MkdirAll report it
		}
		missing = append(missing, p)
		parent := filepath.Dir(p)
		if parent == p {
			break
		}
		p = parent
	}
	if err := os.MkdirAll(dir, perm); err != nil {
		return err
	}
	// Sync from the top down: each new directory's entry is in its parent.
	for i := len(missing) - 1; i >= 0; i-- {
		if err := syncDir(filepath.Dir(missing[i])); err != nil {
			return fmt.Errorf("sync %s: %w", filepath.Dir(missing[i]), err)
		}
	}
	return nil
}

// checkDataDir creates the data directory if needed and checks that it is
// this member's: it returns the metadata, or nil for a new directory. It
// refuses a directory whose metadata is unreadable or names another member
// or cluster, and one that holds files but no metadata.
func checkDataDir(cfg Config) (*metadata, error) {
	dir := cfg.DataDir
	if err := mkdirAllSync(dir, 0o700); err != nil {
		return nil, fmt.Errorf("raftstore: create data directory: %w", err)
	}
	m, err := readMeta(dir)
	if err != nil {
		return nil, err
	}
	metaPath := filepath.Join(dir, metaFileName)
	if m == nil {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("raftstore: read data directory: %w", err)
		}
		for _, e := range entries {
			if e.Name() == metaFileName+".tmp" {
				continue // a metadata write that never finished
			}
			return nil, fmt.Errorf("raftstore: data directory %s holds %s but no %s: it is not a store data directory, "+
				"or its metadata was lost; refusing to start (use an empty directory)", dir, filepath.Join(dir, e.Name()), metaPath)
		}
		os.Remove(metaPath + ".tmp")
		return nil, nil
	}
	if m.NodeID != cfg.NodeID {
		return nil, fmt.Errorf("raftstore: %s belongs to member %q, but Config.NodeID is %q", metaPath, m.NodeID, cfg.NodeID)
	}
	if cfg.ClusterID != "" && cfg.ClusterID != m.ClusterID {
		return nil, fmt.Errorf("%w: %s belongs to cluster %q, but Config.ClusterID is %q", ErrClusterMismatch, metaPath, m.ClusterID, cfg.ClusterID)
	}
	if m.State == stateMember {
		bolt := filepath.Join(dir, boltFileName)
		if _, err := os.Stat(bolt); err != nil {
			return nil, fmt.Errorf("raftstore: %s records that member %q belongs to cluster %q, but its Raft log %s is missing: %w",
				metaPath, m.NodeID, m.ClusterID, bolt, err)
		}
	}
	return m, nil
}
