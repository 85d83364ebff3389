package apiserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/memstore"
)

// Widget is a user kind with a status subresource.
type Widget struct {
	api.TypeMeta   `json:",inline"`
	api.ObjectMeta `json:"metadata,omitzero"`
	Spec           WidgetSpec   `json:"spec,omitzero"`
	Status         WidgetStatus `json:"status,omitzero"`
}

type WidgetSpec struct {
	Size int32 `json:"size,omitempty"`
}

type WidgetStatus struct {
	Ready int32 `json:"ready,omitempty"`
}

// panicStore panics on a Get of a key that contains "boom".
type panicStore struct {
	store.Store
	notReady     atomic.Bool
	failRevision atomic.Bool
}

func (p *panicStore) Revision(ctx context.Context) (int64, error) {
	if p.failRevision.Load() {
		return 0, store.ErrUnavailable
	}
	return p.Store.Revision(ctx)
}

func (p *panicStore) Get(ctx context.Context, key string, opts store.ReadOptions) (*store.KeyValue, error) {
	if strings.Contains(key, "boom") {
		panic("boom")
	}
	return p.Store.Get(ctx, key, opts)
}

func (p *panicStore) Ready() error {
	if p.notReady.Load() {
		return store.ErrUnavailable
	}
	return nil
}

type env struct {
	srv    *httptest.Server
	st     *panicStore
	server *apiserver.Server
}

func newEnv(t testing.TB, mutate ...func(*apiserver.Config)) *env {
	t.Helper()
	ms, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ms.Close() })
	scheme := api.NewDefaultScheme()
	require.NoError(t, api.Register[Widget](scheme, api.Kind{
		GroupVersionKind: api.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"},
		Resource:         "widgets", ShortNames: []string{"wd"}, Namespaced: true, Subresources: []string{"status"},
	}))
	st := &panicStore{Store: ms}
	cfg := apiserver.Config{Store: st, Scheme: scheme, Registerer: prometheus.NewRegistry()}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := apiserver.New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		_ = s.Close() // the watches that took their connection over
	})
	e := &env{srv: srv, st: st, server: s}
	// The default admission chain needs the namespaces the tests use.
	for _, ns := range testNamespaces {
		code, body := e.do(t, "POST", "/api/v1/namespaces",
			`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"`+ns+`"}}`)
		require.Equal(t, http.StatusCreated, code, "create namespace %s: %s", ns, body)
	}
	return e
}

// testNamespaces are created by newEnv.
var testNamespaces = []string{"default", "prod", "a", "b"}

func (e *env) do(t testing.TB, method, path, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(t, err)
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

// ok does a request that must answer code, and decodes the body.
func (e *env) ok(t *testing.T, code int, method, path, body string) map[string]any {
	t.Helper()
	got, data := e.do(t, method, path, body)
	require.Equal(t, code, got, "%s %s: %s", method, path, data)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m), "%s", data)
	return m
}

// status does a request that must fail with code and reason, and returns
// its Status.
func (e *env) status(t *testing.T, code int, reason api.StatusReason, method, path, body string) api.Status {
	t.Helper()
	got, data := e.do(t, method, path, body)
	require.Equal(t, code, got, "%s %s: %s", method, path, data)
	var st api.Status
	require.NoError(t, json.Unmarshal(data, &st), "%s", data)
	require.Equal(t, "Status", st.Kind)
	require.Equal(t, "v1", st.APIVersion)
	require.Equal(t, api.StatusFailure, st.Status)
	require.Equal(t, reason, st.Reason, "%s", data)
	require.Equal(t, int32(code), st.Code)
	return st
}

func podJSON(ns, name string, labels string) string {
	meta := `"name":"` + name + `"`
	if ns != "" {
		meta += `,"namespace":"` + ns + `"`
	}
	if labels != "" {
		meta += `,"labels":` + labels
	}
	return `{"apiVersion":"v1","kind":"Pod","metadata":{` + meta + `},"spec":{"containers":[{"name":"c","image":"nginx:1.27"}]}}`
}

