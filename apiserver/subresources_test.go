package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/apiserver/admission"
)

const (
	scalePath = "/apis/apps/v1/namespaces/default/deployments/web/scale"
	podsPath  = "/api/v1/namespaces/default/pods"
)

func scaleJSON(name string, replicas int, rv string) string {
	meta := `"name":"` + name + `","namespace":"default"`
	if rv != "" {
		meta += `,"resourceVersion":"` + rv + `"`
	}
	return `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{` + meta + `},"spec":{"replicas":` + itoa(replicas) + `}}`
}

// requireCause checks that a 422 Status names field.
func requireCause(t *testing.T, st api.Status, field string) {
	t.Helper()
	require.NotNil(t, st.Details, "%+v", st)
	var fields []string
	for _, c := range st.Details.Causes {
		fields = append(fields, c.Field)
	}
	require.Contains(t, fields, field, "%+v", st)
}

func TestScaleGet(t *testing.T) {
	e := newEnv(t)
	d := e.ok(t, http.StatusCreated, "POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJSON("web", 3))
	sc := e.ok(t, http.StatusOK, "GET", scalePath, "")
	require.Equal(t, "Scale", sc["kind"])
	require.Equal(t, "autoscaling/v1", sc["apiVersion"])
	for _, f := range []string{"name", "namespace", "uid", "resourceVersion", "creationTimestamp"} {
		require.Equal(t, dig(d, "metadata", f), dig(sc, "metadata", f), f)
	}
	require.Nil(t, dig(sc, "metadata", "generation"))
	require.Equal(t, 3.0, dig(sc, "spec", "replicas"))
	require.Equal(t, 0.0, dig(sc, "status", "replicas"))
	require.Equal(t, "app=web", dig(sc, "status", "selector"))

	rs := strings.Replace(strings.Replace(deploymentJSON("rs", 2), `"Deployment"`, `"ReplicaSet"`, 1), `"name":"web"`, `"name":"rs"`, 1)
	e.ok(t, http.StatusCreated, "POST", "/apis/apps/v1/namespaces/default/replicasets", rs)
	rsScale := e.ok(t, http.StatusOK, "GET", "/apis/apps/v1/namespaces/default/replicasets/rs/scale", "")
	require.Equal(t, 2.0, dig(rsScale, "spec", "replicas"))
	require.Equal(t, "rs", dig(rsScale, "metadata", "name"))

	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		reason                   api.StatusReason
	}{
		{"missing parent", "GET", "/apis/apps/v1/namespaces/default/deployments/nope/scale", "", 404, api.StatusReasonNotFound},
		{"unknown parameter", "GET", scalePath + "?watch=true", "", 400, api.StatusReasonBadRequest},
		{"POST", "POST", scalePath, scaleJSON("web", 1, ""), 405, api.StatusReasonMethodNotAllowed},
		{"DELETE", "DELETE", scalePath, "", 405, api.StatusReasonMethodNotAllowed},
		{"not declared by daemonsets", "GET", "/apis/apps/v1/namespaces/default/daemonsets/x/scale", "", 404, api.StatusReasonNotFound},
		{"not declared by pods", "GET", podsPath + "/x/scale", "", 404, api.StatusReasonNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.status(t, tc.code, tc.reason, tc.method, tc.path, tc.body)
		})
	}
}

