package informer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client/informer"
)

// decodedPod returns benchPod(i) as a client gets it: decoded from JSON,
// so that none of its strings or maps is shared with another pod's.
func decodedPod(t testing.TB, i int) *api.Pod {
	t.Helper()
	data, err := json.Marshal(benchPod(i))
	require.NoError(t, err)
	obj, err := api.NewDefaultScheme().DecodeTrusted(data)
	require.NoError(t, err)
	return obj.(*api.Pod)
}

func newInterner(t testing.TB, cfg informer.InternerConfig) *informer.Interner {
	t.Helper()
	in, err := informer.NewInterner(cfg)
	require.NoError(t, err)
	return in
}

func sameString(a, b string) bool {
	return a == b && unsafe.StringData(a) == unsafe.StringData(b)
}

func sameMap[M ~map[K]V, K comparable, V any](a, b M) bool {
	return a != nil && reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func TestInternSharesRepeatedParts(t *testing.T) {
	in := newInterner(t, informer.DefaultInternerConfig())
	a, b := decodedPod(t, 1), decodedPod(t, 51) // same namespace (team-1)
	wantA, wantB := api.DeepCopy(a), api.DeepCopy(b)
	require.False(t, sameString(a.Namespace, b.Namespace), "decoding shares nothing")

	require.Same(t, a, in.Intern(a), "Intern works in place")
	require.Same(t, b, in.Intern(b))

	// Nothing changes but sharing.
	assert.Equal(t, wantA, a)
	assert.Equal(t, wantB, b)

	ca, cb := a.Spec.Containers[0], b.Spec.Containers[0]
	for _, s := range [][2]string{
		{a.Namespace, b.Namespace},
		{a.GenerateName, b.GenerateName},
		{a.OwnerReferences[0].Name, b.OwnerReferences[0].Name},
		{string(a.OwnerReferences[0].UID), string(b.OwnerReferences[0].UID)},
		{ca.Image, cb.Image},
		{ca.Env[0].Value, cb.Env[0].Value},
		{string(a.Status.Conditions[0].Status), string(b.Status.Conditions[0].Status)},
		{a.Status.ContainerStatuses[0].ImageID, b.Status.ContainerStatuses[0].ImageID},
		{a.Status.HostIP, b.Status.HostIP},
	} {
		assert.True(t, sameString(s[0], s[1]), "%q is not shared", s[0])
	}
	assert.True(t, sameMap(a.Labels, b.Labels), "labels are not shared")
	assert.True(t, sameMap(a.Annotations, b.Annotations), "annotations are not shared")
	assert.True(t, sameMap(ca.Resources.Requests, cb.Resources.Requests), "requests are not shared")
	assert.True(t, sameMap(ca.Resources.Limits, cb.Resources.Limits), "limits are not shared")
	assert.Same(t, a.OwnerReferences[0].Controller, b.OwnerReferences[0].Controller, "*bool is not shared")
	assert.Same(t, a.Spec.TerminationGracePeriodSeconds, b.Spec.TerminationGracePeriodSeconds, "*int64 is not shared")

	// Different maps stay apart, and a DeepCopy shares nothing.
	c := decodedPod(t, 2)
	c.Labels["tier"] = "backend"
	in.Intern(c)
	assert.False(t, sameMap(a.Labels, c.Labels))
	assert.Equal(t, "frontend", a.Labels["tier"])
	cp := api.DeepCopy(a)
	assert.False(t, sameMap(a.Labels, cp.Labels))
}

func TestInternSkipsUniqueMetadata(t *testing.T) {
	in := newInterner(t, informer.DefaultInternerConfig())
	a := decodedPod(t, 7)
	name, uid, rv := strings.Clone(a.Name), strings.Clone(string(a.UID)), strings.Clone(a.ResourceVersion)
	in.Intern(a)
	// Not in the table: String gives back the copy it is asked about.
	for _, s := range []string{name, uid, rv} {
		assert.True(t, sameString(s, in.String(s)), "%q was interned", s)
	}
	ns := strings.Clone(a.Namespace)
	assert.True(t, sameString(a.Namespace, in.String(ns)), "the namespace was not interned")
}

func TestInternTablesAreBounded(t *testing.T) {
	in := newInterner(t, informer.InternerConfig{MaxStrings: 64, MaxMaps: 8, MaxStringLen: 16, MaxMapLen: 2})
	hot := in.String(strings.Clone("hot"))
	for i := range 1000 {
		in.String(fmt.Sprintf("cold-%d", i))
		// Seen in every generation: kept.
		require.True(t, sameString(hot, in.String(strings.Clone("hot"))), "a string in use was forgotten after %d others", i)
		pod := decodedPod(t, i)
		pod.Labels["n"] = fmt.Sprint(i) // a new map each time
		in.Intern(pod)
		s, m := in.Len()
		require.LessOrEqual(t, s, 64)
		require.LessOrEqual(t, m, 8)
	}
	// Not seen for a whole generation: forgotten.
	cold := strings.Clone("cold-0")
	assert.True(t, sameString(cold, in.String(cold)))

	// Too long to intern.
	long := strings.Repeat("x", 17)
	in.String(long)
	long2 := strings.Clone(long)
	assert.True(t, sameString(long2, in.String(long2)))
}

func TestInternLargeMapsKeepTheirOwn(t *testing.T) {
	in := newInterner(t, informer.InternerConfig{MaxMapLen: 2})
	a, b := decodedPod(t, 1), decodedPod(t, 1)
	in.Intern(a)
	in.Intern(b)
	assert.False(t, sameMap(a.Labels, b.Labels), "a map over MaxMapLen is shared")
	assert.True(t, sameMap(a.Annotations, b.Annotations))
	for k, v := range b.Labels { // but its strings are interned, keys too
		assert.True(t, sameString(v, in.String(strings.Clone(v))), "label %s", k)
		assert.True(t, sameString(k, in.String(strings.Clone(k))), "label key %s", k)
	}
	assert.Equal(t, decodedPod(t, 1), b)
}

// widget is a user kind: recursive, with arrays, interfaces, pointers to
// scalars, unexported fields and maps of structs.
type widget struct {
	api.TypeMeta   `json:",inline"`
	api.ObjectMeta `json:"metadata"`
	Parts          []*widgetPart
	Pairs          [2]string
	Extra          any
	Named          map[string]widgetPart
	Limit          *string
	hidden         string
}

type widgetPart struct {
	Name string
	Sub  *widgetPart
}

func (w *widget) GetTypeMeta() *api.TypeMeta     { return &w.TypeMeta }
func (w *widget) GetObjectMeta() *api.ObjectMeta { return &w.ObjectMeta }

func newWidget(hidden string) *widget {
	c := func(s string) string { return strings.Clone(s) }
	limit := c("limit")
	return &widget{
		ObjectMeta: api.ObjectMeta{Name: c("w"), Namespace: c("ns")},
		Parts:      []*widgetPart{{Name: c("a"), Sub: &widgetPart{Name: c("deep")}}},
		Pairs:      [2]string{c("left"), c("right")},
		Extra:      map[string]any{c("k"): []any{c("v"), 1.5}},
		Named:      map[string]widgetPart{c("x"): {Name: c("y")}},
		Limit:      &limit,
		hidden:     hidden,
	}
}

func TestInternUserKinds(t *testing.T) {
	in := newInterner(t, informer.DefaultInternerConfig())
	a, b := newWidget(strings.Clone("h")), newWidget(strings.Clone("h"))
	want := newWidget("h")
	in.Intern(a)
	in.Intern(b)
	assert.Equal(t, want, b)
	assert.True(t, sameString(a.Namespace, b.Namespace))
	assert.True(t, sameString(a.Parts[0].Sub.Name, b.Parts[0].Sub.Name))
	assert.True(t, sameString(a.Pairs[1], b.Pairs[1]))
	assert.Same(t, a.Limit, b.Limit)
	assert.True(t, sameMap(a.Named, b.Named))
	assert.True(t, sameMap(a.Extra.(map[string]any), b.Extra.(map[string]any)))
	assert.False(t, sameString(a.hidden, b.hidden), "unexported fields are left alone")

	// Odd inputs are returned as they are.
	var nilPod *api.Pod
	assert.Nil(t, in.Intern(nilPod))
}

func TestInternIsSafeForConcurrentUse(t *testing.T) {
	in := newInterner(t, informer.InternerConfig{MaxStrings: 32, MaxMaps: 4})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				pod := decodedPod(t, g*50+i)
				want := api.DeepCopy(pod)
				in.Intern(pod)
				assert.Equal(t, want, pod)
			}
		}()
	}
	wg.Wait()
}