func deploymentJSON(name string, replicas int) string {
	return `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"` + name + `"},"spec":{"replicas":` +
		itoa(replicas) + `,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},` +
		`"spec":{"containers":[{"name":"c","image":"nginx:1.27"}]}}}}`
}

// withDefaultServiceAccount sets spec.serviceAccountName "default" in a
// podJSON: the DefaultServiceAccount admission plugin set it on create,
// and a pod update may not change it. Likewise the tolerations the
// DefaultTolerationSeconds plugin added, which an update may not remove.
func withDefaultServiceAccount(pod string) string {
	return strings.Replace(pod, `"spec":{`, `"spec":{"serviceAccountName":"default","tolerations":[`+
		`{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300},`+
		`{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],`, 1)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func dig(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

func names(list map[string]any) []string {
	var out []string
	items, _ := list["items"].([]any)
	for _, it := range items {
		out = append(out, dig(it.(map[string]any), "metadata", "name").(string))
	}
	return out
}

func TestPodCRUD(t *testing.T) {
	e := newEnv(t)
	const base = "/api/v1/namespaces/default/pods"
	created := e.ok(t, http.StatusCreated, "POST", base, podJSON("", "web", `{"app":"web"}`))
	require.Equal(t, "default", dig(created, "metadata", "namespace"))
	require.NotEmpty(t, dig(created, "metadata", "uid"))
	require.Equal(t, "Pod", created["kind"])

	got := e.ok(t, http.StatusOK, "GET", base+"/web", "")
	rv := dig(got, "metadata", "resourceVersion").(string)
	require.Equal(t, dig(created, "metadata", "uid"), dig(got, "metadata", "uid"))

	list := e.ok(t, http.StatusOK, "GET", base, "")
	require.Equal(t, "PodList", list["kind"])
	require.Equal(t, "v1", list["apiVersion"])
	require.Equal(t, []string{"web"}, names(list))

	// Update with labels changed.
	upd := podJSON("default", "web", `{"app":"web","tier":"front"}`)
	upd = strings.Replace(upd, `"name":"web"`, `"name":"web","resourceVersion":"`+rv+`"`, 1)
	upd = withDefaultServiceAccount(upd)
	updated := e.ok(t, http.StatusOK, "PUT", base+"/web", upd)
	require.Equal(t, "front", dig(updated, "metadata", "labels", "tier"))

	// Status subresource.
	st := dig(updated, "metadata").(map[string]any)
	body, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": st,
		"spec":   map[string]any{"containers": []any{map[string]any{"name": "c", "image": "nginx:1.27"}}},
		"status": map[string]any{"phase": "Running"}})
	require.NoError(t, err)
	withStatus := e.ok(t, http.StatusOK, "PUT", base+"/web/status", string(body))
	require.Equal(t, "Running", dig(withStatus, "status", "phase"))
	require.Equal(t, "Running", dig(e.ok(t, http.StatusOK, "GET", base+"/web/status", ""), "status", "phase"))

	// Dry-run delete leaves the pod; delete removes it.
	e.ok(t, http.StatusOK, "DELETE", base+"/web?dryRun=All", "")
	e.ok(t, http.StatusOK, "GET", base+"/web", "")
	e.ok(t, http.StatusOK, "DELETE", base+"/web", `{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}`)
	e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", base+"/web", "")
}

func TestDeletePreconditions(t *testing.T) {
	e := newEnv(t)
	const base = "/api/v1/namespaces/default/pods"
	e.ok(t, http.StatusCreated, "POST", base, podJSON("", "web", ""))
	e.status(t, http.StatusConflict, api.StatusReasonConflict, "DELETE", base+"/web", `{"preconditions":{"uid":"nope"}}`)
	e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "DELETE", base+"/web", `{"precondition":{}}`)
	e.ok(t, http.StatusOK, "GET", base+"/web", "")
}