func TestScaleUpdate(t *testing.T) {
	tests := []struct {
		name   string
		body   func(rv string) string
		query  string
		code   int
		reason api.StatusReason
		field  string // the field a 422 names
		want   int    // spec.replicas of the deployment afterwards
	}{
		{name: "no resourceVersion", body: func(string) string { return scaleJSON("web", 5, "") }, code: 200, want: 5},
		{name: "current resourceVersion", body: func(rv string) string { return scaleJSON("web", 4, rv) }, code: 200, want: 4},
		{name: "no kind, no namespace", body: func(string) string { return `{"metadata":{"name":"web"},"spec":{"replicas":2}}` }, code: 200, want: 2},
		{name: "to zero", body: func(string) string { return scaleJSON("web", 0, "") }, code: 200, want: 0},
		{name: "dry run", query: "?dryRun=All", body: func(string) string { return scaleJSON("web", 9, "") }, code: 200, want: 1},
		{name: "stale resourceVersion", body: func(string) string { return scaleJSON("web", 5, "1") }, code: 409, reason: api.StatusReasonConflict, want: 1},
		{name: "negative replicas", body: func(string) string { return scaleJSON("web", -1, "") }, code: 422, reason: api.StatusReasonInvalid, field: "spec.replicas", want: 1},
		{name: "other name", body: func(string) string { return scaleJSON("api", 5, "") }, code: 400, reason: api.StatusReasonBadRequest, want: 1},
		{name: "other namespace", body: func(string) string { return strings.Replace(scaleJSON("web", 5, ""), `"default"`, `"prod"`, 1) }, code: 400, reason: api.StatusReasonBadRequest, want: 1},
		{name: "a Deployment", body: func(string) string { return deploymentJSON("web", 5) }, code: 400, reason: api.StatusReasonBadRequest, want: 1},
		{name: "autoscaling/v2", body: func(string) string {
			return strings.Replace(scaleJSON("web", 5, ""), "autoscaling/v1", "autoscaling/v2", 1)
		}, code: 400, reason: api.StatusReasonBadRequest, want: 1},
		{name: "unknown field", body: func(string) string { return `{"metadata":{"name":"web"},"spec":{"replicaz":5}}` }, code: 400, reason: api.StatusReasonBadRequest, want: 1},
		{name: "replicas a string", body: func(string) string { return `{"metadata":{"name":"web"},"spec":{"replicas":"5"}}` }, code: 400, reason: api.StatusReasonBadRequest, want: 1},
		{name: "empty body", body: func(string) string { return "" }, code: 400, reason: api.StatusReasonBadRequest, want: 1},
		{name: "not JSON", body: func(string) string { return "{" }, code: 400, reason: api.StatusReasonBadRequest, want: 1},
		{name: "bad dryRun", query: "?dryRun=yes", body: func(string) string { return scaleJSON("web", 5, "") }, code: 400, reason: api.StatusReasonBadRequest, want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.ok(t, http.StatusCreated, "POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJSON("web", 1))
			rv := dig(d, "metadata", "resourceVersion").(string)
			if tc.code == http.StatusOK {
				sc := e.ok(t, tc.code, "PUT", scalePath+tc.query, tc.body(rv))
				require.Equal(t, "Scale", sc["kind"])
				if tc.query == "" {
					require.Equal(t, float64(tc.want), dig(sc, "spec", "replicas"))
				} else {
					require.Equal(t, 9.0, dig(sc, "spec", "replicas"), "a dry run answers what would be stored")
				}
			} else {
				st := e.status(t, tc.code, tc.reason, "PUT", scalePath+tc.query, tc.body(rv))
				if tc.field != "" {
					requireCause(t, st, tc.field)
					require.Equal(t, "Scale", st.Details.Kind)
					require.Equal(t, "autoscaling", st.Details.Group)
				}
			}
			got := e.ok(t, http.StatusOK, "GET", deployPath, "")
			require.Equal(t, float64(tc.want), dig(got, "spec", "replicas"))
			gen := 1.0
			if tc.want != 1 {
				gen = 2 // a change of spec.replicas is a spec change
			}
			require.Equal(t, gen, dig(got, "metadata", "generation"))
		})
	}
}

