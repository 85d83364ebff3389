package apiserver_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/apiserver/admission"
)

var deleteNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// newDeleteEnv is newEnv with a fixed clock.
func newDeleteEnv(t *testing.T, mutate ...func(*apiserver.Config)) *env {
	t.Helper()
	return newEnv(t, append([]func(*apiserver.Config){func(c *apiserver.Config) {
		c.Registry.Now = func() time.Time { return deleteNow }
	}}, mutate...)...)
}

// nodePodJSON is a pod on node-1, with the given labels and finalizers.
func nodePodJSON(name, labels, finalizers string) string {
	meta := `"name":"` + name + `"`
	if labels != "" {
		meta += `,"labels":` + labels
	}
	if finalizers != "" {
		meta += `,"finalizers":` + finalizers
	}
	return `{"apiVersion":"v1","kind":"Pod","metadata":{` + meta +
		`},"spec":{"nodeName":"node-1","containers":[{"name":"c","image":"nginx:1.27"}]}}`
}

func deploymentWithFinalizer(name string) string {
	return strings.Replace(deploymentJSON(name, 1), `"metadata":{"name":"`+name+`"}`,
		`"metadata":{"name":"`+name+`","finalizers":["example.com/f"]}`, 1)
}

func TestDeleteHTTP(t *testing.T) {
	tests := []struct {
		name   string
		create func(t *testing.T, e *env) string // returns the object's path
		query  string
		body   string
		code   int
		stays  bool
		// check looks at the answer.
		check func(t *testing.T, got map[string]any)
	}{
		{name: "unbound pod: removed, 200 with the pod", create: createPod(podJSON("", "web", "")), code: http.StatusOK,
			check: func(t *testing.T, got map[string]any) { require.Equal(t, "web", dig(got, "metadata", "name")) }},
		{name: "bound pod: 200, graceful", create: createPod(nodePodJSON("web", "", "")), code: http.StatusOK, stays: true,
			check: func(t *testing.T, got map[string]any) {
				require.Equal(t, "2026-03-04T05:06:37Z", dig(got, "metadata", "deletionTimestamp"))
				require.EqualValues(t, 30, dig(got, "metadata", "deletionGracePeriodSeconds"))
			}},
		{name: "gracePeriodSeconds query", create: createPod(nodePodJSON("web", "", "")), query: "?gracePeriodSeconds=5",
			code: http.StatusOK, stays: true,
			check: func(t *testing.T, got map[string]any) {
				require.Equal(t, "2026-03-04T05:06:12Z", dig(got, "metadata", "deletionTimestamp"))
			}},
		{name: "gracePeriodSeconds=0 query removes a bound pod", create: createPod(nodePodJSON("web", "", "")),
			query: "?gracePeriodSeconds=0", code: http.StatusOK},
		{name: "the body wins over the query", create: createPod(nodePodJSON("web", "", "")),
			query: "?gracePeriodSeconds=30", body: `{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0}`,
			code: http.StatusOK},
		{name: "dryRun query", create: createPod(podJSON("", "web", "")), query: "?dryRun=All", code: http.StatusOK, stays: true},
		{name: "orphanDependents=false and held: 202", create: createDeployment(deploymentWithFinalizer("web")),
			query: "?orphanDependents=false", code: http.StatusAccepted, stays: true,
			check: func(t *testing.T, got map[string]any) {
				require.Equal(t, []any{"example.com/f"}, dig(got, "metadata", "finalizers"))
			}},
		{name: "orphanDependents=false in the body and held: 202", create: createDeployment(deploymentWithFinalizer("web")),
			body: `{"orphanDependents":false}`, code: http.StatusAccepted, stays: true},
		{name: "orphanDependents=false and removed: 200", create: createDeployment(deploymentJSON("web", 1)),
			query: "?orphanDependents=false", code: http.StatusOK},
		{name: "orphanDependents=true: the orphan finalizer", create: createDeployment(deploymentJSON("web", 1)),
			query: "?orphanDependents=true", code: http.StatusOK, stays: true,
			check: func(t *testing.T, got map[string]any) {
				require.Equal(t, []any{"orphan"}, dig(got, "metadata", "finalizers"))
			}},
		{name: "Foreground: held by foregroundDeletion, 200 as Kubernetes", create: createDeployment(deploymentJSON("web", 1)),
			query: "?propagationPolicy=Foreground", code: http.StatusOK, stays: true,
			check: func(t *testing.T, got map[string]any) {
				require.Equal(t, []any{"foregroundDeletion"}, dig(got, "metadata", "finalizers"))
				require.Equal(t, "2026-03-04T05:06:07Z", dig(got, "metadata", "deletionTimestamp"))
			}},
		{name: "Orphan in the body", create: createDeployment(deploymentJSON("web", 1)),
			body: `{"propagationPolicy":"Orphan"}`, code: http.StatusOK, stays: true},
		{name: "Background", create: createDeployment(deploymentJSON("web", 1)),
			query: "?propagationPolicy=Background", code: http.StatusOK},
		{name: "gracePeriodSeconds on a deployment: removed at once", create: createDeployment(deploymentJSON("web", 1)),
			query: "?gracePeriodSeconds=30", code: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeleteEnv(t)
			path := tt.create(t, e)
			got := e.ok(t, tt.code, "DELETE", path+tt.query, tt.body)
			if tt.check != nil {
				tt.check(t, got)
			}
			code, _ := e.do(t, "GET", path, "")
			if tt.stays {
				require.Equal(t, http.StatusOK, code)
			} else {
				require.Equal(t, http.StatusNotFound, code)
			}
		})
	}
}