func TestNamespaceClusterScoped(t *testing.T) {
	e := newEnv(t)
	e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a"}}`)
	got := e.ok(t, http.StatusOK, "GET", "/api/v1/namespaces/team-a", "")
	require.Equal(t, "Namespace", got["kind"])
	require.Contains(t, names(e.ok(t, http.StatusOK, "GET", "/api/v1/namespaces", "")), "team-a")
	got["metadata"].(map[string]any)["labels"] = map[string]any{"x": "y"}
	body, _ := json.Marshal(got)
	require.Equal(t, "y", dig(e.ok(t, http.StatusOK, "PUT", "/api/v1/namespaces/team-a", string(body)), "metadata", "labels", "x"))
	e.ok(t, http.StatusOK, "GET", "/api/v1/namespaces/team-a/status", "")
	e.ok(t, http.StatusOK, "DELETE", "/api/v1/namespaces/team-a", "")
	// The namespace may still exist with a deletionTimestamp (finalizers);
	// either way the delete was accepted.
}

func TestDeploymentAndUserKind(t *testing.T) {
	e := newEnv(t)
	const deps = "/apis/apps/v1/namespaces/prod/deployments"
	d := e.ok(t, http.StatusCreated, "POST", deps, deploymentJSON("web", 2))
	require.Equal(t, "apps/v1", d["apiVersion"])
	require.EqualValues(t, 2, dig(d, "spec", "replicas"))
	d["spec"].(map[string]any)["replicas"] = 3
	body, _ := json.Marshal(d)
	require.EqualValues(t, 3, dig(e.ok(t, http.StatusOK, "PUT", deps+"/web", string(body)), "spec", "replicas"))
	require.Equal(t, "DeploymentList", e.ok(t, http.StatusOK, "GET", "/apis/apps/v1/deployments", "")["kind"])
	e.ok(t, http.StatusOK, "DELETE", deps+"/web", "")

	const widgets = "/apis/example.com/v1/namespaces/default/widgets"
	w := e.ok(t, http.StatusCreated, "POST", widgets, `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w1"},"spec":{"size":2}}`)
	w["status"] = map[string]any{"ready": 2}
	body, _ = json.Marshal(w)
	require.EqualValues(t, 2, dig(e.ok(t, http.StatusOK, "PUT", widgets+"/w1/status", string(body)), "status", "ready"))
	require.Equal(t, []string{"w1"}, names(e.ok(t, http.StatusOK, "GET", widgets, "")))
	require.Equal(t, "WidgetList", e.ok(t, http.StatusOK, "GET", widgets, "")["kind"])
	e.ok(t, http.StatusOK, "DELETE", widgets+"/w1", "")
	e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", widgets+"/w1", "")
}

func TestListAcrossNamespacesAndSelectors(t *testing.T) {
	e := newEnv(t)
	e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/a/pods", podJSON("", "p1", `{"app":"web"}`))
	e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/b/pods", podJSON("b", "p2", `{"app":"db"}`))
	e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/b/pods", podJSON("", "p3", `{"app":"web"}`))
	require.ElementsMatch(t, []string{"p1", "p2", "p3"}, names(e.ok(t, http.StatusOK, "GET", "/api/v1/pods", "")))
	require.ElementsMatch(t, []string{"p2", "p3"}, names(e.ok(t, http.StatusOK, "GET", "/api/v1/namespaces/b/pods", "")))
	require.ElementsMatch(t, []string{"p1", "p3"}, names(e.ok(t, http.StatusOK, "GET", "/api/v1/pods?labelSelector=app%3Dweb", "")))
	require.ElementsMatch(t, []string{"p2"}, names(e.ok(t, http.StatusOK, "GET", "/api/v1/pods?fieldSelector=metadata.name%3Dp2", "")))

	// Paging.
	page := e.ok(t, http.StatusOK, "GET", "/api/v1/pods?limit=2", "")
	require.Len(t, names(page), 2)
	cont := dig(page, "metadata", "continue").(string)
	require.NotEmpty(t, cont)
	rest := e.ok(t, http.StatusOK, "GET", "/api/v1/pods?limit=2&continue="+cont, "")
	require.Len(t, names(rest), 1)
}