func TestScalePatch(t *testing.T) {
	tests := []struct {
		name, contentType, patch string
		code                     int
		want                     int
	}{
		{"merge (kubectl scale)", mergeCT, `{"spec":{"replicas":3}}`, 200, 3},
		{"strategic", strategicCT, `{"spec":{"replicas":4}}`, 200, 4},
		{"JSON patch", jsonCT, `[{"op":"replace","path":"/spec/replicas","value":5}]`, 200, 5},
		{"JSON patch test passes", jsonCT, `[{"op":"test","path":"/spec/replicas","value":1},{"op":"replace","path":"/spec/replicas","value":6}]`, 200, 6},
		{"JSON patch test fails", jsonCT, `[{"op":"test","path":"/spec/replicas","value":7},{"op":"replace","path":"/spec/replicas","value":6}]`, 422, 1},
		{"status is ignored", mergeCT, `{"status":{"replicas":40}}`, 200, 1},
		{"negative", mergeCT, `{"spec":{"replicas":-2}}`, 422, 1},
		{"stale resourceVersion", mergeCT, `{"metadata":{"resourceVersion":"1"},"spec":{"replicas":2}}`, 409, 1},
		{"rename", mergeCT, `{"metadata":{"name":"api"}}`, 400, 1},
		{"unknown field", mergeCT, `{"spec":{"replicaz":2}}`, 400, 1},
		{"not JSON", mergeCT, `{`, 400, 1},
		{"empty", mergeCT, ``, 400, 1},
		{"apply patch", "application/apply-patch+yaml", `spec: {replicas: 2}`, 415, 1},
		{"no content type", "", `{"spec":{"replicas":2}}`, 415, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.ok(t, http.StatusCreated, "POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJSON("web", 1))
			code, m := e.patch(t, scalePath, tc.contentType, tc.patch)
			require.Equal(t, tc.code, code, "%v", m)
			if code == http.StatusOK {
				require.Equal(t, "Scale", m["kind"])
				require.Equal(t, float64(tc.want), dig(m, "spec", "replicas"))
				require.Equal(t, 0.0, dig(m, "status", "replicas"))
			} else {
				require.Equal(t, "Status", m["kind"])
			}
			require.Equal(t, float64(tc.want), dig(e.ok(t, http.StatusOK, "GET", deployPath, ""), "spec", "replicas"))
		})
	}
	t.Run("dry run", func(t *testing.T) {
		e := newEnv(t)
		e.ok(t, http.StatusCreated, "POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJSON("web", 1))
		code, m := e.patch(t, scalePath+"?dryRun=All", mergeCT, `{"spec":{"replicas":8}}`)
		require.Equal(t, http.StatusOK, code, "%v", m)
		require.Equal(t, 8.0, dig(m, "spec", "replicas"))
		require.Equal(t, 1.0, dig(e.ok(t, http.StatusOK, "GET", deployPath, ""), "spec", "replicas"))
	})
}

// TestScaleConcurrentWriters checks that a scale does not undo the
// concurrent writes to the rest of the object, and that concurrent scales
// all land.
func TestScaleConcurrentWriters(t *testing.T) {
	e := newEnv(t)
	e.ok(t, http.StatusCreated, "POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJSON("web", 1))
	const n = 8
	var wg sync.WaitGroup
	codes := make(chan int, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			code, _ := e.patch(t, deployPath, mergeCT, fmt.Sprintf(`{"metadata":{"labels":{"l%d":"x"}}}`, i))
			codes <- code
		}()
		go func() {
			defer wg.Done()
			code, _ := e.patch(t, scalePath, mergeCT, fmt.Sprintf(`{"spec":{"replicas":%d}}`, 10+i))
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		require.Equal(t, http.StatusOK, c)
	}
	got := e.ok(t, http.StatusOK, "GET", deployPath, "")
	for i := range n {
		require.Equal(t, "x", dig(got, "metadata", "labels", fmt.Sprintf("l%d", i)), "label l%d lost", i)
	}
	r := dig(got, "spec", "replicas").(float64)
	require.True(t, r >= 10 && r < 10+n, "replicas %v", r)
}

// admissionLog records the requests admission sees and refuses those
// deny matches.
type admissionLog struct {
	mu   sync.Mutex
	seen []admission.Attributes
	deny func(a *admission.Attributes) bool
}

func (l *admissionLog) config(cfg *apiserver.Config) {
	cfg.Admission = admission.NewChain(nil, []admission.Validator{admission.ValidatorFunc(
		func(_ context.Context, a *admission.Attributes) error {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.seen = append(l.seen, *a)
			if l.deny != nil && l.deny(a) {
				return fmt.Errorf("%s of %s/%s refused", a.Operation, a.Kind.Resource, a.Subresource)
			}
			return nil
		})})
}

func (l *admissionLog) last(t *testing.T) admission.Attributes {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	require.NotEmpty(t, l.seen)
	return l.seen[len(l.seen)-1]
}

func TestScaleAdmission(t *testing.T) {
	var log admissionLog
	log.deny = func(a *admission.Attributes) bool {
		d, ok := a.Object.(*api.Deployment)
		return ok && a.Subresource == "scale" && *d.Spec.Replicas > 10
	}
	e := newEnv(t, log.config)
	e.ok(t, http.StatusCreated, "POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJSON("web", 1))
	e.ok(t, http.StatusOK, "PUT", scalePath+"?dryRun=All", scaleJSON("web", 3, ""))
	a := log.last(t)
	require.Equal(t, admission.Update, a.Operation)
	require.Equal(t, "scale", a.Subresource)
	require.Equal(t, "web", a.Name)
	require.True(t, a.DryRun)
	require.Equal(t, int32(3), *a.Object.(*api.Deployment).Spec.Replicas)
	require.Equal(t, int32(1), *a.OldObject.(*api.Deployment).Spec.Replicas)

	st := e.status(t, http.StatusForbidden, api.StatusReasonForbidden, "PUT", scalePath, scaleJSON("web", 11, ""))
	require.Contains(t, st.Message, "refused")
	code, _ := e.patch(t, scalePath, mergeCT, `{"spec":{"replicas":12}}`)
	require.Equal(t, http.StatusForbidden, code)
	require.Equal(t, 1.0, dig(e.ok(t, http.StatusOK, "GET", deployPath, ""), "spec", "replicas"))
}

func bindingJSON(name, node string) string {
	return `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"` + name + `"},"target":{"apiVersion":"v1","kind":"Node","name":"` + node + `"}}`
}

// requireSuccess checks a Status Success with code.
func requireSuccess(t *testing.T, m map[string]any, code int) {
	t.Helper()
	require.Equal(t, "Status", m["kind"])
	require.Equal(t, "v1", m["apiVersion"])
	require.Equal(t, api.StatusSuccess, m["status"])
	require.Equal(t, float64(code), m["code"])
}

func TestBinding(t *testing.T) {
	e := newEnv(t)
	e.ok(t, http.StatusCreated, "POST", podsPath, podJSON("", "web", ""))
	body := strings.Replace(bindingJSON("web", "n1"), `"name":"web"`, `"name":"web","annotations":{"scheduler":"yes"}`, 1)
	requireSuccess(t, e.ok(t, http.StatusCreated, "POST", podsPath+"/web/binding", body), http.StatusCreated)
	pod := e.ok(t, http.StatusOK, "GET", podsPath+"/web", "")
	require.Equal(t, "n1", dig(pod, "spec", "nodeName"))
	require.Equal(t, "yes", dig(pod, "metadata", "annotations", "scheduler"))
	conds, _ := dig(pod, "status", "conditions").([]any)
	require.Len(t, conds, 1)
	require.Equal(t, "PodScheduled", dig(conds[0].(map[string]any), "type"))
	require.Equal(t, "True", dig(conds[0].(map[string]any), "status"))
	// Field selectors see the binding.
	list := e.ok(t, http.StatusOK, "GET", podsPath+"?fieldSelector=spec.nodeName%3Dn1", "")
	require.Equal(t, []string{"web"}, names(list))

	st := e.status(t, http.StatusConflict, api.StatusReasonConflict, "POST", podsPath+"/web/binding", bindingJSON("web", "n2"))
	require.Contains(t, st.Message, `pod web is already assigned to node "n1"`)
	st = e.status(t, http.StatusConflict, api.StatusReasonConflict, "POST", podsPath+"/web/binding", bindingJSON("web", "n1"))
	require.Contains(t, st.Message, "already assigned")
	require.Equal(t, "n1", dig(e.ok(t, http.StatusOK, "GET", podsPath+"/web", ""), "spec", "nodeName"))
}

func TestBindingErrors(t *testing.T) {
	e := newEnv(t)
	created := e.ok(t, http.StatusCreated, "POST", podsPath, podJSON("", "web", ""))
	uid := dig(created, "metadata", "uid").(string)
	tests := []struct {
		name, path, body string
		code             int
		reason           api.StatusReason
		field            string
	}{
		{"missing pod", podsPath + "/nope/binding", bindingJSON("nope", "n1"), 404, api.StatusReasonNotFound, ""},
		{"other name", podsPath + "/web/binding", bindingJSON("api", "n1"), 400, api.StatusReasonBadRequest, ""},
		{"no name", podsPath + "/web/binding", bindingJSON("", "n1"), 422, api.StatusReasonInvalid, "metadata.name"},
		{"other namespace", podsPath + "/web/binding", strings.Replace(bindingJSON("web", "n1"), `"name":"web"`, `"name":"web","namespace":"prod"`, 1), 400, api.StatusReasonBadRequest, ""},
		{"no target name", podsPath + "/web/binding", bindingJSON("web", ""), 422, api.StatusReasonInvalid, "target.name"},
		{"bad node name", podsPath + "/web/binding", bindingJSON("web", "Node_1"), 422, api.StatusReasonInvalid, "target.name"},
		{"target not a node", podsPath + "/web/binding", strings.Replace(bindingJSON("web", "n1"), `"Node"`, `"Pod"`, 1), 422, api.StatusReasonInvalid, "target.kind"},
		{"a Pod body", podsPath + "/web/binding", podJSON("", "web", ""), 400, api.StatusReasonBadRequest, ""},
		{"unknown field", podsPath + "/web/binding", `{"metadata":{"name":"web"},"target":{"name":"n1"},"node":"n1"}`, 400, api.StatusReasonBadRequest, ""},
		{"empty body", podsPath + "/web/binding", "", 400, api.StatusReasonBadRequest, ""},
		{"uid precondition", podsPath + "/web/binding", strings.Replace(bindingJSON("web", "n1"), `"name":"web"`, `"name":"web","uid":"other"`, 1), 409, api.StatusReasonConflict, ""},
		{"resourceVersion precondition", podsPath + "/web/binding", strings.Replace(bindingJSON("web", "n1"), `"name":"web"`, `"name":"web","resourceVersion":"1"`, 1), 409, api.StatusReasonConflict, ""},
		{"unknown parameter", podsPath + "/web/binding?force=true", bindingJSON("web", "n1"), 400, api.StatusReasonBadRequest, ""},
		{"GET", podsPath + "/web/binding", "", 405, api.StatusReasonMethodNotAllowed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			if tc.name == "GET" {
				method = "GET"
			}
			st := e.status(t, tc.code, tc.reason, method, tc.path, tc.body)
			if tc.field != "" {
				requireCause(t, st, tc.field)
			}
		})
	}
	require.Nil(t, dig(e.ok(t, http.StatusOK, "GET", podsPath+"/web", ""), "spec", "nodeName"), "a failed binding bound the pod")

	// The right uid is a precondition that holds; a dry run binds nothing.
	withUID := strings.Replace(bindingJSON("web", "n1"), `"name":"web"`, `"name":"web","uid":"`+uid+`"`, 1)
	requireSuccess(t, e.ok(t, http.StatusCreated, "POST", podsPath+"/web/binding?dryRun=All", withUID), http.StatusCreated)
	require.Nil(t, dig(e.ok(t, http.StatusOK, "GET", podsPath+"/web", ""), "spec", "nodeName"))
	e.ok(t, http.StatusCreated, "POST", podsPath+"/web/binding", withUID)
	require.Equal(t, "n1", dig(e.ok(t, http.StatusOK, "GET", podsPath+"/web", ""), "spec", "nodeName"))
}

func TestBindingPodBeingDeleted(t *testing.T) {
	e := newEnv(t)
	pod := strings.Replace(podJSON("", "web", ""), `"name":"web"`, `"name":"web","finalizers":["example.com/hold"]`, 1)
	e.ok(t, http.StatusCreated, "POST", podsPath, pod)
	e.ok(t, http.StatusOK, "DELETE", podsPath+"/web", "")
	require.NotNil(t, dig(e.ok(t, http.StatusOK, "GET", podsPath+"/web", ""), "metadata", "deletionTimestamp"))
	st := e.status(t, http.StatusConflict, api.StatusReasonConflict, "POST", podsPath+"/web/binding", bindingJSON("web", "n1"))
	require.Contains(t, st.Message, "being deleted")
}

// TestBindingConcurrent binds one pod to many nodes at once: exactly one
// binding wins.
func TestBindingConcurrent(t *testing.T) {
	e := newEnv(t)
	e.ok(t, http.StatusCreated, "POST", podsPath, podJSON("", "web", ""))
	const n = 8
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = e.do(t, "POST", podsPath+"/web/binding", bindingJSON("web", fmt.Sprintf("n%d", i)))
		}()
	}
	wg.Wait()
	winner := -1
	for i, c := range codes {
		switch c {
		case http.StatusCreated:
			require.Equal(t, -1, winner, "two bindings won: %v", codes)
			winner = i
		case http.StatusConflict:
		default:
			t.Fatalf("binding %d answered %d", i, c)
		}
	}
	require.NotEqual(t, -1, winner, "no binding won: %v", codes)
	require.Equal(t, fmt.Sprintf("n%d", winner), dig(e.ok(t, http.StatusOK, "GET", podsPath+"/web", ""), "spec", "nodeName"))
}

