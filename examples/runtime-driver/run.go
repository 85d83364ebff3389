package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/drover-io/drover/examples/runtime-driver/funcrt"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/logs"
)

// run drives a funcrt driver through one container's life, printing each
// step to out; logDir (absolute) holds the sandbox's logs.
func run(ctx context.Context, out io.Writer, logDir string) error {
	logDir, err := filepath.Abs(logDir)
	if err != nil {
		return err
	}
	d, err := funcrt.New(funcrt.Config{})
	if err != nil {
		return err
	}
	// What the node agent sees: a Runtime, an ImageService, an Execer.
	var (
		rt     runtime.Runtime      = d
		images runtime.ImageService = d
		execer runtime.Execer       = d
	)
	v, err := rt.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "runtime %s\n", v)

	if _, err := images.PullImage(ctx, "example.com/tasks/thumbnail:v1", runtime.PullOptions{}); err != nil {
		fmt.Fprintf(out, "pull of an unregistered image fails: %v\n", err)
	}
	img, err := images.PullImage(ctx, ResizeImage, runtime.PullOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "pulled %s (entrypoint %q)\n", img.RepoTags[0], img.Config.Entrypoint)

	sb, err := rt.RunPodSandbox(ctx, &runtime.SandboxConfig{
		Metadata:     runtime.PodMetadata{Name: "resize-7f9c", Namespace: "default", UID: "8d1e0c2a"},
		Hostname:     "resize-7f9c",
		LogDirectory: logDir,
	})
	if err != nil {
		return err
	}
	defer rt.RemovePodSandbox(context.WithoutCancel(ctx), sb)
	id, err := rt.CreateContainer(ctx, sb, &runtime.ContainerConfig{
		Name:    "resize",
		Image:   ResizeImage,
		Args:    []string{"cat.png", "dog.png"}, // no Command: the image's Main runs
		Env:     []runtime.KeyValue{{Key: "WIDTH", Value: "128"}},
		LogPath: "resize/0.log",
	})
	if err != nil {
		return err
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		return err
	}
	st, err := rt.ContainerStatus(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "container %s is %s\n", st.Name, st.State)

	// Follow the log until the task waits for work, as kubectl logs -f.
	if err := follow(ctx, st.LogPath, "waiting for more work\n", out); err != nil {
		return err
	}

	var probe bytes.Buffer
	code, err := execer.Exec(ctx, id, []string{"healthy"}, runtime.ExecOptions{Stdout: &probe, Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "exec healthy: exit %d, %q\n", code, probe.String())

	// SIGTERM ends the program's context; it returns well within the grace period.
	if err := rt.StopContainer(ctx, id, runtime.StopOptions{GracePeriod: 10 * time.Second}); err != nil {
		return err
	}
	if st, err = rt.ContainerStatus(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(out, "container %s is %s: exit code %d (%s)\n", st.Name, st.State, st.ExitCode, st.Reason)

	var all bytes.Buffer
	if err := logs.Read(ctx, st.LogPath, logs.ReadOptions{}, &all); err != nil {
		return err
	}
	fmt.Fprintf(out, "its log (%s):\n", filepath.Join(filepath.Base(filepath.Dir(st.LogPath)), filepath.Base(st.LogPath)))
	for _, line := range strings.SplitAfter(strings.TrimSuffix(all.String(), "\n"), "\n") {
		fmt.Fprintf(out, "  %s", strings.TrimSuffix(line, "\n")+"\n")
	}
	if err := rt.RemovePodSandbox(ctx, sb); err != nil {
		return err
	}
	fmt.Fprintln(out, "sandbox removed")
	return nil
}

// follow copies the log at path to out, line by line, until it holds
// until; the log writer wakes the follower at each write.
func follow(ctx context.Context, path, until string, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &untilWriter{out: out, until: until, done: cancel}
	if err := logs.Read(ctx, path, logs.ReadOptions{Follow: true}, w); err != nil {
		return err
	}
	if !w.seen {
		return fmt.Errorf("log %s ended before %q: %w", path, until, ctx.Err())
	}
	return nil
}

// untilWriter copies the lines it is given into out, indented, and
// calls done once a line equals until.
type untilWriter struct {
	mu      sync.Mutex
	out     io.Writer
	until   string
	done    func()
	seen    bool
	pending []byte
}

func (w *untilWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, p...)
	for !w.seen {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			break
		}
		line := string(w.pending[:i+1])
		w.pending = w.pending[i+1:]
		fmt.Fprintf(w.out, "  log: %s", line)
		if line == w.until {
			w.seen = true
			w.done()
		}
	}
	return len(p), nil
}