func createPod(body string) func(*testing.T, *env) string {
	return func(t *testing.T, e *env) string {
		got := e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/default/pods", body)
		return "/api/v1/namespaces/default/pods/" + dig(got, "metadata", "name").(string)
	}
}

func createDeployment(body string) func(*testing.T, *env) string {
	return func(t *testing.T, e *env) string {
		got := e.ok(t, http.StatusCreated, "POST", "/apis/apps/v1/namespaces/default/deployments", body)
		return "/apis/apps/v1/namespaces/default/deployments/" + dig(got, "metadata", "name").(string)
	}
}

// TestDeletePodNodeConfirms: the graceful deletion of a bound pod as the
// node agent finishes it, over HTTP.
func TestDeletePodNodeConfirms(t *testing.T) {
	e := newDeleteEnv(t)
	const path = "/api/v1/namespaces/default/pods/web"
	created := e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/default/pods", nodePodJSON("web", "", ""))
	uid := dig(created, "metadata", "uid").(string)

	e.ok(t, http.StatusOK, "DELETE", path, "")
	shorter := e.ok(t, http.StatusOK, "DELETE", path+"?gracePeriodSeconds=10", "")
	require.Equal(t, "2026-03-04T05:06:17Z", dig(shorter, "metadata", "deletionTimestamp"))
	longer := e.ok(t, http.StatusOK, "DELETE", path+"?gracePeriodSeconds=100", "")
	require.Equal(t, shorter, longer)

	e.status(t, http.StatusConflict, api.StatusReasonConflict, "DELETE", path,
		`{"gracePeriodSeconds":0,"preconditions":{"uid":"not-`+uid+`"}}`)
	e.ok(t, http.StatusOK, "DELETE", path, `{"gracePeriodSeconds":0,"preconditions":{"uid":"`+uid+`"}}`)
	e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", path, "")
}

func TestDeleteHTTPErrors(t *testing.T) {
	e := newDeleteEnv(t)
	const base = "/api/v1/namespaces/default/pods"
	e.ok(t, http.StatusCreated, "POST", base, nodePodJSON("web", "", ""))
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		code   int
		reason api.StatusReason
		// want is in the message; field the first cause's field.
		want, field string
	}{
		{"bad gracePeriodSeconds", "DELETE", base + "/web?gracePeriodSeconds=soon", "",
			http.StatusBadRequest, api.StatusReasonBadRequest, "gracePeriodSeconds", ""},
		{"bad orphanDependents", "DELETE", base + "/web?orphanDependents=maybe", "",
			http.StatusBadRequest, api.StatusReasonBadRequest, "orphanDependents", ""},
		{"bad dryRun query", "DELETE", base + "/web?dryRun=Some", "",
			http.StatusBadRequest, api.StatusReasonBadRequest, "dryRun", ""},
		{"unknown propagationPolicy", "DELETE", base + "/web?propagationPolicy=Sideways", "",
			http.StatusUnprocessableEntity, api.StatusReasonInvalid, `"Foreground"`, "propagationPolicy"},
		{"orphanDependents and propagationPolicy", "DELETE", base + "/web?orphanDependents=true&propagationPolicy=Orphan", "",
			http.StatusUnprocessableEntity, api.StatusReasonInvalid, "both", "propagationPolicy"},
		{"both in the body", "DELETE", base + "/web", `{"orphanDependents":false,"propagationPolicy":"Foreground"}`,
			http.StatusUnprocessableEntity, api.StatusReasonInvalid, "both", "propagationPolicy"},
		{"bad dryRun in the body", "DELETE", base + "/web", `{"dryRun":["Some"]}`,
			http.StatusUnprocessableEntity, api.StatusReasonInvalid, `"All"`, "dryRun[0]"},
		{"body of another kind", "DELETE", base + "/web", `{"kind":"Pod"}`,
			http.StatusBadRequest, api.StatusReasonBadRequest, "DeleteOptions", ""},
		{"unknown field in the body", "DELETE", base + "/web", `{"grace":1}`,
			http.StatusBadRequest, api.StatusReasonBadRequest, "grace", ""},
		{"not JSON", "DELETE", base + "/web", `{`, http.StatusBadRequest, api.StatusReasonBadRequest, "DeleteOptions", ""},
		{"missing", "DELETE", base + "/nope", "", http.StatusNotFound, api.StatusReasonNotFound, "nope", ""},
		{"status subresource", "DELETE", base + "/web/status", "",
			http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed, "status", ""},
		{"protected namespace", "DELETE", "/api/v1/namespaces/default", "",
			http.StatusForbidden, api.StatusReasonForbidden, "may not be deleted", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := e.status(t, tt.code, tt.reason, tt.method, tt.path, tt.body)
			require.Contains(t, st.Message, tt.want)
			if tt.field != "" {
				require.Equal(t, "DeleteOptions", st.Details.Kind)
				require.Equal(t, tt.field, st.Details.Causes[0].Field)
			}
		})
	}
	got := e.ok(t, http.StatusOK, "GET", base+"/web", "")
	require.Nil(t, dig(got, "metadata", "deletionTimestamp"), "no failed delete touched the pod")
}

