package client_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
)

func TestFinalize(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	ctx := ctxT(t)
	require.NoError(t, c.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "team"}}))
	var ns api.Namespace
	require.NoError(t, c.Get(ctx, "", "team", &ns))
	require.Contains(t, ns.Spec.Finalizers, api.FinalizerKubernetes)

	// A stale resourceVersion is a conflict.
	stale := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "team", ResourceVersion: "1"}}
	require.ErrorIs(t, c.Finalize(ctx, stale), api.ErrConflict)

	// Deleting it leaves it Terminating, held by "kubernetes".
	require.NoError(t, c.Delete(ctx, &ns))
	require.NoError(t, c.Get(ctx, "", "team", &ns))
	require.Equal(t, api.NamespaceTerminating, ns.Status.Phase)

	// Finalize with no spec.finalizers lets it go.
	ns.Spec.Finalizers = nil
	require.NoError(t, c.Finalize(ctx, &ns))
	require.Empty(t, ns.Spec.Finalizers)
	require.ErrorIs(t, c.Get(ctx, "", "team", &api.Namespace{}), api.ErrNotFound)
	require.ErrorIs(t, c.Finalize(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "team"}}), api.ErrNotFound)
	require.Error(t, c.Finalize(ctx, nil))
}
