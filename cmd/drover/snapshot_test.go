package main

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// startUp runs drover up on dir until the returned stop is called, and
// returns a client of it.
func startUp(t *testing.T, dir string) (*client.Client, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"up", "--data-dir", dir, "--api-addr", "127.0.0.1:0", "--kubelet-addr", "127.0.0.1:0", "--runtime", "fake"}, &out, &errOut)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if code := <-exited; code != 0 {
			t.Errorf("drover up exited with %d: %s", code, errOut.String())
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "export KUBECONFIG=") {
		select {
		case code := <-exited:
			stopped = true
			t.Fatalf("drover up exited with %d: %s%s", code, out.String(), errOut.String())
		case <-time.After(10 * time.Millisecond): // polling interval
		}
		if time.Now().After(deadline) {
			t.Fatalf("drover up not ready after 20 s: %s", out.String())
		}
	}
	cfg, err := client.LoadKubeconfig(filepath.Join(dir, "kubeconfig"), "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, stop
}

func TestSnapshotSaveRestore(t *testing.T) {
	ctx := context.Background()
	dir, newDir, offDir := t.TempDir(), t.TempDir(), t.TempDir()
	online := filepath.Join(t.TempDir(), "online.snap")
	offline := filepath.Join(t.TempDir(), "offline.snap")
	defer func(d time.Duration) { saveProgressEvery = d }(saveProgressEvery)
	saveProgressEvery = 0 // a progress line for every write

	c, stop := startUp(t, dir)
	ns := client.Resource[api.Namespace](c)
	for _, name := range []string{"saved-one", "saved-two"} {
		if _, err := ns.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	saved, err := ns.Get(ctx, "", "saved-two")
	if err != nil {
		t.Fatal(err)
	}
	// Offline, a running cluster's store is refused, with what to do.
	code, _, errOut := drover(ctx, "snapshot", "save", offline, "--data-dir", dir)
	want := "is running: save it online with `drover snapshot save " + offline + " --kubeconfig " + filepath.Join(dir, "kubeconfig") + "`, or stop it first"
	if code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("offline save of a running cluster: exit %d, %q; want %q", code, errOut, want)
	}

	// Online, from the running cluster.
	code, out, errOut := drover(ctx, "snapshot", "save", online, "--kubeconfig", filepath.Join(dir, "kubeconfig"))
	if code != 0 {
		t.Fatalf("online save: exit %d: %s", code, errOut)
	}
	if !regexp.MustCompile(`^✓ saved \d+ objects at revision \d+ to .*online\.snap \(\d+(\.\d)? k?B, \d+ ms\)\n$`).MatchString(out) {
		t.Errorf("online save printed %q", out)
	}
	if !regexp.MustCompile(`^(  \d+(\.\d)? k?B received\n)+$`).MatchString(errOut) {
		t.Errorf("online save printed no progress, or other lines, on stderr: %q", errOut)
	}
	if _, err := os.Stat(online + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("online save left %s.tmp behind (stat: %v)", online, err)
	}
	t.Logf("drover snapshot save (online): %s", out)
	if _, err := ns.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "after-save"}}); err != nil {
		t.Fatal(err)
	}
	stop()

	// Offline, once stopped.
	code, out, errOut = drover(ctx, "snapshot", "save", offline, "--data-dir", dir)
	if code != 0 {
		t.Fatalf("offline save: exit %d: %s", code, errOut)
	}
	if !regexp.MustCompile(`^✓ saved \d+ objects at revision \d+ to .*offline\.snap \(\d+(\.\d)? k?B, \d+ ms\)\n$`).MatchString(out) {
		t.Errorf("offline save printed %q", out)
	}
	t.Logf("drover snapshot save (offline): %s", out)
	if code, out, errOut = drover(ctx, "snapshot", "restore", offline, "--data-dir", offDir); code != 0 || !strings.HasPrefix(out, "✓ restored ") {
		t.Errorf("restore of the offline backup: exit %d: %s%s", code, out, errOut)
	}

	// The online backup restores, and a cluster starts on it.
	code, out, errOut = drover(ctx, "snapshot", "restore", online, "--data-dir", newDir)
	if code != 0 {
		t.Fatalf("restore: exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "✓ restored ") || !strings.Contains(out, "drover up --data-dir "+newDir) {
		t.Errorf("restore printed %q", out)
	}
	t.Logf("drover snapshot restore: %s", out)
	// Restoring again into the same directory is refused.
	code, _, errOut = drover(ctx, "snapshot", "restore", online, "--data-dir", newDir)
	if code != 1 || !strings.Contains(errOut, "holds a cluster already: restore into a new --data-dir") {
		t.Errorf("second restore: exit %d, %q", code, errOut)
	}

	c, _ = startUp(t, newDir)
	got, err := client.Resource[api.Namespace](c).Get(ctx, "", "saved-two")
	if err != nil {
		t.Fatalf("the restored cluster lacks a saved object: %v", err)
	}
	if got.ResourceVersion != saved.ResourceVersion || got.UID != saved.UID {
		t.Errorf("restored namespace: resourceVersion %s uid %s, want %s %s", got.ResourceVersion, got.UID, saved.ResourceVersion, saved.UID)
	}
	if _, err := client.Resource[api.Namespace](c).Get(ctx, "", "saved-one"); err != nil {
		t.Errorf("the restored cluster lacks saved-one: %v", err)
	}
	if _, err := client.Resource[api.Namespace](c).Get(ctx, "", "after-save"); !api.IsNotFound(err) {
		t.Errorf("the restored cluster has a namespace created after the online save (err %v)", err)
	}
}

