package apiserver_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
)

// doProtobuf sends body with the Content-Type of client-go's typed clients.
func (e *env) doProtobuf(t *testing.T, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", api.ContentTypeProtobuf)
	req.Header.Set("Accept", api.ContentTypeProtobuf+",application/json")
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

// golden reads a body written by tools/protogen with k8s.io/api.
func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../api/testdata/protobuf/" + name)
	require.NoError(t, err)
	return b
}

// pbDeleteOptions is a protobuf DeleteOptions {gracePeriodSeconds: 0}.
var pbDeleteOptions = []byte("k8s\x00" +
	"\x0a\x1f\x0a\x0emeta.k8s.io/v1\x12\x0dDeleteOptions" + // typeMeta
	"\x12\x02\x08\x00") // raw: field 1 varint 0

func TestProtobufBodies(t *testing.T) {
	e := newEnv(t)
	scheme := api.NewDefaultScheme()

	code, data := e.doProtobuf(t, "POST", "/api/v1/namespaces", golden(t, "namespace.pb"))
	require.Equal(t, http.StatusCreated, code, "%s", data)

	for _, tc := range []struct{ file, path, get string }{
		{"configmap", "/api/v1/namespaces/t1/configmaps", "/api/v1/namespaces/t1/configmaps/c1"},
		{"deployment", "/apis/apps/v1/namespaces/t1/deployments", "/apis/apps/v1/namespaces/t1/deployments/web"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			code, data := e.doProtobuf(t, "POST", tc.path, golden(t, tc.file+".pb"))
			require.Equal(t, http.StatusCreated, code, "%s", data)
			require.Equal(t, byte('{'), data[0], "the answer is JSON")

			code, data = e.do(t, "GET", tc.get, "")
			require.Equal(t, http.StatusOK, code, "%s", data)
			stored, err := scheme.Decode(data)
			require.NoError(t, err)
			want, err := scheme.Decode(golden(t, tc.file+".json"))
			require.NoError(t, err)
			switch want := want.(type) {
			case *api.ConfigMap:
				got := stored.(*api.ConfigMap)
				require.Equal(t, want.Data, got.Data)
				require.Equal(t, want.BinaryData, got.BinaryData)
				require.Equal(t, want.Immutable, got.Immutable)
			case *api.Deployment:
				got := stored.(*api.Deployment)
				require.Equal(t, want.Labels, got.Labels)
				require.Equal(t, want.Spec.Replicas, got.Spec.Replicas)
				require.Equal(t, want.Spec.Selector, got.Spec.Selector)
				require.Equal(t, want.Spec.Strategy, got.Spec.Strategy)
				require.Equal(t, want.Spec.Template.Spec.Containers[0].Image, got.Spec.Template.Spec.Containers[0].Image)
			}
		})
	}

	t.Run("a user kind has no protobuf encoding", func(t *testing.T) {
		code, data := e.doProtobuf(t, "POST", "/apis/example.com/v1/namespaces/t1/widgets", golden(t, "configmap.pb"))
		require.Equal(t, http.StatusUnsupportedMediaType, code, "%s", data)
		require.Contains(t, string(data), "has no protobuf encoding")
	})
	t.Run("the kind must match the path", func(t *testing.T) {
		code, data := e.doProtobuf(t, "POST", "/api/v1/namespaces/t1/secrets", golden(t, "configmap.pb"))
		require.Equal(t, http.StatusBadRequest, code, "%s", data)
	})
	t.Run("malformed", func(t *testing.T) {
		body := golden(t, "secret.pb")
		code, data := e.doProtobuf(t, "POST", "/api/v1/namespaces/t1/secrets", body[:len(body)-3])
		require.Equal(t, http.StatusBadRequest, code, "%s", data)
	})
	t.Run("delete options", func(t *testing.T) {
		// The golden DeleteOptions has a uid precondition that cannot hold.
		code, data := e.doProtobuf(t, "DELETE", "/api/v1/namespaces/t1/configmaps/c1", golden(t, "deleteoptions.pb"))
		require.Equal(t, http.StatusConflict, code, "%s", data)
		require.Contains(t, string(data), "u-1")

		code, data = e.doProtobuf(t, "DELETE", "/api/v1/namespaces/t1/configmaps/c1", pbDeleteOptions)
		require.Equal(t, http.StatusOK, code, "%s", data)
		code, _ = e.do(t, "GET", "/api/v1/namespaces/t1/configmaps/c1", "")
		require.Equal(t, http.StatusNotFound, code)

		code, data = e.doProtobuf(t, "DELETE", "/apis/apps/v1/namespaces/t1/deployments/web", []byte("k8s\x00\x12\x02\x08"))
		require.Equal(t, http.StatusBadRequest, code, "%s", data)
	})
	t.Run("subresource bodies", func(t *testing.T) {
		// The golden Binding and Eviction are for pod t1/web-0.
		code, data := e.do(t, "POST", "/api/v1/namespaces/t1/pods", podJSON("", "web-0", ""))
		require.Equal(t, http.StatusCreated, code, "%s", data)
		// A dry-run eviction (the golden one) leaves the pod.
		code, data = e.doProtobuf(t, "POST", "/api/v1/namespaces/t1/pods/web-0/eviction", golden(t, "eviction.pb"))
		require.Equal(t, http.StatusCreated, code, "%s", data)
		code, data = e.doProtobuf(t, "POST", "/api/v1/namespaces/t1/pods/web-0/binding", golden(t, "binding.pb"))
		require.Equal(t, http.StatusCreated, code, "%s", data)
		code, data = e.do(t, "GET", "/api/v1/namespaces/t1/pods/web-0", "")
		require.Equal(t, http.StatusOK, code, "%s", data)
		require.Contains(t, string(data), `"nodeName":"node-1"`)
		code, data = e.doProtobuf(t, "POST", "/api/v1/namespaces/t1/pods/web-0/binding", []byte("k8s\x00\x12\x02\x08"))
		require.Equal(t, http.StatusBadRequest, code, "%s", data)
	})
}
