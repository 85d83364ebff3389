package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/raftstore"
)

// newSnapshot returns `drover snapshot` and its verbs save and restore.
//
// save works online, from the running cluster of the kubeconfig, through
// its control plane's snapshot endpoint (cluster.FetchSnapshot); or
// offline with --data-dir, on the data directory of a stopped cluster: it
// opens its store member, which leads alone again as it did when it ran,
// and writes a backup. restore is offline: it bootstraps a new one-member
// store from a backup, which `drover up` then starts with.
func newSnapshot() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Save the cluster's state to a file, or start a new cluster from one",
		Long: `Save the state of a cluster (every object, with its revisions) to a file,
from the running cluster of the kubeconfig or from the data directory of a
stopped one, and restore it into a new data directory:

  drover snapshot save backup.snap                  # running cluster ($KUBECONFIG)
  drover snapshot save backup.snap --data-dir DIR   # stopped cluster
  drover snapshot restore backup.snap --data-dir NEWDIR
  drover up --data-dir NEWDIR`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newSnapshotSave(), newSnapshotRestore())
	return cmd
}

func newSnapshotSave() *cobra.Command {
	var dataDir, kubeconfig, kcontext string
	cmd := &cobra.Command{
		Use:   "save FILE [--kubeconfig FILE | --data-dir DIR]",
		Short: "Write a backup of the cluster to FILE",
		Long: `Write a backup of the cluster's store to FILE: every object and the
history since the last compaction, with their revisions.

Without --data-dir the backup comes from the running cluster of the
kubeconfig (--kubeconfig, else $KUBECONFIG or ~/.kube/config, else the
one "drover up" writes in its default data directory): any control-plane
member answers, with a consistent backup that holds every write
acknowledged before it was asked for. The cluster goes on serving.

With --data-dir the backup is read from the data directory of a stopped
one-member cluster, which this command opens; it refuses a data directory
a running cluster uses.`,
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			online := !cmd.Flags().Changed("data-dir")
			if !online && (cmd.Flags().Changed("kubeconfig") || cmd.Flags().Changed("context")) {
				return errors.New("pass --data-dir DIR (a stopped cluster) or --kubeconfig FILE (a running one), not both")
			}
			if online {
				cfg, err := saveKubeconfig(kubeconfig, kcontext)
				if err != nil {
					return err
				}
				return snapshotSaveOnline(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), cfg, args[0])
			}
			dir, err := filepath.Abs(dataDir)
			if err != nil {
				return fmt.Errorf("--data-dir %q: %w", dataDir, err)
			}
			return snapshotSave(cmd.Context(), cmd.OutOrStdout(), dir, args[0])
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory of a stopped cluster, to save offline")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the running cluster (default $KUBECONFIG, ~/.kube/config, or drover up's)")
	cmd.Flags().StringVar(&kcontext, "context", "", "the kubeconfig context to use (default its current context)")
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
			return fmt.Errorf("the cluster in %s is running: save it online with `drover snapshot save %s --kubeconfig %s`, or stop it first",
				dataDir, shellQuote(file), shellQuote(cluster.KubeconfigPath(dataDir)))
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

// saveProgressEvery is how often an online save prints how many bytes it
// has received.
var saveProgressEvery = time.Second

// saveKubeconfig returns the client configuration of the running cluster
// to save: from --kubeconfig, else $KUBECONFIG or ~/.kube/config, else the
// kubeconfig drover up writes in its default data directory.
func saveKubeconfig(path, kcontext string) (client.Config, error) {
	if path == "" && !anyExists(client.KubeconfigPaths()) {
		if p := cluster.KubeconfigPath(defaultDataDir()); anyExists([]string{p}) {
			path = p
		}
	}
	if path == "" {
		if !anyExists(client.KubeconfigPaths()) {
			return client.Config{}, errors.New("no kubeconfig to find the running cluster: pass --kubeconfig FILE or set KUBECONFIG, or save a stopped cluster with --data-dir DIR")
		}
		return client.KubeconfigFromEnv(kcontext)
	}
	if !anyExists([]string{path}) {
		return client.Config{}, fmt.Errorf("kubeconfig %s does not exist: pass the one drover up wrote (DIR/kubeconfig), or save a stopped cluster with --data-dir DIR", path)
	}
	return client.LoadKubeconfig(path, kcontext)
}

// anyExists reports whether any of paths exists.
func anyExists(paths []string) bool {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// snapshotSaveOnline saves a backup of the running cluster of cfg to file,
// through FILE.tmp, which it syncs and renames.
func snapshotSaveOnline(ctx context.Context, out, errw io.Writer, cfg client.Config, file string) error {
	start := time.Now()
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	tmp := abs + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write the backup: %w", err)
	}
	kept := false
	defer func() {
		if !kept {
			f.Close()
			os.Remove(tmp)
		}
	}()
	cfg.UserAgent = "drover-cli"
	pw := &progressWriter{w: f, out: errw, every: saveProgressEvery, last: time.Now()}
	info, err := cluster.FetchSnapshot(ctx, cfg, pw)
	if err != nil {
		return onlineSaveError(ctx, cfg.Host, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, abs)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	kept = true
	if err := syncDir(filepath.Dir(abs)); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	what := "a backup"
	if info.Keys >= 0 {
		what = thousands(info.Keys) + " objects"
	}
	fmt.Fprintf(out, "✓ saved %s at revision %d to %s (%s, %d ms)\n",
		what, info.Revision, file, humanBytes(info.Size), time.Since(start).Milliseconds())
	return nil
}

// onlineSaveError says what went wrong with an online save of the cluster
// at host, and what to do.
func onlineSaveError(ctx context.Context, host string, err error) error {
	var se *cluster.SnapshotStatusError
	var oe *net.OpError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted: no backup written (%w)", ctx.Err())
	case errors.As(err, &se) && se.Code == http.StatusNotFound:
		return fmt.Errorf("the cluster at %s serves no snapshots (an older drover): stop it and save with --data-dir DIR", host)
	case errors.As(err, &se) && se.Code == http.StatusServiceUnavailable:
		return fmt.Errorf("the cluster at %s cannot take a snapshot now: %s", host, se.Message)
	case errors.As(err, &se):
		return fmt.Errorf("the cluster at %s refused the snapshot: %d %s", host, se.Code, se.Message)
	case errors.As(err, &oe) && oe.Op == "dial":
		return fmt.Errorf("cannot reach the cluster at %s (%v): is it running? Check --kubeconfig, or save a stopped cluster with --data-dir DIR", host, oe.Err)
	}
	return fmt.Errorf("save from %s: %w; no backup written, try again", host, err)
}

// progressWriter counts the bytes written through it and prints the count
// to out at most once per every.
type progressWriter struct {
	w     io.Writer
	out   io.Writer
	every time.Duration
	n     int64
	last  time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if now := time.Now(); now.Sub(p.last) >= p.every {
		p.last = now
		fmt.Fprintf(p.out, "  %s received\n", humanBytes(p.n))
	}
	return n, err
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
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
