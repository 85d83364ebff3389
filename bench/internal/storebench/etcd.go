package storebench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// EtcdConfig configures StartEtcd.
type EtcdConfig struct {
	// Binary is the etcd server to run.
	Binary string
	// Dir holds the members' data directories and logs. It is created,
	// and removed by Close.
	Dir string
	// Conns is the number of gRPC connections to each member, shared
	// round robin by the clients pinned to it; 0 means one per client.
	Conns int
	// ProfileDir, if not empty, makes the members serve /debug/pprof and
	// receives a CPU profile of each member for every measured window.
	ProfileDir string
	// Duration is the measured window, the length of those profiles.
	Duration time.Duration
}

// Etcd is a three-member etcd cluster of child processes on loopback,
// with etcd's default settings (fsync on every commit).
type Etcd struct {
	cfg     EtcdConfig
	members []*etcdMember
	http    *http.Client

	mu    sync.Mutex
	conns map[[2]int]*clientv3.Client // by member and connection number
}

type etcdMember struct {
	name      string
	clientURL string
	peerURL   string
	cmd       *exec.Cmd
	log       string
	exited    chan struct{} // closed when cmd has been waited for
	waitErr   error
}

// StartEtcd starts three members with an --initial-cluster of all three
// and returns once every member reports itself healthy.
func StartEtcd(ctx context.Context, cfg EtcdConfig) (_ *Etcd, err error) {
	e := &Etcd{cfg: cfg, http: &http.Client{}, conns: make(map[[2]int]*clientv3.Client)}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("storebench: etcd: %w", err)
	}
	ports, err := freePorts(6)
	if err != nil {
		return nil, fmt.Errorf("storebench: etcd: %w", err)
	}
	var initial []string
	for i := range 3 {
		m := &etcdMember{
			name:      fmt.Sprintf("m%d", i+1),
			clientURL: fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]),
			peerURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
			exited:    make(chan struct{}),
		}
		e.members = append(e.members, m)
		initial = append(initial, m.name+"="+m.peerURL)
	}
	var token [8]byte
	rand.Read(token[:])
	for _, m := range e.members {
		args := []string{
			"--name", m.name,
			"--data-dir", filepath.Join(cfg.Dir, m.name),
			"--listen-client-urls", m.clientURL,
			"--advertise-client-urls", m.clientURL,
			"--listen-peer-urls", m.peerURL,
			"--initial-advertise-peer-urls", m.peerURL,
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new",
			"--initial-cluster-token", "storebench-" + hex.EncodeToString(token[:]),
			"--logger", "zap",
			"--log-outputs", "stderr",
			"--log-level", "warn",
		}
		if cfg.ProfileDir != "" {
			args = append(args, "--enable-pprof")
		}
		m.log = filepath.Join(cfg.Dir, m.name+".log")
		logf, err := os.Create(m.log)
		if err != nil {
			return nil, fmt.Errorf("storebench: etcd %s: %w", m.name, err)
		}
		m.cmd = exec.Command(cfg.Binary, args...)
		m.cmd.Stdout, m.cmd.Stderr = logf, logf
		// The members die with this process, even if it is killed.
		m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		err = m.cmd.Start()
		logf.Close() // the child has its own descriptor
		if err != nil {
			close(m.exited)
			return nil, fmt.Errorf("storebench: start etcd %s: %w", m.name, err)
		}
		go func() {
			m.waitErr = m.cmd.Wait()
			close(m.exited)
		}()
	}
	if err := pollUntil(ctx, time.Minute, e.healthy); err != nil {
		return nil, fmt.Errorf("storebench: etcd cluster not healthy: %w%s", err, e.logTails())
	}
	return e, nil
}

// healthy checks that every member is running and answers /health with
// "true" (it has a leader and serves reads).
func (e *Etcd) healthy() error {
	for _, m := range e.members {
		select {
		case <-m.exited:
			return fmt.Errorf("member %s exited: %v", m.name, m.waitErr)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		body, err := e.get(ctx, m.clientURL+"/health")
		cancel()
		if err != nil {
			return fmt.Errorf("member %s: %w", m.name, err)
		}
		var h struct{ Health string }
		if err := json.Unmarshal(body, &h); err != nil || h.Health != "true" {
			return fmt.Errorf("member %s: /health says %s", m.name, bytes.TrimSpace(body))
		}
	}
	return nil
}

// logTails returns the end of every member's log, for an error message.
func (e *Etcd) logTails() string {
	var b strings.Builder
	for _, m := range e.members {
		data, err := os.ReadFile(m.log)
		if err != nil {
			continue
		}
		if len(data) > 2000 {
			data = data[len(data)-2000:]
		}
		fmt.Fprintf(&b, "\n--- %s (%s) ---\n%s", m.name, m.log, data)
	}
	return b.String()
}

func (e *Etcd) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}

