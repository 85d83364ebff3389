package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// drover runs the command line and returns its exit code, stdout and
// stderr.
func drover(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut syncBuffer
	code := run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUpServesAndStops(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"up", "--data-dir", dir, "--api-addr", "127.0.0.1:0", "--kubelet-addr", "127.0.0.1:0", "--runtime", "fake", "--node-name", "up-test"}, &out, &errOut)
	}()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	want := "export KUBECONFIG=" + kubeconfig + "\n"
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), want) {
		select {
		case code := <-exited:
			t.Fatalf("drover up exited with %d: %s%s", code, out.String(), errOut.String())
		case <-time.After(10 * time.Millisecond): // polling interval
		}
		if time.Now().After(deadline) {
			t.Fatalf("no export line after 20 s: %s", out.String())
		}
	}
	for _, step := range []string{"store ready", "API server listening on http://127.0.0.1:", "scheduler started", "controllers started", "node registered"} {
		if !regexp.MustCompile(`(?m)^✓ ` + regexp.QuoteMeta(step) + `.*\(\d+ ms\)$`).MatchString(out.String()) {
			t.Errorf("no progress line for %q in:\n%s", step, out.String())
		}
	}
	cfg, err := client.LoadKubeconfig(kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Resource[api.Namespace](c).Get(ctx, "", "default"); err != nil {
		t.Fatalf("the API server does not answer: %v", err)
	}
	node, err := client.Resource[api.Node](c).Get(ctx, "", "up-test")
	if err != nil {
		t.Fatalf("the node agent's Node: %v", err)
	}
	if !strings.Contains(out.String(), "The cluster is up: node up-test is Ready.") {
		t.Errorf("no ready line:\n%s", out.String())
	}
	ready := false
	for _, c := range node.Status.Conditions {
		ready = ready || (c.Type == api.NodeReady && c.Status == api.ConditionTrue)
	}
	if !ready {
		t.Errorf("node up-test is not Ready: %+v", node.Status.Conditions)
	}
	cancel() // as SIGINT does
	if code := <-exited; code != 0 {
		t.Fatalf("drover up exited with %d after an interrupt: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "✓ stopped cleanly") {
		t.Fatalf("no final line:\n%s", out.String())
	}
}

func TestUpErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"up", "--data-dir", t.TempDir(), "--api-addr", ln.Addr().String(), "--kubelet-addr", "127.0.0.1:0", "--runtime", "fake"}, 1,
			fmt.Sprintf("drover up: %s is in use: stop the other server or pass --api-addr\n", ln.Addr())},
		{[]string{"up", "--runtime", "docker"}, 1, `drover up: --runtime is "docker": must be one of oci, process, fake` + "\n"},
		{[]string{"up", "--data-dir", t.TempDir(), "--api-addr", "6443"}, 1, `drover up: --api-addr is "6443": must be host:port, as 127.0.0.1:6443`},
		{[]string{"up", "--log-level", "loud"}, 1, `--log-level is "loud"`},
		{[]string{"server", "--data-dir", t.TempDir()}, 1, "drover server: pass --bootstrap to start a new cluster, or --join HOST:PORT"},
		{[]string{"server", "--bootstrap", "--raft-addr", "7000"}, 1, `drover server: --raft-addr is "7000": must be host:port`},
		{[]string{"agent"}, 1, "drover agent: --server is required"},
		{[]string{"agent", "--server", "10.0.0.1:6443"}, 1, `drover agent: --server "10.0.0.1:6443": want a URL`},
		{[]string{"up", "--kubelet-addr", "10250"}, 1, `drover up: --kubelet-addr is "10250": must be host:port`},
	} {
		code, _, errOut := drover(ctx, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("drover %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, errOut, tc.code, tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := drover(context.Background(), "version")
	if code != 0 || !strings.HasPrefix(out, "drover ") {
		t.Fatalf("drover version: exit %d, %q", code, out)
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.3.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"},
		{Key: "vcs.time", Value: "2026-11-21T12:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	got := versionString(bi, true)
	if !strings.HasPrefix(got, "drover v0.3.0 (revision 0123456789ab, 2026-11-21T12:00:00Z, modified) go1.26.0 ") {
		t.Fatalf("versionString = %q", got)
	}
	if got := versionString(nil, false); !strings.HasPrefix(got, "drover (unknown) go") {
		t.Fatalf("versionString without build info = %q", got)
	}
}

func TestCompletion(t *testing.T) {
	code, out, errOut := drover(context.Background(), "completion", "bash")
	if code != 0 || !strings.Contains(out, "__start_drover") {
		t.Fatalf("drover completion bash: exit %d, %s", code, errOut)
	}
}
