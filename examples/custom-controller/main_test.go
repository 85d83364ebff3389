package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/examples/custom-controller/website"
)

// start runs run with cfg (Listener and Logger filled in) on a free port,
// and returns the server's URL and a function that stops run and returns
// its error.
func start(t *testing.T, cfg config) (url string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener = ln
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg) }()
	var stopped bool
	var runErr error
	stop = func() error {
		if !stopped {
			cancel()
			runErr, stopped = <-done, true
		}
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + ln.Addr().String(), stop
}

// get GETs url with the Accept header accept (JSON if empty) and decodes
// the answer into out; it reports whether that worked, for Eventually.
func get(t *testing.T, url, accept string, out any) bool {
	t.Helper()
	req, err := http.NewRequestWithContext(controllertest.Context(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Logf("GET %s: %v", url, err)
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Logf("GET %s: %s", url, resp.Status)
		return false
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: decode: %v", url, err)
	}
	return true
}

const websitesPath = "/apis/example.drover.io/v1/namespaces/default/websites"

// waitHello waits until the demo Website, listed over HTTP, has been
// reconciled (its status has the URL), and returns it.
func waitHello(t *testing.T, base string) website.Website {
	t.Helper()
	var hello website.Website
	controllertest.Eventually(t, func() bool {
		var list website.WebsiteList
		if !get(t, base+websitesPath, "", &list) {
			return false
		}
		for _, w := range list.Items {
			if w.Name == "hello" && w.Status.URL != "" {
				hello = w
				return true
			}
		}
		return false
	})
	return hello
}

func TestRunServesWebsitesOverHTTP(t *testing.T) {
	base, stop := start(t, config{Demo: true})

	hello := waitHello(t, base)
	if hello.Spec.Image != "nginx:1.27" || *hello.Spec.Replicas != 2 || hello.Spec.Port != 80 ||
		hello.Status.URL != "http://hello.default.svc:80" || hello.Status.ObservedGeneration != 1 {
		t.Errorf("demo Website %+v", hello)
	}
	var dep api.Deployment
	if !get(t, base+"/apis/apps/v1/namespaces/default/deployments/hello", "", &dep) {
		t.Fatal("no Deployment hello")
	}
	if ref := dep.ControllerRef(); ref == nil || ref.UID != hello.UID {
		t.Errorf("Deployment hello's controller %+v, want the Website %s", ref, hello.UID)
	}

	// What kubectl get websites asks for: a Table with the printer columns.
	var table apiserver.Table
	if !get(t, base+websitesPath, "application/json;as=Table;v=v1;g=meta.k8s.io", &table) {
		t.Fatal("no Table")
	}
	var cols []string
	for _, c := range table.ColumnDefinitions {
		cols = append(cols, c.Name)
	}
	if want := []string{"Name", "Image", "Replicas", "Ready", "URL", "Age"}; !slices.Equal(cols, want) {
		t.Errorf("Table columns %q, want %q", cols, want)
	}
	if len(table.Rows) != 1 || fmt.Sprint(table.Rows[0].Cells[:5]) != "[hello nginx:1.27 2 0 http://hello.default.svc:80]" {
		t.Errorf("Table rows %+v", table.Rows)
	}

	// What kubectl finds the kind by: discovery.
	var resources apiserver.APIResourceList
	if !get(t, base+"/apis/example.drover.io/v1", "", &resources) {
		t.Fatal("no discovery document")
	}
	i := slices.IndexFunc(resources.Resources, func(r apiserver.APIResource) bool { return r.Name == "websites" })
	if i < 0 || !resources.Resources[i].Namespaced || !slices.Contains(resources.Resources[i].ShortNames, "ws") {
		t.Errorf("discovery %+v, want the namespaced resource websites, short name ws", resources.Resources)
	}

	// Deleting the Website: the garbage collector deletes its children.
	req, err := http.NewRequestWithContext(controllertest.Context(t), http.MethodDelete, base+websitesPath+"/hello", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE hello: %s", resp.Status)
	}
	controllertest.Eventually(t, func() bool {
		var d api.Deployment
		var s api.Service
		return !get(t, base+"/apis/apps/v1/namespaces/default/deployments/hello", "", &d) &&
			!get(t, base+"/api/v1/namespaces/default/services/hello", "", &s)
	})

	if err := stop(); err != nil {
		t.Errorf("run: %v, want nil after its ctx ended", err)
	}
}

func TestRunKeepsObjectsInDataDir(t *testing.T) {
	dir := t.TempDir()
	base, stop := start(t, config{DataDir: dir, Demo: true})
	first := waitHello(t, base)
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}

	base, stop = start(t, config{DataDir: dir})
	again := waitHello(t, base)
	if again.UID != first.UID {
		t.Errorf("after a restart, Website hello has uid %s, want %s", again.UID, first.UID)
	}
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
}
