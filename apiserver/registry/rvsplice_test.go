package registry

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/store/memstore"
)

// TestWithResourceVersion checks the splice against Scheme.Encode on
// objects of every shape of metadata: it must give the same bytes.
func TestWithResourceVersion(t *testing.T) {
	scheme := api.NewDefaultScheme()
	now := api.NewTime(time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC))
	var objs []api.Object
	for _, m := range []api.ObjectMeta{
		{Name: "a"},
		{Name: "a", Namespace: "ns"},
		{Name: "a", Namespace: "ns", UID: "u"},
		{GenerateName: "g-", Namespace: "ns", UID: "u", Generation: 3},
		{Name: "a", Labels: map[string]string{"metadata": `"resourceVersion":"1"`}},
		{Name: "a", Namespace: "ns", UID: "u", Generation: 1, CreationTimestamp: now, Annotations: map[string]string{"x": "{\"}"}, Finalizers: []string{"f"}},
		{Labels: map[string]string{"a": "b"}},
	} {
		objs = append(objs,
			&api.Pod{ObjectMeta: m, Spec: api.PodSpec{Containers: []api.Container{{Name: "c", Image: "i"}}}},
			&api.ConfigMap{ObjectMeta: m, Data: map[string]string{"k": "v"}},
			&api.Namespace{ObjectMeta: m})
	}
	files, err := filepath.Glob("../../api/testdata/*.yaml")
	require.NoError(t, err)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		decoded, err := scheme.DecodeAll(data)
		require.NoError(t, err, f)
		objs = append(objs, decoded...)
	}
	for _, obj := range objs {
		obj.GetObjectMeta().ResourceVersion = ""
		stored, err := scheme.Encode(obj)
		require.NoError(t, err)
		for _, rev := range []int64{1, 1234567890123} {
			obj.GetObjectMeta().ResourceVersion = ""
			got, ok := withResourceVersion(stored, rev)
			require.True(t, ok, "%s", stored)
			cp := api.DeepCopy(obj)
			cp.GetObjectMeta().ResourceVersion = strconv.FormatInt(rev, 10)
			want, err := scheme.Encode(cp)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		}
	}
	for _, bad := range []string{``, `{}`, `[]`, `{"kind":"Pod"}`, `{"metadata":{"resourceVersion":"3"}}`,
		`{"metadata":[]}`, `{"metadata":{"name":"a"`, `{"metadata":{"n\"ame":"a"}}`, `{ "metadata":{}}`} {
		_, ok := withResourceVersion([]byte(bad), 5)
		assert.False(t, ok, bad)
	}
}

// TestWatchCacheLinesMatchEncode checks that the watch cache's lines,
// spliced from the stored values, are what encoding the events' objects
// gives.
func TestWatchCacheLinesMatchEncode(t *testing.T) {
	ctx := context.Background()
	st, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	scheme := api.NewDefaultScheme()
	k, _ := scheme.KindFor(api.CoreV1.WithKind("Pod"))
	r, err := New(st, scheme, k, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	w, err := r.NewWatcher(ctx, "ns", ListOptions{ResourceVersion: "0"})
	require.NoError(t, err)
	defer w.Close()

	p, err := r.Create(ctx, &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "ns", Name: "p", Labels: map[string]string{"a": "b"}},
		Spec: api.PodSpec{Containers: []api.Container{{Name: "c", Image: "i"}}}}, CreateOptions{})
	require.NoError(t, err)
	p.(*api.Pod).Spec.Containers[0].Image = "j"
	_, err = r.Update(ctx, p, UpdateOptions{})
	require.NoError(t, err)
	_, err = r.Delete(ctx, "ns", "p", DeleteOptions{GracePeriodSeconds: new(int64)})
	require.NoError(t, err)

	var types []api.WatchEventType
	for len(types) < 3 {
		events, ok := w.Next(ctx)
		require.True(t, ok)
		for _, e := range events {
			if e.Type == api.WatchBookmark {
				continue
			}
			types = append(types, e.Type)
			require.NotNil(t, e.stored, "the event was not spliced")
			want, err := scheme.Encode(e.Object())
			require.NoError(t, err)
			assert.Equal(t, string(want), string(e.WatchEvent().Object), e.Type)
		}
	}
	assert.Equal(t, []api.WatchEventType{api.WatchAdded, api.WatchModified, api.WatchDeleted}, types)
}

// TestEncodedResponses checks CreateOptions.Encoded and
// UpdateOptions.Encoded against encoding the returned objects.
func TestEncodedResponses(t *testing.T) {
	ctx := context.Background()
	st, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	scheme := api.NewDefaultScheme()
	k, _ := scheme.KindFor(api.CoreV1.WithKind("Pod"))
	r, err := New(st, scheme, k, Options{})
	require.NoError(t, err)

	var enc []byte
	p, err := r.Create(ctx, &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "ns", Name: "p"},
		Spec: api.PodSpec{Containers: []api.Container{{Name: "c", Image: "i"}}}}, CreateOptions{Encoded: &enc})
	require.NoError(t, err)
	want, err := scheme.Encode(p)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(enc))

	p.(*api.Pod).Status.Phase = api.PodRunning
	enc = nil
	up, err := r.Update(ctx, p, UpdateOptions{Subresource: "status", Encoded: &enc})
	require.NoError(t, err)
	want, err = scheme.Encode(up)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(enc))

	enc = []byte("stale")
	_, err = r.Update(ctx, up, UpdateOptions{Encoded: &enc})
	require.NoError(t, err)
	assert.Nil(t, enc, "a no-op update writes nothing")

	enc = nil
	_, err = r.Create(ctx, &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "ns", Name: "q"},
		Spec: api.PodSpec{Containers: []api.Container{{Name: "c", Image: "i"}}}}, CreateOptions{DryRun: true, Encoded: &enc})
	require.NoError(t, err)
	assert.Nil(t, enc, "a dry run")
}
