package cluster

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/controllertest"
)

// freeAddr returns a loopback address with a port free a moment ago: a
// member that joins a cluster needs a fixed Raft address.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startMember starts the control-plane member name of a cluster in base.
func startMember(t *testing.T, base, name string, join []string) *ControlPlane {
	t.Helper()
	cfg := DefaultControlPlaneConfig(filepath.Join(base, name))
	cfg.Name = name
	cfg.APIAddr = "127.0.0.1:0"
	cfg.RaftAddr = freeAddr(t)
	cfg.Bootstrap = len(join) == 0
	cfg.Join = join
	cfg.Logger = testLogger(t).With("member", name)
	// controllertest.StartNodes writes a new Node's status right after
	// creating it, with no retry: nodeipam's podCIDR would race it.
	cfg.Controllers.Controllers = []string{"*", "-nodeipam"}
	cp, err := NewControlPlane(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cp.Start(ctx); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { _ = cp.Close() })
	return cp
}

// leaderOf waits until exactly one of members runs the controllers and
// returns it.
func leaderOf(t *testing.T, members []*ControlPlane) *ControlPlane {
	t.Helper()
	var leader *ControlPlane
	eventually(t, 15*time.Second, func() error {
		leader = nil
		n := 0
		for _, m := range members {
			if m.Leading() {
				leader, n = m, n+1
			}
		}
		if n != 1 {
			return fmt.Errorf("%d members run the controllers, want 1", n)
		}
		return nil
	})
	return leader
}

// TestControlPlaneFailover runs three members on loopback with a simulated
// node fleet, closes the leader, and checks that the API keeps answering
// through the others and that the controllers and the scheduler run on the
// new leader.
func TestControlPlaneFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := t.TempDir()
	first := startMember(t, base, "cp-0", nil)
	members := []*ControlPlane{first,
		startMember(t, base, "cp-1", []string{first.RaftAddr()}),
		startMember(t, base, "cp-2", []string{first.RaftAddr()}),
	}
	ms, err := first.Store().Members(ctx)
	if err != nil || len(ms) != 3 {
		t.Fatalf("members %v, %v: want 3", ms, err)
	}
	leader := leaderOf(t, members)
	var rest []*ControlPlane
	for _, m := range members {
		if m != leader {
			rest = append(rest, m)
		}
	}

	// Two nodes, whose agent talks to a member that stays, over HTTP.
	hc, err := client.New(client.Config{Host: rest[0].URL()})
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := controllertest.StartNodes(ctx, hc, controllertest.NodesConfig{Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer nodes.Close()

	running := func(p *api.Pod) error {
		if p.Spec.NodeName == "" || p.Status.Phase != api.PodRunning {
			return fmt.Errorf("is %s on node %q, want Running on a node", p.Status.Phase, p.Spec.NodeName)
		}
		return nil
	}
	if _, err := client.Resource[api.Deployment](hc).Create(ctx, deployment("before", 2)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error { return podsOf(ctx, hc, "before", 2, running) })

	// Close the leader: another member takes the controllers and the
	// scheduler, and the API answers through both that remain.
	if err := leader.Close(); err != nil {
		t.Fatalf("close the leader: %v", err)
	}
	next := leaderOf(t, rest)
	for _, m := range rest {
		c := m.Client()
		eventually(t, 10*time.Second, func() error {
			_, err := client.Resource[api.Deployment](c).Get(ctx, "default", "before")
			return err
		})
	}
	if _, err := client.Resource[api.Deployment](next.Client()).Create(ctx, deployment("after", 2)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error { return replicaSetOf(ctx, hc, "after") })
	eventually(t, 20*time.Second, func() error { return podsOf(ctx, hc, "after", 2, running) })
	if err := podsOf(ctx, hc, "before", 2, running); err != nil {
		t.Fatalf("after failover: %v", err)
	}
}
