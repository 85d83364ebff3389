package apiserver_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
)

// A Node's addresses are not validated, so one a user wrote may not make
// a URL: pods/log must answer a 4xx/503 Status naming the node, never 500.
func TestPodLogBadNodeAddressIsNot500(t *testing.T) {
	agent := newNodeAgent(t, func(w http.ResponseWriter, r *http.Request) {})
	e := logEnv(t, agent)
	for _, addr := range []string{"a b", "evil.example/x?y", "user@evil.example", "[::1]", "fe80::1%eth0"} {
		t.Run(addr, func(t *testing.T) {
			e.ok(t, http.StatusCreated, "POST", "/api/v1/nodes", nodeJSON("bad", 0, "Hostname", addr))
			e.ok(t, http.StatusCreated, "POST", podsPath, boundPodJSON("p", "bad", "c"))
			t.Cleanup(func() {
				e.do(t, "DELETE", podsPath+"/p?gracePeriodSeconds=0", "")
				e.do(t, "DELETE", "/api/v1/nodes/bad", "")
			})
			st := e.status(t, http.StatusServiceUnavailable, api.StatusReasonServiceUnavailable, "GET", podsPath+"/p/log", "")
			require.Contains(t, st.Message, `node "bad"`)
		})
	}
}

// FuzzCreateProtobufBody posts arbitrary protobuf bodies: never a 5xx.
func FuzzCreateProtobufBody(f *testing.F) {
	for _, name := range []string{"pod.pb", "deployment.pb", "configmap.pb", "namespace.pb"} {
		if b, err := os.ReadFile("../api/testdata/protobuf/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Add(pbDeleteOptions)
	e := newEnv(f)
	h := e.srv.Config.Handler
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/api/v1/namespaces/default/pods", "/apis/apps/v1/namespaces/default/deployments", "/api/v1/namespaces/default/configmaps"} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", api.ContentTypeProtobuf)
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s body %q: %d %s", path, body, rec.Code, rec.Body)
			}
		}
	})
}

// openWatchers returns the drover_apiserver_watchers gauge of resource.
func openWatchers(t *testing.T, e *env, resource string) string {
	t.Helper()
	code, body := e.do(t, "GET", "/metrics", "")
	require.Equal(t, http.StatusOK, code)
	for line := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(line, `drover_apiserver_watchers{resource="`+resource+`",version="v1"} `) {
			return strings.Fields(line)[1]
		}
	}
	t.Fatalf("no watchers gauge for %s in /metrics", resource)
	return ""
}

// A watch whose connection cannot be taken over (the client pipelined
// another request behind it) must end at once: before the fix the handler
// went on streaming into the hijacked ResponseWriter, blocked in Next
// until an event of the kind came, holding its goroutine and watcher.
func TestWatchPipelinedRequestDoesNotLeak(t *testing.T) {
	e := newEnv(t)
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /api/v1/configmaps?watch=1 HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	// The server closes the connection, with or without an answer.
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.Copy(io.Discard, conn)
	deadline := time.Now().Add(10 * time.Second)
	for openWatchers(t, e, "configmaps") != "0" {
		if time.Now().After(deadline) {
			t.Fatalf("the watch of a connection that was closed is still open (%s watchers)", openWatchers(t, e, "configmaps"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FuzzPatchBody sends arbitrary patches of every type to an existing pod
// and deployment: never a 5xx.
func FuzzPatchBody(f *testing.F) {
	for _, seed := range []string{
		`{"metadata":{"labels":{"a":"b"}}}`,
		`{"spec":{"containers":[{"name":"web","image":"x"}]}}`,
		`{"spec":{"containers":[{"$patch":"delete","name":"web"}]}}`,
		`{"spec":{"$setElementOrder/containers":[{"name":"web"}]}}`,
		`[{"op":"add","path":"/metadata/labels/x","value":"y"}]`,
		`[{"op":"remove","path":"/spec/containers/0"}]`,
		`[{"op":"move","from":"/spec","path":"/spec/x"}]`,
		`{"spec":{"replicas":null}}`, `null`, `[]`, `{`, "",
	} {
		f.Add(seed, uint8(0))
	}
	e := newEnv(f)
	h := e.srv.Config.Handler
	for _, c := range []struct{ path, body string }{
		{"/api/v1/namespaces/default/pods", podJSON("", "web", "")},
		{"/apis/apps/v1/namespaces/default/deployments", deploymentJSON("web", 1)},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, c.path, strings.NewReader(c.body)))
		require.Equal(f, http.StatusCreated, rec.Code, "%s", rec.Body)
	}
	types := []string{"application/merge-patch+json", "application/json-patch+json", "application/strategic-merge-patch+json"}
	f.Fuzz(func(t *testing.T, patch string, typ uint8) {
		for _, path := range []string{"/api/v1/namespaces/default/pods/web", "/apis/apps/v1/namespaces/default/deployments/web",
			"/apis/apps/v1/namespaces/default/deployments/web/scale", "/api/v1/namespaces/default/pods/web/status"} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPatch, path+"?dryRun=All", strings.NewReader(patch))
			req.Header.Set("Content-Type", types[int(typ)%len(types)])
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", path, types[int(typ)%len(types)], patch, rec.Code, rec.Body)
			}
		}
	})
}
