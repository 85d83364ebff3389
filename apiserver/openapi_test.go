package apiserver

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
)

// fetch GETs path with the Accept and If-None-Match headers, not
// following redirects.
func fetch(t *testing.T, srv *httptest.Server, path, accept, etag string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	c := *srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, data
}

func decodeMap(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m), "%.300s", data)
	return m
}

func openAPIServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(tableServer(t).Handler())
	t.Cleanup(srv.Close)
	return srv
}

// v3Docs fetches the index and every document it lists, by path.
func v3Docs(t *testing.T, srv *httptest.Server) map[string]map[string]any {
	t.Helper()
	resp, data := fetch(t, srv, "/openapi/v3", "application/json", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	index := decodeMap(t, data)["paths"].(map[string]any)
	docs := make(map[string]map[string]any)
	for p, v := range index {
		u := v.(map[string]any)["serverRelativeURL"].(string)
		require.True(t, strings.HasPrefix(u, "/openapi/v3/"+p+"?hash="), u)
		resp, data := fetch(t, srv, u, "application/json", "")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", u, data)
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		require.Equal(t, immutableCache, resp.Header.Get("Cache-Control"))
		require.Equal(t, `"`+strings.TrimPrefix(u, "/openapi/v3/"+p+"?hash=")+`"`, resp.Header.Get("ETag"))
		docs[p] = decodeMap(t, data)
	}
	return docs
}

func TestOpenAPIV3Index(t *testing.T) {
	srv := openAPIServer(t)
	docs := v3Docs(t, srv)
	require.ElementsMatch(t, []string{"api/v1", "apis/apps/v1", "apis/batch/v1", "apis/coordination.k8s.io/v1", "apis/discovery.k8s.io/v1", "apis/example.com/v1"},
		slices.Collect(mapKeys(docs)))

	_, data := fetch(t, srv, "/openapi/v3", "", "")
	u := decodeMap(t, data)["paths"].(map[string]any)["apis/apps/v1"].(map[string]any)["serverRelativeURL"].(string)
	for _, tc := range []struct {
		name, path, accept, etag string
		code                     int
		location                 string
	}{
		{name: "current", path: u, code: 200},
		{name: "no hash", path: "/openapi/v3/apis/apps/v1", code: 200},
		{name: "old hash", path: "/openapi/v3/apis/apps/v1?hash=0BAD", code: 301, location: u},
		{name: "not modified", path: "/openapi/v3/apis/apps/v1", etag: `"` + strings.SplitN(u, "=", 2)[1] + `"`, code: 304},
		{name: "other etag", path: "/openapi/v3/apis/apps/v1", etag: `"0BAD"`, code: 200},
		{name: "protobuf", path: u, accept: mediaOpenAPIV3PB, code: 406},
		{name: "protobuf or JSON", path: u, accept: mediaOpenAPIV3PB + ",application/json", code: 200},
		{name: "unknown group", path: "/openapi/v3/apis/nope/v1", code: 404},
		{name: "unknown version", path: "/openapi/v3/api/v2", code: 404},
		{name: "v2", path: "/openapi/v2", code: 200},
		{name: "v2 yaml", path: "/openapi/v2", accept: "application/yaml", code: 406},
		{name: "v2 any", path: "/openapi/v2", accept: "*/*", code: 200},
		{name: "unknown", path: "/openapi/v4", code: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := fetch(t, srv, tc.path, tc.accept, tc.etag)
			require.Equal(t, tc.code, resp.StatusCode, "%s", data)
			if tc.location != "" {
				require.Equal(t, tc.location, resp.Header.Get("Location"))
			}
			if tc.code == 200 {
				require.NotEmpty(t, resp.Header.Get("ETag"))
				decodeMap(t, data)
			}
			if tc.code == 406 || tc.code == 404 {
				require.Equal(t, "Status", decodeMap(t, data)["kind"])
			}
		})
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/openapi/v3", nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// get follows keys in nested maps.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// TestOpenAPIV3Paths checks, for every kind, what kubectl looks up: the
// operations on its paths, tagged with its group, version and kind, and
// the fieldValidation parameter of PATCH.
func TestOpenAPIV3Paths(t *testing.T) {
	srv := openAPIServer(t)
	docs := v3Docs(t, srv)
	for _, tc := range []struct {
		doc, kind string
		paths     map[string][]string // path: its verbs
	}{
		{"apis/apps/v1", "Deployment", map[string][]string{
			"/apis/apps/v1/namespaces/{namespace}/deployments":               {"get", "post"},
			"/apis/apps/v1/deployments":                                      {"get"},
			"/apis/apps/v1/namespaces/{namespace}/deployments/{name}":        {"delete", "get", "patch", "put"},
			"/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status": {"get", "patch", "put"},
		}},
		{"api/v1", "Node", map[string][]string{
			"/api/v1/nodes":               {"get", "post"},
			"/api/v1/nodes/{name}":        {"delete", "get", "patch", "put"},
			"/api/v1/nodes/{name}/status": {"get", "patch", "put"},
		}},
		{"api/v1", "ConfigMap", map[string][]string{
			"/api/v1/namespaces/{namespace}/configmaps":        {"get", "post"},
			"/api/v1/configmaps":                               {"get"},
			"/api/v1/namespaces/{namespace}/configmaps/{name}": {"delete", "get", "patch", "put"},
		}},
		{"apis/coordination.k8s.io/v1", "Lease", map[string][]string{
			"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}": {"delete", "get", "patch", "put"},
		}},
		{"apis/example.com/v1", "Gizmo", map[string][]string{
			"/apis/example.com/v1/namespaces/{namespace}/gizmos":               {"get", "post"},
			"/apis/example.com/v1/gizmos":                                      {"get"},
			"/apis/example.com/v1/namespaces/{namespace}/gizmos/{name}":        {"delete", "get", "patch", "put"},
			"/apis/example.com/v1/namespaces/{namespace}/gizmos/{name}/status": {"get", "patch", "put"},
		}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			doc := docs[tc.doc]
			require.Equal(t, "3.0.0", doc["openapi"])
			group, version, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(tc.doc, "apis/"), "api/"), "/")
			if version == "" {
				group, version = "", group
			}
			gvk := map[string]any{"group": group, "version": version, "kind": tc.kind}
			for p, verbs := range tc.paths {
				item, ok := get(doc, "paths", p).(map[string]any)
				require.True(t, ok, "path %s", p)
				var got []string
				for verb, op := range item {
					if verb == "parameters" {
						continue
					}
					got = append(got, verb)
					require.Equal(t, gvk, get(op, "x-kubernetes-group-version-kind"), "%s %s", verb, p)
					require.NotEmpty(t, get(op, "operationId"))
					params := paramNames(op.(map[string]any)["parameters"])
					switch verb {
					case "patch", "put", "post":
						require.Subset(t, params, []string{"dryRun", "fieldManager", "fieldValidation"}, "%s %s", verb, p)
						if verb != "patch" {
							require.NotNil(t, get(op, "requestBody", "content", "application/json"), "%s %s", verb, p)
						}
					case "delete":
						require.Subset(t, params, []string{"dryRun", "propagationPolicy", "gracePeriodSeconds"})
					}
					if verb == "patch" {
						for _, mt := range []string{"application/strategic-merge-patch+json", "application/merge-patch+json", "application/json-patch+json"} {
							require.NotNil(t, get(op, "requestBody", "content", mt), mt)
						}
						require.Nil(t, get(op, "requestBody", "content", "application/apply-patch+yaml"), "server-side apply is not served")
					}
					if verb == "get" && !strings.HasSuffix(p, "}") && !strings.HasSuffix(p, "status") {
						require.Subset(t, params, []string{"labelSelector", "fieldSelector", "limit", "continue", "watch", "resourceVersion"})
					}
					ref := get(op, "responses", "200", "content", "application/json", "schema", "$ref").(string)
					require.True(t, strings.HasPrefix(ref, componentsPrefix), ref)
				}
				slices.Sort(got)
				require.Equal(t, verbs, got, p)
				pp := paramNames(item["parameters"])
				require.Equal(t, strings.Contains(p, "{namespace}"), slices.Contains(pp, "namespace"), p)
				require.Equal(t, strings.Contains(p, "{name}"), slices.Contains(pp, "name"), p)
			}
			// The kind's schema is tagged with its group, version and kind.
			var found int
			for _, s := range get(doc, "components", "schemas").(map[string]any) {
				if l, ok := get(s, "x-kubernetes-group-version-kind").([]any); ok && len(l) == 1 {
					if l[0].(map[string]any)["kind"] == tc.kind {
						found++
					}
				}
			}
			require.Equal(t, 1, found)
		})
	}
}

