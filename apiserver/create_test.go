package apiserver_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/store/memstore"
)

// TestCreateResetsStatus checks that a create ignores the status a client
// sends for kinds whose status is written through /status, as Kubernetes
// does: a pod starts Pending with its QoS class; nodes keep theirs (the
// node agent registers its node with its status).
func TestCreateResetsStatus(t *testing.T) {
	e := newEnv(t)
	pod := strings.Replace(podJSON("", "web", ""), `"spec":{`,
		`"status":{"phase":"Running","podIP":"10.0.0.9"},"spec":{`, 1)
	m := e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/default/pods", pod)
	require.Equal(t, map[string]any{"phase": "Pending", "qosClass": "BestEffort"}, m["status"])

	guaranteed := strings.Replace(podJSON("", "g", ""), `"image":"nginx:1.27"`,
		`"image":"nginx:1.27","resources":{"limits":{"cpu":"1","memory":"1Gi"}}`, 1)
	require.Contains(t, guaranteed, "limits")
	m = e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/default/pods", guaranteed)
	require.Equal(t, "Guaranteed", m["status"].(map[string]any)["qosClass"])

	dep := strings.Replace(deploymentJSON("web", 2), `"spec":{"replicas"`, `"status":{"readyReplicas":2},"spec":{"replicas"`, 1)
	m = e.ok(t, http.StatusCreated, "POST", "/apis/apps/v1/namespaces/default/deployments", dep)
	require.Nil(t, m["status"])

	node := `{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"}]}}`
	m = e.ok(t, http.StatusCreated, "POST", "/api/v1/nodes", node)
	require.NotNil(t, m["status"], "a node keeps its status")
}

// TestListRemainingItemCount checks that a page of a list without
// selectors says how many items follow it.
func TestListRemainingItemCount(t *testing.T) {
	e := newEnv(t)
	for i := range 7 {
		e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/default/configmaps",
			`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c`+itoa(i)+`","labels":{"app":"x"}}}`)
	}
	var remaining []any
	cont := ""
	for {
		m := e.ok(t, http.StatusOK, "GET", "/api/v1/namespaces/default/configmaps?limit=3"+cont, "")
		meta := m["metadata"].(map[string]any)
		remaining = append(remaining, meta["remainingItemCount"])
		c, _ := meta["continue"].(string)
		if c == "" {
			break
		}
		cont = "&continue=" + c
	}
	require.Equal(t, []any{float64(4), float64(1), nil}, remaining)
	// With a selector the count is unknown, and left out.
	m := e.ok(t, http.StatusOK, "GET", "/api/v1/namespaces/default/configmaps?limit=3&labelSelector=app%3Dx", "")
	require.NotContains(t, m["metadata"], "remainingItemCount")
	require.NotEmpty(t, m["metadata"].(map[string]any)["continue"])
}

// TestRunCreatesSystemNamespaces checks that Run makes the namespaces a
// cluster starts with, and leaves existing ones alone.
func TestRunCreatesSystemNamespaces(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config []string
		want   []string
	}{
		{"defaults", nil, apiserver.DefaultSystemNamespaces()},
		{"own list", []string{"ops"}, []string{"ops"}},
		{"none", []string{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := memstore.New(memstore.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { _ = ms.Close() })
			s, err := apiserver.New(apiserver.Config{Store: ms, Scheme: api.NewDefaultScheme(),
				Registerer: prometheus.NewRegistry(), SystemNamespaces: tc.config})
			require.NoError(t, err)
			c, err := client.New(client.Config{Transport: s.Transport(), Scheme: api.NewDefaultScheme()})
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
			names := func() []string {
				var l api.NamespaceList
				require.NoError(t, c.List(ctx, &l))
				var out []string
				for _, ns := range l.Items {
					out = append(out, ns.Name)
				}
				slices.Sort(out)
				return out
			}
			want := slices.Sorted(slices.Values(tc.want))
			require.Eventually(t, func() bool { return slices.Equal(names(), want) }, 10*time.Second, 5*time.Millisecond)
			if len(want) == 0 {
				// Give Run the time to have done its start: a list after
				// a create made through the server sees what Run made.
				require.NoError(t, c.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "probe"}}))
				require.Equal(t, []string{"probe"}, names())
			}
		})
	}
}

// TestServerSideApplyIsRefusedClearly checks what kubectl apply
// --server-side gets: a 415 that says the apply patch is not supported,
// not a 400 about its force parameter.
func TestServerSideApplyIsRefusedClearly(t *testing.T) {
	e := newEnv(t)
	e.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/default/configmaps",
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}`)
	req, err := http.NewRequest("PATCH", e.srv.URL+"/api/v1/namespaces/default/configmaps/c?fieldManager=kubectl&force=true",
		strings.NewReader(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"b"}}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/apply-patch+yaml")
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
}

// TestFieldValidation checks the fieldValidation parameter: Strict (the
// default) refuses unknown and duplicate fields, Warn drops them with a
// Warning header each, Ignore drops them; other errors fail whatever it
// says.
func TestFieldValidation(t *testing.T) {
	e := newEnv(t)
	typo := strings.Replace(deploymentJSON("NAME", 2), `"replicas":2`, `"replicas":2,"replcas":3`, 1)
	typo = strings.Replace(typo, `"apiVersion"`, `"kind":"Deployment","apiVersion"`, 1) // a duplicate kind
	for i, tc := range []struct {
		param    string
		body     string
		code     int
		warnings []string
	}{
		{"", typo, http.StatusBadRequest, nil},
		{"Strict", typo, http.StatusBadRequest, nil},
		{"Warn", typo, http.StatusCreated, []string{`299 - "duplicate field \"kind\""`, `299 - "unknown field \"spec.replcas\""`}},
		{"Ignore", typo, http.StatusCreated, nil},
		{"Warn", strings.Replace(deploymentJSON("NAME", 2), `"replicas":2`, `"replicas":"two"`, 1), http.StatusBadRequest, nil},
		{"Loose", deploymentJSON("NAME", 2), http.StatusBadRequest, nil},
	} {
		name := "fv-" + itoa(i)
		path := "/apis/apps/v1/namespaces/default/deployments"
		if tc.param != "" {
			path += "?fieldValidation=" + tc.param
		}
		req, err := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(strings.Replace(tc.body, "NAME", name, 1)))
		require.NoError(t, err)
		resp, err := e.srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, tc.code, resp.StatusCode, "fieldValidation=%s", tc.param)
		got := resp.Header.Values("Warning")
		slices.Sort(got)
		require.Equal(t, tc.warnings, got, "fieldValidation=%s", tc.param)
		if tc.code == http.StatusCreated {
			m := e.ok(t, http.StatusOK, "GET", "/apis/apps/v1/namespaces/default/deployments/"+name, "")
			require.Equal(t, float64(2), m["spec"].(map[string]any)["replicas"])
		}
	}
	// A patch that adds an unknown field, with Warn.
	req, err := http.NewRequest("PATCH", e.srv.URL+"/apis/apps/v1/namespaces/default/deployments/fv-2?fieldValidation=Warn",
		strings.NewReader(`{"spec":{"paused":true,"pausd":true}}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/merge-patch+json")
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, []string{`299 - "unknown field \"spec.pausd\""`}, resp.Header.Values("Warning"))
}