func TestBindingAdmission(t *testing.T) {
	var log admissionLog
	log.deny = func(a *admission.Attributes) bool {
		p, ok := a.Object.(*api.Pod)
		return ok && a.Subresource == "binding" && p.Spec.NodeName == "forbidden"
	}
	e := newEnv(t, log.config)
	e.ok(t, http.StatusCreated, "POST", podsPath, podJSON("", "web", ""))
	e.status(t, http.StatusForbidden, api.StatusReasonForbidden, "POST", podsPath+"/web/binding", bindingJSON("web", "forbidden"))
	e.ok(t, http.StatusCreated, "POST", podsPath+"/web/binding", bindingJSON("web", "n1"))
	a := log.last(t)
	require.Equal(t, admission.Update, a.Operation)
	require.Equal(t, "binding", a.Subresource)
	require.Equal(t, "n1", a.Object.(*api.Pod).Spec.NodeName)
	require.Empty(t, a.OldObject.(*api.Pod).Spec.NodeName)
}

func evictionJSON(name, deleteOptions string) string {
	s := `{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"` + name + `","namespace":"default"}`
	if deleteOptions != "" {
		s += `,"deleteOptions":` + deleteOptions
	}
	return s + `}`
}

func TestEviction(t *testing.T) {
	tests := []struct {
		name, query, body string
		code              int
		reason            api.StatusReason
		field             string
		gone              bool
	}{
		{name: "evict", body: evictionJSON("web", ""), code: 201, gone: true},
		{name: "with deleteOptions", body: evictionJSON("web", `{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0,"propagationPolicy":"Background"}`), code: 201, gone: true},
		{name: "policy/v1beta1", body: strings.Replace(evictionJSON("web", ""), "policy/v1", "policy/v1beta1", 1), code: 201, gone: true},
		{name: "dry run", query: "?dryRun=All", body: evictionJSON("web", ""), code: 201},
		{name: "dry run in deleteOptions", body: evictionJSON("web", `{"dryRun":["All"]}`), code: 201},
		{name: "uid precondition", body: evictionJSON("web", `{"preconditions":{"uid":"other"}}`), code: 409, reason: api.StatusReasonConflict},
		{name: "resourceVersion precondition", body: evictionJSON("web", `{"preconditions":{"resourceVersion":"1"}}`), code: 409, reason: api.StatusReasonConflict},
		{name: "bad propagationPolicy", body: evictionJSON("web", `{"propagationPolicy":"Later"}`), code: 422, reason: api.StatusReasonInvalid, field: "deleteOptions.propagationPolicy"},
		{name: "negative grace period", body: evictionJSON("web", `{"gracePeriodSeconds":-1}`), code: 201, gone: true},
		{name: "orphanDependents and propagationPolicy", body: evictionJSON("web", `{"orphanDependents":true,"propagationPolicy":"Orphan"}`), code: 422, reason: api.StatusReasonInvalid, field: "deleteOptions.propagationPolicy"},
		{name: "deleteOptions of another kind", body: evictionJSON("web", `{"kind":"Pod"}`), code: 400, reason: api.StatusReasonBadRequest},
		{name: "bad dryRun", body: evictionJSON("web", `{"dryRun":["Some"]}`), code: 422, reason: api.StatusReasonInvalid, field: "deleteOptions.dryRun[0]"},
		{name: "other name", body: evictionJSON("api", ""), code: 400, reason: api.StatusReasonBadRequest},
		{name: "no name", body: evictionJSON("", ""), code: 422, reason: api.StatusReasonInvalid, field: "metadata.name"},
		{name: "other namespace", body: strings.Replace(evictionJSON("web", ""), `"default"`, `"prod"`, 1), code: 400, reason: api.StatusReasonBadRequest},
		{name: "a Binding", body: bindingJSON("web", "n1"), code: 400, reason: api.StatusReasonBadRequest},
		{name: "unknown field", body: evictionJSON("web", `{"grace":1}`), code: 400, reason: api.StatusReasonBadRequest},
		{name: "empty body", body: "", code: 400, reason: api.StatusReasonBadRequest},
		{name: "unknown parameter", query: "?gracePeriodSeconds=0", body: evictionJSON("web", ""), code: 400, reason: api.StatusReasonBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.ok(t, http.StatusCreated, "POST", podsPath, podJSON("", "web", ""))
			if tc.code == http.StatusCreated {
				requireSuccess(t, e.ok(t, tc.code, "POST", podsPath+"/web/eviction"+tc.query, tc.body), tc.code)
			} else {
				st := e.status(t, tc.code, tc.reason, "POST", podsPath+"/web/eviction"+tc.query, tc.body)
				if tc.field != "" {
					requireCause(t, st, tc.field)
				}
			}
			code, _ := e.do(t, "GET", podsPath+"/web", "")
			if tc.gone {
				require.Equal(t, http.StatusNotFound, code)
			} else {
				require.Equal(t, http.StatusOK, code)
			}
		})
	}
	t.Run("missing pod", func(t *testing.T) {
		e := newEnv(t)
		e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "POST", podsPath+"/nope/eviction", evictionJSON("nope", ""))
	})
	t.Run("GET", func(t *testing.T) {
		e := newEnv(t)
		e.status(t, http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed, "GET", podsPath+"/web/eviction", "")
	})
}