func paramNames(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, p := range l {
		out = append(out, p.(map[string]any)["name"].(string))
		if p.(map[string]any)["in"] == "query" {
			if get(p, "schema", "type") == nil {
				panic("query parameter without a schema type")
			}
		}
	}
	return out
}

// schemaOf returns the schema of the kind in doc.
func schemaOf(t *testing.T, doc map[string]any, kind string) (string, map[string]any) {
	t.Helper()
	for name, s := range get(doc, "components", "schemas").(map[string]any) {
		if l, ok := get(s, "x-kubernetes-group-version-kind").([]any); ok && l[0].(map[string]any)["kind"] == kind {
			return name, s.(map[string]any)
		}
	}
	t.Fatalf("no schema of kind %s", kind)
	return "", nil
}

// resolve follows a $ref, or the single $ref of an allOf.
func resolve(t *testing.T, doc map[string]any, s any) map[string]any {
	t.Helper()
	if all, ok := get(s, "allOf").([]any); ok {
		s = all[0]
	}
	if ref, ok := get(s, "$ref").(string); ok {
		out, ok := get(doc, "components", "schemas", strings.TrimPrefix(ref, componentsPrefix)).(map[string]any)
		require.True(t, ok, "unresolved %s", ref)
		return out
	}
	return s.(map[string]any)
}

