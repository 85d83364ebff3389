package registry

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/internal/apifill"
	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/memstore"
)

// sparseKinds are the kinds TestSparseDecodeMatches fills at random: every
// kind with default fields, and some with only the metadata ones.
var sparseKinds = []api.GroupVersionKind{
	api.CoreV1.WithKind("Pod"), api.CoreV1.WithKind("Event"), api.CoreV1.WithKind("Node"),
	api.CoreV1.WithKind("Namespace"), api.CoreV1.WithKind("Secret"), api.CoreV1.WithKind("Service"),
	api.AppsV1.WithKind("ReplicaSet"), api.BatchV1.WithKind("Job"),
	api.CoreV1.WithKind("ConfigMap"), api.AppsV1.WithKind("Deployment"),
}

func newTestRegistry(t testing.TB, gvk api.GroupVersionKind, opts Options) *Registry {
	t.Helper()
	st, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	s := api.NewDefaultScheme()
	k, ok := s.KindFor(gvk)
	require.True(t, ok, "%s", gvk)
	r, err := New(st, s, k, opts)
	require.NoError(t, err)
	return r
}

// selectable returns the labels and fields the selectors of a watch test:
// from a full decode of stored, or from the registry's sparse decode.
func selectable(t testing.TB, r *Registry, stored []byte, sparse bool) (labels.Set, fields.Set, error) {
	t.Helper()
	var obj api.Object
	var err error
	if sparse {
		obj, err = r.sparse.decode(stored)
	} else {
		obj = r.kind.New()
		err = json.Unmarshal(stored, obj)
	}
	if err != nil {
		return nil, nil, err
	}
	return labels.Set(obj.GetObjectMeta().Labels), r.fieldSet(obj), nil
}

// TestSparseDecodeMatches fills objects of each kind at random (every
// field, selectable or not, with strings that need escaping among them),
// stores them as the registry does, and checks that the sparse decode
// gives the labels and fields a full decode gives: the paths in
// defaultFields are all that the kinds' field functions read.
func TestSparseDecodeMatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, gvk := range sparseKinds {
		t.Run(gvk.Kind, func(t *testing.T) {
			r := newTestRegistry(t, gvk, Options{})
			require.NotNil(t, r.sparse, "a built-in kind gets a sparse decoder")
			for i := range 300 {
				obj := r.kind.New()
				apifill.Fill(rng, reflect.ValueOf(obj).Elem())
				stored, err := r.encode(obj)
				require.NoError(t, err)
				wantL, wantF, err := selectable(t, r, stored, false)
				require.NoError(t, err)
				gotL, gotF, err := selectable(t, r, stored, true)
				require.NoError(t, err, "object %d: %s", i, stored)
				require.Equal(t, wantL, gotL, "labels of object %d: %s", i, stored)
				require.Equal(t, wantF, gotF, "fields of object %d: %s", i, stored)
			}
		})
	}
}

// TestSparseDecodeOnlyWhatIsRead checks that the sparse decode leaves the
// members no selector reads: that is where its time goes.
func TestSparseDecodeOnlyWhatIsRead(t *testing.T) {
	r := newTestRegistry(t, api.CoreV1.WithKind("Pod"), Options{})
	p := &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: "web", Namespace: "prod", Labels: map[string]string{"app": "web"},
			Annotations: map[string]string{"note": "x"}},
		Spec: api.PodSpec{NodeName: "n1", HostNetwork: true, Containers: []api.Container{{Name: "c", Image: "nginx"}}},
		Status: api.PodStatus{Phase: api.PodRunning, PodIP: "10.0.0.1", Message: "up",
			Conditions: []api.PodCondition{{Type: api.PodReady, Status: api.ConditionTrue}}},
	}
	stored, err := r.encode(p)
	require.NoError(t, err)
	obj, err := r.sparse.decode(stored)
	require.NoError(t, err)
	want := r.kind.New().(*api.Pod) // with its kind and apiVersion
	want.ObjectMeta = api.ObjectMeta{Name: "web", Namespace: "prod", Labels: map[string]string{"app": "web"}}
	want.Spec = api.PodSpec{NodeName: "n1", HostNetwork: true}
	want.Status = api.PodStatus{Phase: api.PodRunning, PodIP: "10.0.0.1"}
	require.Equal(t, want, obj)
}

// TestSparseDecoderOnlyForKnownFields checks that a kind whose selectable
// fields come from the user's code is decoded whole: the sparse decoder
// cannot know what that code reads.
func TestSparseDecoderOnlyForKnownFields(t *testing.T) {
	r := newTestRegistry(t, api.CoreV1.WithKind("Pod"), Options{Fields: map[api.GroupVersionKind]FieldsFunc{
		api.CoreV1.WithKind("Pod"): func(obj api.Object) fields.Set {
			return fields.Set{"spec.priorityClassName": obj.(*api.Pod).Spec.PriorityClassName}
		},
	}})
	require.Nil(t, r.sparse)
	r = newTestRegistry(t, api.CoreV1.WithKind("ConfigMap"), Options{})
	require.NotNil(t, r.sparse, "metadata-only fields are known")
}

