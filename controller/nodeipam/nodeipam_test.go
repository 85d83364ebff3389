package nodeipam

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
)

// run starts a Manager with the controller on env; stop stops it and
// waits for it.
func run(t *testing.T, env *controllertest.Env, opts Options) (stop func()) {
	t.Helper()
	mgr, err := env.NewManager(controller.ManagerConfig{})
	require.NoError(t, err)
	require.NoError(t, Add(mgr, opts))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var stopped bool
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			require.NoError(t, <-done)
		}
	}
	t.Cleanup(stop)
	return stop
}

func createNode(t *testing.T, c *client.Client, name string, podCIDRs ...string) {
	t.Helper()
	n := &api.Node{ObjectMeta: api.ObjectMeta{Name: name}, Spec: api.NodeSpec{PodCIDRs: podCIDRs}}
	if len(podCIDRs) > 0 {
		n.Spec.PodCIDR = podCIDRs[0]
	}
	require.NoError(t, c.Create(controllertest.Context(t), n))
}

// waitCIDRs waits until the node has pod CIDRs and returns them.
func waitCIDRs(t *testing.T, c *client.Client, name string) []string {
	t.Helper()
	n, err := controllertest.WaitFor(controllertest.Context(t), c, "", name, func(n *api.Node) bool { return len(n.Spec.PodCIDRs) > 0 })
	require.NoError(t, err)
	require.Equal(t, n.Spec.PodCIDRs[0], n.Spec.PodCIDR)
	return n.Spec.PodCIDRs
}

func hasEvent(t *testing.T, c *client.Client, node, reason string) bool {
	t.Helper()
	var list api.EventList
	require.NoError(t, c.List(controllertest.Context(t), &list, client.InNamespace("default")))
	return slices.ContainsFunc(list.Items, func(e api.Event) bool { return e.InvolvedObject.Name == node && e.Reason == reason })
}

func TestManyNodesGetUniqueCIDRs(t *testing.T) {
	env := controllertest.New(t)
	run(t, env, Options{})
	const n = 30
	for i := range n {
		createNode(t, env.Client, fmt.Sprintf("node-%d", i))
	}
	seen := map[string]string{}
	cluster := DefaultClusterCIDR
	for i := range n {
		name := fmt.Sprintf("node-%d", i)
		cidrs := waitCIDRs(t, env.Client, name)
		require.Len(t, cidrs, 1)
		p := netip.MustParsePrefix(cidrs[0])
		require.Equal(t, 24, p.Bits())
		require.True(t, cluster.Contains(p.Addr()), p)
		require.NotContains(t, seen, cidrs[0], "%s and %s share it", seen[cidrs[0]], name)
		seen[cidrs[0]] = name
	}
}

func TestRestartRemembersAllocations(t *testing.T) {
	env := controllertest.New(t)
	// Set by hand before the controller ever ran: taken.
	createNode(t, env.Client, "manual", "10.244.0.0/24")
	stop := run(t, env, Options{})
	createNode(t, env.Client, "a")
	createNode(t, env.Client, "b")
	have := []string{"10.244.0.0/24", waitCIDRs(t, env.Client, "a")[0], waitCIDRs(t, env.Client, "b")[0]}
	require.NotContains(t, have[1:], "10.244.0.0/24")
	stop()

	// A new run rebuilds its bitmap from the nodes: nothing handed twice.
	run(t, env, Options{})
	for _, name := range []string{"c", "d", "e"} {
		createNode(t, env.Client, name)
		cidr := waitCIDRs(t, env.Client, name)[0]
		require.NotContains(t, have, cidr, name)
		have = append(have, cidr)
	}
	require.Equal(t, []string{"10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24", "10.244.4.0/24", "10.244.5.0/24"},
		slices.Sorted(slices.Values(have)))
}

func TestExhaustionAndReuse(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	run(t, env, Options{ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}, NodeCIDRMaskSizeIPv4: 26}) // 4 blocks
	var all []string
	for i := range 4 {
		name := fmt.Sprintf("n%d", i)
		createNode(t, env.Client, name)
		all = append(all, waitCIDRs(t, env.Client, name)[0])
	}
	require.ElementsMatch(t, []string{"10.0.0.0/26", "10.0.0.64/26", "10.0.0.128/26", "10.0.0.192/26"}, all)

	createNode(t, env.Client, "late")
	controllertest.Eventually(t, func() bool { return hasEvent(t, env.Client, "late", ReasonCIDRNotAvailable) })
	var late api.Node
	require.NoError(t, env.Client.Get(ctx, "", "late", &late))
	require.Empty(t, late.Spec.PodCIDRs)

	// Deleting a node frees its block, which the waiting node gets.
	require.NoError(t, env.Client.Delete(ctx, &api.Node{ObjectMeta: api.ObjectMeta{Name: "n2"}}))
	require.Equal(t, []string{all[2]}, waitCIDRs(t, env.Client, "late"))
}

func TestDualStack(t *testing.T) {
	env := controllertest.New(t)
	run(t, env, Options{ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("fd00:10:244::/56"), netip.MustParsePrefix("10.244.0.0/16")}})
	createNode(t, env.Client, "a")
	createNode(t, env.Client, "b")
	a, b := waitCIDRs(t, env.Client, "a"), waitCIDRs(t, env.Client, "b")
	require.ElementsMatch(t, []string{"fd00:10:244::/64", "10.244.0.0/24", "fd00:10:244:1::/64", "10.244.1.0/24"}, append(a, b...))
	for _, cidrs := range [][]string{a, b} {
		require.Len(t, cidrs, 2)
		require.True(t, netip.MustParsePrefix(cidrs[0]).Addr().Is6(), "the first cluster CIDR's family first: %v", cidrs)
		require.True(t, netip.MustParsePrefix(cidrs[1]).Addr().Is4(), cidrs)
	}
}

func TestPodCIDROutsideTheClusterIsLeft(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	run(t, env, Options{})
	createNode(t, env.Client, "odd", "192.168.7.0/24")
	controllertest.Eventually(t, func() bool { return hasEvent(t, env.Client, "odd", ReasonInvalidPodCIDR) })
	var n api.Node
	require.NoError(t, env.Client.Get(ctx, "", "odd", &n))
	require.Equal(t, []string{"192.168.7.0/24"}, n.Spec.PodCIDRs)
	// And it takes nothing from the cluster CIDR.
	createNode(t, env.Client, "next")
	require.Equal(t, []string{"10.244.0.0/24"}, waitCIDRs(t, env.Client, "next"))
}
