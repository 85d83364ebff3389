package oci

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// shimProcess is a container monitor, started but not yet told which
// container it is for. Starting one costs a process start (the driver's
// binary, several milliseconds), so the driver keeps one spare, started
// ahead of the next CreateContainer.
type shimProcess struct {
	cmd    *exec.Cmd
	ready  *os.File      // the monitor's report of runc create
	goPipe *os.File      // the order, then "go"; EOF before either: exit
	exited chan struct{} // closed once the monitor has exited
}

// spawnShim starts a monitor that waits for its container.
func (d *Driver) spawnShim() (*shimProcess, error) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		readyR.Close()
		readyW.Close()
		return nil, err
	}
	cmd := exec.Command(d.shim)
	cmd.Dir = d.cfg.Root
	cmd.Env = append(os.Environ(), ShimEnv+"=1")
	cmd.ExtraFiles = []*os.File{readyW, goR}
	// Its own process group: signals to the driver's (a ^C to the node
	// agent) do not reach it, and it ignores SIGHUP and SIGTERM itself.
	// Not its own session: with the scheduler's autogroups (on by
	// default), a session is a CPU group of its own, and on a loaded
	// node a new one per container made `runc create` slower (at load
	// 10 on 2 cores, create+start over `runc run`: p50 ratio 1.13-1.37
	// in new sessions, 0.97-1.14 in the driver's). The container's
	// processes still get a session of their own (runc init's setsid).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	readyW.Close()
	goR.Close()
	if err != nil {
		readyR.Close()
		goW.Close()
		return nil, fmt.Errorf("start the container monitor %s: %w", d.shim, err)
	}
	// Reap it when it ends; it outlives this driver otherwise.
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	return &shimProcess{cmd: cmd, ready: readyR, goPipe: goW, exited: exited}, nil
}

// takeShim returns the spare monitor, or a new one when there is none.
// The spare is refilled (refillSpare) once the container is started, or
// its create failed: a spare started meanwhile would compete with
// `runc create` and the start for the CPU.
func (d *Driver) takeShim() (*shimProcess, error) {
	d.spareMu.Lock()
	p := d.spare
	d.spare = nil
	closed := d.closed
	d.spareMu.Unlock()
	if closed {
		return nil, errors.New("the driver is closed")
	}
	if p != nil {
		return p, nil
	}
	return d.spawnShim()
}

// refillSpare starts the next spare monitor in the background, unless
// there is one.
func (d *Driver) refillSpare() {
	d.spareMu.Lock()
	defer d.spareMu.Unlock()
	if d.spare != nil || d.closed || d.refilling {
		return
	}
	d.refilling = true
	d.spareWG.Add(1)
	go func() {
		defer d.spareWG.Done()
		next, err := d.spawnShim()
		d.spareMu.Lock()
		defer d.spareMu.Unlock()
		d.refilling = false
		if err != nil {
			d.log.Warn("oci: start a spare container monitor", "err", err)
			return
		}
		if d.spare != nil || d.closed {
			next.abort()
			return
		}
		d.spare = next
	}()
}

// Close stops the driver's spare monitor, releases its spare root
// filesystem and closes the image store it opened (not one given in
// Config.Images). Containers and their monitors are not affected: a
// driver made on the same root adopts them. Closing twice is fine; a
// closed driver creates no containers.
func (d *Driver) Close() error {
	d.spareMu.Lock()
	d.closed = true
	p := d.spare
	d.spare = nil
	d.spareMu.Unlock()
	d.spareWG.Wait()
	if p != nil {
		p.abort()
	}
	d.dropSpareFS("")
	if d.ownImages {
		return d.images.Close()
	}
	return nil
}

// abort makes the monitor exit without creating anything.
func (p *shimProcess) abort() {
	p.goPipe.Close()
	p.ready.Close()
}

// wait waits, up to a few seconds, for the monitor to exit: one that was
// sent its order writes in its container's directory until it does.
func (p *shimProcess) wait() {
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
	}
}

// send tells the monitor its container (the directory that will hold its
// bundle) and config: the monitor gets ready (its log, its lock, its
// pipes) while the driver writes the bundle, then waits for run.
func (p *shimProcess) send(dir string, cfg shimConfig) error {
	order, err := json.Marshal(shimOrder{Dir: dir, Config: cfg})
	if err != nil {
		return err
	}
	if _, err := p.goPipe.Write(append(order, '\n')); err != nil {
		return fmt.Errorf("the container monitor exited early: %w", err)
	}
	return nil
}

// run tells the monitor that the bundle is written, which it creates, and
// returns what it says of `runc create`.
func (p *shimProcess) run(ctx context.Context, dir string) (createRecord, error) {
	defer p.ready.Close()
	_, err := p.goPipe.Write([]byte(shimGo + "\n"))
	p.goPipe.Close()
	if err != nil {
		return createRecord{}, fmt.Errorf("the container monitor exited early: %w", err)
	}
	type result struct {
		cr  createRecord
		err error
	}
	resc := make(chan result, 1)
	go func() {
		var r result
		line, err := bufio.NewReader(p.ready).ReadBytes('\n')
		if err != nil && len(line) == 0 {
			logged, _ := os.ReadFile(filepath.Join(dir, shimLogFile))
			r.err = fmt.Errorf("the container monitor exited before creating the container: %s", bytes.TrimSpace(logged))
		} else {
			r.err = json.Unmarshal(line, &r.cr)
		}
		resc <- r
	}()
	select {
	case r := <-resc:
		return r.cr, r.err
	case <-ctx.Done():
		// The monitor's process group: the monitor and the runtime it
		// runs (the container's processes have their own session).
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		p.wait()
		return createRecord{}, ctx.Err()
	}
}
