package apiserver_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
)

const (
	mergeCT     = "application/merge-patch+json"
	jsonCT      = "application/json-patch+json"
	strategicCT = "application/strategic-merge-patch+json"
)

// patch sends a PATCH with the given Content-Type.
func (e *env) patch(t testing.TB, path, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("PATCH", e.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m), "%s", data)
	return resp.StatusCode, m
}

const twoContainers = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"a":"1"}},` +
	`"spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},` +
	`"spec":{"containers":[` +
	`{"name":"app","image":"app:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},` +
	`{"name":"side","image":"side:1"}]}}}}`

const deployPath = "/apis/apps/v1/namespaces/default/deployments/web"

func containers(m map[string]any) []any {
	c, _ := dig(m, "spec", "template", "spec", "containers").([]any)
	return c
}

func TestPatch(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		patch       string
		code        int
		check       func(t *testing.T, m map[string]any)
	}{
		{"merge labels and replicas", mergeCT, `{"metadata":{"labels":{"b":"2","a":null}},"spec":{"replicas":3}}`, 200,
			func(t *testing.T, m map[string]any) {
				require.Equal(t, map[string]any{"b": "2"}, dig(m, "metadata", "labels"))
				require.EqualValues(t, 3, dig(m, "spec", "replicas"))
			}},
		{"merge replaces a list", mergeCT, `{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:2"}]}}}}`, 200,
			func(t *testing.T, m map[string]any) {
				c := containers(m)
				require.Len(t, c, 1)
				require.Equal(t, "app:2", c[0].(map[string]any)["image"])
			}},
		{"json patch add replace remove test", jsonCT, `[` +
			`{"op":"test","path":"/spec/replicas","value":1},` +
			`{"op":"add","path":"/metadata/labels/b","value":"2"},` +
			`{"op":"replace","path":"/spec/replicas","value":4},` +
			`{"op":"remove","path":"/metadata/labels/a"}]`, 200,
			func(t *testing.T, m map[string]any) {
				require.Equal(t, map[string]any{"b": "2"}, dig(m, "metadata", "labels"))
				require.EqualValues(t, 4, dig(m, "spec", "replicas"))
			}},
		{"json patch failed test", jsonCT, `[{"op":"test","path":"/spec/replicas","value":9}]`, 422, nil},
		{"json patch missing path", jsonCT, `[{"op":"remove","path":"/metadata/labels/zz"}]`, 422, nil},
		{"malformed json patch", jsonCT, `[{"op":`, 400, nil},
		{"malformed merge patch", mergeCT, `{"spec":`, 400, nil},
		{"malformed strategic patch", strategicCT, `[1]`, 400, nil},
		{"strategic image by name", strategicCT, `{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:2"}]}}}}`, 200,
			func(t *testing.T, m map[string]any) {
				c := containers(m)
				require.Len(t, c, 2)
				require.Equal(t, "app:2", c[0].(map[string]any)["image"])
				require.Equal(t, "side", c[1].(map[string]any)["name"])
				require.Equal(t, "side:1", c[1].(map[string]any)["image"])
				require.Len(t, c[0].(map[string]any)["env"], 2, "env untouched")
			}},
		{"strategic env by name", strategicCT, `{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"B","value":"3"},{"name":"C","value":"4"}]}]}}}}`, 200,
			func(t *testing.T, m map[string]any) {
				env := containers(m)[0].(map[string]any)["env"].([]any)
				require.Equal(t, []any{
					map[string]any{"name": "A", "value": "1"},
					map[string]any{"name": "B", "value": "3"},
					map[string]any{"name": "C", "value": "4"},
				}, env)
			}},
		{"strategic delete container", strategicCT, `{"spec":{"template":{"spec":{"containers":[{"name":"side","$patch":"delete"}]}}}}`, 200,
			func(t *testing.T, m map[string]any) {
				c := containers(m)
				require.Len(t, c, 1)
				require.Equal(t, "app", c[0].(map[string]any)["name"])
			}},
		{"strategic replace list", strategicCT, `{"spec":{"template":{"spec":{"containers":[{"$patch":"replace"},{"name":"only","image":"x:1"}]}}}}`, 200,
			func(t *testing.T, m map[string]any) {
				c := containers(m)
				require.Len(t, c, 1)
				require.Equal(t, "only", c[0].(map[string]any)["name"])
			}},
		{"strategic replace map", strategicCT, `{"metadata":{"labels":{"$patch":"replace","z":"9"}}}`, 200,
			func(t *testing.T, m map[string]any) {
				require.Equal(t, map[string]any{"z": "9"}, dig(m, "metadata", "labels"))
			}},
		{"strategic retainKeys refused", strategicCT, `{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}`, 400,
			func(t *testing.T, m map[string]any) { require.Contains(t, m["message"], "$retainKeys") }},
		{"strategic missing merge key", strategicCT, `{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}`, 400,
			func(t *testing.T, m map[string]any) { require.Contains(t, m["message"], `"name"`) }},
		{"unknown field", mergeCT, `{"spec":{"replcas":3}}`, 400,
			func(t *testing.T, m map[string]any) { require.Contains(t, m["message"], "spec.replcas") }},
		{"unknown nested field strategic", strategicCT, `{"spec":{"template":{"spec":{"containers":[{"name":"app","imag":"x"}]}}}}`, 400,
			func(t *testing.T, m map[string]any) { require.Contains(t, m["message"], "imag") }},
		{"rename", mergeCT, `{"metadata":{"name":"other"}}`, 400,
			func(t *testing.T, m map[string]any) { require.Contains(t, m["message"], "metadata.name") }},
		{"change namespace", mergeCT, `{"metadata":{"namespace":"other"}}`, 400, nil},
		{"stale resourceVersion", mergeCT, `{"metadata":{"resourceVersion":"999"},"spec":{"replicas":2}}`, 409, nil},
		{"change kind", mergeCT, `{"kind":"Pod"}`, 400, nil},
		{"content type with parameters", mergeCT + "; charset=utf-8", `{"spec":{"replicas":2}}`, 200,
			func(t *testing.T, m map[string]any) { require.EqualValues(t, 2, dig(m, "spec", "replicas")) }},
		{"unsupported content type", "application/json", `{}`, 415,
			func(t *testing.T, m map[string]any) {
				require.Equal(t, string(api.StatusReasonUnsupportedMediaType), m["reason"])
				require.Contains(t, m["message"], strategicCT)
			}},
		{"no content type", "", `{}`, 415, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.ok(t, 201, "POST", "/apis/apps/v1/namespaces/default/deployments", twoContainers)
			code, m := e.patch(t, deployPath, tc.contentType, tc.patch)
			require.Equal(t, tc.code, code, "%v", m)
			if tc.code >= 400 {
				require.Equal(t, "Status", m["kind"])
			}
			if tc.check != nil {
				tc.check(t, m)
			}
			if tc.code == 200 {
				// The result is what is stored.
				got := e.ok(t, 200, "GET", deployPath, "")
				require.Equal(t, dig(m, "spec"), dig(got, "spec"))
				require.Equal(t, dig(m, "metadata", "labels"), dig(got, "metadata", "labels"))
			}
		})
	}
}

