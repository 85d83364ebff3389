package verbs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/internal/remotecommand"
)

// newExecCLI has node n1 run a fake node agent serving exec, with the
// Running pods web (container app) and two (containers a and b) bound to
// it. The agent's commands: "echo ARGS" prints "<container>: ARGS",
// "cat" copies stdin, "warn" writes to stderr, "exit N" exits with N.
func newExecCLI(t *testing.T) *cli {
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
	t.Cleanup(agent.Close)
	c := newCLI(t, controllertest.WithServerConfig(func(cfg *apiserver.Config) { cfg.Kubelet.Scheme = "http" }))
	ctx := controllertest.Context(t)
	u, _ := url.Parse(agent.URL)
	port, _ := strconv.Atoi(u.Port())
	node := &api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"}}
	if err := c.env.Client.Create(ctx, node); err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []api.NodeAddress{{Type: "InternalIP", Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	if err := c.env.Client.UpdateStatus(ctx, node); err != nil {
		t.Fatal(err)
	}
	for name, cs := range map[string][]string{"web": {"app"}, "two": {"a", "b"}} {
		pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name}, Spec: api.PodSpec{NodeName: "n1"}}
		for _, cn := range cs {
			pod.Spec.Containers = append(pod.Spec.Containers, api.Container{Name: cn, Image: "busybox"})
		}
		if err := c.env.Client.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
		pod.Status.Phase = api.PodRunning
		if err := c.env.Client.UpdateStatus(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// execIn runs `drover exec args...` with stdin; the kubeconfig flag goes
// before the "--" that ends drover's flags.
func (c *cli) execIn(stdin string, args ...string) result {
	c.t.Helper()
	root := &cobra.Command{Use: "drover", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(Commands()...)
	var out, errb syncBuffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append([]string{"exec", "--kubeconfig", c.kubeconfig}, args...))
	e := root.ExecuteContext(controllertest.Context(c.t))
	return result{out: out.String(), err: errb.String(), e: e}
}

func TestExec(t *testing.T) {
	c := newExecCLI(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"web", "--", "echo", "hello", "-n"}, "app: hello -n\n"},
		{[]string{"pod/two", "-c", "b", "--", "echo", "x"}, "b: x\n"},
	} {
		if r := c.execIn("", tc.args...); r.e != nil || r.out != tc.want {
			t.Errorf("exec %v: %q, %v; want %q", tc.args, r.out, r.e, tc.want)
		}
	}

	r := c.execIn("line 1\nline 2\n", "-i", "web", "--", "cat")
	if r.e != nil || r.out != "line 1\nline 2\n" {
		t.Errorf("exec -i cat: %q, %v", r.out, r.e)
	}
	r = c.execIn("", "web", "--", "warn")
	if r.e != nil || r.err != "careful\n" || r.out != "" {
		t.Errorf("exec warn: stdout %q, stderr %q, %v", r.out, r.err, r.e)
	}

	// The remote exit code is the command's.
	r = c.execIn("", "web", "--", "exit", "3")
	var ec *ExitCodeError
	if !errors.As(r.e, &ec) || ec.ExitCode() != 3 || r.e.Error() != "command terminated with exit code 3" {
		t.Errorf("exec exit 3: %v", r.e)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"two", "--", "echo"}, "a container name must be specified for pod two"},
		{[]string{"web", "-c", "nope", "--", "echo"}, `container "nope" is not valid for pod web`},
		{[]string{"nope", "--", "echo"}, `pods "nope" not found`},
		{[]string{"web", "--", "vim"}, `"vim": executable file not found`},
		{[]string{"-t", "web", "--", "sh"}, "tty is not supported yet"},
		{[]string{"web", "ls"}, "give the command after --: drover exec web -- ls"},
		{[]string{"web"}, "give the command to run after --"},
		{[]string{"web", "--"}, "give the command to run after --"},
		{[]string{"web", "two", "--", "ls"}, "exec takes one pod before --"},
		{[]string{"deploy/web", "--", "ls"}, "exec runs in pods"},
	} {
		r := c.execIn("", tc.args...)
		if r.e == nil || !strings.Contains(r.e.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, r.e, tc.want)
		}
	}
}
