package staticpod

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/controllertest"
)

// staticPods parses manifest as a Source of node would.
func staticPods(t *testing.T, manifest, file, node string) []*api.Pod {
	t.Helper()
	pods, err := parseManifest(api.NewDefaultScheme(), []byte(manifest), file, node, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return pods
}

// downTransport fails every request while down is set, as a server that
// cannot be reached does.
type downTransport struct {
	next http.RoundTripper
	down atomic.Bool
}

func (d *downTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if d.down.Load() {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return d.next.RoundTrip(r)
}

type mirrorEnv struct {
	env    *controllertest.Env
	ctx    context.Context
	node   *api.Node
	net    *downTransport
	mirror *Mirror
}

func newMirrorEnv(t *testing.T, register bool) *mirrorEnv {
	t.Helper()
	env := controllertest.New(t)
	m := &mirrorEnv{env: env, ctx: controllertest.Context(t)}
	if register {
		m.node = &api.Node{ObjectMeta: api.ObjectMeta{Name: "node1"}}
		if err := env.Client.Create(m.ctx, m.node); err != nil {
			t.Fatal(err)
		}
	}
	cfg := env.ClientConfig()
	m.net = &downTransport{next: cfg.Transport}
	cfg.Transport = m.net
	cfg.Retry.MaxAttempts = 1
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m.mirror, err = NewMirror(MirrorConfig{Client: c, NodeName: "node1"}); err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *mirrorEnv) get(t *testing.T, ns, name string) *api.Pod {
	t.Helper()
	var p api.Pod
	if err := m.env.Client.Get(m.ctx, ns, name, &p); err != nil {
		t.Fatalf("get mirror pod %s/%s: %v", ns, name, err)
	}
	return &p
}

func (m *mirrorEnv) sync(t *testing.T, static []*api.Pod) {
	t.Helper()
	if err := m.mirror.Sync(m.ctx, static); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func TestMirrorCreate(t *testing.T) {
	m := newMirrorEnv(t, true)
	static := staticPods(t, podWeb, "web.yaml", "node1")
	m.sync(t, static)

	sp := static[0]
	mp := m.get(t, "default", "web-node1")
	if !IsMirror(mp) || IsStatic(mp) || MirrorHash(mp) != string(sp.UID) {
		t.Errorf("IsMirror %v, IsStatic %v, MirrorHash %q; want true, false, %s", IsMirror(mp), IsStatic(mp), MirrorHash(mp), sp.UID)
	}
	if mp.UID == sp.UID {
		t.Errorf("mirror pod has the static pod's uid %s; want the API server's own", mp.UID)
	}
	if mp.Spec.NodeName != "node1" || mp.Spec.Containers[0].Image != "nginx:1.27" || mp.Labels["app"] != "web" {
		t.Errorf("mirror pod: nodeName %q, image %q, labels %v; want the static pod's", mp.Spec.NodeName,
			mp.Spec.Containers[0].Image, mp.Labels)
	}
	if mp.Annotations[AnnotationSource] != SourceFile || mp.Annotations[AnnotationHash] != string(sp.UID) {
		t.Errorf("mirror annotations %v; want the static pod's too", mp.Annotations)
	}
	if len(mp.OwnerReferences) != 1 {
		t.Fatalf("ownerReferences %+v; want the Node", mp.OwnerReferences)
	}
	ref := mp.OwnerReferences[0]
	if ref.Kind != "Node" || ref.APIVersion != "v1" || ref.Name != "node1" || ref.UID != m.node.UID ||
		ref.Controller == nil || !*ref.Controller {
		t.Errorf("ownerReference %+v; want controller Node node1 %s", ref, m.node.UID)
	}

	// Nothing to do: the same mirror pod stays.
	m.sync(t, static)
	if again := m.get(t, "default", "web-node1"); again.UID != mp.UID {
		t.Errorf("mirror pod re-created (uid %s, was %s) with nothing changed", again.UID, mp.UID)
	}
}

func TestMirrorHashChangeRecreates(t *testing.T) {
	m := newMirrorEnv(t, true)
	m.sync(t, staticPods(t, podWeb, "web.yaml", "node1"))
	before := m.get(t, "default", "web-node1")

	changed := staticPods(t, strings.Replace(podWeb, "nginx:1.27", "nginx:1.28", 1), "web.yaml", "node1")
	m.sync(t, changed)
	after := m.get(t, "default", "web-node1")
	if after.UID == before.UID {
		t.Fatal("mirror pod kept; want it deleted and made again")
	}
	if MirrorHash(after) != string(changed[0].UID) || after.Spec.Containers[0].Image != "nginx:1.28" {
		t.Errorf("mirror hash %q, image %q; want %s, nginx:1.28", MirrorHash(after), after.Spec.Containers[0].Image, changed[0].UID)
	}
}

func TestMirrorOrphansDeleted(t *testing.T) {
	m := newMirrorEnv(t, true)
	static := staticPods(t, podWeb+"---\n"+podDB, "all.yaml", "node1")
	m.sync(t, static)
	// A pod of this node that is not a mirror pod, and a mirror pod of
	// another node, are not this Mirror's.
	other := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "bound"},
		Spec:       api.PodSpec{NodeName: "node1", Containers: []api.Container{{Name: "c", Image: "busybox"}}},
	}
	otherNode := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web-node2", Annotations: map[string]string{AnnotationMirror: "x"}},
		Spec:       api.PodSpec{NodeName: "node2", Containers: []api.Container{{Name: "c", Image: "busybox"}}},
	}
	for _, p := range []*api.Pod{other, otherNode} {
		if err := m.env.Client.Create(m.ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	m.sync(t, static[1:]) // web's manifest is gone
	var p api.Pod
	if err := m.env.Client.Get(m.ctx, "default", "web-node1", &p); !api.IsNotFound(err) {
		t.Errorf("orphaned mirror pod: get = %v; want NotFound", err)
	}
	m.get(t, "kube-system", "db-node1")
	m.get(t, "default", "bound")
	m.get(t, "default", "web-node2")
}

func TestMirrorDeletedByUserIsRecreated(t *testing.T) {
	m := newMirrorEnv(t, true)
	static := staticPods(t, podWeb, "web.yaml", "node1")
	m.sync(t, static)
	before := m.get(t, "default", "web-node1")

	// A user deletes it, gracefully: it may linger with a
	// deletionTimestamp, or be gone.
	if err := m.env.Client.Delete(m.ctx, before); err != nil {
		t.Fatal(err)
	}
	m.sync(t, static)
	after := m.get(t, "default", "web-node1")
	if after.UID == before.UID || after.DeletionTimestamp != nil {
		t.Errorf("mirror pod uid %s (was %s), deletionTimestamp %v; want a new one, not terminating",
			after.UID, before.UID, after.DeletionTimestamp)
	}

	// Deleted for good.
	zero := int64(0)
	if err := m.env.Client.Delete(m.ctx, after, client.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	m.sync(t, static)
	if again := m.get(t, "default", "web-node1"); again.UID == after.UID {
		t.Error("mirror pod not made again")
	}
}

func TestMirrorAPIDown(t *testing.T) {
	m := newMirrorEnv(t, true)
	static := staticPods(t, podWeb, "web.yaml", "node1")
	m.net.down.Store(true)
	err := m.mirror.Sync(m.ctx, static)
	if err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Sync with the API server down = %v; want the connection error", err)
	}
	if err := m.mirror.UpdateStatus(m.ctx, static[0], api.PodStatus{Phase: api.PodRunning}); err == nil {
		t.Error("UpdateStatus with the API server down succeeded")
	}
	m.net.down.Store(false)
	m.sync(t, static)
	m.get(t, "default", "web-node1")
}

func TestMirrorNodeNotRegistered(t *testing.T) {
	m := newMirrorEnv(t, false)
	static := staticPods(t, podWeb, "web.yaml", "node1")
	err := m.mirror.Sync(m.ctx, static)
	if err == nil || !api.IsNotFound(err) || !strings.Contains(err.Error(), `Node "node1"`) {
		t.Fatalf("Sync before the Node exists = %v; want NotFound naming the Node", err)
	}
	node := &api.Node{ObjectMeta: api.ObjectMeta{Name: "node1"}}
	if err := m.env.Client.Create(m.ctx, node); err != nil {
		t.Fatal(err)
	}
	m.sync(t, static)
	m.get(t, "default", "web-node1")
}

func TestMirrorNameTaken(t *testing.T) {
	m := newMirrorEnv(t, true)
	taken := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web-node1"},
		Spec:       api.PodSpec{Containers: []api.Container{{Name: "c", Image: "busybox"}}},
	}
	if err := m.env.Client.Create(m.ctx, taken); err != nil {
		t.Fatal(err)
	}
	static := staticPods(t, podWeb+"---\n"+podDB, "all.yaml", "node1")
	err := m.mirror.Sync(m.ctx, static)
	if !api.IsAlreadyExists(err) {
		t.Fatalf("Sync = %v; want AlreadyExists for web-node1", err)
	}
	// The others are mirrored all the same.
	m.get(t, "kube-system", "db-node1")
	if p := m.get(t, "default", "web-node1"); IsMirror(p) {
		t.Error("the user's pod was replaced by a mirror pod")
	}
}

func TestMirrorUpdateStatus(t *testing.T) {
	m := newMirrorEnv(t, true)
	static := staticPods(t, podWeb, "web.yaml", "node1")
	sp := static[0]
	status := api.PodStatus{Phase: api.PodRunning, PodIP: "10.0.0.5"}
	if err := m.mirror.UpdateStatus(m.ctx, sp, status); !errors.Is(err, ErrNoMirror) {
		t.Errorf("UpdateStatus before Sync = %v; want ErrNoMirror", err)
	}
	m.sync(t, static)
	if err := m.mirror.UpdateStatus(m.ctx, sp, status); err != nil {
		t.Fatal(err)
	}
	mp := m.get(t, "default", "web-node1")
	if mp.Status.Phase != api.PodRunning || mp.Status.PodIP != "10.0.0.5" {
		t.Errorf("mirror status %+v; want Running with podIP 10.0.0.5", mp.Status)
	}
	// The mirror pod of an older manifest does not get the new pod's status.
	changed := staticPods(t, strings.Replace(podWeb, "nginx:1.27", "nginx:1.28", 1), "web.yaml", "node1")
	if err := m.mirror.UpdateStatus(m.ctx, changed[0], status); !errors.Is(err, ErrNoMirror) {
		t.Errorf("UpdateStatus of a changed pod = %v; want ErrNoMirror", err)
	}
	if err := m.mirror.UpdateStatus(m.ctx, mp, status); err == nil {
		t.Error("UpdateStatus of a mirror pod, not a static pod, succeeded")
	}
}

func TestNewMirrorErrors(t *testing.T) {
	if _, err := NewMirror(MirrorConfig{NodeName: "n"}); err == nil || !strings.Contains(err.Error(), "Client") {
		t.Errorf("NewMirror without a client = %v; want an error naming Client", err)
	}
	c, err := client.New(client.Config{Host: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMirror(MirrorConfig{Client: c}); err == nil || !strings.Contains(err.Error(), "NodeName") {
		t.Errorf("NewMirror without a node = %v; want an error naming NodeName", err)
	}
}
