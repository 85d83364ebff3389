package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/raftstore"
)

// newSnapshot returns `drover snapshot` and its verbs save and restore.
//
// Both work offline, on the data directory of a stopped cluster: save
// opens its store member, which leads alone again as it did when it ran,
// and writes a backup; restore bootstraps a new one-member store from a
// backup, which `drover up` then starts with.
func newSnapshot() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Save the cluster's state to a file, or start a new cluster from one",
		Long: `Save the state of a stopped one-member cluster (every object, with its
revisions) to a file, and restore it into a new data directory:

  drover snapshot save backup.snap --data-dir DIR
  drover snapshot restore backup.snap --data-dir NEWDIR
  drover up --data-dir NEWDIR`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newSnapshotSave(), newSnapshotRestore())
	return cmd
}

func newSnapshotSave() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "save FILE --data-dir DIR",
		Short: "Write a backup of the stopped cluster in DIR to FILE",
		Long: `Write a backup of the store of the cluster in DIR to FILE. The cluster
must be stopped: its store is opened by this command, which refuses a data
directory another process uses. The backup holds every object and the
history since the last compaction, with their revisions.`,
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := filepath.Abs(dataDir)
			if err != nil {
				return fmt.Errorf("--data-dir %q: %w", dataDir, err)
			}
			return snapshotSave(cmd.Context(), cmd.OutOrStdout(), dir, args[0])
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "data directory of the stopped cluster")
	return cmd
}

func newSnapshotRestore() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "restore FILE --data-dir NEWDIR",
		Short: "Make NEWDIR a new one-member cluster that starts with the state in FILE",
		Long: `Create a new one-member store in NEWDIR from a backup written by
"drover snapshot save"; "drover up --data-dir NEWDIR" then starts a cluster
with every object of the backup, at the same revisions. NEWDIR must not
hold a cluster already.`,
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("data-dir") {
				return errors.New("pass --data-dir NEWDIR: the new cluster's data directory, which must not hold a cluster yet")
			}
			dir, err := filepath.Abs(dataDir)
			if err != nil {
				return fmt.Errorf("--data-dir %q: %w", dataDir, err)
			}
			return snapshotRestore(cmd.Context(), cmd.OutOrStdout(), dir, args[0])
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory of the new cluster (required)")
	return cmd
}

// exactArgs accepts exactly the one argument named name.
func exactArgs(name string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("want one argument, %s; got %d", name, len(args))
		}
		return nil
	}
}

// storeMeta is the part of the store's metadata file that names the
// member, read so that save opens the member under its own ID.
type storeMeta struct {
	NodeID string `json:"nodeID"`
}

func snapshotSave(ctx context.Context, out io.Writer, dataDir, file string) error {
	start := time.Now()
	sdir := cluster.StoreDir(dataDir)
	data, err := os.ReadFile(filepath.Join(sdir, "drover-store.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s holds no cluster: pass the --data-dir that drover up or drover server used", dataDir)
	}
	if err != nil {
		return err
	}
	var meta storeMeta
	if err := json.Unmarshal(data, &meta); err != nil || meta.NodeID == "" {
		return fmt.Errorf("%s: not a store's metadata file (corrupt?)", filepath.Join(sdir, "drover-store.json"))
	}
	rc := raftstore.DefaultConfig(sdir)
	rc.NodeID = meta.NodeID
	rc.BindAddr = "127.0.0.1:0"
	rc.Logger = slog.New(slog.DiscardHandler)
	st, err := raftstore.Open(ctx, rc)
	if err != nil {
		if isLocked(sdir) {
			return fmt.Errorf("the cluster in %s is running: stop it (Ctrl-C on drover up), then save again", dataDir)
		}
		return fmt.Errorf("open the store in %s: %w", sdir, err)
	}
	defer st.Close()

	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	// Write a temporary file and rename it, so FILE is never half a backup.
	tmp, err := os.CreateTemp(filepath.Dir(abs), ".drover-snapshot-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", file, err)
	}
	defer os.Remove(tmp.Name())
	rev, err := st.Backup(ctx, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("the store in %s has no quorum on its own: it is a member of a larger cluster, whose other members must run; save from a one-member cluster", dataDir)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := os.Rename(tmp.Name(), abs); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	n, err := countKeys(ctx, st, rev)
	if err != nil {
		return err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "✓ saved %s objects at revision %d to %s (%s, %d ms)\n",
		thousands(int64(n)), rev, file, humanBytes(fi.Size()), time.Since(start).Milliseconds())
	return nil
}

func snapshotRestore(ctx context.Context, out io.Writer, dataDir, file string) error {
	start := time.Now()
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("cannot read the backup: %w", err)
	}
	sdir := cluster.StoreDir(dataDir)
	if entries, err := os.ReadDir(sdir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s holds a cluster already: restore into a new --data-dir", dataDir)
	}
	rc := raftstore.DefaultConfig(sdir)
	rc.NodeID = cluster.DefaultMemberName
	rc.BindAddr = "127.0.0.1:0"
	rc.Bootstrap = true
	rc.RestoreFrom = abs
	rc.Logger = slog.New(slog.DiscardHandler)
	st, err := raftstore.Open(ctx, rc)
	if err != nil {
		// Leave no half-made store behind: the next restore would refuse it.
		os.RemoveAll(sdir)
		return fmt.Errorf("restore %s: %w", file, err)
	}
	defer st.Close()
	rev, err := st.Revision(ctx)
	if err != nil {
		return err
	}
	n, err := countKeys(ctx, st, rev)
	if err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	fmt.Fprintf(out, "✓ restored %s objects at revision %d into %s (%d ms)\n",
		thousands(int64(n)), rev, dataDir, time.Since(start).Milliseconds())
	fmt.Fprintf(out, "start it with: drover up --data-dir %s\n", shellQuote(dataDir))
	return nil
}

// isLocked reports whether another process holds the store's Raft log
// open (bbolt's flock), which is what a running cluster does.
func isLocked(storeDir string) bool {
	f, err := os.Open(filepath.Join(storeDir, "raft.db"))
	if err != nil {
		return false
	}
	defer f.Close()
	return flockHeld(f)
}

// countKeys returns how many keys st holds at rev.
func countKeys(ctx context.Context, st store.Store, rev int64) (int, error) {
	res, err := st.List(ctx, "", store.ListOptions{Revision: rev, Limit: 1, CountRemaining: true})
	if err != nil {
		return 0, fmt.Errorf("count the objects: %w", err)
	}
	return len(res.KVs) + int(res.Remaining), nil
}

// thousands formats n with commas: 1,234,567.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// humanBytes formats n as 512 B, 2.1 kB, 3.4 MB or 1.2 GB (powers of 1000).
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), "kMGTPE"
	i := -1
	for v >= unit && i < len(suffix)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", v, suffix[i])
}

// flockHeld reports whether another open file holds a lock on f.
func flockHeld(f *os.File) bool {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