func TestOpenAPIV3Schemas(t *testing.T) {
	srv := openAPIServer(t)
	docs := v3Docs(t, srv)

	// Every reference of every document resolves within it.
	for p, doc := range docs {
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if ref, ok := v["$ref"].(string); ok {
					require.NotNil(t, get(doc, "components", "schemas", strings.TrimPrefix(ref, componentsPrefix)), "%s: %s", p, ref)
				}
				for _, e := range v {
					walk(e)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			}
		}
		walk(doc)
	}

	apps := docs["apis/apps/v1"]
	_, deploy := schemaOf(t, apps, "Deployment")
	for _, f := range []string{"apiVersion", "kind", "metadata", "spec", "status"} {
		require.NotNil(t, get(deploy, "properties", f), f)
	}
	require.NotEmpty(t, get(deploy, "properties", "spec", "description"))
	spec := resolve(t, apps, get(deploy, "properties", "spec"))
	require.Equal(t, []any{"selector", "template"}, spec["required"])
	require.Equal(t, map[string]any{"type": "integer", "format": "int32"}, get(spec, "properties", "replicas"))
	podSpec := resolve(t, apps, get(resolve(t, apps, get(spec, "properties", "template")), "properties", "spec"))
	containers := get(podSpec, "properties", "containers").(map[string]any)
	require.Equal(t, "array", containers["type"])
	require.Equal(t, "name", containers["x-kubernetes-patch-merge-key"])
	require.Equal(t, "merge", containers["x-kubernetes-patch-strategy"])
	container := resolve(t, apps, containers["items"])
	require.Contains(t, container["required"], "name")
	require.Equal(t, "name", get(container, "properties", "env", "x-kubernetes-patch-merge-key"))
	require.Equal(t, "containerPort", get(container, "properties", "ports", "x-kubernetes-patch-merge-key"))
	require.Nil(t, get(container, "properties", "command", "x-kubernetes-patch-merge-key"))
	require.Equal(t, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}, get(container, "properties", "command"))
	limits := get(resolve(t, apps, get(container, "properties", "resources")), "properties", "limits", "additionalProperties")
	require.Equal(t, componentsPrefix+"com.github.drover-io.drover.api.resource.Quantity", get(limits, "$ref"))
	require.Equal(t, true, get(resolve(t, apps, limits), "x-kubernetes-int-or-string"))
	meta := resolve(t, apps, get(deploy, "properties", "metadata"))
	require.Equal(t, map[string]any{"type": "string", "format": "date-time"}, get(meta, "properties", "creationTimestamp"))
	require.Equal(t, map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}, get(meta, "properties", "labels"))
	strategy := resolve(t, apps, get(spec, "properties", "strategy"))
	ru := resolve(t, apps, get(strategy, "properties", "rollingUpdate"))
	require.Equal(t, true, get(resolve(t, apps, get(ru, "properties", "maxSurge")), "x-kubernetes-int-or-string"))

	core := docs["api/v1"]
	_, secret := schemaOf(t, core, "Secret")
	require.Equal(t, map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string", "format": "byte"}},
		get(secret, "properties", "data"))
	listName, list := schemaOf(t, core, "PodList")
	require.True(t, strings.HasSuffix(listName, "PodList"), listName)
	require.Equal(t, "array", get(list, "properties", "items", "type"))

	_, gizmo := schemaOf(t, docs["apis/example.com/v1"], "Gizmo")
	require.Equal(t, "Gizmo is a kind of the API group-version \"example.com/v1\".", gizmo["description"])
	gspec := resolve(t, docs["apis/example.com/v1"], get(gizmo, "properties", "spec"))
	require.Equal(t, "port", get(gspec, "properties", "ports", "x-kubernetes-patch-merge-key"))
	require.Nil(t, gspec["required"])
	// Descriptions from SwaggerDoc.
	require.Equal(t, "GizmoSpec is the desired state of a Gizmo.", gspec["description"])
	require.Equal(t, map[string]any{"type": "integer", "format": "int32", "description": "Size is the number of parts."},
		get(gspec, "properties", "size"))
	require.Nil(t, get(gspec, "properties", "color", "description"))
}

