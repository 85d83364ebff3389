package chaostest

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/store/raftstore"
)

// chaosTiming sets the fast Raft timing both tests use: a follower that
// hears nothing for 300-600ms stands for election, so a crashed leader is
// replaced within a second or so, while the stalls of a loaded two-core
// machine running with -race rarely cause a spurious election. Requests
// wait at most 2s for a leader. Snapshots are taken often, with a short
// trailing log, so that a member that was down for a while catches up from
// a snapshot.
func chaosTiming(cfg *raftstore.Config) {
	cfg.HeartbeatTimeout = 300 * time.Millisecond
	cfg.ElectionTimeout = 300 * time.Millisecond
	cfg.LeaderLeaseTimeout = 200 * time.Millisecond
	cfg.CommitTimeout = 5 * time.Millisecond
	cfg.LeaderWait = 2 * time.Second
	cfg.SnapshotThreshold = 256
	cfg.SnapshotInterval = 250 * time.Millisecond
	cfg.TrailingLogs = 64
	cfg.ProgressInterval = time.Second
}

// envDuration reads a duration from the environment, or returns def.
func envDuration(t testing.TB, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 30s or 5m", name, v)
	}
	return d
}

// envInt reads a positive integer from the environment, or returns def.
func envInt(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// seed returns the seed of a test's random choices: DROVER_CHAOS_SEED if
// set, else a random one, which it logs so a run's choices can be
// replayed.
func seed(t testing.TB) uint64 {
	t.Helper()
	if v := os.Getenv("DROVER_CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("DROVER_CHAOS_SEED=%q: want an unsigned integer", v)
		}
		t.Logf("seed %d (from DROVER_CHAOS_SEED)", s)
		return s
	}
	s := rand.Uint64()
	t.Logf("seed %d (DROVER_CHAOS_SEED=%d replays the random choices)", s, s)
	return s
}

// newRand returns the random source of one goroutine of a test: each
// goroutine has its own, derived from the test's seed and the goroutine's
// number.
func newRand(seed uint64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

// dataDir returns a new directory for a member's data, on tmpfs
// (/dev/shm) unless DROVER_STORE_TEST_DISK is set. A process crash (which
// is what these tests inject) loses nothing that was written to tmpfs, as
// it loses nothing that was written to a disk's page cache; tmpfs only
// makes fsync cheap.
func dataDir(t testing.TB, name string) string {
	t.Helper()
	if os.Getenv("DROVER_STORE_TEST_DISK") == "" {
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			dir, err := os.MkdirTemp("/dev/shm", "drover-chaos-"+name+"-")
			if err == nil {
				t.Cleanup(func() { os.RemoveAll(dir) })
				return dir
			}
		}
	}
	return filepath.Join(t.TempDir(), name)
}

// freeAddr returns a loopback address whose port was free a moment ago.
// Members need fixed ports: their addresses are in the Raft configuration
// and must stay the same across restarts.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// artifacts is a directory for the evidence of a failure: it is kept, and
// its path logged, if the test fails, and removed otherwise. (t.TempDir
// would be removed even after a failure.)
type artifacts struct {
	t   testing.TB
	dir string
}

func newArtifacts(t testing.TB) *artifacts {
	t.Helper()
	dir, err := os.MkdirTemp("", "drover-chaos-"+t.Name()+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("evidence of the failure is kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return &artifacts{t: t, dir: dir}
}

// path returns the path of a file in the directory.
func (a *artifacts) path(name string) string { return filepath.Join(a.dir, name) }

// dumpGoroutines writes the stacks of every goroutine of this process to a
// file and returns its path.
func (a *artifacts) dumpGoroutines(name string) string {
	p := a.path(name)
	f, err := os.Create(p)
	if err != nil {
		return "(could not dump goroutines: " + err.Error() + ")"
	}
	defer f.Close()
	pprof.Lookup("goroutine").WriteTo(f, 2)
	return p
}

// fileLogger returns a logger that appends to a file, at Info level (Debug
// with DROVER_STORE_TEST_VERBOSE=1), and a function that closes the file.
// Members log here rather than to t: a nemesis makes Raft log a lot.
func fileLogger(t testing.TB, path string) (*slog.Logger, func()) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	w := &closableWriter{w: f}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: logLevel()})), w.close
}

func logLevel() slog.Level {
	if os.Getenv("DROVER_STORE_TEST_VERBOSE") != "" {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// closableWriter drops what is written after close: Raft's goroutines
// may log a moment after a member stopped.
type closableWriter struct {
	mu     sync.Mutex
	w      io.WriteCloser
	closed bool
}

func (c *closableWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return len(p), nil
	}
	return c.w.Write(p)
}

func (c *closableWriter) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		c.w.Close()
	}
}

// poll calls cond every interval until it returns true or the deadline
// passes; it reports whether cond held.
func poll(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
}

// waitDone waits for done to be closed, up to timeout, and reports whether
// it was.
func waitDone(done <-chan struct{}, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// goDone runs f in a goroutine and returns a channel closed when it
// returns.
func goDone(f func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	return done
}

// tail returns the last n bytes of a file, for a failure message.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	off := max(fi.Size()-n, 0)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return err.Error()
	}
	return string(b)
}