// TestEvictionGracePeriod checks that the grace period of an eviction
// reaches the deletion of a bound pod.
func TestEvictionGracePeriod(t *testing.T) {
	e := newEnv(t)
	bound := strings.Replace(podJSON("", "web", ""), `"spec":{`, `"spec":{"nodeName":"n1",`, 1)
	e.ok(t, http.StatusCreated, "POST", podsPath, bound)
	e.ok(t, http.StatusCreated, "POST", podsPath+"/web/eviction", evictionJSON("web", `{"gracePeriodSeconds":60}`))
	pod := e.ok(t, http.StatusOK, "GET", podsPath+"/web", "")
	require.NotNil(t, dig(pod, "metadata", "deletionTimestamp"))
	require.Equal(t, 60.0, dig(pod, "metadata", "deletionGracePeriodSeconds"))
	e.ok(t, http.StatusCreated, "POST", podsPath+"/web/eviction", evictionJSON("web", `{"gracePeriodSeconds":0}`))
	e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", podsPath+"/web", "")
}

func TestEvictionAdmission(t *testing.T) {
	var log admissionLog
	log.deny = func(a *admission.Attributes) bool {
		return a.Operation == admission.Delete && a.Subresource == "eviction" && a.Name == "keep"
	}
	e := newEnv(t, log.config)
	e.ok(t, http.StatusCreated, "POST", podsPath, podJSON("", "keep", ""))
	e.ok(t, http.StatusCreated, "POST", podsPath, podJSON("", "web", ""))
	e.status(t, http.StatusForbidden, api.StatusReasonForbidden, "POST", podsPath+"/keep/eviction", evictionJSON("keep", ""))
	e.ok(t, http.StatusOK, "GET", podsPath+"/keep", "")
	e.ok(t, http.StatusCreated, "POST", podsPath+"/web/eviction", evictionJSON("web", ""))
	a := log.last(t)
	require.Equal(t, admission.Delete, a.Operation)
	require.Equal(t, "eviction", a.Subresource)
	require.Nil(t, a.Object)
	require.Equal(t, "web", a.OldObject.GetObjectMeta().Name)
}

