package cluster

import (
	"context"
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
