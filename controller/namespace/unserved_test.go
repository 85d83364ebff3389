package namespace

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller/controllertest"
)

// widget is a user kind that the API server may not serve yet.
type widget struct {
	api.TypeMeta   `json:",inline"`
	api.ObjectMeta `json:"metadata,omitzero"`
}

var widgetKind = api.Kind{
	GroupVersionKind: api.GroupVersion{Group: "example.drover.io", Version: "v1"}.WithKind("Widget"),
	Resource:         "widgets",
	Namespaced:       true,
}

// hiding answers 404 for widgets while hide is set, as an API server that
// does not serve the kind (yet) would.
type hiding struct {
	next http.RoundTripper
	hide atomic.Bool
}

func (t *hiding) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.hide.Load() && strings.Contains(req.URL.Path, "/widgets") {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		body := `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,` +
			`"message":"the server could not find the requested resource"}`
		return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewBufferString(body)), Request: req}, nil
	}
	return t.next.RoundTrip(req)
}

// A kind that answered 404 once is asked about again before a namespace
// is let go: once served, its objects are deleted with the namespace.
func TestKindServedLaterIsEmptiedToo(t *testing.T) {
	scheme := api.NewDefaultScheme()
	if err := api.Register[widget](scheme, widgetKind); err != nil {
		t.Fatal(err)
	}
	clk := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	env := controllertest.New(t, controllertest.WithScheme(scheme), controllertest.WithClock(clk))
	ctx := controllertest.Context(t)
	cfg := env.ClientConfig()
	tr := &hiding{next: cfg.Transport}
	tr.hide.Store(true)
	cfg.Transport = tr
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &reconciler{c: c, opts: Options{Clock: clk}, unserved: map[api.GroupVersionKind]bool{}}

	const ns = "doomed"
	if err := env.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if got := r.sweep(ctx, ns); !got.empty() {
		t.Fatalf("sweep of an empty namespace: %+v", got)
	}
	if !r.isUnserved(widgetKind) {
		t.Fatal("the 404 for widgets was not remembered")
	}

	// The API server now serves widgets, and the namespace holds one.
	tr.hide.Store(false)
	if err := env.Client.Create(ctx, &widget{ObjectMeta: api.ObjectMeta{Namespace: ns, Name: "w"}}); err != nil {
		t.Fatal(err)
	}
	r.sweep(ctx, ns)
	if err := env.Client.Get(ctx, ns, "w", &widget{}); !api.IsNotFound(err) {
		t.Fatalf("the widget survived the sweep that would let the namespace go (get: %v)", err)
	}
	if r.isUnserved(widgetKind) {
		t.Fatal("widgets still remembered as unserved after a successful list")
	}
}
