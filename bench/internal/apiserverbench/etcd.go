package apiserverbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Etcd is a one-member etcd, a child process on loopback with etcd's
// defaults (fsync on every commit), watched through clientv3.
type Etcd struct {
	cmd     *exec.Cmd
	dir     string
	exited  chan struct{}
	streams []*clientv3.Client // the watches are spread over them, round robin
	writer  *clientv3.Client
	next    atomic.Int64
	value   string
	rev     int64
}

const etcdPrefix = "/bench/"

// StartEtcd starts binary with its data in a new directory under dir and
// returns once it serves. Each of the streams gRPC connections carries
// its share of the watches; writes create keys with values of valueSize
// bytes.
func StartEtcd(ctx context.Context, binary, dir string, streams, valueSize int) (_ *Etcd, err error) {
	if streams < 1 {
		return nil, fmt.Errorf("apiserverbench: etcd streams is %d: must be at least 1", streams)
	}
	ddir, err := os.MkdirTemp(dir, "apiserverbench-etcd-")
	if err != nil {
		return nil, err
	}
	e := &Etcd{dir: ddir, exited: make(chan struct{}), value: strings.Repeat("v", valueSize)}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	logf, err := os.Create(filepath.Join(ddir, "etcd.log"))
	if err != nil {
		return nil, err
	}
	e.cmd = exec.Command(binary,
		"--name", "m1", "--data-dir", filepath.Join(ddir, "m1"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "m1="+peer, "--initial-cluster-state", "new",
		"--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn")
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = e.cmd.Start()
	logf.Close()
	if err != nil {
		close(e.exited)
		return nil, fmt.Errorf("apiserverbench: start etcd: %w", err)
	}
	go func() {
		_ = e.cmd.Wait()
		close(e.exited)
	}()
	for range streams + 1 {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{client}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			return nil, fmt.Errorf("apiserverbench: connect to etcd: %w", err)
		}
		e.streams = append(e.streams, c)
	}
	e.writer, e.streams = e.streams[0], e.streams[1:]
	deadline := time.Now().Add(time.Minute)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := e.writer.Get(cctx, "/health-probe")
		cancel()
		if err == nil {
			return e, nil
		}
		select {
		case <-e.exited:
			return nil, fmt.Errorf("apiserverbench: etcd exited (see %s)", filepath.Join(ddir, "etcd.log"))
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("apiserverbench: etcd does not serve: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Name implements System.
func (e *Etcd) Name() string { return "etcd" }

// Begin implements System: the watches start after the current revision.
func (e *Etcd) Begin(ctx context.Context) error {
	resp, err := e.writer.Get(ctx, etcdPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return err
	}
	e.rev = resp.Header.Revision
	return nil
}

// Watch implements System.
func (e *Etcd) Watch(ctx context.Context, c *Counter, wg *sync.WaitGroup) error {
	cli := e.streams[int(e.next.Add(1))%len(e.streams)]
	wch := cli.Watch(ctx, etcdPrefix, clientv3.WithPrefix(), clientv3.WithRev(e.rev+1), clientv3.WithCreatedNotify())
	first, ok := <-wch
	if !ok || !first.Created || first.Err() != nil {
		return fmt.Errorf("etcd watch not created: %v", first.Err())
	}
	c.events.Add(int64(len(first.Events)))
	wg.Go(func() {
		for resp := range wch {
			c.events.Add(int64(len(resp.Events)))
			if resp.Err() != nil {
				c.failed.Store(true)
			}
		}
		if ctx.Err() == nil {
			c.failed.Store(true)
		}
	})
	return nil
}

// Write implements System: it puts key /bench/k<i>.
func (e *Etcd) Write(ctx context.Context, i int64) error {
	_, err := e.writer.Put(ctx, fmt.Sprintf("%sk%d", etcdPrefix, i), e.value)
	return err
}

// Memory implements System: etcd's resident set.
func (e *Etcd) Memory(context.Context) (Memory, error) {
	return Memory{RSS: processRSS(e.cmd.Process.Pid)}, nil
}

// CPU implements System.
func (e *Etcd) CPU() time.Duration { return processCPU(e.cmd.Process.Pid) }

// Close implements System: it closes the clients, kills etcd and removes
// its data.
func (e *Etcd) Close() error {
	for _, c := range append(e.streams, e.writer) {
		if c != nil {
			c.Close()
		}
	}
	if e.cmd != nil && e.cmd.Process != nil {
		_ = e.cmd.Process.Kill()
		<-e.exited
	}
	return os.RemoveAll(e.dir)
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var errs []error
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, errors.Join(errs...)
}
