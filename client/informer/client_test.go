package informer_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/store/memstore"
)

// TestClientSourceOverHTTP runs a factory's informers against a real API
// server over HTTP: selection by namespace and labels, the first list, and
// the changes made afterwards, deletions included.
func TestClientSourceOverHTTP(t *testing.T) {
	ms, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ms.Close() })
	scheme := api.NewDefaultScheme()
	s, err := apiserver.New(apiserver.Config{Store: ms, Scheme: scheme, Registerer: prometheus.NewRegistry()})
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	c, err := client.New(client.Config{Host: srv.URL, Scheme: scheme})
	require.NoError(t, err)
	ctx := ctxTimeout(t)
	for _, ns := range []string{"a", "b"} {
		require.NoError(t, c.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: ns}}))
	}
	cm := func(ns, name, app string) *api.ConfigMap {
		return &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app}},
			Data: map[string]string{"v": "1"}}
	}
	for _, o := range []*api.ConfigMap{cm("a", "one", "web"), cm("a", "two", "db"), cm("b", "three", "web")} {
		require.NoError(t, c.Create(ctx, o))
	}

	f, err := informer.NewFactory(informer.FactoryConfig{
		Scheme: scheme,
		Source: informer.ClientSource(c, informer.Selection{
			Namespace: "a", LabelSelector: labels.SelectorFromSet(labels.Set{"app": "web"}),
		}),
		Informer: informer.Config{PageSize: 1, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond},
	})
	require.NoError(t, err)
	inf, lister, err := informer.For[*api.ConfigMap](f)
	require.NoError(t, err)
	h := &recorder{}
	_, err = inf.AddHandler(h)
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(context.Background())
	f.Start(runCtx)
	t.Cleanup(func() { cancel(); f.Wait() })
	require.True(t, f.WaitForCacheSync(ctx))
	h.waitFor(t, false, "add a/one initial=true")

	four := cm("a", "four", "web")
	require.NoError(t, c.Create(ctx, four))
	require.NoError(t, c.Create(ctx, cm("a", "five", "db"))) // not selected
	one := &api.ConfigMap{}
	require.NoError(t, c.Get(ctx, "a", "one", one))
	one.Data["v"] = "2"
	require.NoError(t, c.Update(ctx, one))
	require.NoError(t, c.Delete(ctx, four))
	h.waitFor(t, false, "add a/one initial=true", "add a/four initial=false", "update a/one 1->2", "delete a/four v=1")

	got, err := lister.List(labels.Everything())
	require.NoError(t, err)
	require.Equal(t, []string{"one"}, names(got))
	require.Equal(t, "2", got[0].Data["v"])
	require.Equal(t, one.ResourceVersion, got[0].ResourceVersion)
}

func TestForClientRefusesNilClient(t *testing.T) {
	_, err := informer.ForClient(nil, api.Kind{GroupVersionKind: api.CoreV1.WithKind("Pod")}, informer.Selection{})
	require.ErrorContains(t, err, "client of v1, Kind=Pod is nil")
}
