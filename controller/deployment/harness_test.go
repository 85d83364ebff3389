package deployment

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/controllertest"
)

// The scenario tests call Reconcile directly, step by step, and play the
// ReplicaSet controller and the node agents themselves: they set each
// ReplicaSet's status (how many pods it has, how many are available) as
// those would. The Reconciler reads through apiLister, straight from the
// API server, so each step sees the writes of the last.

// apiLister is a Lister that reads from the API server: a cache that is
// never behind.
type apiLister[T any, PT interface {
	*T
	api.Object
}] struct{ c *client.Client }

func (l apiLister[T, PT]) Get(namespace, name string) (PT, error) {
	return client.Resource[T, PT](l.c).Get(context.Background(), namespace, name)
}

func (l apiLister[T, PT]) ListNamespace(namespace string, sel labels.Selector) ([]PT, error) {
	list, err := client.Resource[T, PT](l.c).List(context.Background(), client.InNamespace(namespace))
	if err != nil {
		return nil, err
	}
	var out []PT
	for i := range list.Items {
		obj := PT(&list.Items[i])
		if sel.Matches(labels.Set(obj.GetObjectMeta().Labels)) {
			out = append(out, obj)
		}
	}
	return out, nil
}

// eventLog is an EventRecorder that keeps the Events' messages.
type eventLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *eventLog) Eventf(_ api.Object, _ api.EventType, reason, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, reason+": "+fmt.Sprintf(format, args...))
}

func (l *eventLog) has(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.msgs, msg)
}

