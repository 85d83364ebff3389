package apiserver_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/apiserver/admission"
)

func TestAdmissionNamespaceLifecycle(t *testing.T) {
	e := newEnv(t)
	st := e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "POST", "/api/v1/namespaces/nope/pods", podJSON("", "web", ""))
	require.Equal(t, `namespaces "nope" not found`, st.Message)

	// A namespace with a finalizer stays, terminating, once deleted.
	e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces",
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"dying","finalizers":["example.com/hold"]}}`)
	e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/dying/pods", podJSON("", "before", ""))
	deleted := e.ok(t, http.StatusOK, "DELETE", "/api/v1/namespaces/dying", "")
	require.NotNil(t, dig(deleted, "metadata", "deletionTimestamp"))
	st = e.status(t, http.StatusForbidden, api.StatusReasonForbidden, "POST", "/api/v1/namespaces/dying/pods", podJSON("", "web", ""))
	require.Equal(t, `pods "web" is forbidden: unable to create new content in namespace dying because it is being terminated`, st.Message)
	// What is already there can still be deleted.
	e.ok(t, http.StatusOK, "DELETE", "/api/v1/namespaces/dying/pods/before", "")

	st = e.status(t, http.StatusForbidden, api.StatusReasonForbidden, "DELETE", "/api/v1/namespaces/default", "")
	require.Equal(t, `namespaces "default" is forbidden: this namespace may not be deleted`, st.Message)
	e.ok(t, http.StatusOK, "GET", "/api/v1/namespaces/default", "")
}

func TestAdmissionDefaultServiceAccount(t *testing.T) {
	e := newEnv(t)
	pod := e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/default/pods", podJSON("", "web", ""))
	require.Equal(t, "default", dig(pod, "spec", "serviceAccountName"))
	require.Equal(t, "default", dig(pod, "spec", "serviceAccount"))
}

// recorder is a user's plugin pair: the mutator labels every created or
// updated object, the validator refuses objects labelled deny=true and
// records what it saw.
type recorder struct {
	mu   sync.Mutex
	seen []admission.Attributes
}

func (r *recorder) chain(t *testing.T, cfg *apiserver.Config) *admission.Chain {
	lookup, err := apiserver.NamespaceLookup(cfg.Store, cfg.Scheme)
	require.NoError(t, err)
	label := admission.NamedMutator("team-label", admission.MutatorFunc(func(_ context.Context, a *admission.Attributes) error {
		if a.Object == nil || a.Subresource != "" {
			return nil
		}
		m := a.Object.GetObjectMeta()
		if m.Labels == nil {
			m.Labels = map[string]string{}
		}
		m.Labels["team"] = "blue"
		return nil
	}))
	deny := admission.NamedValidator("no-deny", admission.ValidatorFunc(func(_ context.Context, a *admission.Attributes) error {
		r.mu.Lock()
		r.seen = append(r.seen, *a)
		r.mu.Unlock()
		if a.Object != nil && a.Object.GetObjectMeta().Labels["deny"] == "true" {
			return errors.New("labelled deny=true")
		}
		return nil
	}))
	return admission.NewChain(append(admission.DefaultMutators(), label), append(admission.DefaultValidators(lookup), deny))
}

func (r *recorder) last() admission.Attributes {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[len(r.seen)-1]
}

func TestAdmissionCustomPlugins(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, func(cfg *apiserver.Config) { cfg.Admission = rec.chain(t, cfg) })
	const base = "/api/v1/namespaces/default/pods"

	// The user's mutator takes effect, and the defaults are kept.
	pod := e.ok(t, http.StatusCreated, "POST", base, podJSON("", "web", `{"app":"web"}`))
	require.Equal(t, "blue", dig(pod, "metadata", "labels", "team"))
	require.Equal(t, "default", dig(pod, "spec", "serviceAccountName"))
	e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "POST", "/api/v1/namespaces/nope/pods", podJSON("", "x", ""))

	// The user's validator refuses with a 403 that names it.
	st := e.status(t, http.StatusForbidden, api.StatusReasonForbidden, "POST", base, podJSON("", "bad", `{"deny":"true"}`))
	require.Equal(t, `pods "bad" is forbidden: admission plugin "no-deny" denied the request: labelled deny=true`, st.Message)
	e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", base+"/bad", "")

	// Patch: the patched object is admitted.
	code, m := e.patch(t, base+"/web", mergeCT, `{"metadata":{"labels":{"team":null,"deny":"true"}}}`)
	require.Equal(t, http.StatusForbidden, code, "%v", m)
	code, m = e.patch(t, base+"/web", mergeCT, `{"metadata":{"labels":{"team":null,"tier":"front"}}}`)
	require.Equal(t, http.StatusOK, code, "%v", m)
	require.Equal(t, "blue", dig(m, "metadata", "labels", "team"))
	a := rec.last()
	require.Equal(t, admission.Update, a.Operation)
	require.Equal(t, "web", a.Name)
	require.Equal(t, "default", a.Namespace)
	require.NotNil(t, a.OldObject)
	require.NotContains(t, a.OldObject.GetObjectMeta().Labels, "tier")

	// Status updates are admitted with their subresource.
	body := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default"},` +
		`"spec":{"containers":[{"name":"c","image":"nginx:1.27"}]},"status":{"phase":"Running"}}`
	e.ok(t, http.StatusOK, "PUT", base+"/web/status", body)
	require.Equal(t, "status", rec.last().Subresource)

	// Dry runs are admitted with DryRun set, and write nothing.
	e.ok(t, http.StatusOK, "DELETE", base+"/web?dryRun=All", "")
	a = rec.last()
	require.Equal(t, admission.Delete, a.Operation)
	require.True(t, a.DryRun)
	require.Nil(t, a.Object)
	require.Equal(t, "web", a.OldObject.GetObjectMeta().Name)
	e.ok(t, http.StatusOK, "GET", base+"/web", "")
	e.ok(t, http.StatusCreated, "POST", base+"?dryRun=All", podJSON("", "dry", ""))
	require.True(t, rec.last().DryRun)
	require.Equal(t, admission.Create, rec.last().Operation)
}

func TestAdmissionEmptyChain(t *testing.T) {
	e := newEnv(t, func(cfg *apiserver.Config) { cfg.Admission = admission.NewChain(nil, nil) })
	pod := e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/nowhere/pods", podJSON("", "web", ""))
	require.Equal(t, "nowhere", dig(pod, "metadata", "namespace"))
}

func TestAdmissionMutatorMayNotMoveObjects(t *testing.T) {
	move := admission.MutatorFunc(func(_ context.Context, a *admission.Attributes) error {
		if a.Kind.Resource == "pods" {
			a.Object.GetObjectMeta().Namespace = "elsewhere"
		}
		return nil
	})
	e := newEnv(t, func(cfg *apiserver.Config) { cfg.Admission = admission.NewChain([]admission.Mutator{move}, nil) })
	st := e.status(t, http.StatusInternalServerError, api.StatusReasonInternalError, "POST", "/api/v1/namespaces/default/pods", podJSON("", "web", ""))
	require.Contains(t, st.Message, "admission changed the namespace/name of pods")
	e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", "/api/v1/namespaces/elsewhere/pods/web", "")
}
