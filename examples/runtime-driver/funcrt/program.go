package funcrt

import (
	"context"
	"io"
	"path"
	"strings"
	"sync"
	"syscall"

	"github.com/drover-io/drover/runtime"
)

// Program is the code of a container: a Go function that runs in a
// goroutine of the node agent's process and returns the container's exit
// code.
//
// ctx ends when the container is killed (StopContainer's grace period
// ran out, its sandbox was stopped, it was removed) and, unless the
// program called Process.Notify, when it is sent any signal (the default
// disposition of SIGTERM: terminate). A program must return soon after
// ctx ends: Go cannot kill a goroutine, so the driver reports a killed
// container as Exited with code 137 at once and abandons the goroutine,
// which runs on, invisible, until it returns. Its output after that point
// is dropped.
//
// A program that panics is recovered: the panic and its stack go to the
// container's standard error and it exits with code 2, as a Go program
// does; the node agent survives.
type Program func(ctx context.Context, p *Process) int

// Process is what a Program is given in place of an operating system
// process: its arguments, environment, streams and mounts. Programs must
// not use os.Args, os.Getenv, os.Stdout or os.Chdir: those are the node
// agent's, shared by every container.
type Process struct {
	// Args are the container's arguments, Args[0] the program's name in
	// its image ("main" for the image's own program), as os.Args.
	Args []string
	// Env is the environment, "KEY=value": the image's, then the
	// container's (a later entry of the same key wins; Getenv applies
	// that rule).
	Env []string
	// WorkingDir is the container's working directory ("/" by default).
	// It is advice for the program: goroutines share one process-wide
	// working directory, which the driver does not change.
	WorkingDir string
	// Stdin is the standard input: an exec's, or empty for a container.
	Stdin io.Reader
	// Stdout and Stderr are the container's log (CRI format, through
	// runtime/logs) or the exec's streams. Safe for concurrent use.
	Stdout, Stderr io.Writer
	// Mounts are the volumes the node agent gave the container, with the
	// host paths to open them at (see HostPath).
	Mounts []runtime.Mount

	sig *signals
}

// Getenv returns the value of the environment variable key, or "".
func (p *Process) Getenv(key string) string {
	v, _ := p.LookupEnv(key)
	return v
}

// LookupEnv returns the value of the environment variable key and
// whether it is set; the last entry of Env with that key wins.
func (p *Process) LookupEnv(key string) (string, bool) {
	for i := len(p.Env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(p.Env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// HostPath maps a path as the container sees it ("/data/in.txt") to the
// node's file through the container's Mounts (the longest mount path that
// contains it wins). ok is false when no mount holds the path: a funcrt
// container has no root filesystem of its own.
func (p *Process) HostPath(containerPath string) (hostPath string, ok bool) {
	containerPath = path.Clean("/" + containerPath)
	best := -1
	for i, m := range p.Mounts {
		mp := path.Clean("/" + m.ContainerPath)
		if (containerPath == mp || strings.HasPrefix(containerPath, strings.TrimSuffix(mp, "/")+"/")) &&
			(best < 0 || len(mp) > len(path.Clean("/"+p.Mounts[best].ContainerPath))) {
			best = i
		}
	}
	if best < 0 {
		return "", false
	}
	rel := strings.TrimPrefix(containerPath, path.Clean("/"+p.Mounts[best].ContainerPath))
	return path.Join(p.Mounts[best].HostPath, rel), true
}

// Notify takes over the program's signals, as signal.Notify does: from
// now on a signal other than SIGKILL no longer ends ctx but arrives on
// the returned channel, and the program decides what to do (exit, reload,
// ignore). Pending signals beyond the channel's buffer (4) are dropped,
// as Unix coalesces them. Calling it again returns the same channel.
func (p *Process) Notify() <-chan syscall.Signal {
	p.sig.mu.Lock()
	defer p.sig.mu.Unlock()
	p.sig.notified = true
	return p.sig.ch
}

// signals delivers a container's signals: to the program's channel once
// it called Notify, else by ending its context.
type signals struct {
	mu       sync.Mutex
	notified bool
	ch       chan syscall.Signal
	cancel   context.CancelFunc
}

func newSignals(cancel context.CancelFunc) *signals {
	return &signals{ch: make(chan syscall.Signal, 4), cancel: cancel}
}

// send delivers sig; SIGKILL always ends the context.
func (s *signals) send(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sig == syscall.SIGKILL || !s.notified {
		s.cancel()
		return
	}
	select {
	case s.ch <- sig:
	default:
	}
}

// gate is a writer that drops what is written once closed: the output of
// an abandoned goroutine must not reach a log file that is closed or a
// caller's buffer that Exec has handed back.
type gate struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.w == nil {
		return len(p), nil
	}
	return g.w.Write(p)
}

// shut closes the gate; writes in progress have finished when it returns.
func (g *gate) shut() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
