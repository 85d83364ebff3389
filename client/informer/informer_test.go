package informer_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/apiserver/registry"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/store/memstore"
)

// registryLW lists and watches through a real registry over memstore: the
// API server's own semantics (revisions, paging, 410 after compaction),
// without HTTP.
type registryLW struct {
	reg    *registry.Registry
	scheme *api.Scheme

	lists, watches atomic.Int32
	// gate, if set, is received from before each Watch after the first.
	gate chan struct{}
	// stopWatches, when closed-and-replaced, ends the current watch.
	mu   sync.Mutex
	stop chan struct{}
}

func (r *registryLW) List(ctx context.Context, o informer.ListOptions) (*informer.Page, error) {
	r.lists.Add(1)
	list, err := r.reg.List(ctx, "", registry.ListOptions{
		Limit: o.Limit, Continue: o.Continue, ResourceVersion: o.ResourceVersion,
	})
	if err != nil {
		return nil, err
	}
	items := reflect.ValueOf(list).Elem().FieldByName("Items")
	page := &informer.Page{ResourceVersion: list.GetListMeta().ResourceVersion, Continue: list.GetListMeta().Continue}
	for i := range items.Len() {
		page.Items = append(page.Items, items.Index(i).Addr().Interface().(api.Object))
	}
	return page, nil
}

func (r *registryLW) Watch(ctx context.Context, o informer.ListOptions) (<-chan informer.Event, error) {
	if n := r.watches.Add(1); n > 1 && r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r.mu.Lock()
	if r.stop == nil {
		r.stop = make(chan struct{})
	}
	stop := r.stop
	r.mu.Unlock()
	wctx, cancel := context.WithCancel(ctx)
	events, err := r.reg.Watch(wctx, "", registry.ListOptions{ResourceVersion: o.ResourceVersion, AllowBookmarks: o.AllowBookmarks})
	if err != nil {
		cancel()
		return nil, err
	}
	out := make(chan informer.Event)
	go func() {
		defer close(out)
		defer func() {
			cancel()
			for range events {
			}
		}()
		for {
			var ev api.WatchEvent
			var ok bool
			select {
			case <-stop:
				return
			case ev, ok = <-events:
				if !ok {
					return
				}
			}
			e := informer.Event{Type: ev.Type}
			if ev.Type == api.WatchError {
				var st api.Status
				if err := api.UnmarshalStrict(ev.Object, &st); err != nil {
					e.Err = err
				} else {
					e.Err = &api.StatusError{Status: st}
				}
			} else {
				obj, err := r.scheme.Decode(ev.Object)
				if err != nil {
					e = informer.Event{Type: api.WatchError, Err: err}
				}
				e.Object = obj
			}
			select {
			case out <- e:
			case <-wctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// endWatch ends the current watch, as a server or a network would.
func (r *registryLW) endWatch() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop != nil {
		close(r.stop)
	}
	r.stop = make(chan struct{})
}

// recorder is a Handler that records what it is told.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (h *recorder) add(s string) {
	h.mu.Lock()
	h.events = append(h.events, s)
	h.mu.Unlock()
}

func (h *recorder) OnAdd(obj api.Object, initial bool) {
	h.add(fmt.Sprintf("add %s initial=%v", informer.Key(obj), initial))
}

func (h *recorder) OnUpdate(old, obj api.Object) {
	h.add(fmt.Sprintf("update %s %s->%s", informer.Key(obj),
		old.(*api.ConfigMap).Data["v"], obj.(*api.ConfigMap).Data["v"]))
}

func (h *recorder) OnDelete(obj api.Object) {
	h.add(fmt.Sprintf("delete %s v=%s", informer.Key(obj), obj.(*api.ConfigMap).Data["v"]))
}

func (h *recorder) get() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

// waitFor polls until the recorder has exactly want (sorted if sorted).
func (h *recorder) waitFor(t *testing.T, sorted bool, want ...string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		got := h.get()
		if sorted {
			slices.Sort(got)
		}
		assert.Equal(c, want, got)
	}, 5*time.Second, 5*time.Millisecond)
}

