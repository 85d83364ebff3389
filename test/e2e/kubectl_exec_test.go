package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/internal/remotecommand"
	"github.com/drover-io/drover/store/memstore"
)

// TestKubectlExec runs kubectl exec against an API server whose node n1
// has a fake node agent serving exec with remotecommand.Serve: kubectl's
// WebSocket (v5.channel.k8s.io) goes through the API server's pods/exec
// proxy to the agent and back. The agent's commands: "echo ARGS" prints
// "<container>: ARGS", "cat" copies stdin, "warn" writes to stderr, "exit
// N" exits with N.
//
// Against drover up (DROVER_E2E_TARGET=up) it runs kubectlExecUp instead.
func TestKubectlExec(t *testing.T) {
	if target == targetUp {
		kubectlExecUp(t)
		return
	}
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/exec/"), "/")
		opts, err := remotecommand.ParseOptions(r.URL.Query())
		if err != nil || len(parts) != 3 {
			http.Error(w, fmt.Sprintf("bad request %s: %v", r.URL, err), http.StatusBadRequest)
			return
		}
		remotecommand.Serve(w, r, opts, func(ctx context.Context, s remotecommand.Streams) (int, error) {
			switch opts.Command[0] {
			case "echo":
				fmt.Fprintf(s.Stdout, "%s: %s\n", parts[2], strings.Join(opts.Command[1:], " "))
			case "cat":
				if s.Stdin == nil {
					return 0, errors.New("cat: no stdin")
				}
				_, err := io.Copy(s.Stdout, s.Stdin)
				return 0, err
			case "warn":
				fmt.Fprintln(s.Stderr, "careful")
			case "exit":
				return strconv.Atoi(opts.Command[1])
			default:
				return 0, fmt.Errorf("exec: %q: executable file not found in $PATH", opts.Command[0])
			}
			return 0, nil
		})
	}))
	defer agent.Close()

	st, err := memstore.New(memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := apiserver.New(apiserver.Config{Store: st, Scheme: api.NewDefaultScheme(), Logger: slog.New(slog.DiscardHandler),
		Kubelet: apiserver.KubeletConfig{Scheme: "http"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := writeKubeconfig(kc, hs.URL); err != nil {
		t.Fatal(err)
	}

	c, err := client.New(client.Config{Host: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	u, _ := url.Parse(agent.URL)
	port, _ := strconv.Atoi(u.Port())
	if err := c.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "default"}}); err != nil {
		t.Fatal(err)
	}
	node := &api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"}}
	if err := c.Create(ctx, node); err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []api.NodeAddress{{Type: "InternalIP", Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	if err := c.UpdateStatus(ctx, node); err != nil {
		t.Fatal(err)
	}
	for name, cs := range map[string][]string{"web": {"app"}, "two": {"a", "b"}} {
		pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name}, Spec: api.PodSpec{NodeName: "n1"}}
		for _, cn := range cs {
			pod.Spec.Containers = append(pod.Spec.Containers, api.Container{Name: cn, Image: "busybox"})
		}
		if err := c.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
		pod.Status.Phase = api.PodRunning
		if err := c.UpdateStatus(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name           string
		stdin          string
		args           []string
		stdout, stderr string // stderr: a part of it
		code           int
	}{
		{name: "echo", args: []string{"web", "--", "echo", "hello", "world"}, stdout: "app: hello world\n"},
		{name: "container", args: []string{"two", "-c", "b", "--", "echo", "x"}, stdout: "b: x\n"},
		{name: "stdin", stdin: "line 1\nline 2\n", args: []string{"-i", "web", "--", "cat"}, stdout: "line 1\nline 2\n"},
		{name: "stderr", args: []string{"web", "--", "warn"}, stderr: "careful\n"},
		{name: "exit code", args: []string{"web", "--", "exit", "3"}, stderr: "command terminated with exit code 3", code: 3},
		{name: "no such command", args: []string{"web", "--", "vim"}, stderr: `"vim": executable file not found`, code: 1},
		// kubectl picks the first container itself, and says so.
		{name: "several containers", args: []string{"two", "--", "echo"}, stdout: "a: \n", stderr: `Defaulted container "a" out of: a, b`},
		// Newer kubectl checks the name itself ("container nope is not valid
		// for pod web out of: app"); older ones show the server's answer
		// (`container "nope" is not valid for pod web`).
		{name: "no such container", args: []string{"web", "-c", "nope", "--", "echo"}, stderr: `is not valid for pod web`, code: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := kubectlAt(t, kc, tc.stdin, append([]string{"exec"}, tc.args...)...)
			if res.code != tc.code || res.stdout != tc.stdout || !strings.Contains(res.stderr, tc.stderr) {
				t.Fatalf("kubectl exec %s: %s\nwant exit code %d, stdout %q, stderr containing %q",
					strings.Join(tc.args, " "), res, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}

// kubectlExecUp is TestKubectlExec against drover up: pods web (container
// app) and two (containers a and b) run "sleep infinity" on the node's
// fake runtime, whose exec interprets the command as a tiny shell (echo,
// printenv, exit, ...). kubectl's WebSocket goes through the API server's
// pods/exec proxy to the real node agent and back. The fake's cat reads
// files only, not stdin: stdin is not checked here.
func kubectlExecUp(t *testing.T) {
	ns := newNamespace(t)
	pods := clientset(t).CoreV1().Pods(ns)
	for name, cs := range map[string][]string{"web": {"app"}, "two": {"a", "b"}} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
		for _, cn := range cs {
			pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
				Name: cn, Image: "busybox:1.36", Command: []string{"sleep", "infinity"},
				Env: []corev1.EnvVar{{Name: "CONTAINER", Value: cn}},
			})
		}
		if _, err := pods.Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"web", "two"} {
		eventually(t, func(ctx context.Context) (bool, string) {
			p, err := pods.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return podReady(p), fmt.Sprintf("pod %s is %s, not Ready: %+v", name, p.Status.Phase, p.Status.Conditions)
		})
	}

	tests := []struct {
		name           string
		args           []string
		stdout, stderr string // stderr: a part of it
		code           int
	}{
		{name: "echo", args: []string{"web", "--", "echo", "hello", "world"}, stdout: "hello world\n"},
		{name: "container", args: []string{"two", "-c", "b", "--", "printenv", "CONTAINER"}, stdout: "b\n"},
		{name: "stderr", args: []string{"web", "--", "sh", "-c", "echo careful >&2"}, stderr: "careful\n"},
		{name: "exit code", args: []string{"web", "--", "exit", "3"}, stderr: "command terminated with exit code 3", code: 3},
		{name: "several containers", args: []string{"two", "--", "printenv", "CONTAINER"}, stdout: "a\n", stderr: `Defaulted container "a" out of: a, b`},
		{name: "no such container", args: []string{"web", "-c", "nope", "--", "echo"}, stderr: `is not valid for pod web`, code: 1},
		// Not a command of the fake's shell: 127, as in a shell.
		{name: "no such command", args: []string{"web", "--", "vim"}, stderr: `"vim": executable file not found`, code: 127},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := kubectl(t, append([]string{"exec", "-n", ns}, tc.args...)...)
			if res.code != tc.code || res.stdout != tc.stdout || !strings.Contains(res.stderr, tc.stderr) {
				t.Fatalf("kubectl exec %s: %s\nwant exit code %d, stdout %q, stderr containing %q",
					strings.Join(tc.args, " "), res, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}
