package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/cluster"
)

// output is a buffer safe to write while the test reads it.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// freeAddrs returns n loopback addresses whose ports were free a moment
// ago.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return addrs
}

// TestRunKillLeader runs the walk-through with --kill-leader --once on
// the fake runtime: three members and two node agents start, the
// Deployment's pods run, the leader stops, the two others answer reads
// and writes and one takes over the controllers, the pods stay, and a
// scale to one more pod through a survivor is carried out.
func TestRunKillLeader(t *testing.T) {
	out, logs := &output{}, &output{}
	addrs := freeAddrs(t, 2*members)
	cfg := config{
		DataDir:    t.TempDir(),
		APIAddrs:   addrs[:members],
		RaftAddrs:  addrs[members:],
		Runtime:    cluster.RuntimeFake,
		Image:      "busybox",
		Replicas:   2,
		KillLeader: true,
		Once:       true,
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Out:        out,
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	begin := time.Now()
	err := run(ctx, cfg)
	t.Logf("run took %v; it said:\n%s", time.Since(begin).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("run: %v\nthe components' last log lines:\n%s", err, tail(logs.String(), 60))
	}

	said := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^member-1: API server http://\S+; export KUBECONFIG=\S+/member-1/kubeconfig$`),
		regexp.MustCompile(`(?m)^agent-1: Node registered and Ready$`),
		regexp.MustCompile(`(?m)^agent-2: Node registered and Ready$`),
		regexp.MustCompile(`(?m)^deployment default/web created through member-1: 2 replicas of busybox$`),
		regexp.MustCompile(`(?m)^deployment web: 2/2 ready; pods: agent-\d \d Running and ready`),
		regexp.MustCompile(`(?m)^member-\d leads: .*; stopping it$`),
		regexp.MustCompile(`(?m)^member-\d answers writes, \S+ after the stop began$`),
		regexp.MustCompile(`(?m)^member-\d leads now: its scheduler and controllers run, \S+ after the stop began$`),
		regexp.MustCompile(`(?m)^deployment default/web kept its 2 pods, Running and ready: none was replaced$`),
		regexp.MustCompile(`(?m)^deployment web: 3/3 ready; pods: .*$`),
		regexp.MustCompile(`(?m)^the new leader's controllers and scheduler placed pod 3: the cluster carries on with 2 members$`),
	} {
		if !want.MatchString(said) {
			t.Errorf("run did not say anything matching %s", want)
		}
	}
	// The member that stopped led; one of the two others leads now.
	old := regexp.MustCompile(`(?m)^(member-\d) leads: `).FindStringSubmatch(said)
	cur := regexp.MustCompile(`(?m)^(member-\d) leads now: `).FindStringSubmatch(said)
	if old != nil && cur != nil && old[1] == cur[1] {
		t.Errorf("%s leads again after it stopped", cur[1])
	}
	// The API answered through the survivors well within an election or
	// two: the 30 s bound of run is for a machine under heavy load.
	m := regexp.MustCompile(`(?m)^member-\d answers writes, (\S+) after the stop began$`).FindStringSubmatch(said)
	if m != nil {
		d, err := time.ParseDuration(m[1])
		if err != nil || d > 10*time.Second {
			t.Errorf("writes answered %s after the leader stopped, want within 10s", m[1])
		}
	}
}

// TestFailover checks the node agents' transport: it goes on to the next
// API server when one refuses connections, replays bodies, stays with the
// server that answered, and does not resend a request that reached a
// server.
func TestFailover(t *testing.T) {
	var gotA, gotB []string
	var mu sync.Mutex
	handler := func(got *[]string, status int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			*got = append(*got, r.Method+" "+r.URL.Path+" "+string(body))
			mu.Unlock()
			w.WriteHeader(status)
		})
	}
	a := httptest.NewServer(handler(&gotA, http.StatusOK))
	defer a.Close()
	b := httptest.NewServer(handler(&gotB, http.StatusServiceUnavailable))
	defer b.Close()
	// A server that stopped: its port refuses connections.
	stopped := httptest.NewServer(http.NotFoundHandler())
	stopped.Close()

	f, err := newFailover([]string{stopped.URL, a.URL, b.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: f}
	post := func(url string) *http.Response {
		t.Helper()
		resp, err := hc.Post(url, "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		_ = resp.Body.Close()
		return resp
	}
	if resp := post(stopped.URL + "/one"); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST past a stopped server: %s, want 200 from the next", resp.Status)
	}
	if resp := post(stopped.URL + "/two"); resp.StatusCode != http.StatusOK {
		t.Fatalf("second POST: %s, want 200", resp.Status)
	}
	mu.Lock()
	if want := []string{"POST /one hello", "POST /two hello"}; strings.Join(gotA, "|") != strings.Join(want, "|") {
		t.Errorf("server a got %q, want %q (the body replayed, the request sent once)", gotA, want)
	}
	if len(gotB) != 0 {
		t.Errorf("server b got %q, want nothing: a answered", gotB)
	}
	mu.Unlock()

	// A server that answers, even with an error, is not skipped.
	g, err := newFailover([]string{b.URL, a.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: g}).Get(b.URL + "/three")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET: %s, want b's 503: a request that reached a server is not sent again", resp.Status)
	}

	// Every server down: the error says so.
	h, err := newFailover([]string{stopped.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&http.Client{Transport: h}).Get(stopped.URL)
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Errorf("GET with every server down: %v, want the dial error", err)
	}

	for _, bad := range [][]string{nil, {"127.0.0.1:6443"}, {"ftp://x"}} {
		if _, err := newFailover(bad, nil); err == nil {
			t.Errorf("newFailover(%q) = nil error, want one", bad)
		}
	}
}
