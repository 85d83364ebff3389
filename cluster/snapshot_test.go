package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/raftstore"
)

// TestSnapshotOnline saves a backup from a running AllInOne through the
// snapshot endpoint, restores it into a new data directory and starts a
// cluster on it: the objects are there with their resourceVersions and
// UIDs, and what was written after the save is not.
func TestSnapshotOnline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, _ := startAllInOne(t, t.TempDir())
	c := httpClient(t, a)
	cms := client.Resource[api.ConfigMap](c)
	var saved []*api.ConfigMap
	for i := range 3 {
		cm, err := cms.Create(ctx, &api.ConfigMap{
			ObjectMeta: api.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("saved-%d", i)},
			Data:       map[string]string{"i": fmt.Sprint(i)},
		})
		if err != nil {
			t.Fatal(err)
		}
		saved = append(saved, cm)
	}

	cfg, err := client.LoadKubeconfig(a.KubeconfigPath(), "")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "online.snap")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	info, err := FetchSnapshot(ctx, cfg, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("FetchSnapshot: %v", err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != fi.Size() || info.Size == 0 {
		t.Errorf("FetchSnapshot said %d bytes, the file has %d", info.Size, fi.Size())
	}
	if last, _ := strconv.ParseInt(saved[len(saved)-1].ResourceVersion, 10, 64); info.Revision < last {
		t.Errorf("backup at revision %d, before the last write acknowledged (%d)", info.Revision, last)
	}
	if info.Keys < int64(len(saved)) {
		t.Errorf("backup holds %d keys, want at least %d", info.Keys, len(saved))
	}
	t.Logf("online backup: revision %d, %d keys, %d bytes", info.Revision, info.Keys, info.Size)

	// Not in the backup: written after it.
	if _, err := cms.Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "after"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	newDir := t.TempDir()
	rc := raftstore.DefaultConfig(StoreDir(newDir))
	rc.NodeID = DefaultMemberName
	rc.BindAddr = "127.0.0.1:0"
	rc.Bootstrap = true
	rc.RestoreFrom = file
	rc.Logger = slog.New(slog.DiscardHandler)
	st, err := raftstore.Open(ctx, rc)
	if err != nil {
		t.Fatalf("restore the online backup: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	b, _ := startAllInOne(t, newDir)
	rcms := client.Resource[api.ConfigMap](httpClient(t, b))
	for _, want := range saved {
		got, err := rcms.Get(ctx, "default", want.Name)
		if err != nil {
			t.Errorf("the restored cluster lacks %s: %v", want.Name, err)
			continue
		}
		if got.ResourceVersion != want.ResourceVersion || got.UID != want.UID || got.Data["i"] != want.Data["i"] {
			t.Errorf("restored %s: resourceVersion %s uid %s data %v; want %s %s %v",
				want.Name, got.ResourceVersion, got.UID, got.Data, want.ResourceVersion, want.UID, want.Data)
		}
	}
	if _, err := rcms.Get(ctx, "default", "after"); !api.IsNotFound(err) {
		t.Errorf("the restored cluster has a ConfigMap written after the backup (err %v)", err)
	}
}

// TestSnapshotEndpointRouting checks the endpoint's answers to other
// methods and paths, that the API server still serves the rest, and the
// endpoint's metrics.
func TestSnapshotEndpointRouting(t *testing.T) {
	a, _ := startAllInOne(t, t.TempDir())
	for _, tc := range []struct {
		method, path string
		code         int
		want         string
	}{
		{http.MethodPost, SnapshotPath, http.StatusMethodNotAllowed, "method POST is not allowed on /drover/v1/snapshot: use GET"},
		{http.MethodPut, SnapshotPath, http.StatusMethodNotAllowed, "use GET"},
		{http.MethodGet, "/drover/v1/other", http.StatusNotFound, "the paths under /drover/ are /drover/v1/snapshot and /drover/v1/scheduling/namespaces/{namespace}/pods/{name}"},
		{http.MethodGet, "/healthz", http.StatusOK, "ok"},
		{http.MethodGet, "/api/v1/namespaces/default", http.StatusOK, `"name":"default"`},
	} {
		req, err := http.NewRequest(tc.method, a.URL()+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s %s: %d %q; want %d with %q", tc.method, tc.path, resp.StatusCode, body, tc.code, tc.want)
		}
		if tc.code == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodGet {
			t.Errorf("%s %s: Allow %q, want GET", tc.method, tc.path, resp.Header.Get("Allow"))
		}
	}
	resp, err := http.Get(a.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `drover_snapshot_requests_total{code="405"} 2`) {
		t.Errorf("/metrics lacks the snapshot requests refused with 405:\n%s", grepLines(string(metrics), "drover_snapshot"))
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// fakeSnapshotStore writes body, then fails with err (if any), at
// revision rev with keys keys.
type fakeSnapshotStore struct {
	body []byte
	err  error
	rev  int64
	keys int64
}

func (f *fakeSnapshotStore) Backup(_ context.Context, w io.Writer) (int64, error) {
	if len(f.body) > 0 {
		if _, err := w.Write(f.body); err != nil {
			return 0, err
		}
	}
	if f.err != nil {
		return 0, f.err
	}
	return f.rev, nil
}

func (f *fakeSnapshotStore) List(context.Context, string, store.ListOptions) (*store.ListResult, error) {
	if f.keys < 0 {
		return nil, store.ErrCompacted
	}
	return &store.ListResult{KVs: []*store.KeyValue{{}}, Remaining: f.keys - 1}, nil
}

// serveFake serves the snapshot handler over st and returns a Config for
// it.
func serveFake(t *testing.T, st snapshotStore) client.Config {
	t.Helper()
	h, err := newSnapshotHandler(st, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(withDroverPaths(h, http.NotFoundHandler()))
	t.Cleanup(srv.Close)
	return client.Config{Host: srv.URL}
}

func TestFetchSnapshotAnswers(t *testing.T) {
	ctx := context.Background()
	big := bytes.Repeat([]byte("DROVSNAP"), 64<<10) // past the server's buffer

	t.Run("whole", func(t *testing.T) {
		var buf bytes.Buffer
		info, err := FetchSnapshot(ctx, serveFake(t, &fakeSnapshotStore{body: big, rev: 42, keys: 7}), &buf)
		if err != nil {
			t.Fatal(err)
		}
		if info != (SnapshotInfo{Revision: 42, Keys: 7, Size: int64(len(big))}) || !bytes.Equal(buf.Bytes(), big) {
			t.Errorf("got %+v and %d bytes; want revision 42, 7 keys, %d bytes", info, buf.Len(), len(big))
		}
	})
	t.Run("no key count", func(t *testing.T) {
		info, err := FetchSnapshot(ctx, serveFake(t, &fakeSnapshotStore{body: []byte("x"), rev: 9, keys: -1}), io.Discard)
		if err != nil || info != (SnapshotInfo{Revision: 9, Keys: -1, Size: 1}) {
			t.Errorf("got %+v, %v; want revision 9, keys -1, size 1", info, err)
		}
	})
	t.Run("cut short", func(t *testing.T) {
		_, err := FetchSnapshot(ctx, serveFake(t, &fakeSnapshotStore{body: big, err: errors.New("disk on fire")}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "ended the backup early") {
			t.Errorf("a backup cut short: err %v; want one saying it ended early", err)
		}
	})
	t.Run("unavailable", func(t *testing.T) {
		_, err := FetchSnapshot(ctx, serveFake(t, &fakeSnapshotStore{err: fmt.Errorf("raftstore: backup: %w", store.ErrUnavailable)}), io.Discard)
		var se *SnapshotStatusError
		if !errors.As(err, &se) || se.Code != http.StatusServiceUnavailable || !strings.Contains(se.Message, "no leader or no quorum") {
			t.Errorf("no quorum: err %v; want a 503 SnapshotStatusError saying so", err)
		}
	})
	t.Run("no trailer", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("DROVSNAP")) }))
		defer srv.Close()
		_, err := FetchSnapshot(ctx, client.Config{Host: srv.URL}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "no X-Drover-Revision trailer") {
			t.Errorf("a reply without the trailer: err %v; want one naming the trailer", err)
		}
	})
	t.Run("not served", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		defer srv.Close()
		_, err := FetchSnapshot(ctx, client.Config{Host: srv.URL}, io.Discard)
		var se *SnapshotStatusError
		if !errors.As(err, &se) || se.Code != http.StatusNotFound {
			t.Errorf("an older server: err %v; want a 404 SnapshotStatusError", err)
		}
	})
}

// TestSnapshotFromFollower asks a follower for a backup right after a
// write through the leader: the backup holds the write, because Backup
// waits for the leader's read index first.
func TestSnapshotFromFollower(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base := t.TempDir()
	first := startMember(t, base, "cp-0", nil)
	members := []*ControlPlane{first, startMember(t, base, "cp-1", []string{first.RaftAddr()})}
	var leader, follower *ControlPlane
	eventually(t, 15*time.Second, func() error {
		leader, follower = nil, nil
		for _, m := range members {
			if m.Store().IsLeader() {
				leader = m
			} else {
				follower = m
			}
		}
		if leader == nil || follower == nil {
			return errors.New("no leader and follower yet")
		}
		return nil
	})
	lc, err := client.New(client.Config{Host: leader.URL()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		cm, err := client.Resource[api.ConfigMap](lc).Create(ctx, &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("w-%d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		rv, _ := strconv.ParseInt(cm.ResourceVersion, 10, 64)
		var buf bytes.Buffer
		info, err := FetchSnapshot(ctx, client.Config{Host: follower.URL()}, &buf)
		if err != nil {
			t.Fatalf("backup from the follower: %v", err)
		}
		if info.Revision < rv {
			t.Errorf("the follower's backup is at revision %d, before the write it was asked after (%d)", info.Revision, rv)
		}
		if info.Size != int64(buf.Len()) || !bytes.HasPrefix(buf.Bytes(), []byte("DROVSNAP")) {
			t.Errorf("the follower's backup: %d bytes said, %d received, starting %q", info.Size, buf.Len(), buf.Bytes()[:min(8, buf.Len())])
		}
	}
}