func TestDeleteCollectionHTTP(t *testing.T) {
	// Admission sees every object: it refuses pods labelled keep=yes.
	refuse := admission.ValidatorFunc(func(_ context.Context, a *admission.Attributes) error {
		if a.Operation == admission.Delete && a.OldObject != nil && a.OldObject.GetObjectMeta().Labels["keep"] == "yes" {
			return api.NewForbidden(a.GroupResource(), a.Name, errors.New("kept"))
		}
		return nil
	})
	e := newDeleteEnv(t, func(c *apiserver.Config) {
		c.Admission = admission.NewChain(nil, []admission.Validator{refuse})
	})
	const a = "/api/v1/namespaces/a/pods"
	e.ok(t, http.StatusCreated, "POST", a, podJSON("", "web-1", `{"app":"web"}`))
	e.ok(t, http.StatusCreated, "POST", a, nodePodJSON("web-2", `{"app":"web"}`, ""))
	e.ok(t, http.StatusCreated, "POST", a, podJSON("", "db", `{"app":"db","keep":"yes"}`))
	e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/b/pods", podJSON("", "web-3", `{"app":"web"}`))

	got := e.ok(t, http.StatusOK, "DELETE", a+"?labelSelector=app%3Dweb", "")
	require.Equal(t, "PodList", got["kind"])
	require.Equal(t, []string{"web-1", "web-2"}, names(got))
	require.ElementsMatch(t, []string{"web-2", "db"}, names(e.ok(t, http.StatusOK, "GET", a, "")))
	require.Equal(t, []string{"web-3"}, names(e.ok(t, http.StatusOK, "GET", "/api/v1/namespaces/b/pods", "")))

	// The options apply to each: grace 0 removes the bound pod.
	got = e.ok(t, http.StatusOK, "DELETE", a+"?fieldSelector=metadata.name%3Dweb-2", `{"gracePeriodSeconds":0}`)
	require.Equal(t, []string{"web-2"}, names(got))
	// Admission refuses db: the request fails, db stays.
	e.status(t, http.StatusForbidden, api.StatusReasonForbidden, "DELETE", a, "")
	require.Equal(t, []string{"db"}, names(e.ok(t, http.StatusOK, "GET", a, "")))
	// Nothing matches: an empty list.
	got = e.ok(t, http.StatusOK, "DELETE", a+"?labelSelector=app%3Dnone", "")
	require.Empty(t, names(got))
	require.Equal(t, "PodList", got["kind"])

	// Cluster-scoped kinds are deleted as a collection too.
	e.ok(t, http.StatusCreated, "POST", "/api/v1/nodes", `{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","labels":{"pool":"x"}}}`)
	e.ok(t, http.StatusCreated, "POST", "/api/v1/nodes", `{"apiVersion":"v1","kind":"Node","metadata":{"name":"n2"}}`)
	require.Equal(t, []string{"n1"}, names(e.ok(t, http.StatusOK, "DELETE", "/api/v1/nodes?labelSelector=pool", "")))
	require.Equal(t, []string{"n2"}, names(e.ok(t, http.StatusOK, "GET", "/api/v1/nodes", "")))

	for _, tt := range []struct {
		name, path, body string
		code             int
		reason           api.StatusReason
	}{
		{"across namespaces", "/api/v1/pods", "", http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed},
		{"namespaces", "/api/v1/namespaces", "", http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed},
		{"bad selector", a + "?labelSelector=a%20in", "", http.StatusBadRequest, api.StatusReasonBadRequest},
		{"bad field", a + "?fieldSelector=spec.nope%3Dx", "", http.StatusBadRequest, api.StatusReasonBadRequest},
		{"watch", a + "?watch=true", "", http.StatusBadRequest, api.StatusReasonBadRequest},
		{"bad policy", a, `{"propagationPolicy":"x"}`, http.StatusUnprocessableEntity, api.StatusReasonInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.status(t, tt.code, tt.reason, "DELETE", tt.path, tt.body)
		})
	}
	require.Equal(t, []string{"db"}, names(e.ok(t, http.StatusOK, "GET", a, "")))

	_, metrics := e.do(t, "GET", "/metrics", "")
	require.Contains(t, string(metrics), `verb="deletecollection"`)
}