func TestErrors(t *testing.T) {
	e := newEnv(t, func(c *apiserver.Config) { c.MaxBodyBytes = 4096 })
	const base = "/api/v1/namespaces/default/pods"

	t.Run("decode error names the field", func(t *testing.T) {
		st := e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "POST", "/apis/apps/v1/namespaces/default/deployments",
			strings.Replace(deploymentJSON("web", 1), `"replicas"`, `"replcas"`, 1))
		require.Contains(t, st.Message, "spec.replcas")
		require.NotNil(t, st.Details)
		require.Equal(t, "spec.replcas", st.Details.Causes[0].Field)
	})
	t.Run("syntax error", func(t *testing.T) {
		e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "POST", base, `{"kind":`)
	})
	t.Run("kind does not match the path", func(t *testing.T) {
		e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "POST", base, deploymentJSON("web", 1))
	})
	t.Run("namespace does not match the path", func(t *testing.T) {
		e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "POST", base, podJSON("other", "web", ""))
	})
	t.Run("body media type", func(t *testing.T) {
		for _, tc := range []struct {
			ct   string
			code int
		}{
			{"application/vnd.kubernetes.protobuf", http.StatusBadRequest}, // JSON is not protobuf
			{"application/cbor", http.StatusUnsupportedMediaType},
			{"text/plain", http.StatusUnsupportedMediaType},
			{"application/json; charset=utf-8", http.StatusCreated},
			{"application/yaml", http.StatusCreated},
			{"nonsense;;", http.StatusBadRequest},
		} {
			req, err := http.NewRequest("POST", e.srv.URL+base, strings.NewReader(podJSON("", "ct-"+strconv.Itoa(tc.code)+"-"+strconv.Itoa(len(tc.ct)), "")))
			require.NoError(t, err)
			req.Header.Set("Content-Type", tc.ct)
			resp, err := e.srv.Client().Do(req)
			require.NoError(t, err)
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, tc.code, resp.StatusCode, "%s: %s", tc.ct, data)
			if tc.code == http.StatusUnsupportedMediaType {
				require.Contains(t, string(data), `"reason":"UnsupportedMediaType"`)
			}
		}
	})
	t.Run("unknown query parameter", func(t *testing.T) {
		st := e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "GET", base+"?labelSelecter=a", "")
		require.Contains(t, st.Message, "labelSelecter")
	})
	t.Run("kubectl parameters are accepted", func(t *testing.T) {
		e.ok(t, http.StatusOK, "GET", base+"?pretty=true&timeout=32s", "")
	})
	t.Run("bad selector and limit", func(t *testing.T) {
		e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "GET", base+"?labelSelector=a%20in", "")
		e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "GET", base+"?limit=-1", "")
		e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "POST", base+"?dryRun=Some", podJSON("", "x", ""))
		e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "GET", base+"?fieldSelector=spec.nope%3Dx", "")
		e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "GET", base+"?watch=yes", "")
		e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "POST", base, "")
	})
	t.Run("not found", func(t *testing.T) {
		e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", base+"/nope", "")
		e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", "/api/v1/gizmos", "")
		e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", "/apis/nope/v1/things", "")
		e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", "/api/v1/pods/web", "")
		e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", base+"/web/scale", "")
		e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", "/nothing/here", "")
	})
	t.Run("method not allowed", func(t *testing.T) {
		e.status(t, http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed, "PATCH", base, `{}`)
		e.status(t, http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed, "DELETE", "/api/v1/pods", "")
		e.status(t, http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed, "POST", base+"/web", podJSON("", "web", ""))
		e.status(t, http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed, "POST", "/api/v1/pods", podJSON("", "web", ""))
		e.status(t, http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed, "POST", "/version", "")
		e.status(t, http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed, "OPTIONS", base, "")
	})
	t.Run("already exists and conflict", func(t *testing.T) {
		created := e.ok(t, http.StatusCreated, "POST", base, podJSON("", "dup", ""))
		e.status(t, http.StatusConflict, api.StatusReasonAlreadyExists, "POST", base, podJSON("", "dup", ""))
		stale := podJSON("default", "dup", `{"a":"b"}`)
		stale = strings.Replace(stale, `"name":"dup"`, `"name":"dup","resourceVersion":"`+dig(created, "metadata", "resourceVersion").(string)+`"`, 1)
		stale = withDefaultServiceAccount(stale)
		e.ok(t, http.StatusOK, "PUT", base+"/dup", stale)
		e.status(t, http.StatusConflict, api.StatusReasonConflict, "PUT", base+"/dup", stale)
	})
	t.Run("name does not match the path", func(t *testing.T) {
		e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "PUT", base+"/dup", podJSON("", "other", ""))
	})
	t.Run("too large", func(t *testing.T) {
		big := podJSON("", "big", `{"x":"`+strings.Repeat("a", 5000)+`"}`)
		e.status(t, http.StatusRequestEntityTooLarge, api.StatusReasonRequestEntityTooLarge, "POST", base, big)
	})
	t.Run("invalid with causes", func(t *testing.T) {
		st := e.status(t, http.StatusUnprocessableEntity, api.StatusReasonInvalid, "POST", base,
			`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"Bad_Name"},"spec":{"containers":[]}}`)
		require.NotNil(t, st.Details)
		require.NotEmpty(t, st.Details.Causes)
		var fieldsSeen []string
		for _, c := range st.Details.Causes {
			fieldsSeen = append(fieldsSeen, c.Field)
		}
		require.Contains(t, fieldsSeen, "metadata.name")
	})
}