// secretOfMine is a user's Go type registered under the built-in v1
// Secret: it has no "type" member, the path Secret's field function reads.
type secretOfMine struct {
	api.TypeMeta   `json:",inline"`
	api.ObjectMeta `json:"metadata,omitzero"`
	Data           map[string]string `json:"data,omitempty"`
}

// shadowed embeds a struct whose field is also called "metadata": for
// encoding/json the shallower ObjectMeta wins.
type shadowed struct {
	shadowing
	api.TypeMeta   `json:",inline"`
	api.ObjectMeta `json:"metadata,omitzero"`
}

type shadowing struct {
	Template api.ObjectMeta `json:"metadata"`
}

// TestSparseDecoderRefusesWhatItCannotFollow checks the Go types the
// sparse decoder leaves to the full decode: a user's type under a
// built-in kind whose declared paths it lacks (the registry is still
// made, as before there was a sparse decoder), and a member name two
// fields answer to.
func TestSparseDecoderRefusesWhatItCannotFollow(t *testing.T) {
	newReg := func(t *testing.T, register func(*api.Scheme) error, gvk api.GroupVersionKind) *Registry {
		t.Helper()
		s := api.NewScheme()
		require.NoError(t, register(s))
		k, ok := s.KindFor(gvk)
		require.True(t, ok)
		st, err := memstore.New(memstore.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		r, err := New(st, s, k, Options{})
		require.NoError(t, err)
		return r
	}
	secret := api.CoreV1.WithKind("Secret")
	r := newReg(t, func(s *api.Scheme) error {
		return api.Register[secretOfMine](s, api.Kind{GroupVersionKind: secret, Resource: "secrets", Namespaced: true})
	}, secret)
	require.Nil(t, r.sparse)

	gvk := api.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Shadowed"}
	r = newReg(t, func(s *api.Scheme) error {
		return api.Register[shadowed](s, api.Kind{GroupVersionKind: gvk, Resource: "shadoweds", Namespaced: true})
	}, gvk)
	require.Nil(t, r.sparse, "metadata is ambiguous: decoded whole")
	stored, err := r.encode(&shadowed{ObjectMeta: api.ObjectMeta{Name: "w", Namespace: "ns", Labels: map[string]string{"app": "web"}}})
	require.NoError(t, err)
	var l lazyObject
	ok, err := l.matches(r, &store.KeyValue{Key: "k", Value: stored, ModRevision: 3}, 0,
		&ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"app": "web"})})
	require.NoError(t, err)
	require.True(t, ok, "the label selector matches %s", stored)
}

// TestSparseDecodeMalformed checks that a value the scan cannot read is an
// error, never a panic or a partial object.
func TestSparseDecodeMalformed(t *testing.T) {
	r := newTestRegistry(t, api.CoreV1.WithKind("Pod"), Options{})
	for _, in := range []string{
		``, `{`, `[]`, `null`, `{"metadata":`, `{"metadata":{"name":"a"`, `{"metadata":{"name":"a"}} x`,
		`{"spec":{"nodeName":"a\"}}`, `{"metadata":{"labels":{"a":1}}}`, `{"spec":{"hostNetwork":"yes"}}`,
		`{"metadata" "x"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"metadata":{"name":"a"},"spec":[`,
	} {
		obj, err := r.sparse.decode([]byte(in))
		require.Error(t, err, "%q", in)
		require.Nil(t, obj, "%q", in)
	}
}

// FuzzSparseDecode decodes arbitrary JSON as a Pod; if that works, stores
// it as the registry would and checks the sparse decode against the full
// one. The sparse decode of the raw input must not panic either.
func FuzzSparseDecode(f *testing.F) {
	f.Add([]byte(`{"metadata":{"name":"a","namespace":"b","labels":{"x":"y"}},"spec":{"nodeName":"n","hostNetwork":true},"status":{"phase":"Running"}}`))
	f.Add([]byte(`{"metadata":{"name":"a\u00e9\n","labels":null},"spec":null,"status":{"podIP":"1.2.3.4","conditions":[{"type":"Ready"}]}}`))
	f.Add([]byte(`{"kind":"Pod","spec":{"containers":[{"name":"c","args":["}","]","\"{"]}],"nodeName":"n"}}`))
	r := newTestRegistry(f, api.CoreV1.WithKind("Pod"), Options{})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = r.sparse.decode(data)
		p := &api.Pod{}
		if json.Unmarshal(data, p) != nil {
			return
		}
		stored, err := r.encode(p)
		if err != nil {
			return
		}
		wantL, wantF, err := selectable(t, r, stored, false)
		require.NoError(t, err)
		gotL, gotF, err := selectable(t, r, stored, true)
		require.NoError(t, err, "%s", stored)
		require.Equal(t, wantL, gotL, "%s", stored)
		require.Equal(t, wantF, gotF, "%s", stored)
	})
}