func TestInternerConfigValidate(t *testing.T) {
	_, err := informer.NewInterner(informer.InternerConfig{MaxMapLen: -1})
	require.ErrorContains(t, err, "MaxMapLen")
	_, err = informer.New(informer.Config{ListerWatcher: &scriptedLW{}, DisableIntern: true, Interner: newInterner(t, informer.InternerConfig{})})
	require.ErrorContains(t, err, "DisableIntern")
}

// chanLW lists one page, then sends what is put on events to the first
// watch.
type chanLW struct {
	page   *informer.Page
	events chan informer.Event
}

func (c *chanLW) List(context.Context, informer.ListOptions) (*informer.Page, error) {
	return c.page, nil
}

func (c *chanLW) Watch(ctx context.Context, _ informer.ListOptions) (<-chan informer.Event, error) {
	out := make(chan informer.Event)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-c.events:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// eventually polls cond until it holds or 5 seconds pass.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestInformerTransformsAndInterns(t *testing.T) {
	for _, tc := range []struct {
		name   string
		intern bool
	}{{"interned", true}, {"DisableIntern", false}} {
		t.Run(tc.name, func(t *testing.T) {
			lw := &chanLW{
				page:   &informer.Page{ResourceVersion: "1", Items: []api.Object{decodedPod(t, 1), decodedPod(t, 2)}},
				events: make(chan informer.Event),
			}
			var mu sync.Mutex
			var transformed []string
			cfg := fastConfig(lw)
			cfg.DisableIntern = !tc.intern
			cfg.Transform = func(obj api.Object) api.Object {
				mu.Lock()
				transformed = append(transformed, obj.GetObjectMeta().Name)
				mu.Unlock()
				if obj.GetObjectMeta().Name == "keep-me" {
					return nil // kept as it is
				}
				obj.GetObjectMeta().Annotations = nil // what nobody reads
				return obj
			}
			inf, err := informer.New(cfg)
			require.NoError(t, err)
			var handled sync.Map
			_, err = inf.AddHandler(informer.HandlerFuncs{
				AddFunc:    func(obj api.Object, _ bool) { handled.Store(obj.GetObjectMeta().Name, obj) },
				DeleteFunc: func(obj api.Object) { handled.Store("deleted:"+obj.GetObjectMeta().Name, obj) },
			})
			require.NoError(t, err)
			start(t, inf)
			eventually(t, inf.HasSynced, "no sync")

			watched := decodedPod(t, 3)
			keep := decodedPod(t, 4)
			keep.Name = "keep-me"
			gone := decodedPod(t, 1)
			gone.ResourceVersion = "2000000"
			for _, ev := range []informer.Event{
				{Type: api.WatchAdded, Object: watched},
				{Type: api.WatchAdded, Object: keep},
				{Type: api.WatchDeleted, Object: gone},
			} {
				lw.events <- ev
			}
			eventually(t, func() bool { _, ok := handled.Load("deleted:" + gone.Name); return ok }, "the delete was not handled")

			pods := inf.Cache().List(labels.Everything())
			require.Len(t, pods, 3)
			byName := map[string]*api.Pod{}
			for _, obj := range pods {
				byName[obj.GetObjectMeta().Name] = obj.(*api.Pod)
			}
			listed, watched := byName[decodedPod(t, 2).Name], byName[watched.Name]
			require.NotNil(t, listed)
			require.NotNil(t, watched)
			assert.Nil(t, listed.Annotations, "a listed object was not transformed")
			assert.Nil(t, watched.Annotations, "a watched object was not transformed")
			assert.NotNil(t, byName["keep-me"].Annotations, "a nil from Transform did not keep the object")
			obj, _ := handled.Load("deleted:" + gone.Name)
			assert.Nil(t, obj.(*api.Pod).Annotations, "a deleted object was not transformed")
			mu.Lock()
			assert.Len(t, transformed, 5)
			mu.Unlock()

			assert.Equal(t, tc.intern, sameMap(listed.Labels, watched.Labels), "labels shared")
			assert.Equal(t, tc.intern, sameString(listed.Spec.Containers[0].Image, watched.Spec.Containers[0].Image), "images shared")
		})
	}
}

func TestRelistDoesNotTransformWhatTheCacheHolds(t *testing.T) {
	// scriptedLW lists the very same objects again and again: they are in
	// the cache already, and readers may be reading them.
	lw := &scriptedLW{pages: []*informer.Page{{ResourceVersion: "5", Items: []api.Object{decodedPod(t, 1), decodedPod(t, 2)}}}}
	var mu sync.Mutex
	calls := map[string]int{}
	cfg := fastConfig(lw)
	cfg.Transform = func(obj api.Object) api.Object {
		mu.Lock()
		calls[obj.GetObjectMeta().Name]++
		mu.Unlock()
		return obj
	}
	inf, err := informer.New(cfg)
	require.NoError(t, err)
	start(t, inf)
	eventually(t, func() bool { return lw.listCount() >= 3 }, "no relist")
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, calls, 2)
	for name, n := range calls {
		assert.Equal(t, 1, n, "%s transformed again on a relist", name)
	}
}
