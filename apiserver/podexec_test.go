package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/internal/remotecommand"
)

// execAgent is a fake node agent serving /exec/<ns>/<pod>/<container> with
// remotecommand.Serve: "echo args..." writes the container's name and
// the args to stdout, "cat" copies stdin to stdout, "exit n" exits with n.
func execAgent(t *testing.T) *nodeAgent {
	return newNodeAgent(t, func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/exec/"), "/")
		if len(parts) != 3 {
			http.Error(w, "no such path", http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "" {
			http.Error(w, "the user's credentials reached the node agent", http.StatusBadRequest)
			return
		}
		opts, err := remotecommand.ParseOptions(r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		remotecommand.Serve(w, r, opts, func(ctx context.Context, s remotecommand.Streams) (int, error) {
			switch opts.Command[0] {
			case "echo":
				fmt.Fprintf(s.Stdout, "%s: %s\n", parts[2], strings.Join(opts.Command[1:], " "))
			case "cat":
				_, err := io.Copy(s.Stdout, s.Stdin)
				return 0, err
			case "exit":
				return strconv.Atoi(opts.Command[1])
			}
			return 0, nil
		})
	})
}

// execEnv is logEnv with the pods Running, and pod "multi" (containers a
// and b, b the default-container).
func execEnv(t *testing.T, agent *nodeAgent, mutate ...func(*apiserver.Config)) *env {
	e := logEnv(t, agent, mutate...)
	multi := strings.Replace(boundPodJSON("multi", "n1", "a", "b"), `"name":"multi"`,
		`"name":"multi","annotations":{"kubectl.kubernetes.io/default-container":"b"}`, 1)
	e.ok(t, http.StatusCreated, "POST", podsPath, multi)
	for _, p := range []string{"web", "two", "multi"} {
		setPhase(t, e, p, "Running")
	}
	return e
}

func setPhase(t *testing.T, e *env, pod, phase string) {
	t.Helper()
	code, body := e.patch(t, podsPath+"/"+pod+"/status", "application/merge-patch+json", `{"status":{"phase":"`+phase+`"}}`)
	require.Equal(t, http.StatusOK, code, "%v", body)
}

// execURL is the exec URL of pod with query.
func execURL(e *env, pod, query string) string {
	return e.srv.URL + podsPath + "/" + pod + "/exec?" + query
}

func TestPodExec(t *testing.T) {
	agent := execAgent(t)
	e := execEnv(t, agent)
	tests := []struct {
		name, pod, query string
		agentPath        string
		stdin            string
		out              string
		code             int
	}{
		{"only container", "web", "command=echo&command=hi&stdout=true", "/exec/default/web/c", "", "c: hi\n", 0},
		{"named container", "two", "container=b&command=echo&command=x&stdout=true&stderr=true", "/exec/default/two/b", "", "b: x\n", 0},
		{"default-container annotation", "multi", "command=echo&stdout=1", "/exec/default/multi/b", "", "b: \n", 0},
		{"named over the annotation", "multi", "command=echo&stdout=1&container=a", "/exec/default/multi/a", "", "a: \n", 0},
		{"stdin", "web", "command=cat&stdin=true&stdout=true", "/exec/default/web/c", "line 1\nline 2\n", "line 1\nline 2\n", 0},
		{"exit code", "web", "command=exit&command=42&stdout=true", "/exec/default/web/c", "", "", 42},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := remotecommand.Streams{Stdout: &out}
			if strings.Contains(tc.query, "stdin=true") {
				s.Stdin = strings.NewReader(tc.stdin)
			}
			code, err := remotecommand.Stream(t.Context(), execURL(e, tc.pod, tc.query), http.Header{"Authorization": {"Bearer user"}}, nil, s)
			require.NoError(t, err)
			require.Equal(t, tc.code, code)
			require.Equal(t, tc.out, out.String())
			require.Equal(t, tc.agentPath, agent.last(t).Path)
		})
	}
}

// dialExec tries a WebSocket exec and returns the Status of the refusal.
func dialExec(t *testing.T, u string) (int, api.Status) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{remotecommand.ProtocolV5}}
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(u, "http"), nil)
	if err == nil {
		conn.Close()
		t.Fatalf("exec %s was not refused", u)
	}
	require.NotNil(t, resp, "%v", err)
	var st api.Status
	data, _ := io.ReadAll(resp.Body)
	require.NoError(t, json.Unmarshal(data, &st), "%s", data)
	return resp.StatusCode, st
}

