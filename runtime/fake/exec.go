package fake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/drover-io/drover/runtime"
)

// Exec runs cmd in the running container: its scripted result
// (Script.Exec), or cmd through the fake's shell. A command the shell
// does not know exits 127, as in a shell. Sleeps wait on the clock; past
// opts.Timeout Exec fails with runtime.ErrTimeout.
func (d *Driver) Exec(ctx context.Context, id string, cmd []string, opts runtime.ExecOptions) (int, error) {
	s := d.s
	s.mu.Lock()
	c := s.containers[id]
	if c == nil {
		s.mu.Unlock()
		return -1, fmt.Errorf("fake: exec in container %q: %w", id, runtime.ErrNotFound)
	}
	if c.proc == nil {
		st := c.status.State
		s.mu.Unlock()
		return -1, fmt.Errorf("fake: exec in container %s: it is %s: %w", id, st, runtime.ErrNotRunning)
	}
	var scripted *ExecResult
	if c.script != nil {
		if r, ok := c.script.Exec[strings.Join(cmd, " ")]; ok {
			scripted = &r
		}
	}
	env := &shellEnv{env: c.env, workdir: c.wd}
	mounts := c.mounts
	exited := c.proc.exited()
	s.mu.Unlock()

	stdout, stderr := opts.Stdout, opts.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	var deadline chan struct{}
	if opts.Timeout > 0 {
		deadline = make(chan struct{})
		stop := s.clock.AfterFunc(opts.Timeout, func() { close(deadline) })
		defer stop()
	}
	wait := func(dur time.Duration) error {
		var done chan struct{}
		if dur >= 0 {
			done = make(chan struct{})
			stop := s.clock.AfterFunc(dur, func() { close(done) })
			defer stop()
		}
		select {
		case <-done:
			return nil
		case <-deadline:
			return fmt.Errorf("fake: exec %q in container %s: %w after %s", cmd, id, runtime.ErrTimeout, opts.Timeout)
		case <-exited:
			return fmt.Errorf("fake: exec %q in container %s: the container exited: %w", cmd, id, runtime.ErrNotRunning)
		case <-ctx.Done():
			return fmt.Errorf("fake: exec %q in container %s: %w", cmd, id, ctx.Err())
		}
	}

	if scripted != nil {
		if scripted.Duration > 0 {
			if err := wait(scripted.Duration); err != nil {
				return -1, err
			}
		}
		io.WriteString(stdout, scripted.Stdout)
		io.WriteString(stderr, scripted.Stderr)
		return scripted.ExitCode, nil
	}
	steps, err := compile(cmd, env)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		if errors.As(err, new(notFoundError)) {
			return 127, nil
		}
		return 2, nil
	}
	status := int32(0)
	for _, st := range steps {
		switch st.op {
		case opEcho:
			w := stdout
			if st.stderr {
				w = stderr
			}
			io.WriteString(w, st.text)
		case opCat:
			data, err := readMounted(mounts, st.text)
			if err != nil {
				fmt.Fprintf(stderr, "cat: %s: No such file or directory\n", st.text)
				status = 1
				continue
			}
			stdout.Write(data)
			status = 0
		case opStatus:
			status = st.code
		case opSleep:
			if err := wait(st.d); err != nil {
				return -1, err
			}
		case opExit:
			return int(st.code), nil
		}
	}
	return int(status), nil
}

// ContainerStats reports the container's scripted usage: its memory
// (Script.MemoryBytes, 1 MiB by default, plus what its command
// allocated) while it runs, and the CPU time used at its CPU rate
// (Script.CPUMillicores, 10 by default).
func (d *Driver) ContainerStats(ctx context.Context, id string) (*runtime.ContainerStats, error) {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.containers[id]
	if c == nil {
		return nil, fmt.Errorf("fake: stats of container %q: %w", id, runtime.ErrNotFound)
	}
	now := s.clock.Now()
	st := &runtime.ContainerStats{Timestamp: now, CPUUsageNanoseconds: c.cpu}
	if p := c.proc; p != nil {
		st.CPUUsageNanoseconds += c.cpuSince(now)
		st.MemoryUsageBytes = c.baseMemory() + p.mem
		st.MemoryWorkingSetBytes = st.MemoryUsageBytes
	}
	return st, nil
}
