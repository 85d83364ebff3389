package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/memstore"
)

func podKV(t *testing.T, name string, rev int64, image string) *store.KeyValue {
	t.Helper()
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{"a": "b"}},
		Spec: api.PodSpec{Containers: []api.Container{{Name: "c", Image: image}}}}
	data, err := json.Marshal(p)
	require.NoError(t, err)
	return &store.KeyValue{Key: "/registry/pods/ns/" + name, Value: data, ModRevision: rev, CreateRevision: rev}
}

func TestDecodeCache(t *testing.T) {
	c := newDecodeCache()
	kv := podKV(t, "p", 5, "i1")
	assert.Nil(t, c.get(kv))
	obj := &api.Pod{ObjectMeta: api.ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"}}}
	c.put(kv, obj)

	got := c.get(kv)
	require.NotNil(t, got)
	assert.Equal(t, obj, got)
	got.(*api.Pod).Labels["a"] = "changed"
	assert.Equal(t, "b", c.get(kv).(*api.Pod).Labels["a"], "a copy handed out shares the cached object's map")

	assert.Nil(t, c.get(podKV(t, "p", 6, "i1")), "another revision")
	assert.Nil(t, c.get(podKV(t, "p", 5, "i2")), "other bytes at the same revision")
	c.put(podKV(t, "p", 4, "i0"), &api.Pod{})
	assert.NotNil(t, c.get(kv), "an older revision replaced a newer one")

	for i := range decodeCacheSize {
		c.put(podKV(t, "q"+strconv.Itoa(i), 7, "i"), &api.Pod{})
	}
	assert.Nil(t, c.get(kv), "the oldest entry stays past the bound")
	assert.Len(t, c.entries, decodeCacheSize)
	assert.NotNil(t, c.get(podKV(t, "q1", 7, "i")))
}

// TestGetThroughDecodeCache checks that reads served by the decode cache
// equal fresh decodes and are the caller's to change.
func TestGetThroughDecodeCache(t *testing.T) {
	ctx := context.Background()
	st, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	k, _ := api.NewDefaultScheme().KindFor(api.CoreV1.WithKind("Pod"))
	r, err := New(st, api.NewDefaultScheme(), k, Options{})
	require.NoError(t, err)
	require.NotNil(t, r.decoded)
	created, err := r.Create(ctx, nsPod(map[string]string{"a": "b"}), CreateOptions{})
	require.NoError(t, err)

	first, err := r.Get(ctx, "ns", "p", GetOptions{})
	require.NoError(t, err)
	kv, err := st.Get(ctx, "/registry/pods/ns/p", store.ReadOptions{})
	require.NoError(t, err)
	fresh, err := r.decode(kv)
	require.NoError(t, err)
	assert.Equal(t, fresh, first)
	assert.Equal(t, created.GetObjectMeta().ResourceVersion, first.GetObjectMeta().ResourceVersion)
	require.NotNil(t, r.decoded.get(kv), "the read was not cached")

	first.GetObjectMeta().Labels["a"] = "changed"
	second, err := r.Get(ctx, "ns", "p", GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, fresh, second)

	next := api.DeepCopy(second).(*api.Pod)
	next.Spec.Containers[0].Image = "j"
	updated, err := r.Update(ctx, next, UpdateOptions{})
	require.NoError(t, err)
	third, err := r.Get(ctx, "ns", "p", GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "j", third.(*api.Pod).Spec.Containers[0].Image)
	assert.Equal(t, updated.GetObjectMeta().ResourceVersion, third.GetObjectMeta().ResourceVersion)
}

// TestDecodeShared checks that the watch cache's reads share one object,
// and that reads for callers who may change it get copies of it.
func TestDecodeShared(t *testing.T) {
	k, _ := api.NewDefaultScheme().KindFor(api.CoreV1.WithKind("Pod"))
	st, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	r, err := New(st, api.NewDefaultScheme(), k, Options{})
	require.NoError(t, err)
	kv := podKV(t, "p", 9, "i")

	shared, err := r.decodeShared(kv)
	require.NoError(t, err)
	again, err := r.decodeShared(kv)
	require.NoError(t, err)
	assert.Same(t, shared, again)
	assert.Equal(t, "9", shared.GetObjectMeta().ResourceVersion)

	own, err := r.decodeCached(kv)
	require.NoError(t, err)
	assert.NotSame(t, shared, own)
	assert.Equal(t, shared, own)
	own.GetObjectMeta().Labels["a"] = "changed"
	assert.Equal(t, "b", shared.GetObjectMeta().Labels["a"])
}

// TestWritesSeedTheDecodeCache checks that a create and an update leave
// the object they wrote in the decode cache, equal to what its stored
// JSON decodes to and safe from the caller's changes to what they
// returned, and that Events are not seeded.
func TestWritesSeedTheDecodeCache(t *testing.T) {
	ctx := context.Background()
	st, r := newPodRegistry(t)

	created, err := r.Create(ctx, nsPod(map[string]string{"a": "b"}), CreateOptions{})
	require.NoError(t, err)
	kv, err := st.Get(ctx, "/registry/pods/ns/p", store.ReadOptions{})
	require.NoError(t, err)
	seeded := r.decoded.shared(kv)
	require.NotNil(t, seeded, "the create did not seed the cache")
	fresh, err := r.decode(kv)
	require.NoError(t, err)
	assert.Equal(t, fresh, seeded)
	created.GetObjectMeta().Labels["a"] = "changed by the caller"
	assert.Equal(t, "b", r.decoded.shared(kv).GetObjectMeta().Labels["a"], "the cache shares the object Create returned")

	next := api.DeepCopy(fresh).(*api.Pod)
	next.Spec.Containers[0].Image = "j"
	_, err = r.Update(ctx, next, UpdateOptions{})
	require.NoError(t, err)
	kv, err = st.Get(ctx, "/registry/pods/ns/p", store.ReadOptions{})
	require.NoError(t, err)
	seeded = r.decoded.shared(kv)
	require.NotNil(t, seeded, "the update did not seed the cache")
	fresh, err = r.decode(kv)
	require.NoError(t, err)
	assert.Equal(t, fresh, seeded)

	scheme := api.NewDefaultScheme()
	ek, _ := scheme.KindFor(api.CoreV1.WithKind("Event"))
	events, err := New(st, scheme, ek, Options{})
	require.NoError(t, err)
	_, err = events.Create(ctx, &api.Event{ObjectMeta: api.ObjectMeta{Namespace: "ns", Name: "e"},
		InvolvedObject: api.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "p"}, Reason: "Scheduled", Type: "Normal"}, CreateOptions{})
	require.NoError(t, err)
	kv, err = st.Get(ctx, "/registry/events/ns/e", store.ReadOptions{})
	require.NoError(t, err)
	assert.Nil(t, events.decoded.shared(kv), "an Event was seeded")
}