func TestSubresourceDiscovery(t *testing.T) {
	e := newEnv(t)
	resources := func(path string) map[string]apiserver.APIResource {
		var l apiserver.APIResourceList
		_, data := e.do(t, "GET", path, "")
		require.NoError(t, json.Unmarshal(data, &l))
		out := map[string]apiserver.APIResource{}
		for _, r := range l.Resources {
			out[r.Name] = r
		}
		return out
	}
	core := resources("/api/v1")
	for _, tc := range []struct {
		name, group, version, kind string
		verbs                      []string
	}{
		{"pods/status", "", "", "Pod", []string{"get", "patch", "update"}},
		{"pods/binding", "", "", "Binding", []string{"create"}},
		{"pods/eviction", "policy", "v1", "Eviction", []string{"create"}},
		{"pods/log", "", "", "Pod", []string{"get"}},
	} {
		r, ok := core[tc.name]
		require.True(t, ok, "%s is not listed", tc.name)
		require.Equal(t, apiserver.APIResource{Name: tc.name, Namespaced: true, Group: tc.group, Version: tc.version,
			Kind: tc.kind, Verbs: tc.verbs}, r)
	}
	require.Equal(t, apiserver.APIResource{Name: "namespaces/finalize", Kind: "Namespace", Verbs: []string{"update"}}, core["namespaces/finalize"])
	require.NotContains(t, core, "nodes/scale")
	apps := resources("/apis/apps/v1")
	for _, name := range []string{"deployments/scale", "replicasets/scale"} {
		require.Equal(t, apiserver.APIResource{Name: name, Namespaced: true, Group: "autoscaling", Version: "v1",
			Kind: "Scale", Verbs: []string{"get", "patch", "update"}}, apps[name])
	}
	require.NotContains(t, apps, "daemonsets/scale")
}

