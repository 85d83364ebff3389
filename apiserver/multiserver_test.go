package apiserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/registry"
	"github.com/drover-io/drover/store/raftstore"
)

// member is one control-plane member of a test cluster: a raftstore
// member and an API server over it.
type member struct {
	name   string
	st     *raftstore.Store
	srv    *Server
	http   *httptest.Server
	clock  *fakeClock
	stop   context.CancelFunc // stops Run
	ran    chan error         // Run's result
	closed bool
}

// shmDir returns a new directory on tmpfs when there is one: the
// cluster's fsyncs are then cheap, as in the raftstore tests.
func shmDir(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "apiserver-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

func loopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// sameFirstSuffix returns a registry.Options.NameSuffix that answers
// "zzzzz" the first time, as every server does, and random suffixes
// after.
func sameFirstSuffix() func() string {
	var used atomic.Bool
	return func() string {
		if !used.Swap(true) {
			return "zzzzz"
		}
		const alphabet = "bcdfghjklmnpqrstvwxz2456789"
		b := make([]byte, 5)
		for i := range b {
			n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
			b[i] = alphabet[n.Int64()]
		}
		return string(b)
	}
}

// startControlPlane starts n raftstore members on loopback, the first
// bootstrapping and the others joining, each with an API server over its
// own member that runs its maintenance with Leader set to the member's
// IsLeader. If raftstore cannot start, the test is skipped, unless
// DROVER_INTEGRATION is set.
func startControlPlane(t *testing.T, n int) []*member {
	t.Helper()
	var ms []*member
	t.Cleanup(func() {
		for _, m := range ms {
			stopMember(t, m)
		}
	})
	var first string
	for i := range n {
		cfg := raftstore.DefaultConfig(shmDir(t))
		cfg.NodeID = fmt.Sprintf("cp-%d", i+1)
		cfg.BindAddr = loopbackAddr(t)
		cfg.LeaderWait = 20 * time.Second
		cfg.ProgressInterval = 100 * time.Millisecond
		if i == 0 {
			first = cfg.BindAddr
		} else {
			cfg.Bootstrap = false
			cfg.Join = []string{first}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		st, err := raftstore.Open(ctx, cfg)
		cancel()
		if err != nil {
			if os.Getenv("DROVER_INTEGRATION") == "" {
				t.Skipf("raftstore member %s cannot start here: %v (set DROVER_INTEGRATION=1 to fail instead)", cfg.NodeID, err)
			}
			t.Fatalf("open raftstore member %s: %v", cfg.NodeID, err)
		}
		m := &member{name: cfg.NodeID, st: st, clock: newFakeClock(t0), ran: make(chan error, 1)}
		ms = append(ms, m)
		m.srv, err = New(Config{
			Store:      st,
			Scheme:     api.NewDefaultScheme(),
			Registerer: prometheus.NewRegistry(),
			Leader:     st.IsLeader,
			Clock:      m.clock,
			Registry:   registry.Options{NameSuffix: sameFirstSuffix()},
		})
		require.NoError(t, err)
		m.http = httptest.NewServer(m.srv.Handler())
		ctx, m.stop = context.WithCancel(context.Background())
		go func() { m.ran <- m.srv.Run(ctx) }()
	}
	return ms
}

// stopMember stops m's API server and aborts its store member, as a
// crash would.
func stopMember(t *testing.T, m *member) {
	t.Helper()
	if m.closed {
		return
	}
	m.closed = true
	m.stop()
	require.NoError(t, <-m.ran)
	m.http.Close()
	_ = m.st.Abort()
}

// call does a request against m and decodes the JSON answer.
func (m *member) call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, m.http.URL+path, rd)
	require.NoError(t, err)
	resp, err := m.http.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(data, &out), "%s %s via %s: %s", method, path, m.name, data)
	return resp.StatusCode, out
}

// must does a request that must answer code.
func (m *member) must(t *testing.T, code int, method, path string, body any) map[string]any {
	t.Helper()
	got, out := m.call(t, method, path, body)
	require.Equal(t, code, got, "%s %s via %s: %v", method, path, m.name, out)
	return out
}

// watch is a watch stream read by a goroutine.
type watch struct {
	events chan api.WatchEvent
	body   io.Closer
	done   chan struct{}
}