// Name implements System.
func (e *Etcd) Name() string { return "etcd" }

// Endpoints returns the members' client URLs.
func (e *Etcd) Endpoints() []string {
	var a []string
	for _, m := range e.members {
		a = append(a, m.name+"="+m.clientURL)
	}
	return a
}

// Leader returns the name of the member that leads, or "unknown".
func (e *Etcd) Leader(ctx context.Context) string {
	i, err := e.leader(ctx)
	if err != nil {
		return "unknown"
	}
	return e.members[i].name
}

// leader returns the index of the member that leads.
func (e *Etcd) leader(ctx context.Context) (int, error) {
	var errs []error
	for i, m := range e.members {
		cli, err := e.conn(i, 0)
		if err == nil {
			var st *clientv3.StatusResponse
			if st, err = cli.Status(ctx, m.clientURL); err == nil && st.Header.MemberId == st.Leader {
				return i, nil
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return 0, fmt.Errorf("etcd: no member leads: %w", errors.Join(errs...))
}

// conn returns connection n to member i, dialing it the first time.
func (e *Etcd) conn(i, n int) (*clientv3.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := [2]int{i, n}
	if c := e.conns[k]; c != nil {
		return c, nil
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{e.members[i].clientURL},
		DialTimeout: 10 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("storebench: connect to etcd %s: %w", e.members[i].name, err)
	}
	e.conns[k] = c
	return c, nil
}

// Clients implements System. The k-th client of a member has a
// connection of its own (kept for later cells), or shares connection
// k mod Conns of that member.
func (e *Etcd) Clients(ctx context.Context, n int) ([]Client, error) {
	leader, err := e.leader(ctx)
	if err != nil {
		return nil, err
	}
	var order []int // followers, then the leader
	for i := range e.members {
		if i != leader {
			order = append(order, i)
		}
	}
	order = append(order, leader)
	clients := make([]Client, n)
	for i := range clients {
		k := i / len(order)
		if e.cfg.Conns > 0 {
			k %= e.cfg.Conns
		}
		cli, err := e.conn(order[i%len(order)], k)
		if err != nil {
			return nil, err
		}
		clients[i] = etcdClient{cli}
	}
	return clients, nil
}

// Load implements System: it puts the keys from 64 goroutines spread
// over the members.
func (e *Etcd) Load(ctx context.Context, keys []string, value []byte) error {
	clients, err := e.Clients(ctx, 64)
	if err != nil {
		return err
	}
	return parallel(ctx, len(keys), len(clients), func(ctx context.Context, w, i int) error {
		return clients[w].Put(ctx, keys[i], value)
	})
}

// Close closes the connections, kills the members, waits for them and
// removes their data.
func (e *Etcd) Close() error {
	var errs []error
	e.mu.Lock()
	for _, c := range e.conns {
		c.Close()
	}
	clear(e.conns)
	e.mu.Unlock()
	for _, m := range e.members {
		if m.cmd == nil || m.cmd.Process == nil {
			continue
		}
		select {
		case <-m.exited:
			errs = append(errs, fmt.Errorf("storebench: etcd %s had exited before the end: %v", m.name, m.waitErr))
			continue
		default:
		}
		m.cmd.Process.Kill()
		<-m.exited
	}
	e.members = nil
	if err := os.RemoveAll(e.cfg.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

type etcdClient struct{ cli *clientv3.Client }

// errNotFound is returned by etcdClient.Get for a missing key (etcd's Get
// itself succeeds with no KVs).
var errNotFound = errors.New("storebench: key not found")

// Put is etcd's Put: a blind overwrite.
func (c etcdClient) Put(ctx context.Context, key string, value []byte) error {
	_, err := c.cli.Put(ctx, key, string(value))
	return err
}

// Get is etcd's default Get, which is linearizable.
func (c etcdClient) Get(ctx context.Context, key string) error {
	resp, err := c.cli.Get(ctx, key)
	if err != nil {
		return err
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("get %q: %w", key, errNotFound)
	}
	return nil
}

// BeginCell implements cellObserver: it reports the CPU the members and
// this process (the clients) used over the window, and what etcd's
// metrics moved by (WAL fsyncs, backend commits, proposals), and fetches
// a CPU profile of each member if asked to.
func (e *Etcd) BeginCell(c Cell) func() (string, error) {
	before, gerr := e.scrape()
	cpu0 := e.membersCPU()
	self0 := selfCPU()
	start := time.Now()
	var (
		wg    sync.WaitGroup
		perrs = make([]error, len(e.members))
	)
	if e.cfg.ProfileDir != "" {
		secs := max(int(e.cfg.Duration.Round(time.Second)/time.Second), 1)
		for i, m := range e.members {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second+30*time.Second)
				defer cancel()
				body, err := e.get(ctx, m.clientURL+"/debug/pprof/profile?seconds="+strconv.Itoa(secs))
				if err == nil {
					path := filepath.Join(e.cfg.ProfileDir, fmt.Sprintf("etcd-%s-%s-%d.pprof", m.name, c.Op, c.Clients))
					err = os.WriteFile(path, body, 0o644)
				}
				if err != nil {
					perrs[i] = fmt.Errorf("profile etcd %s: %w", m.name, err)
				}
			})
		}
	}
	return func() (string, error) {
		elapsed := time.Since(start)
		self := selfCPU() - self0
		cpu1 := e.membersCPU()
		after, err := e.scrape()
		wg.Wait()
		var b strings.Builder
		pct := func(d time.Duration) float64 { return 100 * d.Seconds() / elapsed.Seconds() }
		var members []string
		for i, m := range e.members {
			members = append(members, fmt.Sprintf("%s %.0f%%", m.name, pct(cpu1[i]-cpu0[i])))
		}
		fmt.Fprintf(&b, "cpu: members %s, this process (clients) %.0f%% of a core", strings.Join(members, " "), pct(self))
		if gerr == nil && err == nil {
			e.describe(&b, before, after)
		}
		return b.String(), errors.Join(append(perrs, gerr, err)...)
	}
}

// scrape reads every member's /metrics.
func (e *Etcd) scrape() (metricValues, error) {
	all := make(metricValues)
	for _, m := range e.members {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		body, err := e.get(ctx, m.clientURL+"/metrics")
		cancel()
		if err != nil {
			return nil, fmt.Errorf("scrape etcd %s: %w", m.name, err)
		}
		v, err := parseMetrics(bytes.NewReader(body), m.name)
		if err != nil {
			return nil, fmt.Errorf("scrape etcd %s: %w", m.name, err)
		}
		for k, x := range v {
			all[k] = x
		}
	}
	return all, nil
}

// describe writes what etcd's metrics moved by.
func (e *Etcd) describe(b *strings.Builder, before, after metricValues) {
	delta := func(name, member string) float64 {
		k := metricKey{name, member}
		return after[k] - before[k]
	}
	for _, m := range e.members {
		role := "follower"
		if after[metricKey{"etcd_server_is_leader", m.name}] == 1 {
			role = "leader"
		}
		fsyncs := delta("etcd_disk_wal_fsync_duration_seconds_count", m.name)
		commits := delta("etcd_disk_backend_commit_duration_seconds_count", m.name)
		fmt.Fprintf(b, "; %s (%s): %.0f WAL fsyncs %s mean, %.0f backend commits %s mean", m.name, role,
			fsyncs, fmtSeconds(delta("etcd_disk_wal_fsync_duration_seconds_sum", m.name)/fsyncs),
			commits, fmtSeconds(delta("etcd_disk_backend_commit_duration_seconds_sum", m.name)/commits))
		if role == "leader" {
			fmt.Fprintf(b, ", %.0f proposals committed", delta("etcd_server_proposals_committed_total", m.name))
		}
	}
	var lc float64
	for _, m := range e.members {
		lc += delta("etcd_server_leader_changes_seen_total", m.name)
	}
	if lc > 0 {
		fmt.Fprintf(b, "; %.0f LEADER CHANGES", lc)
	}
}

// membersCPU returns the user and system CPU time each member has used.
func (e *Etcd) membersCPU() []time.Duration {
	out := make([]time.Duration, len(e.members))
	for i, m := range e.members {
		out[i] = processCPU(m.cmd.Process.Pid)
	}
	return out
}

// processCPU reads a process's user and system time from /proc, or 0.
func processCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15, the 12th and 13th after it.
	rest := data[bytes.LastIndexByte(data, ')')+1:]
	f := strings.Fields(string(rest))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	const userHZ = 100 // USER_HZ, fixed at 100 on Linux
	return time.Duration(utime+stime) * time.Second / userHZ
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
