package client_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

func TestBindAndEvict(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	ctx := ctxT(t)
	require.NoError(t, c.Create(ctx, pod("default", "web", nil)))

	require.NoError(t, c.Bind(ctx, "default", "web", "node-1"))
	var p api.Pod
	require.NoError(t, c.Get(ctx, "default", "web", &p))
	require.Equal(t, "node-1", p.Spec.NodeName)
	require.ErrorIs(t, c.Bind(ctx, "default", "web", "node-2"), api.ErrConflict)
	require.ErrorIs(t, c.Bind(ctx, "default", "nope", "node-1"), api.ErrNotFound)

	// A uid precondition: a pod re-created under the same name is not
	// bound by a decision made for the old one.
	var old api.Pod
	require.NoError(t, c.Create(ctx, pod("default", "db", nil)))
	require.NoError(t, c.Get(ctx, "default", "db", &old))
	zeroGrace := int64(0)
	require.NoError(t, c.Delete(ctx, &old, client.DeleteOptions{GracePeriodSeconds: &zeroGrace}))
	require.NoError(t, c.Create(ctx, pod("default", "db", nil)))
	require.ErrorIs(t, c.Bind(ctx, "default", "db", "node-1", client.BindOptions{UID: old.UID}), api.ErrConflict)
	require.NoError(t, c.Get(ctx, "default", "db", &p))
	require.Empty(t, p.Spec.NodeName, "a binding with the old pod's uid bound the new pod")
	require.NoError(t, c.Bind(ctx, "default", "db", "node-1", client.DryRunAll, client.BindOptions{UID: p.UID}))
	require.NoError(t, c.Get(ctx, "default", "db", &p))
	require.Empty(t, p.Spec.NodeName, "a dry-run binding bound the pod")
	require.NoError(t, c.Bind(ctx, "default", "db", "node-1", client.BindOptions{UID: p.UID}))
	require.NoError(t, c.Get(ctx, "default", "db", &p))
	require.Equal(t, "node-1", p.Spec.NodeName)

	require.NoError(t, c.Evict(ctx, "default", "web", client.DryRunAll))
	require.NoError(t, c.Get(ctx, "default", "web", &p))
	zero := int64(0)
	require.NoError(t, c.Evict(ctx, "default", "web", client.DeleteOptions{GracePeriodSeconds: &zero}))
	require.ErrorIs(t, c.Get(ctx, "default", "web", &p), api.ErrNotFound)
	require.ErrorIs(t, c.Evict(ctx, "default", "web"), api.ErrNotFound)
}

func TestScale(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	ctx := ctxT(t)
	one := int32(1)
	d := &api.Deployment{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.DeploymentSpec{
			Replicas: &one,
			Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "app", Image: "nginx"}}},
			},
		},
	}
	require.NoError(t, c.Create(ctx, d))
	s, err := c.GetScale(ctx, d)
	require.NoError(t, err)
	require.Equal(t, int32(1), s.Spec.Replicas)

	s, err = c.Scale(ctx, d, 3)
	require.NoError(t, err)
	require.Equal(t, int32(3), s.Spec.Replicas)
	require.NoError(t, c.Get(ctx, "default", "web", d))
	require.Equal(t, int32(3), *d.Spec.Replicas)

	_, err = c.Scale(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "x"}}, 2)
	require.ErrorContains(t, err, "has no scale subresource")
}

// kubeletFunc is a node agent's log endpoint, in process.
type kubeletFunc func(*http.Request) (*http.Response, error)

func (f kubeletFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestLogs(t *testing.T) {
	var asked atomic.Value
	kubelet := kubeletFunc(func(r *http.Request) (*http.Response, error) {
		asked.Store(r.URL.String())
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/plain"}},
			Body: io.NopCloser(strings.NewReader("line 1\nline 2\n")), Request: r}, nil
	})
	e := newEnv(t, envOptions{kubelet: kubelet})
	c := e.client(t)
	ctx := ctxT(t)
	node := &api.Node{ObjectMeta: api.ObjectMeta{Name: "node-1"}}
	require.NoError(t, c.Create(ctx, node))
	node.Status.Addresses = []api.NodeAddress{{Type: api.NodeInternalIP, Address: "10.0.0.1"}}
	require.NoError(t, c.UpdateStatus(ctx, node))
	require.NoError(t, c.Create(ctx, pod("default", "web", nil)))
	require.NoError(t, c.Bind(ctx, "default", "web", "node-1"))

	tail := int64(2)
	rc, err := c.Logs(ctx, "default", "web", client.LogOptions{Container: "app", TailLines: &tail, Timestamps: true})
	require.NoError(t, err)
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, "line 1\nline 2\n", string(data))
	require.Contains(t, asked.Load(), "10.0.0.1:10250/containerLogs/default/web/app?")
	require.Contains(t, asked.Load(), "tailLines=2")
	require.Contains(t, asked.Load(), "timestamps=true")

	_, err = c.Logs(ctx, "default", "nope", client.LogOptions{})
	require.ErrorIs(t, err, api.ErrNotFound)
}