// writeKubeconfig writes a kubeconfig for host in a new directory and
// returns its path.
func writeKubeconfig(t *testing.T, host string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := client.WriteKubeconfig(path, client.NewKubeconfig("test", client.Config{Host: host})); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSnapshotErrors(t *testing.T) {
	ctx := context.Background()
	junk := filepath.Join(t.TempDir(), "junk.snap")
	if err := os.WriteFile(junk, []byte("not a backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	newDir := t.TempDir()
	// No kubeconfig anywhere: not in $KUBECONFIG, nor in drover up's
	// default data directory.
	t.Setenv("KUBECONFIG", filepath.Join(empty, "missing-kubeconfig"))
	t.Setenv("XDG_DATA_HOME", empty)
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	older := httptest.NewServer(http.NotFoundHandler())
	defer older.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"snapshot", "save", "x.snap", "--data-dir", empty}, "drover snapshot save: " + empty + " holds no cluster: pass the --data-dir"},
		{[]string{"snapshot", "save", "--data-dir", empty}, "want one argument, FILE; got 0"},
		{[]string{"snapshot", "save", "x.snap", "--data-dir", empty, "--kubeconfig", junk}, "pass --data-dir DIR (a stopped cluster) or --kubeconfig FILE (a running one), not both"},
		{[]string{"snapshot", "save", "x.snap"}, "no kubeconfig to find the running cluster: pass --kubeconfig FILE or set KUBECONFIG, or save a stopped cluster with --data-dir DIR"},
		{[]string{"snapshot", "save", "x.snap", "--kubeconfig", filepath.Join(empty, "nope")}, "kubeconfig " + filepath.Join(empty, "nope") + " does not exist"},
		{[]string{"snapshot", "save", filepath.Join(empty, "x.snap"), "--kubeconfig", writeKubeconfig(t, closed)}, "cannot reach the cluster at " + closed + " (connect: connection refused): is it running?"},
		{[]string{"snapshot", "save", filepath.Join(empty, "x.snap"), "--kubeconfig", writeKubeconfig(t, older.URL)}, "the cluster at " + older.URL + " serves no snapshots (an older drover): stop it and save with --data-dir DIR"},
		{[]string{"snapshot", "restore", junk}, "pass --data-dir NEWDIR"},
		{[]string{"snapshot", "restore", filepath.Join(empty, "missing.snap"), "--data-dir", newDir}, "cannot read the backup"},
		{[]string{"snapshot", "restore", junk, "--data-dir", newDir}, "is not a usable backup"},
	} {
		code, _, errOut := drover(ctx, tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("drover %s: exit %d, stderr %q; want exit 1 and one line with %q", strings.Join(tc.args, " "), code, errOut, tc.want)
		}
	}
	// A failed restore leaves the directory usable for the next one.
	if entries, _ := os.ReadDir(filepath.Join(newDir, "store")); len(entries) != 0 {
		t.Errorf("a failed restore left %d files in %s/store", len(entries), newDir)
	}
	// A failed online save leaves no file behind.
	if _, err := os.Stat(filepath.Join(empty, "x.snap.tmp")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed online save left x.snap.tmp (stat: %v)", err)
	}
}

func TestHumanNumbers(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 2_100_000: "2.1 MB", 3_400_000_000: "3.4 GB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1234: "1,234", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
