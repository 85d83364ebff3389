package staticpod

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller/controllertest"
)

const podWeb = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
  - name: web
    image: nginx:1.27
`

const podDB = `{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "db", "namespace": "kube-system"},
 "spec": {"containers": [{"name": "db", "image": "postgres:17"}]}}`

// syncBuffer is a log destination that the test reads while Run writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness runs a Source on a fake clock and collects its updates.
type harness struct {
	t       *testing.T
	dir     string
	clk     *fakeclock.Clock
	log     *syncBuffer
	src     *Source
	updates chan []*api.Pod
}

func startSource(t *testing.T, dir, node string) *harness {
	t.Helper()
	return startSourceWatch(t, dir, node, false)
}

// startSourceWatch starts a Source that watches its directory if watch is
// set; otherwise it reads it only when the clock moves.
func startSourceWatch(t *testing.T, dir, node string, watch bool) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		dir:     dir,
		clk:     fakeclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		log:     &syncBuffer{},
		updates: make(chan []*api.Pod, 16),
	}
	src, err := NewSource(Config{
		Dir:      dir,
		NodeName: node,
		Clock:    h.clk,
		NoWatch:  !watch,
		Logger:   slog.New(slog.NewTextHandler(h.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.src = src
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, func(pods []*api.Pod) { h.updates <- pods }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	h.idle()
	return h
}

// idle waits until Run has read the directory and waits on the clock.
func (h *harness) idle() {
	h.t.Helper()
	controllertest.Eventually(h.t, func() bool { return h.clk.Pending() == 1 })
}

// tick moves the clock by one interval and waits for the read it causes.
func (h *harness) tick() {
	h.t.Helper()
	h.clk.Advance(DefaultInterval)
	h.idle()
}

// next returns the update Run has made, failing if there is none.
func (h *harness) next() []*api.Pod {
	h.t.Helper()
	select {
	case pods := <-h.updates:
		return pods
	default:
		h.t.Fatal("no update; want one")
		return nil
	}
}

// none fails if Run has made an update.
func (h *harness) none() {
	h.t.Helper()
	select {
	case pods := <-h.updates:
		h.t.Fatalf("update with %d pods (%v); want none", len(pods), names(pods))
	default:
	}
}

func (h *harness) write(name, data string) {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, name), []byte(data), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) remove(name string) {
	h.t.Helper()
	if err := os.Remove(filepath.Join(h.dir, name)); err != nil {
		h.t.Fatal(err)
	}
}

func names(pods []*api.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Namespace+"/"+p.Name)
	}
	return out
}

func byName(t *testing.T, pods []*api.Pod, ns, name string) *api.Pod {
	t.Helper()
	for _, p := range pods {
		if p.Namespace == ns && p.Name == name {
			return p
		}
	}
	t.Fatalf("no pod %s/%s in %v", ns, name, names(pods))
	return nil
}

func TestSourceIdentity(t *testing.T) {
	h := startSource(t, t.TempDir(), "node1")
	if pods := h.next(); len(pods) != 0 {
		t.Fatalf("first update of an empty directory: %v; want no pods", names(pods))
	}
	h.write("web.yaml", podWeb)
	h.tick()
	pods := h.next()
	if len(pods) != 1 {
		t.Fatalf("pods: %v; want web-node1", names(pods))
	}
	p := byName(t, pods, "default", "web-node1")
	if p.Spec.NodeName != "node1" {
		t.Errorf("spec.nodeName = %q; want node1", p.Spec.NodeName)
	}
	if p.UID == "" || p.Annotations[AnnotationHash] != string(p.UID) {
		t.Errorf("uid %q, %s %q; want the same, not empty", p.UID, AnnotationHash, p.Annotations[AnnotationHash])
	}
	if got := p.Annotations[AnnotationSource]; got != SourceFile {
		t.Errorf("%s = %q; want %q", AnnotationSource, got, SourceFile)
	}
	if got, want := p.Annotations[AnnotationSeen], "2026-01-02T03:04:25Z"; got != want {
		t.Errorf("%s = %q; want %q (the time of the read)", AnnotationSeen, got, want)
	}
	if p.Labels["app"] != "web" {
		t.Errorf("labels = %v; want the manifest's", p.Labels)
	}
	if p.Spec.RestartPolicy != api.RestartPolicyAlways || p.Spec.TerminationGracePeriodSeconds == nil {
		t.Errorf("spec not defaulted: restartPolicy %q, terminationGracePeriodSeconds %v",
			p.Spec.RestartPolicy, p.Spec.TerminationGracePeriodSeconds)
	}
	if !toleratesAllNoExecute(p.Spec.Tolerations) {
		t.Errorf("tolerations = %+v; want one of every NoExecute taint", p.Spec.Tolerations)
	}
	if p.Status.Phase != api.PodPending {
		t.Errorf("phase = %q; want Pending", p.Status.Phase)
	}
	if !IsStatic(p) || IsMirror(p) || MirrorHash(p) != string(p.UID) {
		t.Errorf("IsStatic %v, IsMirror %v, MirrorHash %q; want true, false, the UID",
			IsStatic(p), IsMirror(p), MirrorHash(p))
	}
	if errs := api.Validate(p); len(errs) > 0 {
		t.Errorf("the static pod does not validate: %v", errs)
	}
}

func TestSourceAddChangeRemove(t *testing.T) {
	h := startSource(t, t.TempDir(), "node1")
	h.next()
	// Files that are not manifests are ignored.
	h.write(".web.yaml.swp", podWeb)
	h.write("notes.txt", podWeb)
	if err := os.Mkdir(filepath.Join(h.dir, "sub.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.write("sub.yaml/web.yaml", podWeb)
	h.tick()
	h.none()

	h.write("web.yaml", podWeb)
	h.write("db.json", podDB)
	h.tick()
	pods := h.next()
	if got := strings.Join(names(pods), " "); got != "kube-system/db-node1 default/web-node1" {
		t.Fatalf("pods: %s; want db and web, in file order", got)
	}
	web1 := byName(t, pods, "default", "web-node1")
	db1 := byName(t, pods, "kube-system", "db-node1")

	// Nothing changed: no update.
	h.tick()
	h.none()
	// The same pod written differently is the same pod.
	h.write("web.yaml", "# a comment\n"+podWeb)
	h.tick()
	h.none()

	h.write("web.yaml", strings.Replace(podWeb, "nginx:1.27", "nginx:1.28", 1))
	h.tick()
	pods = h.next()
	web2 := byName(t, pods, "default", "web-node1")
	if web2.UID == web1.UID {
		t.Errorf("changed manifest kept uid %s; want a new one", web1.UID)
	}
	if web2.Spec.Containers[0].Image != "nginx:1.28" {
		t.Errorf("image %q; want nginx:1.28", web2.Spec.Containers[0].Image)
	}
	if db2 := byName(t, pods, "kube-system", "db-node1"); db2.UID != db1.UID ||
		db2.Annotations[AnnotationSeen] != db1.Annotations[AnnotationSeen] {
		t.Errorf("unchanged db: uid %s, seen %s; want %s, %s", db2.UID, db2.Annotations[AnnotationSeen],
			db1.UID, db1.Annotations[AnnotationSeen])
	}

	h.remove("db.json")
	h.tick()
	pods = h.next()
	if got := strings.Join(names(pods), " "); got != "default/web-node1" {
		t.Fatalf("pods after removing db.json: %s; want web only", got)
	}
	h.tick()
	h.none()
}

func TestSourceBadFilesAreSkipped(t *testing.T) {
	h := startSource(t, t.TempDir(), "node1")
	h.next()
	h.write("web.yaml", podWeb)
	h.write("typo.yaml", strings.Replace(podWeb, "containers:", "contaners:", 1))
	h.write("noimage.yml", strings.Replace(strings.Replace(podWeb, "    image: nginx:1.27\n", "", 1), "web", "noimage", -1))
	h.write("deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n")
	h.write("broken.json", "{")
	h.write("noname.yaml", strings.Replace(podWeb, "  name: web\n", "", 1))
	h.tick()
	pods := h.next()
	if got := strings.Join(names(pods), " "); got != "default/web-node1" {
		t.Fatalf("pods: %s; want web only", got)
	}
	log := h.log.String()
	for file, field := range map[string]string{
		"typo.yaml":   "spec.contaners",
		"noimage.yml": "spec.containers[0].image",
		"deploy.yaml": "kind",
		"noname.yaml": "metadata.name",
		"broken.json": "",
	} {
		var line string
		for l := range strings.Lines(log) {
			if strings.Contains(l, "file="+file) {
				line = l
			}
		}
		if line == "" || !strings.Contains(line, "skipped") || !strings.Contains(line, field) {
			t.Errorf("log of %s: %q; want a line saying it was skipped, naming %q", file, line, field)
		}
	}
	// A bad file is logged once, not at every read.
	h.tick()
	h.none()
	if got := strings.Count(h.log.String(), "file=typo.yaml"); got != 1 {
		t.Errorf("typo.yaml logged %d times; want once", got)
	}
	// Once fixed, it runs.
	h.write("typo.yaml", strings.Replace(podWeb, "name: web", "name: typo", 1))
	h.tick()
	if got := strings.Join(names(h.next()), " "); got != "default/typo-node1 default/web-node1" {
		t.Errorf("pods: %s; want typo and web", got)
	}
}

func TestSourceMultiDocument(t *testing.T) {
	h := startSource(t, t.TempDir(), "n")
	h.next()
	h.write("all.yaml", podWeb+"---\n"+strings.Replace(podWeb, "name: web", "name: api", 1)+"---\n")
	h.tick()
	pods := h.next()
	if got := strings.Join(names(pods), " "); got != "default/web-n default/api-n" {
		t.Fatalf("pods: %s; want web and api, in document order", got)
	}
	if pods[0].UID == pods[1].UID {
		t.Errorf("both documents have uid %s", pods[0].UID)
	}
	// A list too.
	h.write("list.json", `{"apiVersion":"v1","kind":"List","items":[`+podDB+`]}`)
	h.tick()
	if got := strings.Join(names(h.next()), " "); got != "default/web-n default/api-n kube-system/db-n" {
		t.Fatalf("pods: %s; want web, api, db", got)
	}
	// One bad document fails its file.
	h.write("all.yaml", podWeb+"---\n"+strings.Replace(podWeb, "image:", "imag:", 1))
	h.tick()
	if got := strings.Join(names(h.next()), " "); got != "kube-system/db-n" {
		t.Fatalf("pods: %s; want db only", got)
	}
	if log := h.log.String(); !strings.Contains(log, "document 2") || !strings.Contains(log, "imag") {
		t.Errorf("log %q; want document 2 and the field named", log)
	}
}

func TestSourceDuplicateNames(t *testing.T) {
	h := startSource(t, t.TempDir(), "n")
	h.next()
	h.write("a.yaml", podWeb)
	h.write("b.yaml", strings.Replace(podWeb, "nginx:1.27", "nginx:2", 1))
	h.tick()
	pods := h.next()
	if len(pods) != 1 || pods[0].Spec.Containers[0].Image != "nginx:1.27" {
		t.Fatalf("pods %v; want a.yaml's web only", names(pods))
	}
	if log := h.log.String(); !strings.Contains(log, "file=b.yaml") || !strings.Contains(log, "kept=a.yaml") {
		t.Errorf("log %q; want the duplicate in b.yaml reported", log)
	}
}

// wait returns the next update, waiting for it in real time: for the
// updates that the directory watch causes.
func (h *harness) wait() []*api.Pod {
	h.t.Helper()
	select {
	case pods := <-h.updates:
		return pods
	case <-time.After(controllertest.Timeout):
		h.t.Fatal("no update; want one")
		return nil
	}
}

func TestSourceWatch(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the directory watch needs Linux (inotify)")
	}
	dir := filepath.Join(t.TempDir(), "manifests")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h := startSourceWatch(t, dir, "n", true)
	h.next()
	// Seen without moving the clock.
	h.write("web.yaml", podWeb)
	if got := names(h.wait()); len(got) != 1 {
		t.Fatalf("pods %v; want web", got)
	}
	h.write("db.json", podDB)
	if got := names(h.wait()); len(got) != 2 {
		t.Fatalf("pods %v; want web and db", got)
	}
	// The directory removed: no pods. Made again: the poll finds it and
	// watches it again.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for {
		if pods := h.wait(); len(pods) == 0 {
			break
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(DefaultInterval)
	h.idle()
	h.write("web.yaml", podWeb)
	if got := names(h.wait()); len(got) != 1 {
		t.Fatalf("pods %v; want web", got)
	}
}

func TestSourceMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "manifests")
	h := startSource(t, dir, "n")
	if pods := h.next(); len(pods) != 0 {
		t.Fatalf("pods %v; want none", names(pods))
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.write("web.yaml", podWeb)
	h.tick()
	if got := names(h.next()); len(got) != 1 {
		t.Fatalf("pods %v; want web", got)
	}
}

// The UID depends on the manifest, the node and the file only: the same
// on every start of the node agent.
func TestSourceDeterministicUID(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(podWeb), 0o644); err != nil {
		t.Fatal(err)
	}
	uidOf := func(dir, node string) api.UID {
		t.Helper()
		pods := startSource(t, dir, node).next()
		if len(pods) != 1 {
			t.Fatalf("pods %v; want one", names(pods))
		}
		return pods[0].UID
	}
	first := uidOf(dir, "node1")
	if again := uidOf(dir, "node1"); again != first {
		t.Errorf("uid %s on a second start; want %s", again, first)
	}
	if other := uidOf(dir, "node2"); other == first {
		t.Errorf("uid %s on another node; want another", other)
	}
	renamed := t.TempDir()
	if err := os.WriteFile(filepath.Join(renamed, "web2.yaml"), []byte(podWeb), 0o644); err != nil {
		t.Fatal(err)
	}
	if other := uidOf(renamed, "node1"); other == first {
		t.Errorf("uid %s from another file; want another", other)
	}
	moved := t.TempDir()
	if err := os.WriteFile(filepath.Join(moved, "web.yaml"), []byte("\n"+podWeb), 0o644); err != nil {
		t.Fatal(err)
	}
	if same := uidOf(moved, "node1"); same != first {
		t.Errorf("uid %s from the same file in another directory; want %s", same, first)
	}
}

func TestNewSourceErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"Config.Dir":      {NodeName: "n"},
		"Config.NodeName": {Dir: "/x"},
		"Node_Bad":        {Dir: "/x", NodeName: "Node_Bad"},
		"Config.Interval": {Dir: "/x", NodeName: "n", Interval: -time.Second},
	} {
		if _, err := NewSource(cfg); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("NewSource(%+v) = %v; want an error naming %s", cfg, err, name)
		}
	}
	src, err := NewSource(Config{Dir: "/x", NodeName: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Run(context.Background(), nil); err == nil {
		t.Error("Run(nil) succeeded; want an error")
	}
}