// TestCheckCachedCatchesADifference checks the test binaries' check of
// the decode cache: an object that is not what its JSON decodes to is
// reported, when it is cached and when a reader changed it after.
func TestCheckCachedCatchesADifference(t *testing.T) {
	_, r := newPodRegistry(t)
	kv := podKV(t, "p", 9, "i")
	obj, err := r.decode(kv)
	require.NoError(t, err)
	require.NoError(t, r.checkCached(kv, obj))
	// A decoded object has no empty labels: JSON leaves them out.
	obj.GetObjectMeta().Labels = map[string]string{}
	assert.ErrorContains(t, r.checkCached(kv, obj), "is not what its JSON decodes to")

	if r.decoded.verify == nil {
		t.Skip("the cache's checks are off in this binary (it runs benchmarks)")
	}
	var failed []error
	saved := failCheck
	failCheck = func(err error) { failed = append(failed, err) }
	t.Cleanup(func() { failCheck = saved })
	good, err := r.decode(kv)
	require.NoError(t, err)
	r.decoded.put(kv, good)
	require.Empty(t, failed)
	good.GetObjectMeta().Labels["a"] = "changed by a reader"
	require.NotNil(t, r.decoded.shared(kv))
	require.Len(t, failed, 1, "a shared object changed after it was cached was not reported")
	r.decoded.put(podKV(t, "q", 10, "i"), obj)
	require.Len(t, failed, 2, "an object that differs from its JSON was cached without a report")
}

// TestGetReadOnlySharesTheCachedObject checks that a read-only Get
// returns the decode cache's object itself, and a plain Get a copy.
func TestGetReadOnlySharesTheCachedObject(t *testing.T) {
	ctx := context.Background()
	_, r := newPodRegistry(t)
	_, err := r.Create(ctx, nsPod(nil), CreateOptions{})
	require.NoError(t, err)

	a, err := r.Get(ctx, "ns", "p", GetOptions{ReadOnly: true})
	require.NoError(t, err)
	b, err := r.Get(ctx, "ns", "p", GetOptions{ReadOnly: true})
	require.NoError(t, err)
	assert.Same(t, a, b, "read-only reads do not share the cached object")
	c, err := r.Get(ctx, "ns", "p", GetOptions{})
	require.NoError(t, err)
	assert.NotSame(t, a, c, "a plain Get returned the shared object")
	assert.Equal(t, a, c)
}