func (GizmoSpec) SwaggerDoc() map[string]string {
	return map[string]string{"": "GizmoSpec is the desired state of a Gizmo.", "size": "Size is the number of parts."}
}

func TestOpenAPIV2(t *testing.T) {
	srv := openAPIServer(t)
	resp, data := fetch(t, srv, "/openapi/v2", "application/json", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	doc := decodeMap(t, data)
	require.Equal(t, "2.0", doc["swagger"])
	resp2, _ := fetch(t, srv, "/openapi/v2", "application/json", resp.Header.Get("ETag"))
	require.Equal(t, http.StatusNotModified, resp2.StatusCode)

	patch := get(doc, "paths", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "patch")
	require.Equal(t, map[string]any{"group": "apps", "version": "v1", "kind": "Deployment"}, get(patch, "x-kubernetes-group-version-kind"))
	require.ElementsMatch(t, []any{"application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"}, get(patch, "consumes"))
	var fv, body map[string]any
	for _, p := range get(patch, "parameters").([]any) {
		switch p.(map[string]any)["name"] {
		case "fieldValidation":
			fv = p.(map[string]any)
		case "body":
			body = p.(map[string]any)
		}
	}
	require.Equal(t, "query", fv["in"])
	require.Equal(t, "string", fv["type"])
	require.Nil(t, fv["schema"])
	require.Equal(t, "body", body["in"])
	ref := get(doc, "paths", "/api/v1/nodes/{name}", "get", "responses", "200", "schema", "$ref").(string)
	require.True(t, strings.HasPrefix(ref, definitionsPrefix), ref)
	require.NotNil(t, get(doc, "definitions", strings.TrimPrefix(ref, definitionsPrefix), "x-kubernetes-group-version-kind"))
	for _, p := range get(doc, "paths", "/api/v1/namespaces/{namespace}/pods/{name}", "parameters").([]any) {
		require.Equal(t, "string", p.(map[string]any)["type"])
	}
}

// TestOpenAPIOnce checks that the documents are made once per server.
func TestOpenAPIOnce(t *testing.T) {
	s := tableServer(t)
	a, err := s.openAPI()
	require.NoError(t, err)
	b, err := s.openAPI()
	require.NoError(t, err)
	require.Same(t, a, b)
	other, err := tableServer(t).openAPI()
	require.NoError(t, err)
	require.NotSame(t, a, other)
	require.Equal(t, a.v3["apis/apps/v1"].hash, other.v3["apis/apps/v1"].hash, "the documents are deterministic")
}

func TestTypeName(t *testing.T) {
	k, _ := api.NewDefaultScheme().KindFor(api.AppsV1.WithKind("Deployment"))
	require.Equal(t, "com.github.drover-io.drover.api.Deployment", typeName(k.GoType()))
}

// pbField is a field of a protobuf message: a varint or bytes.
type pbField struct {
	num  int
	v    uint64
	data []byte
}

// pbDecode splits a protobuf message into its fields; only the wire types
// the encoder writes (varint, bytes) are expected.
func pbDecode(t *testing.T, b []byte) []pbField {
	t.Helper()
	var out []pbField
	varint := func() uint64 {
		var v uint64
		for shift := 0; ; shift += 7 {
			require.NotEmpty(t, b, "truncated varint")
			c := b[0]
			b = b[1:]
			v |= uint64(c&0x7f) << shift
			if c < 0x80 {
				return v
			}
		}
	}
	for len(b) > 0 {
		key := varint()
		f := pbField{num: int(key >> 3)}
		switch key & 7 {
		case 0:
			f.v = varint()
		case 2:
			n := varint()
			require.LessOrEqual(t, n, uint64(len(b)))
			f.data, b = b[:n], b[n:]
		default:
			t.Fatalf("wire type %d", key&7)
		}
		out = append(out, f)
	}
	return out
}

// pbAll returns the fields numbered num.
func pbAll(t *testing.T, b []byte, num int) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range pbDecode(t, b) {
		if f.num == num {
			out = append(out, f.data)
		}
	}
	return out
}