// harness is one scenario: an Env on a fake clock and a Reconciler.
type harness struct {
	t      *testing.T
	ctx    context.Context
	env    *controllertest.Env
	clk    *fakeclock.Clock
	r      *Reconciler
	events *eventLog
	ns     string
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newHarness(t *testing.T) *harness {
	t.Helper()
	clk := fakeclock.New(epoch)
	env := controllertest.New(t, controllertest.WithClock(clk))
	events := &eventLog{}
	r, err := New(Config{
		Client:      env.Client,
		Deployments: apiLister[api.Deployment, *api.Deployment]{env.Client},
		ReplicaSets: apiLister[api.ReplicaSet, *api.ReplicaSet]{env.Client},
		Pods:        apiLister[api.Pod, *api.Pod]{env.Client},
		Recorder:    events,
		Clock:       clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, ctx: controllertest.Context(t), env: env, clk: clk, r: r, events: events, ns: "default"}
}

// newDeployment returns a Deployment of app=name running image.
func newDeployment(name string, replicas int32, image string) *api.Deployment {
	sel := map[string]string{"app": name}
	return &api.Deployment{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec: api.DeploymentSpec{
			Replicas: &replicas,
			Selector: &api.LabelSelector{MatchLabels: sel},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: sel},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

func (h *harness) create(d *api.Deployment) *api.Deployment {
	h.t.Helper()
	out, err := client.Resource[api.Deployment](h.env.Client).Create(h.ctx, d)
	if err != nil {
		h.t.Fatalf("create Deployment: %v", err)
	}
	return out
}

func (h *harness) get(name string) *api.Deployment {
	h.t.Helper()
	d, err := client.Resource[api.Deployment](h.env.Client).Get(h.ctx, h.ns, name)
	if err != nil {
		h.t.Fatalf("get Deployment: %v", err)
	}
	return d
}

// update changes the Deployment's spec with f.
func (h *harness) update(name string, f func(*api.Deployment)) {
	h.t.Helper()
	dc := client.Resource[api.Deployment](h.env.Client)
	err := client.RetryOnConflict(h.ctx, client.DefaultRetry, func() error {
		d, err := dc.Get(h.ctx, h.ns, name)
		if err != nil {
			return err
		}
		f(d)
		_, err = dc.Update(h.ctx, d)
		return err
	})
	if err != nil {
		h.t.Fatalf("update Deployment %s: %v", name, err)
	}
}

func setImage(image string) func(*api.Deployment) {
	return func(d *api.Deployment) { d.Spec.Template.Spec.Containers[0].Image = image }
}

// replicaSets returns the ReplicaSets d controls, oldest revision first.
func (h *harness) replicaSets(name string) []*api.ReplicaSet {
	h.t.Helper()
	d := h.get(name)
	list, err := client.Resource[api.ReplicaSet](h.env.Client).List(h.ctx, client.InNamespace(h.ns))
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*api.ReplicaSet
	for i := range list.Items {
		if rs := &list.Items[i]; rs.IsControlledBy(d.UID) {
			out = append(out, rs)
		}
	}
	slices.SortFunc(out, oldestFirstByRevision)
	return out
}

// newRS returns d's ReplicaSet with d's template.
func (h *harness) newRS(name string) *api.ReplicaSet {
	h.t.Helper()
	d := h.get(name)
	for _, rs := range h.replicaSets(name) {
		if equalIgnoringHash(&rs.Spec.Template, &d.Spec.Template) {
			return rs
		}
	}
	h.t.Fatalf("Deployment %s has no new ReplicaSet", name)
	return nil
}

// reconcile calls Reconcile once.
func (h *harness) reconcile(name string) controller.Result {
	h.t.Helper()
	res, err := h.r.Reconcile(h.ctx, controller.Request{Namespace: h.ns, Name: name})
	if err != nil {
		h.t.Fatalf("reconcile %s: %v", name, err)
	}
	return res
}

// snapshot encodes what the controller writes: the ReplicaSets' specs
// and annotations, the Deployment's status and annotations.
func (h *harness) snapshot(name string) string {
	h.t.Helper()
	d := h.get(name)
	var b strings.Builder
	enc := json.NewEncoder(&b)
	_ = enc.Encode([]any{d.Annotations, d.Status})
	list, err := client.Resource[api.ReplicaSet](h.env.Client).List(h.ctx, client.InNamespace(h.ns))
	if err != nil {
		h.t.Fatal(err)
	}
	for _, rs := range list.Items {
		_ = enc.Encode([]any{rs.Name, rs.Annotations, rs.Spec.Replicas, rs.OwnerReferences})
	}
	return b.String()
}

// settle reconciles until a reconcile writes nothing, calling check
// after each.
func (h *harness) settle(name string, check func()) controller.Result {
	h.t.Helper()
	for range 30 {
		before := h.snapshot(name)
		res := h.reconcile(name)
		if check != nil {
			check()
		}
		if h.snapshot(name) == before {
			return res
		}
	}
	h.t.Fatalf("Deployment %s does not settle", name)
	return controller.Result{}
}

// rsController plays the ReplicaSet controller for every ReplicaSet: it
// makes or deletes pods to match the spec (a scale down deletes the
// unavailable pods first) and reports them. New pods are not available.
func (h *harness) rsController() {
	h.t.Helper()
	h.setRSStatus(func(rs *api.ReplicaSet) (int32, int32) {
		n := specReplicas(rs)
		return n, min(rs.Status.AvailableReplicas, n)
	})
}

// podsReady plays the node agents: up to n pods of each ReplicaSet that
// are not available yet become ready and available (n < 0: all).
func (h *harness) podsReady(n int32) {
	h.t.Helper()
	h.setRSStatus(func(rs *api.ReplicaSet) (int32, int32) {
		avail := rs.Status.Replicas
		if n >= 0 {
			avail = min(avail, rs.Status.AvailableReplicas+n)
		}
		return rs.Status.Replicas, avail
	})
}

// setRSStatus sets each ReplicaSet's replicas and available (and ready)
// replicas to what f says, as of its current generation.
func (h *harness) setRSStatus(f func(*api.ReplicaSet) (replicas, available int32)) {
	h.t.Helper()
	rsc := client.Resource[api.ReplicaSet](h.env.Client)
	list, err := rsc.List(h.ctx, client.InNamespace(h.ns))
	if err != nil {
		h.t.Fatal(err)
	}
	for i := range list.Items {
		rs := &list.Items[i]
		replicas, avail := f(rs)
		if rs.Status.Replicas == replicas && rs.Status.AvailableReplicas == avail && rs.Status.ObservedGeneration == rs.Generation {
			continue
		}
		rs.Status.Replicas, rs.Status.FullyLabeledReplicas = replicas, replicas
		rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = avail, avail
		rs.Status.ObservedGeneration = rs.Generation
		if _, err := rsc.UpdateStatus(h.ctx, rs); err != nil {
			h.t.Fatalf("update the status of ReplicaSet %s: %v", rs.Name, err)
		}
	}
}

// rollOut drives name's rollout to its end: the controller reconciles,
// the ReplicaSets follow, ready pods up to perStep per ReplicaSet become
// available; check runs after each of these.
func (h *harness) rollOut(name string, perStep int32, check func(after string)) int {
	h.t.Helper()
	for step := 1; step <= 100; step++ {
		h.settle(name, func() {
			if check != nil {
				check("reconcile")
			}
		})
		if d := h.get(name); isComplete(d) {
			return step
		}
		h.rsController()
		if check != nil {
			check("ReplicaSets synced")
		}
		h.podsReady(perStep)
		if check != nil {
			check("pods ready")
		}
	}
	h.t.Fatalf("the rollout of %s does not end: %+v", name, h.get(name).Status)
	return 0
}

// isComplete reports whether d's status says its rollout is over.
func isComplete(d *api.Deployment) bool {
	c := Condition(d, api.DeploymentProgressing)
	return d.Status.ObservedGeneration == d.Generation && c != nil && c.Reason == ReasonNewReplicaSetAvailable &&
		d.Status.UpdatedReplicas == replicasOf(d) && d.Status.AvailableReplicas == replicasOf(d) && d.Status.Replicas == replicasOf(d)
}

// sizes returns the spec replicas of rss, in order.
func sizes(rss []*api.ReplicaSet) []int32 {
	out := make([]int32, len(rss))
	for i, rs := range rss {
		out[i] = specReplicas(rs)
	}
	return out
}