type env struct {
	st     *memstore.Store
	scheme *api.Scheme
	reg    *registry.Registry
	lw     *registryLW
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	scheme := api.NewDefaultScheme()
	k, _ := scheme.KindFor(api.CoreV1.WithKind("ConfigMap"))
	// No watch cache: a watch from a compacted revision must get 410 Gone
	// from the store (a cache could still serve it from memory, and then
	// TestRelistsAfterCompaction would not relist).
	reg, err := registry.New(st, scheme, k, registry.Options{WatchCacheSize: -1})
	require.NoError(t, err)
	return &env{st: st, scheme: scheme, reg: reg, lw: &registryLW{reg: reg, scheme: scheme}}
}

func (e *env) create(t *testing.T, ns, name, v string, lbls map[string]string) *api.ConfigMap {
	t.Helper()
	out, err := e.reg.Create(context.Background(), &api.ConfigMap{
		ObjectMeta: api.ObjectMeta{Namespace: ns, Name: name, Labels: lbls},
		Data:       map[string]string{"v": v},
	}, registry.CreateOptions{})
	require.NoError(t, err)
	return out.(*api.ConfigMap)
}

func (e *env) update(t *testing.T, ns, name, v string) {
	t.Helper()
	cur, err := e.reg.Get(context.Background(), ns, name, registry.GetOptions{})
	require.NoError(t, err)
	cm := api.DeepCopy(cur.(*api.ConfigMap))
	cm.Data["v"] = v
	_, err = e.reg.Update(context.Background(), cm, registry.UpdateOptions{})
	require.NoError(t, err)
}

func (e *env) delete(t *testing.T, ns, name string) {
	t.Helper()
	_, err := e.reg.Delete(context.Background(), ns, name, registry.DeleteOptions{})
	require.NoError(t, err)
}

// start runs inf until the test ends.
func start(t *testing.T, inf *informer.Informer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inf.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

func fastConfig(lw informer.ListerWatcher) informer.Config {
	return informer.Config{ListerWatcher: lw, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}
}

func TestListThenWatch(t *testing.T) {
	e := newEnv(t)
	e.create(t, "a", "one", "1", map[string]string{"app": "web"})
	e.create(t, "a", "two", "1", nil)
	e.create(t, "b", "three", "1", map[string]string{"app": "web"})

	cfg := fastConfig(e.lw)
	cfg.PageSize = 2 // two pages
	inf, err := informer.New(cfg)
	require.NoError(t, err)
	h := &recorder{}
	reg, err := inf.AddHandler(h)
	require.NoError(t, err)
	require.False(t, inf.HasSynced())
	start(t, inf)

	require.True(t, informer.WaitForSync(ctxTimeout(t), inf.HasSynced, reg.HasSynced))
	h.waitFor(t, true, "add a/one initial=true", "add a/two initial=true", "add b/three initial=true")
	require.Equal(t, int32(2), e.lw.lists.Load(), "two pages")

	e.update(t, "a", "one", "2")
	e.delete(t, "a", "two")
	e.create(t, "b", "four", "1", nil)
	h.waitFor(t, false, "add a/one initial=true", "add a/two initial=true", "add b/three initial=true",
		"update a/one 1->2", "delete a/two v=1", "add b/four initial=false")

	lister := informer.NewLister[*api.ConfigMap](inf.Cache(), api.GroupResource{Resource: "configmaps"})
	one, err := lister.Get("a", "one")
	require.NoError(t, err)
	require.Equal(t, "2", one.Data["v"])
	require.True(t, olderOrEqual(one.ResourceVersion, inf.LastSyncResourceVersion()))
	_, err = lister.Get("a", "two")
	require.True(t, errors.Is(err, api.ErrNotFound), "%v", err)
	web, err := lister.List(labels.SelectorFromSet(labels.Set{"app": "web"}))
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"one", "three"}, names(web))
	inB, err := lister.ListNamespace("b", labels.Everything())
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"three", "four"}, names(inB))
}

