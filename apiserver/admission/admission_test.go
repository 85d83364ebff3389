package admission_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/admission"
)

var (
	podKind       = api.Kind{GroupVersionKind: api.CoreV1.WithKind("Pod"), Resource: "pods", Namespaced: true}
	namespaceKind = api.Kind{GroupVersionKind: api.CoreV1.WithKind("Namespace"), Resource: "namespaces"}
)

func podAttrs(op admission.Operation, ns string) *admission.Attributes {
	pod := &api.Pod{ObjectMeta: api.ObjectMeta{Name: "web", Namespace: ns}}
	return &admission.Attributes{Operation: op, Kind: podKind, Namespace: ns, Name: "web", Object: pod}
}

// statusOf returns the Status of err, which must be a StatusError.
func statusOf(t *testing.T, err error) api.Status {
	t.Helper()
	se, ok := errors.AsType[*api.StatusError](err)
	require.True(t, ok, "%T %v is not a StatusError", err, err)
	return se.Status
}

func TestChainOrder(t *testing.T) {
	var calls []string
	m := func(name string) admission.Mutator {
		return admission.MutatorFunc(func(context.Context, *admission.Attributes) error {
			calls = append(calls, name)
			return nil
		})
	}
	v := func(name string) admission.Validator {
		return admission.ValidatorFunc(func(context.Context, *admission.Attributes) error {
			calls = append(calls, name)
			return nil
		})
	}
	c := admission.NewChain([]admission.Mutator{m("m1"), nil, m("m2")}, []admission.Validator{v("v1"), v("v2")})
	require.NoError(t, c.Admit(t.Context(), podAttrs(admission.Create, "default")))
	require.Equal(t, []string{"m1", "m2", "v1", "v2"}, calls)
}

func TestChainStopsAtFirstError(t *testing.T) {
	var calls []string
	fail := errors.New("no")
	c := admission.NewChain(
		[]admission.Mutator{
			admission.MutatorFunc(func(context.Context, *admission.Attributes) error { calls = append(calls, "m1"); return nil }),
			admission.NamedMutator("picky", admission.MutatorFunc(func(context.Context, *admission.Attributes) error {
				calls = append(calls, "m2")
				return fail
			})),
			admission.MutatorFunc(func(context.Context, *admission.Attributes) error { calls = append(calls, "m3"); return nil }),
		},
		[]admission.Validator{admission.ValidatorFunc(func(context.Context, *admission.Attributes) error {
			calls = append(calls, "v1")
			return nil
		})},
	)
	err := c.Admit(t.Context(), podAttrs(admission.Create, "default"))
	require.Equal(t, []string{"m1", "m2"}, calls)
	st := statusOf(t, err)
	require.Equal(t, int32(http.StatusForbidden), st.Code)
	require.Equal(t, api.StatusReasonForbidden, st.Reason)
	require.Equal(t, `pods "web" is forbidden: admission plugin "picky" denied the request: no`, st.Message)
}

func TestErrorMapping(t *testing.T) {
	deny := func(err error) admission.Validator {
		return admission.ValidatorFunc(func(context.Context, *admission.Attributes) error { return err })
	}
	t.Run("unnamed plugin", func(t *testing.T) {
		c := admission.NewChain(nil, []admission.Validator{deny(nil), deny(errors.New("too big"))})
		st := statusOf(t, c.Admit(t.Context(), podAttrs(admission.Create, "default")))
		require.Equal(t, int32(http.StatusForbidden), st.Code)
		require.Contains(t, st.Message, `admission plugin "validator #1" denied the request: too big`)
	})
	t.Run("named validator", func(t *testing.T) {
		c := admission.NewChain(nil, []admission.Validator{admission.NamedValidator("quota", deny(errors.New("over")))})
		st := statusOf(t, c.Admit(t.Context(), podAttrs(admission.Update, "default")))
		require.Contains(t, st.Message, `admission plugin "quota" denied the request: over`)
	})
	t.Run("status error kept", func(t *testing.T) {
		want := api.NewBadRequest("bad label")
		c := admission.NewChain(nil, []admission.Validator{admission.NamedValidator("x", deny(want))})
		require.Same(t, want, c.Admit(t.Context(), podAttrs(admission.Create, "default")))
	})
	t.Run("nil and empty chains admit", func(t *testing.T) {
		var c *admission.Chain
		require.NoError(t, c.Admit(t.Context(), podAttrs(admission.Create, "default")))
		require.NoError(t, admission.NewChain(nil, nil).Admit(t.Context(), podAttrs(admission.Create, "default")))
	})
}

func TestMutatorChangesObject(t *testing.T) {
	c := admission.NewChain([]admission.Mutator{admission.MutatorFunc(func(_ context.Context, a *admission.Attributes) error {
		a.Object.GetObjectMeta().Labels = map[string]string{"team": "a"}
		return nil
	})}, []admission.Validator{admission.ValidatorFunc(func(_ context.Context, a *admission.Attributes) error {
		if a.Object.GetObjectMeta().Labels["team"] == "" {
			return errors.New("validator ran before the mutator")
		}
		return nil
	})})
	a := podAttrs(admission.Create, "default")
	require.NoError(t, c.Admit(t.Context(), a))
	require.Equal(t, "a", a.Object.GetObjectMeta().Labels["team"])
}

// namespaces is a NamespaceLookupFunc over a map.
func namespaces(nss ...*api.Namespace) admission.NamespaceLookupFunc {
	return func(_ context.Context, name string) (*api.Namespace, error) {
		for _, ns := range nss {
			if ns.Name == name {
				return ns, nil
			}
		}
		return nil, api.NewNotFound(api.GroupResource{Resource: "namespaces"}, name)
	}
}