// nsPod returns the pod ns/p, with one container and labels.
func nsPod(labels map[string]string) *api.Pod {
	return &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "ns", Name: "p", Labels: labels},
		Spec: api.PodSpec{Containers: []api.Container{{Name: "c", Image: "i"}}}}
}

// newPodRegistry returns a registry of Pods on a fresh memstore.
func newPodRegistry(t *testing.T) (store.Store, *Registry) {
	t.Helper()
	scheme := api.NewDefaultScheme()
	st, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	k, _ := scheme.KindFor(api.CoreV1.WithKind("Pod"))
	r, err := New(st, scheme, k, Options{})
	require.NoError(t, err)
	return st, r
}

// TestHandoffKeepsTheObject checks that a create that hands its object
// over keeps that object itself in the decode cache and returns it, and
// that an update with a read-only result returns the object it cached.
func TestHandoffKeepsTheObject(t *testing.T) {
	ctx := context.Background()
	st, r := newPodRegistry(t)
	in := nsPod(nil)
	created, err := r.Create(ctx, in, CreateOptions{Handoff: true})
	require.NoError(t, err)
	assert.Same(t, in, created, "a handed-over object was copied")
	kv, err := st.Get(ctx, "/registry/pods/ns/p", store.ReadOptions{})
	require.NoError(t, err)
	assert.Same(t, created, r.decoded.shared(kv), "the cache keeps a copy of a handed-over object")

	next := api.DeepCopy(created).(*api.Pod)
	next.Spec.Containers[0].Image = "j"
	updated, err := r.Update(ctx, next, UpdateOptions{ReadOnlyResult: true})
	require.NoError(t, err)
	kv, err = st.Get(ctx, "/registry/pods/ns/p", store.ReadOptions{})
	require.NoError(t, err)
	assert.Same(t, updated, r.decoded.shared(kv), "a read-only result is not the cached object")
	assert.NotSame(t, next, updated, "Update returned the caller's object")
}

// TestReplace checks Registry.Replace: it writes the object over the
// stored revision it was made from, sets the new resourceVersion, keeps
// the object in the decode cache, and refuses a stale revision with a
// Conflict and a missing object with NotFound.
func TestReplace(t *testing.T) {
	ctx := context.Background()
	st, r := newPodRegistry(t)
	created, err := r.Create(ctx, nsPod(nil), CreateOptions{})
	require.NoError(t, err)
	rv := created.GetObjectMeta().ResourceVersion

	next := api.DeepCopy(created).(*api.Pod)
	next.Spec.NodeName = "n1" // immutable for Update: Replace does not care
	require.NoError(t, r.Replace(ctx, next, rv))
	assert.NotEqual(t, rv, next.ResourceVersion)
	kv, err := st.Get(ctx, "/registry/pods/ns/p", store.ReadOptions{})
	require.NoError(t, err)
	assert.Equal(t, next.ResourceVersion, strconv.FormatInt(kv.ModRevision, 10))
	assert.Same(t, api.Object(next), r.decoded.shared(kv), "the replaced object is not cached")
	got, err := r.Get(ctx, "ns", "p", GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "n1", got.(*api.Pod).Spec.NodeName)

	stale := api.DeepCopy(created).(*api.Pod)
	stale.Spec.NodeName = "n2"
	err = r.Replace(ctx, stale, rv)
	assert.True(t, api.IsConflict(err), "a stale revision: %v", err)
	gone := api.DeepCopy(created).(*api.Pod)
	gone.Name = "q"
	err = r.Replace(ctx, gone, rv)
	assert.True(t, api.IsNotFound(err), "a missing object: %v", err)
}

// TestSelectorsReadTheDecodeCache checks that the watch cache reads a
// selector's fields from the decode cache's object when it has the
// event's object, instead of decoding the stored value again.
func TestSelectorsReadTheDecodeCache(t *testing.T) {
	ctx := context.Background()
	st, r := newPodRegistry(t)
	require.NotNil(t, r.sparse, "pods have no sparse decoder")
	_, err := r.Create(ctx, nsPod(map[string]string{"app": "web"}), CreateOptions{})
	require.NoError(t, err)
	kv, err := st.Get(ctx, "/registry/pods/ns/p", store.ReadOptions{})
	require.NoError(t, err)
	opts := &ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"app": "web"}),
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", "")}

	var cached lazyObject
	ok, err := cached.matches(r, kv, 0, opts)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Same(t, r.decoded.shared(kv), cached.sel, "the selectors did not read the cached object")

	other := *kv
	other.Value = bytes.Replace(kv.Value, []byte(`"web"`), []byte(`"api"`), 1)
	var decoded lazyObject
	ok, err = decoded.matches(r, &other, 0, opts)
	require.NoError(t, err)
	assert.False(t, ok, "a value the cache does not hold was matched against the cached object")
}