func TestPanicIsRecovered(t *testing.T) {
	e := newEnv(t)
	e.status(t, http.StatusInternalServerError, api.StatusReasonInternalError, "GET", "/api/v1/namespaces/default/pods/boom", "")
	// The server keeps serving.
	e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/default/pods", podJSON("", "after", ""))
	e.ok(t, http.StatusOK, "GET", "/api/v1/namespaces/default/pods/after", "")
}

func TestWatch(t *testing.T) {
	e := newEnv(t)
	const base = "/api/v1/namespaces/default/pods"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+base+"?watch=true&allowWatchBookmarks=false", nil)
	require.NoError(t, err)
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))

	lines := make(chan []byte)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			select {
			case lines <- bytes.Clone(sc.Bytes()):
			case <-ctx.Done():
				return
			}
		}
	}()
	next := func() api.WatchEvent {
		t.Helper()
		select {
		case l, ok := <-lines:
			require.True(t, ok, "the watch ended")
			var ev api.WatchEvent
			require.NoError(t, json.Unmarshal(l, &ev), "%s", l)
			return ev
		case <-ctx.Done():
			t.Fatal("no watch event before the deadline")
		}
		return api.WatchEvent{}
	}

	created := e.ok(t, http.StatusCreated, "POST", base, podJSON("", "web", ""))
	ev := next()
	require.Equal(t, api.WatchAdded, ev.Type)
	var obj api.Pod
	require.NoError(t, json.Unmarshal(ev.Object, &obj))
	require.Equal(t, "web", obj.Name)

	created["metadata"].(map[string]any)["labels"] = map[string]any{"v": "2"}
	body, _ := json.Marshal(created)
	e.ok(t, http.StatusOK, "PUT", base+"/web", string(body))
	ev = next()
	require.Equal(t, api.WatchModified, ev.Type)
	require.NoError(t, json.Unmarshal(ev.Object, &obj))
	require.Equal(t, "2", obj.Labels["v"])
	cancel()
}