// TestCachedWritesReadBack writes objects whose decoded form differs from
// what was sent (quantities in non-canonical forms, empty maps, an
// exponent) through create, binding, update and patch, and reads them
// back. The registry keeps what it writes in memory for the next read; in
// a test binary every object it keeps or hands out is checked against a
// decode of its stored JSON, and a difference ends the test binary.
func TestCachedWritesReadBack(t *testing.T) {
	e := newEnv(t)
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"q","labels":{},"annotations":{"a":"b"}},` +
		`"spec":{"nodeSelector":{},"containers":[{"name":"c","image":"nginx:1.27","args":[],` +
		`"resources":{"requests":{"memory":"1.5Ki","cpu":"1.5"},"limits":{"memory":"0.5Mi","cpu":"2e0"}}}]}}`
	e.ok(t, http.StatusCreated, "POST", podsPath, pod)
	requireSuccess(t, e.ok(t, http.StatusCreated, "POST", podsPath+"/q/binding", bindingJSON("q", "n1")), http.StatusCreated)
	got := e.ok(t, http.StatusOK, "GET", podsPath+"/q", "")
	requests := dig(got, "spec", "containers").([]any)[0].(map[string]any)["resources"].(map[string]any)["requests"].(map[string]any)
	require.Equal(t, "1536", requests["memory"])
	require.Equal(t, "1500m", requests["cpu"])
	require.Equal(t, "n1", dig(got, "spec", "nodeName"))

	meta := got["metadata"].(map[string]any)
	meta["labels"] = map[string]any{"x": "y"}
	data, err := json.Marshal(got)
	require.NoError(t, err)
	e.ok(t, http.StatusOK, "PUT", podsPath+"/q", string(data))
	code, patched := e.patch(t, podsPath+"/q", "application/merge-patch+json", `{"metadata":{"annotations":{"c":"d"}}}`)
	require.Equal(t, http.StatusOK, code, "%v", patched)
	require.Equal(t, "d", dig(patched, "metadata", "annotations", "c"))
	got = e.ok(t, http.StatusOK, "GET", podsPath+"/q", "")
	require.Equal(t, "y", dig(got, "metadata", "labels", "x"))
	require.Equal(t, "1536", dig(got, "spec", "containers").([]any)[0].(map[string]any)["resources"].(map[string]any)["requests"].(map[string]any)["memory"])
}
