package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/controller/controllertest"
)

// Node.Run returns the node agent's error when a part of it fails (here
// its HTTPS API, whose listener is gone): it does not wait for its own
// static pod goroutines, which only stop when the context ends.
func TestNodeRunReturnsOnFailure(t *testing.T) {
	env := controllertest.New(t)
	cfg := DefaultNodeConfig(t.TempDir())
	cfg.Name, cfg.Runtime, cfg.KubeletAddr, cfg.KubeletToken = "n1", RuntimeFake, "127.0.0.1:0", "t"
	n, err := NewNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.ln.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(context.Background(), env.Client, nil) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Run returned nil, want the server's error")
		}
	case <-time.After(controllertest.Timeout):
		t.Fatal("Run did not return after its server failed")
	}
}

// TestNodeTokenRequiredOffLoopback: a node agent whose HTTPS API other
// machines can reach must have a bearer token; on loopback it may go
// without (tests, one-machine clusters).
func TestNodeTokenRequiredOffLoopback(t *testing.T) {
	cfg := DefaultNodeConfig(t.TempDir())
	cfg.Runtime = RuntimeFake
	for addr, ok := range map[string]bool{
		":10250": false, "0.0.0.0:10250": false, "192.0.2.1:10250": false,
		"127.0.0.1:0": true, "[::1]:10250": true, "localhost:10250": true,
	} {
		cfg.KubeletAddr = addr
		err := cfg.Validate()
		if ok && err != nil {
			t.Errorf("KubeletAddr %s without a token: %v, want no error", addr, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "KubeletToken")) {
			t.Errorf("KubeletAddr %s without a token: %v, want an error naming KubeletToken", addr, err)
		}
	}
	cfg.KubeletAddr, cfg.KubeletToken = ":10250", "secret"
	if err := cfg.Validate(); err != nil {
		t.Errorf("with a token: %v", err)
	}
	// An AllInOne makes its own token at Start: its default config is valid.
	if err := DefaultAllInOneConfig(t.TempDir()).Validate(); err != nil {
		t.Errorf("DefaultAllInOneConfig: %v", err)
	}
}
