package registry_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/apiserver/registry"
)

// step is an expected watch event: type and object name.
type step struct {
	typ  api.WatchEventType
	name string
}

func expect(t *testing.T, ch <-chan api.WatchEvent, steps ...step) []string {
	t.Helper()
	var rvs []string
	for _, s := range steps {
		typ, name, rv := eventMeta(t, next(t, ch))
		require.Equal(t, s, step{typ, name})
		rvs = append(rvs, rv)
	}
	return rvs
}

// requireClosed waits for ch to close, failing after a deadline.
func requireClosed(t *testing.T, ch <-chan api.WatchEvent) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("watch channel not closed within 10s")
		}
	}
}

func TestWatchInitialStateAndChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	p1, err := pods.Create(ctx, pod("a", "p1", nil), registry.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, pod("a", "p2", nil), registry.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, pod("b", "other", nil), registry.CreateOptions{})
	require.NoError(t, err)

	for _, rv := range []string{"", "0"} {
		t.Run("rv="+rv, func(t *testing.T) {
			wctx, wcancel := context.WithCancel(ctx)
			ch, err := pods.Watch(wctx, "a", registry.ListOptions{ResourceVersion: rv})
			require.NoError(t, err)
			rvs := expect(t, ch, step{api.WatchAdded, "p1"}, step{api.WatchAdded, "p2"})
			require.Equal(t, p1.GetObjectMeta().ResourceVersion, rvs[0])
			wcancel()
			requireClosed(t, ch)
		})
	}

	ch, err := pods.Watch(ctx, "a", registry.ListOptions{})
	require.NoError(t, err)
	expect(t, ch, step{api.WatchAdded, "p1"}, step{api.WatchAdded, "p2"})

	upd := api.DeepCopy(p1.(*api.Pod))
	upd.Labels = map[string]string{"x": "y"}
	updated, err := pods.Update(ctx, upd, registry.UpdateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, pod("b", "ignored", nil), registry.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Delete(ctx, "a", "p2", registry.DeleteOptions{})
	require.NoError(t, err)
	delRev, err := e.st.Revision(ctx)
	require.NoError(t, err)
	_, err = pods.Create(ctx, pod("a", "p3", nil), registry.CreateOptions{})
	require.NoError(t, err)

	rvs := expect(t, ch, step{api.WatchModified, "p1"}, step{api.WatchDeleted, "p2"}, step{api.WatchAdded, "p3"})
	require.Equal(t, updated.GetObjectMeta().ResourceVersion, rvs[0])
	require.Equal(t, strconv.FormatInt(delRev, 10), rvs[1], "DELETED carries the revision of the deletion")

	// The event's object decodes as the kind.
	obj, err := e.scheme.Decode(mustEncode(t, e.scheme, updated))
	require.NoError(t, err)
	require.Equal(t, "p1", obj.GetObjectMeta().Name)
}

func mustEncode(t *testing.T, s *api.Scheme, obj api.Object) []byte {
	t.Helper()
	b, err := s.Encode(obj)
	require.NoError(t, err)
	return b
}

func TestWatchFromRevision(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	p1, err := pods.Create(ctx, pod("a", "p1", nil), registry.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, pod("a", "p2", nil), registry.CreateOptions{})
	require.NoError(t, err)
	ch, err := pods.Watch(ctx, "", registry.ListOptions{ResourceVersion: p1.GetObjectMeta().ResourceVersion})
	require.NoError(t, err)
	expect(t, ch, step{api.WatchAdded, "p2"})
}