func TestPatchStrategicVersusMerge(t *testing.T) {
	e := newEnv(t)
	e.ok(t, 201, "POST", "/apis/apps/v1/namespaces/default/deployments", twoContainers)
	p := `{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:2"}]}}}}`
	_, m := e.patch(t, deployPath+"?dryRun=All", strategicCT, p)
	require.Len(t, containers(m), 2)
	_, m = e.patch(t, deployPath+"?dryRun=All", mergeCT, p)
	require.Len(t, containers(m), 1)
	// dryRun wrote nothing.
	got := e.ok(t, 200, "GET", deployPath, "")
	require.Equal(t, "app:1", containers(got)[0].(map[string]any)["image"])
}

func TestPatchServicePorts(t *testing.T) {
	e := newEnv(t)
	e.ok(t, 201, "POST", "/api/v1/namespaces/default/services",
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"svc"},"spec":{"selector":{"app":"web"},"ports":[`+
			`{"name":"http","port":80,"targetPort":8080},{"name":"https","port":443,"targetPort":8443}]}}`)
	code, m := e.patch(t, "/api/v1/namespaces/default/services/svc", strategicCT,
		`{"spec":{"ports":[{"port":443,"targetPort":9443},{"name":"metrics","port":9090}]}}`)
	require.Equal(t, 200, code, "%v", m)
	ports := dig(m, "spec", "ports").([]any)
	require.Len(t, ports, 3)
	require.EqualValues(t, 80, ports[0].(map[string]any)["port"])
	require.EqualValues(t, 9443, ports[1].(map[string]any)["targetPort"])
	require.Equal(t, "https", ports[1].(map[string]any)["name"])
	require.Equal(t, "metrics", ports[2].(map[string]any)["name"])
}

func TestPatchMissingAndCollection(t *testing.T) {
	e := newEnv(t)
	code, m := e.patch(t, deployPath, mergeCT, `{"spec":{"replicas":2}}`)
	require.Equal(t, 404, code, "%v", m)
	require.Equal(t, string(api.StatusReasonNotFound), m["reason"])
	code, _ = e.patch(t, "/apis/apps/v1/namespaces/default/deployments", mergeCT, `{}`)
	require.Equal(t, 405, code)
	code, _ = e.patch(t, deployPath+"?dryRun=Some", mergeCT, `{}`)
	require.Equal(t, 400, code)
}

func TestPatchConcurrent(t *testing.T) {
	e := newEnv(t)
	e.ok(t, 201, "POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJSON("web", 1))
	const n = 8
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() {
			codes[i], _ = e.patch(t, deployPath, mergeCT, fmt.Sprintf(`{"metadata":{"labels":{"l%d":"v"}}}`, i))
		})
	}
	wg.Wait()
	for i, c := range codes {
		require.Equal(t, 200, c, "patch %d", i)
	}
	got := e.ok(t, 200, "GET", deployPath, "")
	labels := dig(got, "metadata", "labels").(map[string]any)
	for i := range n {
		require.Contains(t, labels, fmt.Sprintf("l%d", i))
	}
}

func TestPatchStatus(t *testing.T) {
	e := newEnv(t)
	base := "/apis/example.com/v1/namespaces/default/widgets"
	e.ok(t, 201, "POST", base, `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1}}`)
	// A status patch changes only the status.
	code, m := e.patch(t, base+"/w/status", mergeCT, `{"spec":{"size":5},"status":{"ready":2}}`)
	require.Equal(t, 200, code, "%v", m)
	require.EqualValues(t, 2, dig(m, "status", "ready"))
	require.EqualValues(t, 1, dig(m, "spec", "size"))
	// A patch of the object leaves the status.
	code, m = e.patch(t, base+"/w", strategicCT, `{"spec":{"size":3},"status":{"ready":9}}`)
	require.Equal(t, 200, code, "%v", m)
	require.EqualValues(t, 3, dig(m, "spec", "size"))
	require.EqualValues(t, 2, dig(m, "status", "ready"))
	// A user kind has no merge keys: a strategic patch is a merge patch.
	code, m = e.patch(t, base+"/w", strategicCT, `{"spec":{"nope":1}}`)
	require.Equal(t, 400, code, "%v", m)
	require.Contains(t, m["message"], "spec.nope")
}

func TestPatchResourceVersionPrecondition(t *testing.T) {
	e := newEnv(t)
	e.ok(t, 201, "POST", "/apis/apps/v1/namespaces/default/deployments", deploymentJSON("web", 1))
	rv := dig(e.ok(t, 200, "GET", deployPath, ""), "metadata", "resourceVersion").(string)
	p := `{"metadata":{"resourceVersion":"` + rv + `"},"spec":{"replicas":2}}`
	code, m := e.patch(t, deployPath, strategicCT, p)
	require.Equal(t, 200, code, "%v", m)
	require.NotEqual(t, rv, dig(m, "metadata", "resourceVersion"))
	// The same patch again is stale: a plain 409, no retry.
	code, m = e.patch(t, deployPath, strategicCT, p)
	require.Equal(t, 409, code, "%v", m)
	require.Equal(t, string(api.StatusReasonConflict), m["reason"])
}

func TestPatchClusterScoped(t *testing.T) {
	e := newEnv(t)
	e.ok(t, 201, "POST", "/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}}`)
	code, m := e.patch(t, "/api/v1/namespaces/team", jsonCT, `[{"op":"add","path":"/metadata/labels/x","value":"y"}]`)
	require.Equal(t, 200, code, "%v", m)
	require.Equal(t, "y", dig(m, "metadata", "labels", "x"))
	code, _ = e.patch(t, "/api/v1/namespaces/team", mergeCT, `{"metadata":{"namespace":"x"}}`)
	require.Equal(t, 400, code)
}