func (m *member) watch(t *testing.T, path string) *watch {
	t.Helper()
	resp, err := m.http.Client().Get(m.http.URL + path)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	w := &watch{events: make(chan api.WatchEvent, 100), body: resp.Body, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer close(w.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev api.WatchEvent
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				w.events <- ev
			}
		}
	}()
	t.Cleanup(w.close)
	return w
}

func (w *watch) close() {
	w.body.Close()
	<-w.done
}

// next returns the next event that is not a bookmark, with the object's
// name and resourceVersion.
func (w *watch) next(t *testing.T) (api.WatchEventType, string, string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-w.events:
			require.True(t, ok, "the watch ended")
			if ev.Type == api.WatchBookmark {
				continue
			}
			var obj struct {
				Metadata struct {
					Name            string `json:"name"`
					ResourceVersion string `json:"resourceVersion"`
				} `json:"metadata"`
			}
			require.NoError(t, json.Unmarshal(ev.Object, &obj))
			return ev.Type, obj.Metadata.Name, obj.Metadata.ResourceVersion
		case <-deadline:
			t.Fatal("no watch event in 30s")
		}
	}
}

func rvOf(obj map[string]any) string {
	return obj["metadata"].(map[string]any)["resourceVersion"].(string)
}

func nameOf(obj map[string]any) string {
	return obj["metadata"].(map[string]any)["name"].(string)
}

func itemNames(list map[string]any) map[string]bool {
	out := map[string]bool{}
	items, _ := list["items"].([]any)
	for _, it := range items {
		out[nameOf(it.(map[string]any))] = true
	}
	return out
}

// leaderIndex waits until one of the running members leads.
func leaderIndex(t *testing.T, ms []*member) int {
	t.Helper()
	idx := -1
	waitUntil(t, "a leader", func() bool {
		for i, m := range ms {
			if !m.closed && m.st.IsLeader() {
				idx = i
				return true
			}
		}
		return false
	})
	return idx
}

