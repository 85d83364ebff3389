package garbagecollector_test

import (
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/controller/garbagecollector"
)

// readRecorder is a transport that records the paths of the single-object
// GETs (live reads, not lists or watches) it passes on.
type readRecorder struct {
	next http.RoundTripper

	mu    sync.Mutex
	paths []string
}

// objectPath matches the path of one namespaced object.
var objectPath = regexp.MustCompile(`/namespaces/[^/]+/[^/]+/[^/]+$`)

func (r *readRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && objectPath.MatchString(req.URL.Path) && req.URL.Query().Get("watch") == "" {
		r.mu.Lock()
		r.paths = append(r.paths, req.URL.Path)
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

// read returns the recorded paths that end in /<resource>/<name>.
func (r *readRecorder) read(resource, name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	suffix := "/" + resource + "/" + name
	var out []string
	for _, p := range r.paths {
		if len(p) >= len(suffix) && p[len(p)-len(suffix):] == suffix {
			out = append(out, p)
		}
	}
	return out
}

// TestOwnersInCacheAreNotReadLive: dependents whose owners the caches hold,
// with the uids their references name, cost the collector no request:
// only an owner missing from the caches is verified with a live GET.
func TestOwnersInCacheAreNotReadLive(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	cfg := env.ClientConfig()
	rec := &readRecorder{next: cfg.Transport}
	cfg.Transport = rec
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := env.NewManager(controller.ManagerConfig{Client: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := garbagecollector.Add(mgr, garbagecollector.Options{}); err != nil {
		t.Fatal(err)
	}
	rss, err := controller.Lister[*api.ReplicaSet](mgr)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.StartManager(mgr); err != nil {
		t.Fatal(err)
	}
	rs := createRS(t, ctx, env, "web")
	controllertest.Eventually(t, func() bool {
		cached, err := rss.Get("default", "web")
		return err == nil && cached.UID == rs.UID
	})
	const n = 20
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("web-%d", i))
		createPod(t, ctx, env, names[i], nil, ref(rs, rsGVK, true))
	}
	// A dependent of an owner that never existed comes after them in the
	// pods' watch: once it is collected, the collector has had the others.
	ghost := api.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "ghost", UID: "no-such-uid"}
	createPod(t, ctx, env, "orphaned", nil, ghost)
	waitGone[api.Pod](t, ctx, env, "orphaned")
	if got := rec.read("replicasets", "ghost"); len(got) == 0 {
		t.Error("the absent owner was not verified with a live GET")
	}
	if got := rec.read("replicasets", "web"); len(got) != 0 {
		t.Errorf("the cached owner was read live %d times", len(got))
	}
	for _, name := range names {
		if got := rec.read("pods", name); len(got) != 0 {
			t.Errorf("pod %s, whose owner is cached, was read live %d times", name, len(got))
		}
	}

	// Deleting the owner collects them all (their owner is now absent).
	deleteObj(t, ctx, env, rs, client.DeletePropagationBackground)
	for _, name := range names {
		waitGone[api.Pod](t, ctx, env, name)
	}
	if got := rec.read("replicasets", "web"); len(got) == 0 {
		t.Error("the deleted owner's absence was not verified with a live GET")
	}
}