func TestResumesWatchWithoutRelisting(t *testing.T) {
	e := newEnv(t)
	inf, err := informer.New(fastConfig(e.lw))
	require.NoError(t, err)
	h := &recorder{}
	_, err = inf.AddHandler(h)
	require.NoError(t, err)
	start(t, inf)
	require.True(t, informer.WaitForSync(ctxTimeout(t), inf.HasSynced))

	var want []string
	for i := range 5 {
		name := fmt.Sprintf("cm%d", i)
		e.create(t, "a", name, "1", nil)
		want = append(want, "add a/"+name+" initial=false")
		h.waitFor(t, false, want...)
		// The watch drops; the change made while it is down is not lost.
		e.lw.endWatch()
		e.update(t, "a", name, "2")
		want = append(want, "update a/"+name+" 1->2")
		h.waitFor(t, false, want...)
	}
	require.Equal(t, int32(1), e.lw.lists.Load(), "a dropped watch resumes without listing again")
	require.GreaterOrEqual(t, e.lw.watches.Load(), int32(6))
}

func TestRelistsAfterCompaction(t *testing.T) {
	e := newEnv(t)
	e.create(t, "a", "gone", "1", nil)
	e.create(t, "a", "kept", "1", nil)
	e.lw.gate = make(chan struct{})
	inf, err := informer.New(fastConfig(e.lw))
	require.NoError(t, err)
	h := &recorder{}
	_, err = inf.AddHandler(h)
	require.NoError(t, err)
	start(t, inf)
	h.waitFor(t, true, "add a/gone initial=true", "add a/kept initial=true")
	seen := inf.LastSyncResourceVersion()

	// While the informer cannot watch, objects change and the history is
	// compacted away: its next watch gets 410 Gone, and it lists again.
	e.lw.endWatch()
	e.delete(t, "a", "gone")
	e.update(t, "a", "kept", "2")
	e.create(t, "a", "new", "1", nil)
	ctx := context.Background()
	rev, err := e.st.Revision(ctx)
	require.NoError(t, err)
	require.NoError(t, e.st.Compact(ctx, rev))
	close(e.lw.gate)

	// A relist reports its differences in no particular order.
	h.waitFor(t, true, "add a/gone initial=true", "add a/kept initial=true",
		"add a/new initial=false", "delete a/gone v=1", "update a/kept 1->2")
	require.Equal(t, int32(2), e.lw.lists.Load())
	require.True(t, olderOrEqual(seen, inf.LastSyncResourceVersion()))
	require.Equal(t, []string{"a/kept", "a/new"}, inf.Cache().Keys())
}

// scriptedLW answers lists from a script and watches with 410 Gone.
type scriptedLW struct {
	mu    sync.Mutex
	pages []*informer.Page
	lists int
}

func (s *scriptedLW) List(context.Context, informer.ListOptions) (*informer.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pages[min(s.lists, len(s.pages)-1)]
	s.lists++
	return p, nil
}

func (s *scriptedLW) Watch(ctx context.Context, _ informer.ListOptions) (<-chan informer.Event, error) {
	return nil, api.NewGone("too old resource version")
}

func (s *scriptedLW) listCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lists
}

func TestNeverGoesBackInTime(t *testing.T) {
	cm := func(name, rv string) api.Object {
		return &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "a", Name: name, ResourceVersion: rv}}
	}
	lw := &scriptedLW{pages: []*informer.Page{
		{ResourceVersion: "10", Items: []api.Object{cm("x", "10")}},
		// A stale server answers with an older state: it must be refused.
		{ResourceVersion: "7", Items: []api.Object{cm("x", "5"), cm("old", "6")}},
		{ResourceVersion: "12", Items: []api.Object{cm("x", "12")}},
	}}
	inf, err := informer.New(fastConfig(lw))
	require.NoError(t, err)
	start(t, inf)
	require.Eventually(t, func() bool { return lw.listCount() >= 3 }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return inf.LastSyncResourceVersion() == "12" }, 5*time.Second, time.Millisecond)
	require.Equal(t, []string{"a/x"}, inf.Cache().Keys(), "the older list was never applied")
}