func TestWatchSelectorTransitions(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	web, err := labels.Parse("tier=web")
	require.NoError(t, err)
	ch, err := pods.Watch(ctx, "a", registry.ListOptions{LabelSelector: web})
	require.NoError(t, err)

	set := func(obj api.Object, tier string) api.Object {
		p := api.DeepCopy(obj.(*api.Pod))
		p.Labels = map[string]string{"tier": tier}
		out, err := pods.Update(ctx, p, registry.UpdateOptions{})
		require.NoError(t, err)
		return out
	}
	p, err := pods.Create(ctx, pod("a", "p", map[string]string{"tier": "db"}), registry.CreateOptions{})
	require.NoError(t, err)
	p = set(p, "web")  // starts matching: ADDED
	p = set(p, "web2") // stops matching: DELETED
	p = set(p, "web")  // matches again: ADDED
	p = set(p, "db")   // stops matching: DELETED
	_, err = pods.Delete(ctx, "a", "p", registry.DeleteOptions{})
	require.NoError(t, err) // deleted while not matching: nothing
	_, err = pods.Create(ctx, pod("a", "end", map[string]string{"tier": "web"}), registry.CreateOptions{})
	require.NoError(t, err)

	rvs := expect(t, ch,
		step{api.WatchAdded, "p"},
		step{api.WatchDeleted, "p"}, // web -> web2
		step{api.WatchAdded, "p"},   // web2 -> web
		step{api.WatchDeleted, "p"}, // web -> db
		step{api.WatchAdded, "end"},
	)
	require.Equal(t, p.GetObjectMeta().ResourceVersion, rvs[3], "DELETED on stop-matching carries the revision of the change")

	// A field selector works the same way.
	nodes, err := pods.Watch(ctx, "a", registry.ListOptions{
		ResourceVersion: rvs[4],
		FieldSelector:   mustFields(t, "status.phase=Running"),
	})
	require.NoError(t, err)
	end, err := pods.Get(ctx, "a", "end", registry.GetOptions{})
	require.NoError(t, err)
	running := api.DeepCopy(end.(*api.Pod))
	running.Status.Phase = api.PodRunning
	_, err = pods.Update(ctx, running, registry.UpdateOptions{Subresource: "status"})
	require.NoError(t, err)
	expect(t, nodes, step{api.WatchAdded, "end"})
}

func TestWatchBookmarks(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	_, err := pods.Create(ctx, pod("a", "p", nil), registry.CreateOptions{})
	require.NoError(t, err)
	rev, err := e.st.Revision(ctx)
	require.NoError(t, err)
	ch, err := pods.Watch(ctx, "a", registry.ListOptions{ResourceVersion: strconv.FormatInt(rev, 10), AllowBookmarks: true})
	require.NoError(t, err)

	// Tick until the bookmark comes: a tick may come before the watch waits.
	deadline := time.Now().Add(10 * time.Second)
	var ev api.WatchEvent
	for ev.Type == "" {
		if time.Now().After(deadline) {
			t.Fatal("no bookmark within 10s")
		}
		e.clock.ticks <- time.Time{}
		select {
		case ev = <-ch:
		default:
		}
	}
	require.Equal(t, api.WatchBookmark, ev.Type)
	var b map[string]any
	require.NoError(t, json.Unmarshal(ev.Object, &b))
	require.Equal(t, map[string]any{
		"kind": "Pod", "apiVersion": "v1",
		"metadata": map[string]any{"resourceVersion": strconv.FormatInt(rev, 10)},
	}, b)
}

func TestWatchCompacted(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	p1, err := pods.Create(ctx, pod("a", "p1", nil), registry.CreateOptions{})
	require.NoError(t, err)
	for _, name := range []string{"p2", "p3"} {
		_, err = pods.Create(ctx, pod("a", name, nil), registry.CreateOptions{})
		require.NoError(t, err)
	}
	rev, err := e.st.Revision(ctx)
	require.NoError(t, err)
	require.NoError(t, e.st.Compact(ctx, rev))

	ch, err := pods.Watch(ctx, "a", registry.ListOptions{ResourceVersion: p1.GetObjectMeta().ResourceVersion})
	require.NoError(t, err, "a compacted revision is reported in the stream")
	ev := next(t, ch)
	require.Equal(t, api.WatchError, ev.Type)
	var st api.Status
	require.NoError(t, json.Unmarshal(ev.Object, &st))
	require.Equal(t, int32(http.StatusGone), st.Code)
	require.Equal(t, "Status", st.Kind)
	require.Contains(t, st.Message, "too old resource version")
	requireClosed(t, ch)
}

func TestWatchErrors(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	nss := e.registry(t, namespaceGVK, registry.Options{})
	tests := []struct {
		name string
		reg  *registry.Registry
		ns   string
		opts registry.ListOptions
	}{
		{"limit", pods, "", registry.ListOptions{Limit: 1}},
		{"bad resourceVersion", pods, "", registry.ListOptions{ResourceVersion: "x"}},
		{"unsupported field", pods, "", registry.ListOptions{FieldSelector: mustFields(t, "spec.foo=x")}},
		{"namespace on cluster kind", nss, "a", registry.ListOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.reg.Watch(ctx, tt.ns, tt.opts)
			requireStatus(t, err, api.StatusReasonBadRequest, http.StatusBadRequest)
		})
	}
}