func TestWatchTimeout(t *testing.T) {
	e := newEnv(t)
	// timeoutSeconds=1 ends the stream; reading to EOF must finish.
	code, _ := e.do(t, "GET", "/api/v1/pods?watch=1&timeoutSeconds=1", "")
	require.Equal(t, http.StatusOK, code)
	e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "GET", "/api/v1/pods?watch=1&timeoutSeconds=x", "")
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	apiVersions := e.ok(t, http.StatusOK, "GET", "/api", "")
	require.Equal(t, "APIVersions", apiVersions["kind"])
	require.Equal(t, []any{"v1"}, apiVersions["versions"])

	var groups apiserver.APIGroupList
	_, data := e.do(t, "GET", "/apis", "")
	require.NoError(t, json.Unmarshal(data, &groups))
	require.Equal(t, "APIGroupList", groups.Kind)
	byName := map[string]apiserver.APIGroup{}
	for _, g := range groups.Groups {
		byName[g.Name] = g
	}
	require.Equal(t, "apps/v1", byName["apps"].PreferredVersion.GroupVersion)
	require.Equal(t, "v1", byName["example.com"].Versions[0].Version)
	require.NotContains(t, byName, "")
	require.Equal(t, "APIGroup", e.ok(t, http.StatusOK, "GET", "/apis/apps", "")["kind"])

	var core apiserver.APIResourceList
	_, data = e.do(t, "GET", "/api/v1", "")
	require.NoError(t, json.Unmarshal(data, &core))
	require.Equal(t, "APIResourceList", core.Kind)
	require.Equal(t, "v1", core.GroupVersion)
	res := map[string]apiserver.APIResource{}
	for _, r := range core.Resources {
		res[r.Name] = r
	}
	require.Equal(t, []string{"po"}, res["pods"].ShortNames)
	require.True(t, res["pods"].Namespaced)
	require.Equal(t, "pod", res["pods"].SingularName)
	require.Equal(t, "Pod", res["pods"].Kind)
	require.ElementsMatch(t, []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}, res["pods"].Verbs)
	require.Equal(t, []string{"get", "patch", "update"}, res["pods/status"].Verbs)
	require.False(t, res["namespaces"].Namespaced)

	var apps apiserver.APIResourceList
	_, data = e.do(t, "GET", "/apis/apps/v1", "")
	require.NoError(t, json.Unmarshal(data, &apps))
	found := false
	for _, r := range apps.Resources {
		if r.Name == "deployments" {
			found = true
			require.Contains(t, r.ShortNames, "deploy")
			require.Contains(t, r.Categories, "all")
		}
	}
	require.True(t, found)
}

func TestHealthVersionMetrics(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/healthz", "/livez", "/readyz"} {
		code, body := e.do(t, "GET", p, "")
		require.Equal(t, http.StatusOK, code, p)
		require.Equal(t, "ok", string(body))
	}
	e.st.notReady.Store(true)
	code, body := e.do(t, "GET", "/readyz", "")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, string(body), "unavailable")
	e.st.notReady.Store(false)

	v := e.ok(t, http.StatusOK, "GET", "/version", "")
	require.Equal(t, "1", v["major"])
	require.Equal(t, "v1.30.0-drover", v["gitVersion"])
	require.NotEmpty(t, v["goVersion"])
	require.NotEmpty(t, v["platform"])

	e.ok(t, http.StatusOK, "GET", "/api/v1/pods", "")
	code, body = e.do(t, "GET", "/metrics", "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), `drover_apiserver_requests_total{code="200",resource="pods",verb="list"}`)
	require.Contains(t, string(body), "drover_apiserver_request_duration_seconds")
}

func TestReadyzStoreFails(t *testing.T) {
	e := newEnv(t)
	e.st.failRevision.Store(true)
	code, body := e.do(t, "GET", "/readyz", "")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, string(body), "unavailable")
	e.st.failRevision.Store(false)
	code, _ = e.do(t, "GET", "/readyz", "")
	require.Equal(t, http.StatusOK, code)
}

func TestConfigValidate(t *testing.T) {
	_, err := apiserver.New(apiserver.Config{Scheme: api.NewDefaultScheme()})
	require.ErrorContains(t, err, "Config.Store")
	ms, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	defer ms.Close()
	_, err = apiserver.New(apiserver.Config{Store: ms})
	require.ErrorContains(t, err, "Config.Scheme")
	_, err = apiserver.New(apiserver.Config{Store: ms, Scheme: api.NewDefaultScheme(), MaxBodyBytes: -1})
	require.ErrorContains(t, err, "MaxBodyBytes")
}