func TestNamespaceLifecycle(t *testing.T) {
	now := api.NewTime(time.Unix(1e9, 0))
	lookup := namespaces(
		&api.Namespace{ObjectMeta: api.ObjectMeta{Name: "default"}},
		&api.Namespace{ObjectMeta: api.ObjectMeta{Name: "dying"}, Status: api.NamespaceStatus{Phase: api.NamespaceTerminating}},
		&api.Namespace{ObjectMeta: api.ObjectMeta{Name: "deleted", DeletionTimestamp: &now}},
	)
	c := admission.NewChain(nil, []admission.Validator{admission.NamespaceLifecycle(lookup)})
	ctx := t.Context()

	require.NoError(t, c.Admit(ctx, podAttrs(admission.Create, "default")))

	st := statusOf(t, c.Admit(ctx, podAttrs(admission.Create, "missing")))
	require.Equal(t, int32(http.StatusNotFound), st.Code)
	require.Equal(t, api.StatusReasonNotFound, st.Reason)
	require.Equal(t, `namespaces "missing" not found`, st.Message)

	for _, ns := range []string{"dying", "deleted"} {
		st := statusOf(t, c.Admit(ctx, podAttrs(admission.Create, ns)))
		require.Equal(t, int32(http.StatusForbidden), st.Code, ns)
		require.Equal(t, `pods "web" is forbidden: unable to create new content in namespace `+ns+
			` because it is being terminated`, st.Message)
		// Updates and deletes in a terminating namespace are allowed.
		require.NoError(t, c.Admit(ctx, podAttrs(admission.Update, ns)))
		require.NoError(t, c.Admit(ctx, podAttrs(admission.Delete, ns)))
	}

	// Namespaces themselves are exempt, and cluster-scoped kinds too.
	nsAttrs := &admission.Attributes{Operation: admission.Create, Kind: namespaceKind, Name: "missing",
		Object: &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "missing"}}}
	require.NoError(t, c.Admit(ctx, nsAttrs))
	nodeKind := api.Kind{GroupVersionKind: api.CoreV1.WithKind("Node"), Resource: "nodes"}
	require.NoError(t, c.Admit(ctx, &admission.Attributes{Operation: admission.Create, Kind: nodeKind, Name: "n1",
		Object: &api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"}}}))

	// The protected namespaces cannot be deleted; others can.
	for _, name := range []string{"default", "kube-system", "kube-public"} {
		st := statusOf(t, c.Admit(ctx, &admission.Attributes{Operation: admission.Delete, Kind: namespaceKind, Name: name}))
		require.Equal(t, int32(http.StatusForbidden), st.Code, name)
		require.Equal(t, `namespaces "`+name+`" is forbidden: this namespace may not be deleted`, st.Message)
	}
	require.NoError(t, c.Admit(ctx, &admission.Attributes{Operation: admission.Delete, Kind: namespaceKind, Name: "dying"}))
}

func TestNamespaceLifecycleLookupError(t *testing.T) {
	c := admission.NewChain(nil, []admission.Validator{admission.NamespaceLifecycle(
		func(context.Context, string) (*api.Namespace, error) { return nil, errors.New("store down") })})
	st := statusOf(t, c.Admit(t.Context(), podAttrs(admission.Create, "default")))
	require.Equal(t, int32(http.StatusInternalServerError), st.Code)
	require.Contains(t, st.Message, `look up namespace "default": store down`)
}

func TestDefaultServiceAccount(t *testing.T) {
	c := admission.NewChain(admission.DefaultMutators(), nil)
	for _, tc := range []struct {
		name, sa, deprecated, want string
	}{
		{"empty", "", "", "default"},
		{"set", "robot", "", "robot"},
		{"deprecated only", "", "old", "old"},
		{"both", "robot", "old", "robot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := podAttrs(admission.Create, "default")
			pod := a.Object.(*api.Pod)
			pod.Spec.ServiceAccountName, pod.Spec.DeprecatedServiceAccount = tc.sa, tc.deprecated
			require.NoError(t, c.Admit(t.Context(), a))
			require.Equal(t, tc.want, pod.Spec.ServiceAccountName)
			require.Equal(t, tc.want, pod.Spec.DeprecatedServiceAccount)
		})
	}
	t.Run("not on update", func(t *testing.T) {
		a := podAttrs(admission.Update, "default")
		require.NoError(t, c.Admit(t.Context(), a))
		require.Empty(t, a.Object.(*api.Pod).Spec.ServiceAccountName)
	})
	t.Run("mirror pods untouched", func(t *testing.T) {
		a := podAttrs(admission.Create, "default")
		pod := a.Object.(*api.Pod)
		pod.Annotations = map[string]string{admission.MirrorPodAnnotation: "3f2a"}
		require.NoError(t, c.Admit(t.Context(), a))
		require.Empty(t, pod.Spec.ServiceAccountName)
		require.Empty(t, pod.Spec.DeprecatedServiceAccount)
	})
	t.Run("other kinds untouched", func(t *testing.T) {
		ns := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "x"}}
		require.NoError(t, c.Admit(t.Context(), &admission.Attributes{Operation: admission.Create, Kind: namespaceKind, Object: ns}))
	})
}

func TestDefaultChain(t *testing.T) {
	c := admission.Default(namespaces())
	a := podAttrs(admission.Create, "nowhere")
	st := statusOf(t, c.Admit(t.Context(), a))
	require.Equal(t, int32(http.StatusNotFound), st.Code)
	// The mutators ran before the validators.
	require.Equal(t, "default", a.Object.(*api.Pod).Spec.ServiceAccountName)
	// Without a lookup, only the mutators.
	require.NoError(t, admission.Default(nil).Admit(t.Context(), podAttrs(admission.Create, "nowhere")))
}
