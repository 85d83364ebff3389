package nodeipam

import (
	"context"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
)

// nopRecorder drops Events.
type nopRecorder struct{}

func (nopRecorder) Eventf(api.Object, api.EventType, string, string, ...any) {}

// A block another allocator gave a node (the previous leader, while this
// controller was not leading; or an operator) is taken as soon as the
// cache shows it, even before that node's own reconcile: a node reconciled
// first never gets the same block. (The controller replays its cache in
// no particular order when it starts leading again.)
func TestBlockGivenElsewhereIsNotHandedOutAgain(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	mgr, err := env.NewManager(controller.ManagerConfig{})
	require.NoError(t, err)
	nodes, err := controller.Lister[*api.Node](mgr)
	require.NoError(t, err)
	fctx, cancel := context.WithCancel(context.Background())
	mgr.Informers().Start(fctx)
	t.Cleanup(func() { cancel(); mgr.Informers().Wait() })
	require.True(t, mgr.Informers().WaitForCacheSync(ctx))

	set, err := newCIDRSet(DefaultClusterCIDR, 24)
	require.NoError(t, err)
	r := newReconciler(env.Client, nodes, nopRecorder{}, []*cidrSet{set})
	reconcile := func(name string) {
		t.Helper()
		_, err := r.Reconcile(ctx, controller.Request{Name: name})
		require.NoError(t, err)
	}
	cached := func(name string, withCIDRs bool) {
		t.Helper()
		controllertest.Eventually(t, func() bool {
			n, err := nodes.Get("", name)
			return err == nil && (len(n.Spec.PodCIDRs) > 0) == withCIDRs
		})
	}

	createNode(t, env.Client, "a")
	cached("a", false)
	reconcile("a") // the first reconcile loads the cache: 10.244.0.0/24
	require.Equal(t, []string{"10.244.0.0/24"}, waitCIDRs(t, env.Client, "a"))

	// Then another allocator gives b the next block; c comes, and is
	// reconciled before b.
	createNode(t, env.Client, "b", "10.244.1.0/24")
	createNode(t, env.Client, "c")
	cached("b", true)
	cached("c", false)
	reconcile("c")
	got := waitCIDRs(t, env.Client, "c")
	require.NotEqual(t, "10.244.1.0/24", got[0], "node c got the block node b has")
	require.True(t, DefaultClusterCIDR.Contains(netip.MustParsePrefix(got[0]).Addr()))
}
