package fake

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/logs"
)

// opOOM is a scripted OOM kill.
const opOOM opcode = 100

// trapDefault is a process that dies of SIGTERM; trapIgnore one that
// ignores it; a trap of 0 to 255 exits with that code.
const (
	trapDefault int32 = -2
	trapIgnore  int32 = -1
)

// process is a running container: where it is in its steps and the
// timer it waits on.
type process struct {
	steps  []step
	pc     int
	trap   int32
	status int32
	mem    uint64 // bytes allocated by its steps
	timers []func() bool
	done   chan struct{} // made by the first waiter, closed at exit
}

// exited returns a channel closed when the process ends.
func (p *process) exited() <-chan struct{} {
	if p.done == nil {
		p.done = make(chan struct{})
	}
	return p.done
}

// scriptSteps are the steps of a scripted container.
func scriptSteps(sc *Script) []step {
	var steps []step
	if sc.IgnoreTERM {
		steps = append(steps, step{op: opTrap, code: trapIgnore})
	}
	for _, l := range sc.Stdout {
		steps = append(steps, step{op: opEcho, text: l + "\n"})
	}
	for _, l := range sc.Stderr {
		steps = append(steps, step{op: opEcho, stderr: true, text: l + "\n"})
	}
	switch {
	case sc.OOM:
		steps = append(steps, step{op: opSleep, d: sc.RunFor}, step{op: opOOM})
	case sc.Exit:
		steps = append(steps, step{op: opSleep, d: sc.RunFor}, step{op: opExit, code: sc.ExitCode})
	default:
		steps = append(steps, step{op: opSleep, d: forever})
	}
	return steps
}

// start runs a Created container, or fails it with StartError.
func (s *State) start(c *container) error {
	var steps []step
	var err error
	if c.script != nil {
		if c.script.StartError != "" {
			err = errors.New(c.script.StartError)
		} else {
			steps = scriptSteps(c.script)
		}
	} else {
		steps, err = compile(c.argv, &shellEnv{env: c.env, workdir: c.wd})
	}
	now := s.clock.Now()
	if err != nil {
		c.status.State = runtime.ContainerExited
		c.status.FinishedAt = now
		c.status.ExitCode = 128
		c.status.Reason = runtime.ReasonStartError
		c.status.Message = err.Error()
		return fmt.Errorf("fake: start container %s (%s): %w: %v", c.status.ID, c.status.Name, runtime.ErrStartFailed, err)
	}
	c.status.State = runtime.ContainerRunning
	c.status.StartedAt = now
	c.proc = &process{steps: steps, trap: trapDefault}
	if c.status.LogPath != "" {
		// A real container's log file exists once it runs, output or not.
		if w, err := logs.NewWriter(c.status.LogPath, s.logCfg); err == nil {
			w.Close()
		}
	}
	s.run(c)
	return nil
}

// chunk is output on its way to the log file.
type chunk struct {
	stderr bool
	text   string
}

// run runs c's steps until one waits or the process ends.
func (s *State) run(c *container) {
	p := c.proc
	var out []chunk
	defer func() { s.writeLog(c, out) }()
	for p.pc < len(p.steps) {
		st := &p.steps[p.pc]
		p.pc++
		switch st.op {
		case opEcho:
			out = append(out, chunk{st.stderr, st.text})
		case opCat:
			data, err := readMounted(c.mounts, st.text)
			if err != nil {
				out = append(out, chunk{true, fmt.Sprintf("cat: %s: No such file or directory\n", st.text)})
				p.status = 1
				continue
			}
			out = append(out, chunk{st.stderr, string(data)})
			p.status = 0
		case opStatus:
			p.status = st.code
		case opTrap:
			p.trap = st.code
		case opSleep:
			if st.d == forever {
				return
			}
			if st.d == 0 {
				continue
			}
			p.timers = append(p.timers, s.clock.AfterFunc(st.d, func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				if c.proc == p {
					s.run(c)
				}
			}))
			return
		case opExit:
			s.exit(c, st.code, "", "")
			return
		case opAlloc:
			p.mem += uint64(st.n)
			if c.limit > 0 && int64(c.baseMemory()+p.mem) > c.limit {
				s.exit(c, 137, runtime.ReasonOOMKilled, fmt.Sprintf("used more than its memory limit of %d bytes", c.limit))
				return
			}
		case opOOM:
			s.exit(c, 137, runtime.ReasonOOMKilled, "used more than its memory limit")
			return
		}
	}
	s.exit(c, p.status, "", "")
}

// signal delivers sig to c's process.
func (s *State) signal(c *container, sig int) {
	p := c.proc
	if p == nil {
		return
	}
	if sig == 9 {
		s.exit(c, 137, runtime.ReasonError, "killed")
		return
	}
	switch p.trap {
	case trapIgnore:
	case trapDefault:
		s.exit(c, int32(128+sig), runtime.ReasonError, fmt.Sprintf("killed by signal %d", sig))
	default:
		s.exit(c, p.trap, "", "")
	}
}

// exit ends c's process; reason "" is Completed or Error by the code.
func (s *State) exit(c *container, code int32, reason, message string) {
	p := c.proc
	if p == nil {
		return
	}
	for _, stop := range p.timers {
		stop()
	}
	now := s.clock.Now()
	c.cpu += c.cpuSince(now)
	if reason == "" {
		reason = runtime.ReasonCompleted
		if code != 0 {
			reason = runtime.ReasonError
		}
	}
	c.status.State = runtime.ContainerExited
	c.status.FinishedAt = now
	c.status.ExitCode = code
	c.status.Reason = reason
	c.status.Message = message
	c.proc = nil
	if p.done != nil {
		close(p.done)
	}
}

// baseMemory is what the container uses before its steps allocate.
func (c *container) baseMemory() uint64 {
	if c.script != nil && c.script.MemoryBytes > 0 {
		return c.script.MemoryBytes
	}
	return 1 << 20
}

// cpuSince is the CPU time c's process used since it started: a
// millisecond to start, then its CPU rate.
func (c *container) cpuSince(now time.Time) uint64 {
	rate := uint64(10)
	if c.script != nil && c.script.CPUMillicores > 0 {
		rate = c.script.CPUMillicores
	}
	ran := max(now.Sub(c.status.StartedAt), 0)
	return uint64(time.Millisecond) + uint64(ran)*rate/1000
}

// writeLog appends out to c's log file, if it has one.
func (s *State) writeLog(c *container, out []chunk) {
	if len(out) == 0 || c.status.LogPath == "" {
		return
	}
	w, err := logs.NewWriter(c.status.LogPath, s.logCfg)
	if err != nil {
		return // as a real container whose log cannot be written: it runs on
	}
	for _, o := range out {
		dst := w.Stdout()
		if o.stderr {
			dst = w.Stderr()
		}
		io.WriteString(dst, o.text)
	}
	w.Close()
}

// readMounted reads the file at a container path from the host path of
// the mount that holds it.
func readMounted(mounts []runtime.Mount, p string) ([]byte, error) {
	p = path.Clean(p)
	best := -1
	for i, m := range mounts {
		cp := path.Clean(m.ContainerPath)
		if (p == cp || strings.HasPrefix(p, strings.TrimSuffix(cp, "/")+"/")) &&
			(best < 0 || len(cp) > len(path.Clean(mounts[best].ContainerPath))) {
			best = i
		}
	}
	if best < 0 {
		return nil, os.ErrNotExist
	}
	rel := strings.TrimPrefix(p, path.Clean(mounts[best].ContainerPath))
	return os.ReadFile(mounts[best].HostPath + rel)
}