func TestHandlerAddedLateSeesEverythingOnce(t *testing.T) {
	e := newEnv(t)
	for i := range 20 {
		e.create(t, "a", fmt.Sprintf("cm%02d", i), "1", nil)
	}
	inf, err := informer.New(fastConfig(e.lw))
	require.NoError(t, err)
	start(t, inf)
	require.True(t, informer.WaitForSync(ctxTimeout(t), inf.HasSynced))

	// Writes race with the registration: each object is still seen once
	// as an add, and then only as updates.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20 {
			e.update(t, "a", fmt.Sprintf("cm%02d", i), "2")
		}
	}()
	h := &lastState{adds: map[string]int{}, v: map[string]string{}}
	reg, err := inf.AddHandler(h)
	require.NoError(t, err)
	<-done
	require.True(t, informer.WaitForSync(ctxTimeout(t), reg.HasSynced))
	require.Eventually(t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.v) != 20 {
			return false
		}
		for _, v := range h.v {
			if v != "2" {
				return false
			}
		}
		return true
	}, 5*time.Second, 5*time.Millisecond)
	h.mu.Lock()
	defer h.mu.Unlock()
	for key, n := range h.adds {
		require.Equal(t, 1, n, "adds of %s", key)
	}
	require.Empty(t, h.errs)
}

// lastState is a Handler that checks each update follows what it was told
// before, and keeps the last value of each object.
type lastState struct {
	mu   sync.Mutex
	adds map[string]int
	v    map[string]string
	errs []string
}

func (h *lastState) OnAdd(obj api.Object, _ bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.adds[informer.Key(obj)]++
	h.v[informer.Key(obj)] = obj.(*api.ConfigMap).Data["v"]
}

func (h *lastState) OnUpdate(old, obj api.Object) {
	h.mu.Lock()
	defer h.mu.Unlock()
	key := informer.Key(obj)
	if h.v[key] != old.(*api.ConfigMap).Data["v"] || h.adds[key] != 1 {
		h.errs = append(h.errs, fmt.Sprintf("update of %s from %q, last told %q", key, old.(*api.ConfigMap).Data["v"], h.v[key]))
	}
	h.v[key] = obj.(*api.ConfigMap).Data["v"]
}

func (h *lastState) OnDelete(obj api.Object) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errs = append(h.errs, "unexpected delete of "+informer.Key(obj))
}

func TestIndexes(t *testing.T) {
	yes := true
	owned := func(name string, owners ...api.UID) api.Object {
		m := api.ObjectMeta{Namespace: "a", Name: name, Labels: map[string]string{"tier": name[:1]}}
		for i, uid := range owners {
			ref := api.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: string(uid), UID: uid}
			if i == 0 {
				ref.Controller = &yes
			}
			m.OwnerReferences = append(m.OwnerReferences, ref)
		}
		return &api.Pod{ObjectMeta: m, Spec: api.PodSpec{NodeName: "node-" + name[:1]}}
	}
	byNode := func(obj api.Object) []string { return []string{obj.(*api.Pod).Spec.NodeName} }
	c, err := informer.NewCache(informer.Indexers{"node": byNode})
	require.NoError(t, err)
	_, err = informer.NewCache(informer.Indexers{informer.IndexNamespace: byNode})
	require.ErrorContains(t, err, "already exists")

	lw := &scriptedLW{pages: []*informer.Page{{ResourceVersion: "3", Items: []api.Object{
		owned("a1", "rs1"), owned("a2", "rs1", "rs2"), owned("b1", "rs2"),
	}}}}
	inf, err := informer.New(informer.Config{ListerWatcher: lw, Indexers: informer.Indexers{"node": byNode}, MinBackoff: time.Hour})
	require.NoError(t, err)
	start(t, inf)
	require.True(t, informer.WaitForSync(ctxTimeout(t), inf.HasSynced))

	l := informer.NewLister[*api.Pod](inf.Cache(), api.GroupResource{Resource: "pods"})
	for _, tc := range []struct {
		index, value string
		want         []string
	}{
		{informer.IndexOwner, "rs1", []string{"a1", "a2"}},
		{informer.IndexOwner, "rs2", []string{"a2", "b1"}},
		{informer.IndexController, "rs2", []string{"b1"}},
		{informer.IndexNamespace, "a", []string{"a1", "a2", "b1"}},
		{"node", "node-a", []string{"a1", "a2"}},
		{"node", "node-z", []string{}},
	} {
		got, err := l.ByIndex(tc.index, tc.value, labels.Everything())
		require.NoError(t, err)
		require.ElementsMatch(t, tc.want, names(got), "%s=%s", tc.index, tc.value)
	}
	got, err := l.ByIndex("node", "node-a", labels.SelectorFromSet(labels.Set{"tier": "a"}))
	require.NoError(t, err)
	require.Len(t, got, 2)
	_, err = l.ByIndex("nope", "x", labels.Everything())
	require.ErrorContains(t, err, `no index "nope"`)
	_, err = informer.NewLister[*api.ConfigMap](inf.Cache(), api.GroupResource{Resource: "pods"}).Get("a", "a1")
	require.ErrorContains(t, err, "holds a *api.Pod")
	require.Equal(t, []string{"node-a", "node-b"}, inf.Cache().IndexValues("node"))
	require.NoError(t, c.AddIndexers(informer.Indexers{"other": byNode}))
}

