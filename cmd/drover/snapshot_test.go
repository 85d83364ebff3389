package main

import (
	"context"
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
	dir, newDir := t.TempDir(), t.TempDir()
	file := filepath.Join(t.TempDir(), "backup.snap")

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
	// A running cluster's store is refused, with what to do.
	code, _, errOut := drover(ctx, "snapshot", "save", file, "--data-dir", dir)
	if code != 1 || !strings.Contains(errOut, "is running: stop it") {
		t.Errorf("save of a running cluster: exit %d, %q", code, errOut)
	}
	stop()

	code, out, errOut := drover(ctx, "snapshot", "save", file, "--data-dir", dir)
	if code != 0 {
		t.Fatalf("save: exit %d: %s", code, errOut)
	}
	if !regexp.MustCompile(`^✓ saved \d+ objects at revision \d+ to .*backup\.snap \(\d+(\.\d)? k?B, \d+ ms\)\n$`).MatchString(out) {
		t.Errorf("save printed %q", out)
	}
	t.Logf("drover snapshot save: %s", out)
	code, out, errOut = drover(ctx, "snapshot", "restore", file, "--data-dir", newDir)
	if code != 0 {
		t.Fatalf("restore: exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "✓ restored ") || !strings.Contains(out, "drover up --data-dir "+newDir) {
		t.Errorf("restore printed %q", out)
	}
	t.Logf("drover snapshot restore: %s", out)
	// Restoring again into the same directory is refused.
	code, _, errOut = drover(ctx, "snapshot", "restore", file, "--data-dir", newDir)
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
}

func TestSnapshotErrors(t *testing.T) {
	ctx := context.Background()
	junk := filepath.Join(t.TempDir(), "junk.snap")
	if err := os.WriteFile(junk, []byte("not a backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	newDir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"snapshot", "save", "x.snap", "--data-dir", empty}, "drover snapshot save: " + empty + " holds no cluster: pass the --data-dir"},
		{[]string{"snapshot", "save", "--data-dir", empty}, "want one argument, FILE; got 0"},
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