func pbOne(t *testing.T, b []byte, num int) []byte {
	t.Helper()
	all := pbAll(t, b, num)
	require.Len(t, all, 1, "field %d", num)
	return all[0]
}

// pbNamed returns the value of the Named* entry called name.
func pbNamed(t *testing.T, entries [][]byte, name string) []byte {
	t.Helper()
	for _, e := range entries {
		if string(pbOne(t, e, 1)) == name {
			return pbOne(t, e, 2)
		}
	}
	t.Fatalf("no entry %q", name)
	return nil
}

// TestOpenAPIV2Protobuf decodes the protobuf document along the fields
// client-go and kubectl read.
func TestOpenAPIV2Protobuf(t *testing.T) {
	srv := openAPIServer(t)
	for _, accept := range []string{mediaOpenAPIV2PBOld, mediaOpenAPIV2PB, mediaOpenAPIV2PBOld + ",application/json"} {
		resp, _ := fetch(t, srv, "/openapi/v2", accept, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, mediaOpenAPIV2PB, resp.Header.Get("Content-Type"), "a type mime.ParseMediaType (and client-go) can parse")
	}
	resp, _ := fetch(t, srv, "/openapi/v2", "application/json,"+mediaOpenAPIV2PBOld, "")
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	resp, doc := fetch(t, srv, "/openapi/v2", mediaOpenAPIV2PBOld, "")
	resp2, _ := fetch(t, srv, "/openapi/v2", mediaOpenAPIV2PBOld, resp.Header.Get("ETag"))
	require.Equal(t, http.StatusNotModified, resp2.StatusCode)

	require.Equal(t, "2.0", string(pbOne(t, doc, pbDocSwagger)))
	// The definition of Deployment, with its group-version-kind.
	defs := pbAll(t, pbOne(t, doc, pbDocDefinitions), 1)
	deploy := pbNamed(t, defs, "com.github.drover-io.drover.api.Deployment")
	ext := pbNamed(t, pbAll(t, deploy, 31), "x-kubernetes-group-version-kind")
	require.JSONEq(t, `[{"group":"apps","version":"v1","kind":"Deployment"}]`, string(pbOne(t, ext, pbAnyYAML)))
	props := pbAll(t, pbOne(t, deploy, 25), 1)
	spec := pbNamed(t, props, "spec")
	require.Equal(t, "#/definitions/com.github.drover-io.drover.api.DeploymentSpec", string(pbOne(t, spec, 1)))
	require.NotEmpty(t, pbOne(t, spec, 4), "description")
	dspec := pbNamed(t, defs, "com.github.drover-io.drover.api.DeploymentSpec")
	require.Equal(t, [][]byte{[]byte("selector"), []byte("template")}, pbAll(t, dspec, 19))
	replicas := pbNamed(t, pbAll(t, pbOne(t, dspec, 25), 1), "replicas")
	require.Equal(t, "integer", string(pbOne(t, pbOne(t, replicas, 22), 1)))
	// A map, an array, an int-or-string.
	labels := pbNamed(t, pbAll(t, pbOne(t, pbNamed(t, defs, "com.github.drover-io.drover.api.ObjectMeta"), 25), 1), "labels")
	require.Equal(t, "string", string(pbOne(t, pbOne(t, pbOne(t, pbOne(t, labels, 21), 1), 22), 1)))
	podSpec := pbNamed(t, defs, "com.github.drover-io.drover.api.PodSpec")
	containers := pbNamed(t, pbAll(t, pbOne(t, podSpec, 25), 1), "containers")
	require.Equal(t, "array", string(pbOne(t, pbOne(t, containers, 22), 1)))
	require.Equal(t, "#/definitions/com.github.drover-io.drover.api.Container", string(pbOne(t, pbOne(t, pbOne(t, containers, 23), 1), 1)))
	mk := pbNamed(t, pbAll(t, containers, 31), "x-kubernetes-patch-merge-key")
	require.Equal(t, `"name"`, string(pbOne(t, mk, pbAnyYAML)))
	port := pbNamed(t, pbAll(t, pbOne(t, pbNamed(t, defs, "com.github.drover-io.drover.api.HTTPGetAction"), 25), 1), "port")
	require.Equal(t, "#/definitions/com.github.drover-io.drover.api.IntOrString", string(pbOne(t, port, 1)))
	ios := pbNamed(t, defs, "com.github.drover-io.drover.api.IntOrString")
	require.Equal(t, "int-or-string", string(pbOne(t, ios, 2)))
	require.Equal(t, "string", string(pbOne(t, pbOne(t, ios, 22), 1)))

	// The PATCH of a deployment, with its kind and fieldValidation.
	paths := pbAll(t, pbOne(t, doc, pbDocPaths), pbPathsPath)
	item := pbNamed(t, paths, "/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
	patch := pbOne(t, item, pbPathItemOps["patch"])
	gvk := pbNamed(t, pbAll(t, patch, pbOpExtension), "x-kubernetes-group-version-kind")
	require.JSONEq(t, `{"group":"apps","version":"v1","kind":"Deployment"}`, string(pbOne(t, gvk, pbAnyYAML)))
	var query []string
	var body bool
	for _, p := range pbAll(t, patch, pbOpParameters) {
		param := pbOne(t, p, 1)
		if bp := pbAll(t, param, 1); len(bp) == 1 {
			body = string(pbOne(t, bp[0], 3)) == "body"
			continue
		}
		q := pbOne(t, pbOne(t, param, 2), 3)
		require.Equal(t, "query", string(pbOne(t, q, 2)))
		query = append(query, string(pbOne(t, q, 4)))
	}
	require.True(t, body)
	require.Subset(t, query, []string{"fieldValidation", "dryRun", "fieldManager"})
	// The path parameters.
	for _, p := range pbAll(t, item, pbPathItemParameters) {
		sub := pbOne(t, pbOne(t, pbOne(t, p, 1), 2), 4)
		require.Equal(t, "path", string(pbOne(t, sub, 2)))
		require.Equal(t, "string", string(pbOne(t, sub, 5)))
	}
	// The responses.
	ok := pbNamed(t, pbAll(t, pbOne(t, patch, pbOpResponses), pbResponsesCode), "200")
	schema := pbOne(t, pbOne(t, pbOne(t, pbOne(t, ok, 1), 2), 1), 1)
	require.Equal(t, "#/definitions/com.github.drover-io.drover.api.Deployment", string(schema))
}