func TestDiscoveryDeleteCollection(t *testing.T) {
	e := newDeleteEnv(t)
	verbs := map[string][]string{}
	for _, r := range e.ok(t, http.StatusOK, "GET", "/api/v1", "")["resources"].([]any) {
		m := r.(map[string]any)
		verbs[m["name"].(string)] = toStrings(m["verbs"])
	}
	require.Contains(t, verbs["pods"], "deletecollection")
	require.Contains(t, verbs["nodes"], "deletecollection")
	require.NotContains(t, verbs["namespaces"], "deletecollection")
	require.Contains(t, verbs["namespaces"], "delete")
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func TestNamespaceDeleteAndFinalizeHTTP(t *testing.T) {
	e := newDeleteEnv(t)
	const ns = "/api/v1/namespaces/team"
	created := e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}}`)
	require.Equal(t, []any{"kubernetes"}, dig(created, "spec", "finalizers"))
	require.Equal(t, "Active", dig(created, "status", "phase"))

	got := e.ok(t, http.StatusOK, "DELETE", ns, "")
	require.Equal(t, "Terminating", dig(got, "status", "phase"))
	require.Equal(t, "2026-03-04T05:06:07Z", dig(got, "metadata", "deletionTimestamp"))
	require.Equal(t, got, e.ok(t, http.StatusOK, "DELETE", ns, ""), "deleting again changes nothing")
	require.Equal(t, "Terminating", dig(e.ok(t, http.StatusOK, "GET", ns, ""), "status", "phase"))
	// No new content in a terminating namespace.
	e.status(t, http.StatusForbidden, api.StatusReasonForbidden, "POST", ns+"/pods", podJSON("", "p", ""))

	finalize := `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"},"spec":{"finalizers":[]}}`
	for _, tt := range []struct {
		name, method, path, body string
		code                     int
		reason                   api.StatusReason
	}{
		{"GET", "GET", ns + "/finalize", "", http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed},
		{"POST", "POST", ns + "/finalize", finalize, http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed},
		{"other name", "PUT", "/api/v1/namespaces/other/finalize", finalize, http.StatusBadRequest, api.StatusReasonBadRequest},
		{"missing", "PUT", "/api/v1/namespaces/nope/finalize",
			strings.Replace(finalize, "team", "nope", 1), http.StatusNotFound, api.StatusReasonNotFound},
		{"empty body", "PUT", ns + "/finalize", "", http.StatusBadRequest, api.StatusReasonBadRequest},
		{"bad finalizer", "PUT", ns + "/finalize", strings.Replace(finalize, "[]", `["no way"]`, 1),
			http.StatusUnprocessableEntity, api.StatusReasonInvalid},
		{"unknown parameter", "PUT", ns + "/finalize?force=true", finalize, http.StatusBadRequest, api.StatusReasonBadRequest},
		{"finalize of a pod", "PUT", "/api/v1/namespaces/default/pods/p/finalize", finalize,
			http.StatusNotFound, api.StatusReasonNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.status(t, tt.code, tt.reason, tt.method, tt.path, tt.body)
		})
	}

	dry := e.ok(t, http.StatusOK, "PUT", ns+"/finalize?dryRun=All", finalize)
	require.Nil(t, dig(dry, "spec", "finalizers"))
	e.ok(t, http.StatusOK, "GET", ns, "")

	e.ok(t, http.StatusOK, "PUT", ns+"/finalize", finalize)
	e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", ns, "")
}