func TestFactorySharesInformers(t *testing.T) {
	e := newEnv(t)
	e.create(t, "a", "one", "1", nil)
	f, err := informer.NewFactory(informer.FactoryConfig{
		Scheme: e.scheme,
		Source: func(k api.Kind) (informer.ListerWatcher, error) {
			if k.Kind != "ConfigMap" {
				return nil, fmt.Errorf("no source for %s", k.Kind)
			}
			return e.lw, nil
		},
		Informer: informer.Config{MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond},
	})
	require.NoError(t, err)
	inf1, lister, err := informer.For[*api.ConfigMap](f)
	require.NoError(t, err)
	inf2, _, err := informer.For[*api.ConfigMap](f)
	require.NoError(t, err)
	require.Same(t, inf1, inf2)
	_, _, err = informer.For[*api.Pod](f)
	require.ErrorContains(t, err, "no source for Pod")

	ctx, cancel := context.WithCancel(context.Background())
	f.Start(ctx)
	require.True(t, f.WaitForCacheSync(ctxTimeout(t)))
	got, err := lister.Get("a", "one")
	require.NoError(t, err)
	require.Equal(t, "1", got.Data["v"])
	cancel()
	f.Wait()
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  informer.Config
		want string
	}{
		{informer.Config{}, "ListerWatcher is nil"},
		{informer.Config{ListerWatcher: &scriptedLW{}, MinBackoff: -1}, "must not be negative"},
		{informer.Config{ListerWatcher: &scriptedLW{}, MinBackoff: time.Second, MaxBackoff: time.Millisecond}, "greater than MaxBackoff"},
		{informer.Config{ListerWatcher: &scriptedLW{}, WatchTimeout: -1}, "WatchTimeout"},
	} {
		_, err := informer.New(tc.cfg)
		require.ErrorContains(t, err, tc.want)
	}
}

func names[T api.Object](objs []T) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.GetObjectMeta().Name
	}
	return out
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func olderOrEqual(a, b string) bool {
	var x, y int64
	_, _ = fmt.Sscan(a, &x)
	_, _ = fmt.Sscan(b, &y)
	return x <= y
}

// silentLW lists one object, then opens watches that never deliver
// anything and never end on their own: a server that hung, or a
// connection that died without a reset.
type silentLW struct {
	watches atomic.Int32
	timeout atomic.Int64 // TimeoutSeconds of the last watch
}

func (s *silentLW) List(context.Context, informer.ListOptions) (*informer.Page, error) {
	return &informer.Page{ResourceVersion: "5", Items: []api.Object{
		&api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "a", Name: "x", ResourceVersion: "5"}},
	}}, nil
}

func (s *silentLW) Watch(ctx context.Context, o informer.ListOptions) (<-chan informer.Event, error) {
	s.watches.Add(1)
	s.timeout.Store(o.TimeoutSeconds)
	out := make(chan informer.Event)
	go func() {
		<-ctx.Done()
		close(out)
	}()
	return out, nil
}

// TestSilentWatchIsAbandoned: a watch that stays silent past the time it
// asked the server for is given up and started again, instead of leaving
// the informer stuck on it forever. A WatchTimeout under a second asks the
// server for one second, not for its default.
func TestSilentWatchIsAbandoned(t *testing.T) {
	lw := &silentLW{}
	cfg := fastConfig(lw)
	cfg.WatchTimeout = 20 * time.Millisecond
	inf, err := informer.New(cfg)
	require.NoError(t, err)
	start(t, inf)
	require.Eventually(t, func() bool { return lw.watches.Load() >= 3 }, 5*time.Second, time.Millisecond,
		"the silent watch was never abandoned")
	require.Equal(t, int64(1), lw.timeout.Load())
}
