package funcrt_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/examples/runtime-driver/funcrt"
	"github.com/drover-io/drover/runtime"
)

func noop(context.Context, *funcrt.Process) int { return 0 }

func TestRegistryAddRejects(t *testing.T) {
	r := funcrt.NewRegistry()
	require.NoError(t, r.Add("example.com/tasks/resize", funcrt.Image{Main: noop}))
	for _, c := range []struct {
		ref  string
		img  funcrt.Image
		want string
	}{
		{"example.com/a:v1", funcrt.Image{}, "Main is nil"},
		{"example.com/a@sha256:00", funcrt.Image{Main: noop}, "not a digest"},
		{"example.com/a b", funcrt.Image{Main: noop}, "without spaces"},
		{"", funcrt.Image{Main: noop}, "without spaces"},
		{"example.com/a:", funcrt.Image{Main: noop}, `"name:tag"`},
		{"example.com/tasks/resize:latest", funcrt.Image{Main: noop}, "already registered"},
		{"example.com/b:v1", funcrt.Image{Main: noop, Commands: map[string]funcrt.Program{"x": nil}}, `Commands["x"]`},
		{"example.com/b:v1", funcrt.Image{Main: noop, Commands: map[string]funcrt.Program{"a b": noop}}, `Commands["a b"]`},
	} {
		err := r.Add(c.ref, c.img)
		if assert.Error(t, err, c.ref) {
			assert.Contains(t, err.Error(), c.want, c.ref)
		}
	}
}

func TestRegisterPanicsOnDuplicate(t *testing.T) {
	// The default registry outlives the test (go test -count=N).
	ref := fmt.Sprintf("example.com/funcrt-test/dup:v%d", time.Now().UnixNano())
	funcrt.Register(ref, noop)
	assert.PanicsWithError(t, fmt.Sprintf("funcrt: image %q is already registered", ref), func() {
		funcrt.Register(ref, noop)
	})
	// The default registry is what a driver with no Config.Registry uses.
	d, err := funcrt.New(funcrt.Config{})
	require.NoError(t, err)
	_, err = d.PullImage(context.Background(), ref, runtime.PullOptions{})
	assert.NoError(t, err)
}

func TestPullResolvesNamesAndDigests(t *testing.T) {
	ctx := context.Background()
	r := funcrt.NewRegistry()
	require.NoError(t, r.Add("example.com/tasks/resize", funcrt.Image{Main: noop, Env: []string{"A=1"}}))
	require.NoError(t, r.Add("example.com/tasks/crop:v2", funcrt.Image{Main: noop}))
	d, err := funcrt.New(funcrt.Config{Registry: r})
	require.NoError(t, err)

	img, err := d.PullImage(ctx, "example.com/tasks/resize", runtime.PullOptions{Credentials: []runtime.Credential{{Username: "ignored"}}})
	require.NoError(t, err)
	assert.Equal(t, []string{"example.com/tasks/resize:latest"}, img.RepoTags)
	assert.Equal(t, []string{"example.com/tasks/resize@" + img.ID}, img.RepoDigests)
	assert.Equal(t, []string{funcrt.MainName}, img.Config.Entrypoint)
	assert.Equal(t, []string{"A=1"}, img.Config.Env)

	byDigest, err := d.PullImage(ctx, img.RepoDigests[0], runtime.PullOptions{})
	require.NoError(t, err)
	assert.Equal(t, img.ID, byDigest.ID, "pull by digest")
	for _, ref := range []string{"example.com/tasks/resize", "example.com/tasks/resize:latest", img.ID, img.RepoDigests[0]} {
		st, err := d.ImageStatus(ctx, ref)
		if assert.NoError(t, err, ref) {
			assert.Equal(t, img.ID, st.ID, ref)
		}
	}

	crop, err := d.PullImage(ctx, "example.com/tasks/crop:v2", runtime.PullOptions{})
	require.NoError(t, err)
	assert.NotEqual(t, img.ID, crop.ID, "each image has its own ID")

	// Another driver on the same registry computes the same ID: IDs are
	// stable across restarts.
	d2, err := funcrt.New(funcrt.Config{Registry: r})
	require.NoError(t, err)
	again, err := d2.PullImage(ctx, "example.com/tasks/resize:latest", runtime.PullOptions{})
	require.NoError(t, err)
	assert.Equal(t, img.ID, again.ID)

	for _, ref := range []string{"example.com/tasks/crop:v1", "example.com/tasks/crop@" + img.ID, "docker.io/library/busybox"} {
		_, err = d.PullImage(ctx, ref, runtime.PullOptions{})
		require.ErrorIs(t, err, runtime.ErrImageNotFound, ref)
		assert.Contains(t, err.Error(), "registered: example.com/tasks/crop:v2, example.com/tasks/resize:latest", "the error lists what is registered")
	}
}
