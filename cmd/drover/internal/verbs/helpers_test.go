package verbs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/controller/controllertest"
)

// cli runs the verbs against an Env served over HTTP, through a kubeconfig.
type cli struct {
	t          testing.TB
	env        *controllertest.Env
	kubeconfig string
}

func newCLI(t testing.TB, opts ...controllertest.Option) *cli {
	t.Helper()
	env := controllertest.New(t, append([]controllertest.Option{controllertest.WithHTTP()}, opts...)...)
	kc, err := env.Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, env: env, kubeconfig: kc}
}

// result is what a command printed, and its error.
type result struct {
	out, err string
	e        error
}

// run runs `drover args...` with stdin and returns what it printed.
func (c *cli) runIn(ctx context.Context, stdin string, args ...string) result {
	c.t.Helper()
	root := &cobra.Command{Use: "drover", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(Commands()...)
	var out, errb syncBuffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append(args, "--kubeconfig", c.kubeconfig))
	e := root.ExecuteContext(ctx)
	return result{out: out.String(), err: errb.String(), e: e}
}

// start runs `drover args...` on a goroutine, for commands that run until
// ctx ends (get -w, logs -f); wait returns their result.
func (c *cli) start(ctx context.Context, args ...string) (out *syncBuffer, wait func() error) {
	root := &cobra.Command{Use: "drover", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(Commands()...)
	out = &syncBuffer{}
	root.SetOut(out)
	root.SetErr(out)
	root.SetArgs(append(args, "--kubeconfig", c.kubeconfig))
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	return out, func() error { return <-done }
}

// syncBuffer is a bytes.Buffer safe for a command's goroutine and the
// test's.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	return c.runIn(controllertest.Context(c.t), "", args...)
}

// must runs args and fails the test if the command failed.
func (c *cli) must(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.e != nil {
		c.t.Fatalf("drover %s: %v\nstderr: %s", strings.Join(args, " "), r.e, r.err)
	}
	return r.out
}

// file writes a manifest into the test's directory and returns its path.
func file(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantOut(t testing.TB, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}