// TestServersOverOneRaftCluster: every control-plane member runs an API
// server over its own store member, and each serves every verb with the
// same objects, resourceVersions, conflicts and watches; the cluster
// goes on serving when the leader's member stops.
func TestServersOverOneRaftCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-member raftstore cluster")
	}
	ms := startControlPlane(t, 3)
	a, b, c := ms[0], ms[1], ms[2]
	const pods = "/api/v1/namespaces/default/pods"
	// Run (on every server) creates the system namespaces.
	require.Eventually(t, func() bool {
		code, _ := a.call(t, "GET", "/api/v1/namespaces/default", nil)
		return code == http.StatusOK
	}, 10*time.Second, 10*time.Millisecond)

	// A create through A is read at once through B and C: reads are
	// linearizable by default.
	created := a.must(t, http.StatusCreated, "POST", pods, podBody("web", ""))
	rvA := rvOf(created)
	for _, m := range []*member{b, c} {
		got := m.must(t, http.StatusOK, "GET", pods+"/web", nil)
		require.Equal(t, rvA, rvOf(got), "GET via %s", m.name)
		require.True(t, itemNames(m.must(t, http.StatusOK, "GET", pods, nil))["web"], "LIST via %s", m.name)
	}
	w := b.watch(t, pods+"?watch=1&resourceVersion="+rvA)

	// An update through C with the resourceVersion A returned.
	created["metadata"].(map[string]any)["labels"] = map[string]any{"via": "c"}
	updated := c.must(t, http.StatusOK, "PUT", pods+"/web", created)
	rvC := rvOf(updated)
	require.NotEqual(t, rvA, rvC)
	// The same stale resourceVersion through B is a conflict.
	created["metadata"].(map[string]any)["labels"] = map[string]any{"via": "b"}
	st := b.must(t, http.StatusConflict, "PUT", pods+"/web", created)
	require.Equal(t, string(api.StatusReasonConflict), st["reason"])
	// A delete with a stale precondition through A too.
	a.must(t, http.StatusConflict, "DELETE", pods+"/web",
		`{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"resourceVersion":"`+rvA+`"}}`)
	rv2 := rvOf(a.must(t, http.StatusCreated, "POST", pods, podBody("web2", "")))
	b.must(t, http.StatusOK, "DELETE", pods+"/web", nil)
	a.must(t, http.StatusNotFound, "GET", pods+"/web", nil)
	c.must(t, http.StatusNotFound, "GET", pods+"/web", nil)

	// B's watch saw the writes made through A and C, in order.
	for _, want := range []struct {
		typ  api.WatchEventType
		name string
		rv   string
	}{
		{api.WatchModified, "web", rvC},
		{api.WatchAdded, "web2", rv2},
		{api.WatchDeleted, "web", ""},
	} {
		typ, name, rv := w.next(t)
		require.Equal(t, want.typ, typ)
		require.Equal(t, want.name, name)
		if want.rv != "" {
			require.Equal(t, want.rv, rv)
		}
	}
	w.close()

	// generateName: every server's first suffix is the same, so B's and
	// C's first tries collide with A's name; the store refuses the
	// duplicate and they pick another. Then many at once, through all.
	first := nameOf(a.must(t, http.StatusCreated, "POST", pods, podBodyGenerated("gen-")))
	require.Equal(t, "gen-zzzzz", first)
	names := map[string]bool{first: true}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range ms {
		for range 8 {
			wg.Go(func() {
				var obj map[string]any
				resp, err := m.http.Client().Post(m.http.URL+pods, "application/json", strings.NewReader(podBodyGenerated("gen-")))
				if err == nil {
					err = json.NewDecoder(resp.Body).Decode(&obj)
					resp.Body.Close()
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil || resp.StatusCode != http.StatusCreated {
					t.Errorf("create with generateName via %s: %v %v", m.name, err, obj)
					return
				}
				if names[nameOf(obj)] {
					t.Errorf("generated name %s given twice", nameOf(obj))
				}
				names[nameOf(obj)] = true
			})
		}
	}
	wg.Wait()
	require.Len(t, names, 1+3*8)
	listed := itemNames(c.must(t, http.StatusOK, "GET", pods, nil))
	for n := range names {
		require.True(t, listed[n], "%s is listed", n)
	}

	// Maintenance: only the leader's server compacts.
	li := leaderIndex(t, ms)
	for range 2 {
		for _, m := range ms {
			m.clock.Advance(t, DefaultCompactionInterval)
		}
	}
	waitUntil(t, "the leader's compaction", func() bool { return metricValue(ms[li].srv.metrics.compactions) == 1 })
	for i, m := range ms {
		m.clock.Advance(t, time.Minute) // the ticks before have been handled
		if i != li {
			require.Zero(t, metricValue(m.srv.metrics.compactions), "%s does not lead but compacted", m.name)
		}
	}

	// The leader's member stops; the two others serve reads and writes.
	li = leaderIndex(t, ms)
	var rest []*member
	for i, m := range ms {
		if i != li {
			rest = append(rest, m)
		}
	}
	x, y := rest[0], rest[1]
	listRV := rvOf(y.must(t, http.StatusOK, "GET", pods, nil))
	wx := x.watch(t, pods+"?watch=1&resourceVersion="+listRV)
	stopMember(t, ms[li])

	after := x.must(t, http.StatusCreated, "POST", pods, podBody("after", ""))
	require.NotEqual(t, li, leaderIndex(t, ms), "a survivor leads")
	got := y.must(t, http.StatusOK, "GET", pods+"/after", nil)
	require.Equal(t, rvOf(after), rvOf(got))
	got["metadata"].(map[string]any)["labels"] = map[string]any{"after": "failover"}
	upd := y.must(t, http.StatusOK, "PUT", pods+"/after", got)
	x.must(t, http.StatusConflict, "PUT", pods+"/after", after)
	require.True(t, itemNames(x.must(t, http.StatusOK, "GET", pods, nil))["after"])
	x.must(t, http.StatusOK, "DELETE", pods+"/after", nil)
	y.must(t, http.StatusNotFound, "GET", pods+"/after", nil)
	for _, want := range []struct {
		typ api.WatchEventType
		rv  string
	}{{api.WatchAdded, rvOf(after)}, {api.WatchModified, rvOf(upd)}, {api.WatchDeleted, ""}} {
		typ, name, rv := wx.next(t)
		require.Equal(t, want.typ, typ)
		require.Equal(t, "after", name)
		if want.rv != "" {
			require.Equal(t, want.rv, rv)
		}
	}
}

func podBodyGenerated(prefix string) string {
	return `{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"` + prefix +
		`"},"spec":{"containers":[{"name":"c","image":"nginx:1.27"}]}}`
}
