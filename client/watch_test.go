package client_test

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// next returns the next event, failing the test after a deadline.
func next(t *testing.T, w *client.Watcher) client.Event {
	t.Helper()
	select {
	case ev, ok := <-w.Events():
		require.True(t, ok, "the watch ended early")
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return client.Event{}
}

// closed waits for the events channel to close, skipping events.
func closed(t *testing.T, w *client.Watcher) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-w.Events():
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the watch did not end within 10s")
		}
	}
}

func TestWatchOrder(t *testing.T) {
	for _, transport := range []string{"http", "in-process"} {
		t.Run(transport, func(t *testing.T) {
			e := newEnv(t)
			c := e.inProcess(t)
			if transport == "http" {
				c = e.client(t)
			}
			ctx := ctxT(t)
			require.NoError(t, c.Create(ctx, pod("default", "a", nil)))
			var l api.PodList
			require.NoError(t, c.List(ctx, &l, client.InNamespace("default")))

			w, err := c.Watch(ctx, &api.PodList{}, client.ListOptions{Namespace: "default", ResourceVersion: l.ResourceVersion})
			require.NoError(t, err)
			defer w.Stop()

			b := pod("default", "b", nil)
			require.NoError(t, c.Create(ctx, b))
			b.Labels = map[string]string{"x": "y"}
			require.NoError(t, c.Update(ctx, b))
			require.NoError(t, c.Delete(ctx, &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "a"}}))
			require.NoError(t, c.Create(ctx, pod("other", "c", nil))) // another namespace: not seen

			want := []struct {
				typ  api.WatchEventType
				name string
			}{{api.WatchAdded, "b"}, {api.WatchModified, "b"}, {api.WatchDeleted, "a"}}
			var lastRV int64
			for _, wnt := range want {
				ev := next(t, w)
				require.Equal(t, wnt.typ, ev.Type)
				require.NoError(t, ev.Err)
				p, ok := ev.Object.(*api.Pod)
				require.True(t, ok, "object is %T", ev.Object)
				require.Equal(t, wnt.name, p.Name)
				rv, err := strconv.ParseInt(p.ResourceVersion, 10, 64)
				require.NoError(t, err)
				require.Greater(t, rv, lastRV, "resourceVersions increase")
				lastRV = rv
			}
		})
	}
}

func TestWatchInitialState(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	ctx := ctxT(t)
	for _, n := range []string{"w1", "w2"} {
		require.NoError(t, c.Create(ctx, &Widget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: n}}))
	}
	w, err := client.Resource[Widget](c).Watch(ctx, client.InNamespace("default"))
	require.NoError(t, err)
	defer w.Stop()
	got := map[string]bool{}
	for range 2 {
		ev := next(t, w)
		require.Equal(t, api.WatchAdded, ev.Type)
		got[ev.Object.(*Widget).Name] = true
	}
	require.Equal(t, map[string]bool{"w1": true, "w2": true}, got)
}

func TestWatchGone(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	ctx := ctxT(t)
	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "cm"}}
	require.NoError(t, c.Create(ctx, cm))
	oldRV := cm.ResourceVersion
	for i := range 3 {
		cm.Data = map[string]string{"i": string(rune('0' + i))}
		require.NoError(t, c.Update(ctx, cm))
	}
	rev, err := e.store.Revision(ctx)
	require.NoError(t, err)
	require.NoError(t, e.store.Compact(ctx, rev))

	w, err := c.Watch(ctx, &api.ConfigMapList{}, client.ListOptions{Namespace: "default", ResourceVersion: oldRV})
	require.NoError(t, err)
	defer w.Stop()
	ev := next(t, w)
	require.Equal(t, api.WatchError, ev.Type)
	require.Nil(t, ev.Object)
	require.True(t, api.IsGone(ev.Err), "err: %v", ev.Err)
	_, ok := ev.Err.(*api.StatusError)
	require.True(t, ok, "err is %T", ev.Err)
	closed(t, w)
}

func TestWatchBookmarks(t *testing.T) {
	e := newEnv(t, envOptions{progress: 20 * time.Millisecond})
	c := e.client(t)
	ctx := ctxT(t)
	var l api.PodList
	require.NoError(t, c.List(ctx, &l))
	w, err := c.Watch(ctx, &api.PodList{}, client.ListOptions{ResourceVersion: l.ResourceVersion, AllowBookmarks: true})
	require.NoError(t, err)
	defer w.Stop()
	ev := next(t, w)
	require.Equal(t, api.WatchBookmark, ev.Type)
	p, ok := ev.Object.(*api.Pod)
	require.True(t, ok, "bookmark object is %T", ev.Object)
	require.NotEmpty(t, p.ResourceVersion)
	require.Empty(t, p.Name)
}

func TestWatchStopAndCancel(t *testing.T) {
	e := newEnv(t)
	for _, transport := range []string{"http", "in-process"} {
		t.Run(transport, func(t *testing.T) {
			c := e.inProcess(t)
			if transport == "http" {
				c = e.client(t)
			}
			w, err := c.Watch(ctxT(t), &api.PodList{})
			require.NoError(t, err)
			w.Stop()
			_, ok := <-w.Events()
			require.False(t, ok, "Stop closes the channel")
			w.Stop() // twice is fine

			ctx, cancel := context.WithCancel(ctxT(t))
			w, err = c.Watch(ctx, &api.PodList{})
			require.NoError(t, err)
			cancel()
			closed(t, w)
			w.Stop()
		})
	}
}

func TestWatchServerEndsStream(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	w, err := c.Watch(ctxT(t), &api.PodList{}, client.ListOptions{TimeoutSeconds: 1})
	require.NoError(t, err)
	defer w.Stop()
	for ev := range w.Events() {
		require.NotEqual(t, api.WatchError, ev.Type, "a clean end is no error: %v", ev.Err)
	}
}

func TestWatchBadRequest(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	_, err := c.Watch(ctxT(t), &api.PodList{}, client.ListOptions{Limit: 3})
	require.ErrorIs(t, err, api.ErrBadRequest)
}

// TestWatchStopEndsServerSide checks that Stop and the ctx close the
// connection: the server's watch handler returns.
func TestWatchStopEndsServerSide(t *testing.T) {
	e := newEnv(t)
	var started, ended atomic.Int32
	e.serve(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("watch") != "true" {
				next.ServeHTTP(w, r)
				return
			}
			started.Add(1)
			defer ended.Add(1)
			next.ServeHTTP(w, r)
		})
	})
	c := e.client(t)
	w, err := c.Watch(ctxT(t), &api.PodList{})
	require.NoError(t, err)
	require.Equal(t, int32(1), started.Load())
	w.Stop()
	eventually(t, "the server's watch to end after Stop", func() bool { return ended.Load() == 1 })

	ctx, cancel := context.WithCancel(ctxT(t))
	w, err = c.Watch(ctx, &api.PodList{})
	require.NoError(t, err)
	cancel()
	eventually(t, "the server's watch to end after cancel", func() bool { return ended.Load() == 2 })
	w.Stop()
}