func TestPodExecErrors(t *testing.T) {
	agent := execAgent(t)
	e := execEnv(t, agent)
	e.ok(t, http.StatusCreated, "POST", podsPath, boundPodJSON("starting", "n1", "c"))
	e.ok(t, http.StatusCreated, "POST", podsPath, boundPodJSON("done", "n1", "c"))
	setPhase(t, e, "done", "Succeeded")
	e.ok(t, http.StatusCreated, "POST", "/api/v1/nodes", nodeJSON("no-address", 0))
	e.ok(t, http.StatusCreated, "POST", podsPath, boundPodJSON("homeless", "no-address", "c"))
	setPhase(t, e, "homeless", "Running")
	tests := []struct {
		name, pod, query string
		code             int
		message          string
	}{
		{"several containers, none named", "two", "command=ls&stdout=true", 400, "a container name must be specified for pod two (the container query parameter), choose one of: [a b]"},
		{"unknown container", "web", "command=ls&stdout=true&container=side", 400, `container "side" is not valid for pod web`},
		{"no command", "web", "stdout=true", 400, "you must specify at least one command"},
		{"tty", "web", "command=sh&stdin=true&tty=true", 400, "tty is not supported yet"},
		{"no stream", "web", "command=ls", 400, "at least 1 of stdin, stdout, stderr"},
		{"unknown parameter", "web", "command=ls&stdout=true&shell=1", 400, `unknown query parameter "shell"`},
		{"not scheduled", "pending", "command=ls&stdout=true", 400, "pod pending does not have a host assigned"},
		{"not running yet", "starting", "command=ls&stdout=true", 400, "pod starting is not running (phase Pending)"},
		{"completed", "done", "command=ls&stdout=true", 400, "cannot exec into a container in a completed pod; current phase is Succeeded"},
		{"missing pod", "nope", "command=ls&stdout=true", 404, `"nope"`},
		{"node without address", "homeless", "command=ls&stdout=true", 503, "InternalIP, ExternalIP or Hostname"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, st := dialExec(t, execURL(e, tc.pod, tc.query))
			require.Equal(t, tc.code, code, "%+v", st)
			require.Contains(t, st.Message, tc.message)
		})
	}

	t.Run("not a WebSocket", func(t *testing.T) {
		st := e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "POST", podsPath+"/web/exec?command=ls&stdout=true", "")
		// It reaches the node agent, whose refusal the client sees.
		require.Contains(t, st.Message, `the node agent of node "n1" refused the exec in container "c" of pod default/web`)
		require.Contains(t, st.Message, "exec needs a WebSocket client")
		require.Contains(t, st.Message, "SPDY is not supported")
	})
	t.Run("PUT", func(t *testing.T) {
		e.status(t, http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed, "PUT", podsPath+"/web/exec?command=ls&stdout=true", "")
	})
}

func TestPodExecNodeAgentErrors(t *testing.T) {
	t.Run("not found", func(t *testing.T) {
		e := execEnv(t, newNodeAgent(t, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no such container", http.StatusNotFound)
		}))
		code, st := dialExec(t, execURL(e, "web", "command=ls&stdout=true"))
		require.Equal(t, http.StatusNotFound, code)
		require.Contains(t, st.Message, `container "c" of pod default/web was not found by the node agent of node "n1": no such container`)
	})
	t.Run("unreachable", func(t *testing.T) {
		agent := newNodeAgent(t, func(w http.ResponseWriter, r *http.Request) {})
		e := execEnv(t, agent)
		agent.srv.Close()
		code, st := dialExec(t, execURL(e, "web", "command=ls&stdout=true"))
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Contains(t, st.Message, `cannot reach the node agent of node "n1"`)
	})
	t.Run("no answer in time", func(t *testing.T) {
		agent := newNodeAgent(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		e := execEnv(t, agent, func(c *apiserver.Config) { c.Kubelet.ResponseHeaderTimeout = 50 * time.Millisecond })
		code, st := dialExec(t, execURL(e, "web", "command=ls&stdout=true"))
		require.Equal(t, http.StatusGatewayTimeout, code)
		require.Contains(t, st.Message, "did not answer within 50ms")
	})
}

func TestPodExecDiscovery(t *testing.T) {
	e := newEnv(t)
	_, data := e.do(t, "GET", "/api/v1", "")
	require.Contains(t, string(data), `"name":"pods/exec"`)
}
