package registry_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/apiserver/registry"
)

func grace(n int64) *int64 { return &n }

// boundPod is a pod on node-1 in phase, with the given finalizers.
func boundPod(name string, phase api.PodPhase, finalizers ...string) *api.Pod {
	p := pod("default", name, nil)
	p.Spec.NodeName = "node-1"
	p.Status.Phase = phase
	p.Finalizers = finalizers
	return p
}

func at(t time.Time) *api.Time {
	ts := api.NewTime(t)
	return &ts
}

func TestDeletePodGracePeriod(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		pod     *api.Pod
		grace   *int64
		removed bool
		// want* are the deletion fields of the pod that stays.
		wantAfter time.Duration
		wantGrace int64
	}{
		{name: "unbound pod goes at once", pod: pod("default", "p", nil), removed: true},
		{name: "bound running pod gets its terminationGracePeriodSeconds", pod: boundPod("p", api.PodRunning),
			wantAfter: 30 * time.Second, wantGrace: 30},
		{name: "bound pending pod too", pod: boundPod("p", api.PodPending), wantAfter: 30 * time.Second, wantGrace: 30},
		{name: "pod's own terminationGracePeriodSeconds", pod: func() *api.Pod {
			p := boundPod("p", api.PodRunning)
			p.Spec.TerminationGracePeriodSeconds = grace(7)
			return p
		}(), wantAfter: 7 * time.Second, wantGrace: 7},
		{name: "requested grace period", pod: boundPod("p", api.PodRunning), grace: grace(5),
			wantAfter: 5 * time.Second, wantGrace: 5},
		{name: "negative grace period means 1", pod: boundPod("p", api.PodRunning), grace: grace(-3),
			wantAfter: time.Second, wantGrace: 1},
		{name: "grace period 0 goes at once", pod: boundPod("p", api.PodRunning), grace: grace(0), removed: true},
		{name: "terminationGracePeriodSeconds 0 goes at once", pod: func() *api.Pod {
			p := boundPod("p", api.PodRunning)
			p.Spec.TerminationGracePeriodSeconds = grace(0)
			return p
		}(), removed: true},
		{name: "succeeded pod goes at once", pod: boundPod("p", api.PodSucceeded), removed: true},
		{name: "failed pod goes at once", pod: boundPod("p", api.PodFailed), grace: grace(10), removed: true},
		{name: "finalizers hold a pod deleted with grace 0", pod: boundPod("p", api.PodRunning, "example.com/f"),
			grace: grace(0), wantGrace: 0},
		{name: "finalizers hold an unbound pod", pod: func() *api.Pod {
			p := pod("default", "p", nil)
			p.Finalizers = []string{"example.com/f"}
			return p
		}(), wantGrace: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			pods := e.registry(t, podGVK, registry.Options{})
			created, err := createPod(ctx, pods, tt.pod)
			require.NoError(t, err)

			out, removed, err := pods.DeleteObject(ctx, "default", "p", registry.DeleteOptions{GracePeriodSeconds: tt.grace})
			require.NoError(t, err)
			require.Equal(t, tt.removed, removed)
			stored, getErr := pods.Get(ctx, "default", "p", registry.GetOptions{})
			if tt.removed {
				require.Equal(t, created, out, "a removed pod is returned as last stored")
				requireStatus(t, getErr, api.StatusReasonNotFound, http.StatusNotFound)
				return
			}
			require.NoError(t, getErr)
			require.Equal(t, out, stored)
			m := out.GetObjectMeta()
			require.Equal(t, at(e.now.Add(tt.wantAfter)), m.DeletionTimestamp)
			require.Equal(t, grace(tt.wantGrace), m.DeletionGracePeriodSeconds)
			require.Equal(t, created.GetObjectMeta().Generation+1, m.Generation, "the deletion bumps generation")
		})
	}
}

func TestDeletePodGracefulSequence(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	created, err := pods.Create(ctx, boundPod("p", api.PodRunning), registry.CreateOptions{})
	require.NoError(t, err)
	t0 := e.now

	first, err := pods.Delete(ctx, "default", "p", registry.DeleteOptions{})
	require.NoError(t, err)
	require.Equal(t, at(t0.Add(30*time.Second)), first.GetObjectMeta().DeletionTimestamp)

	e.now = t0.Add(5 * time.Second)
	steps := []struct {
		name      string
		grace     *int64
		changed   bool
		wantAfter time.Duration // from t0
		wantGrace int64
	}{
		{"no grace period changes nothing", nil, false, 30 * time.Second, 30},
		{"a longer one changes nothing", grace(60), false, 30 * time.Second, 30},
		{"the same one changes nothing", grace(30), false, 30 * time.Second, 30},
		{"a shorter one moves the deletionTimestamp back by the difference", grace(10), true, 10 * time.Second, 10},
		{"and again", grace(4), true, 4 * time.Second, 4},
	}
	prev := first
	for _, st := range steps {
		out, removed, err := pods.DeleteObject(ctx, "default", "p", registry.DeleteOptions{GracePeriodSeconds: st.grace})
		require.NoError(t, err, st.name)
		require.False(t, removed, st.name)
		m := out.GetObjectMeta()
		require.Equal(t, at(t0.Add(st.wantAfter)), m.DeletionTimestamp, st.name)
		require.Equal(t, grace(st.wantGrace), m.DeletionGracePeriodSeconds, st.name)
		require.Equal(t, st.changed, m.ResourceVersion != prev.GetObjectMeta().ResourceVersion, st.name)
		prev = out
	}

	// The node agent confirms with grace 0 and the pod's uid.
	_, err = pods.Delete(ctx, "default", "p", registry.DeleteOptions{GracePeriodSeconds: grace(0),
		Preconditions: &registry.Preconditions{UID: "someone-else"}})
	requireStatus(t, err, api.StatusReasonConflict, http.StatusConflict)
	out, removed, err := pods.DeleteObject(ctx, "default", "p", registry.DeleteOptions{GracePeriodSeconds: grace(0),
		Preconditions: &registry.Preconditions{UID: created.GetObjectMeta().UID}})
	require.NoError(t, err)
	require.True(t, removed)
	require.Equal(t, prev, out)
	_, err = pods.Get(ctx, "default", "p", registry.GetOptions{})
	requireStatus(t, err, api.StatusReasonNotFound, http.StatusNotFound)
}

// TestDeletePodGraceAndFinalizers: finalizers and a grace period both
// hold a pod; an update that removes the last finalizer while the grace
// period runs does not remove it, the node's confirmation does.
func TestDeletePodGraceAndFinalizers(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	_, err := pods.Create(ctx, boundPod("p", api.PodRunning, "example.com/f"), registry.CreateOptions{})
	require.NoError(t, err)
	out, err := pods.Delete(ctx, "default", "p", registry.DeleteOptions{PropagationPolicy: registry.PropagationOrphan})
	require.NoError(t, err)
	require.Equal(t, []string{"example.com/f", registry.FinalizerOrphan}, out.GetObjectMeta().Finalizers)

	// While the grace period runs, the policy cannot change the finalizers.
	same, err := pods.Delete(ctx, "default", "p", registry.DeleteOptions{PropagationPolicy: registry.PropagationBackground})
	require.NoError(t, err)
	require.Equal(t, out, same)

	cur := api.DeepCopy(out.(*api.Pod))
	cur.Finalizers = nil
	upd, err := pods.Update(ctx, cur, registry.UpdateOptions{})
	require.NoError(t, err)
	require.Empty(t, upd.GetObjectMeta().Finalizers)
	_, err = pods.Get(ctx, "default", "p", registry.GetOptions{})
	require.NoError(t, err, "the grace period still runs")

	_, removed, err := pods.DeleteObject(ctx, "default", "p", registry.DeleteOptions{GracePeriodSeconds: grace(0)})
	require.NoError(t, err)
	require.True(t, removed)
}

// TestDeleteConfirmedPodWithFinalizers: the node's confirmation of a pod
// that finalizers hold ends its grace period; removing the last finalizer
// then removes it.
func TestDeleteConfirmedPodWithFinalizers(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	_, err := pods.Create(ctx, boundPod("p", api.PodRunning, "example.com/f"), registry.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Delete(ctx, "default", "p", registry.DeleteOptions{})
	require.NoError(t, err)
	out, removed, err := pods.DeleteObject(ctx, "default", "p", registry.DeleteOptions{GracePeriodSeconds: grace(0)})
	require.NoError(t, err)
	require.False(t, removed)
	require.Equal(t, grace(0), out.GetObjectMeta().DeletionGracePeriodSeconds)
	require.Equal(t, at(e.now), out.GetObjectMeta().DeletionTimestamp)

	cur := api.DeepCopy(out.(*api.Pod))
	cur.Finalizers = nil
	_, err = pods.Update(ctx, cur, registry.UpdateOptions{})
	require.NoError(t, err)
	_, err = pods.Get(ctx, "default", "p", registry.GetOptions{})
	requireStatus(t, err, api.StatusReasonNotFound, http.StatusNotFound)
}

func TestDeletePropagationPolicy(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		finalizers []string // of the deployment
		policy     string
		grace      *int64
		removed    bool
		want       []string // finalizers of the deployment that stays
	}{
		{name: "none", removed: true},
		{name: "background", policy: registry.PropagationBackground, removed: true},
		{name: "grace period is ignored by other kinds", grace: grace(30), removed: true},
		{name: "orphan", policy: registry.PropagationOrphan, want: []string{"orphan"}},
		{name: "foreground", policy: registry.PropagationForeground, want: []string{"foregroundDeletion"}},
		{name: "orphan next to other finalizers", finalizers: []string{"example.com/f"}, policy: registry.PropagationOrphan,
			want: []string{"example.com/f", "orphan"}},
		{name: "foreground replaces orphan", finalizers: []string{"orphan"}, policy: registry.PropagationForeground,
			want: []string{"foregroundDeletion"}},
		{name: "no policy keeps the object's own", finalizers: []string{"orphan"}, want: []string{"orphan"}},
		{name: "background removes the object's own", finalizers: []string{"foregroundDeletion"},
			policy: registry.PropagationBackground, removed: true},
		{name: "background keeps other finalizers", finalizers: []string{"orphan", "example.com/f"},
			policy: registry.PropagationBackground, want: []string{"example.com/f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			deps := e.registry(t, deploymentGVK, registry.Options{})
			d := deployment("default", "web")
			d.Finalizers = tt.finalizers
			_, err := deps.Create(ctx, d, registry.CreateOptions{})
			require.NoError(t, err)
			out, removed, err := deps.DeleteObject(ctx, "default", "web",
				registry.DeleteOptions{PropagationPolicy: tt.policy, GracePeriodSeconds: tt.grace})
			require.NoError(t, err)
			require.Equal(t, tt.removed, removed)
			stored, getErr := deps.Get(ctx, "default", "web", registry.GetOptions{})
			if tt.removed {
				requireStatus(t, getErr, api.StatusReasonNotFound, http.StatusNotFound)
				return
			}
			require.NoError(t, getErr)
			require.Equal(t, out, stored)
			m := stored.GetObjectMeta()
			require.Equal(t, tt.want, m.Finalizers)
			require.Equal(t, at(e.now), m.DeletionTimestamp)
			require.Equal(t, grace(0), m.DeletionGracePeriodSeconds)
		})
	}
}

// TestDeleteAgainChangesPolicy: an object that finalizers hold (no grace
// period running) takes the policy of a later delete, as in Kubernetes,
// and goes once nothing holds it.
func TestDeleteAgainChangesPolicy(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	deps := e.registry(t, deploymentGVK, registry.Options{})
	_, err := deps.Create(ctx, deployment("default", "web"), registry.CreateOptions{})
	require.NoError(t, err)
	first, err := deps.Delete(ctx, "default", "web", registry.DeleteOptions{PropagationPolicy: registry.PropagationOrphan})
	require.NoError(t, err)

	e.now = e.now.Add(time.Minute)
	same, err := deps.Delete(ctx, "default", "web", registry.DeleteOptions{})
	require.NoError(t, err)
	require.Equal(t, first, same, "nothing to change: no write, the deletionTimestamp stays")

	fg, err := deps.Delete(ctx, "default", "web", registry.DeleteOptions{PropagationPolicy: registry.PropagationForeground})
	require.NoError(t, err)
	require.Equal(t, []string{registry.FinalizerForegroundDeletion}, fg.GetObjectMeta().Finalizers)
	require.Equal(t, first.GetObjectMeta().DeletionTimestamp, fg.GetObjectMeta().DeletionTimestamp)

	_, removed, err := deps.DeleteObject(ctx, "default", "web", registry.DeleteOptions{PropagationPolicy: registry.PropagationBackground})
	require.NoError(t, err)
	require.True(t, removed)
}

func TestDeleteErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	_, err := pods.Create(ctx, boundPod("p", api.PodRunning), registry.CreateOptions{})
	require.NoError(t, err)
	tests := []struct {
		name   string
		pod    string
		opts   registry.DeleteOptions
		reason api.StatusReason
		code   int
		field  string
	}{
		{"unknown policy", "p", registry.DeleteOptions{PropagationPolicy: "Sideways"},
			api.StatusReasonInvalid, http.StatusUnprocessableEntity, "propagationPolicy"},
		{"lower-case policy", "p", registry.DeleteOptions{PropagationPolicy: "orphan"},
			api.StatusReasonInvalid, http.StatusUnprocessableEntity, "propagationPolicy"},
		{"missing", "nope", registry.DeleteOptions{}, api.StatusReasonNotFound, http.StatusNotFound, ""},
		{"uid precondition", "p", registry.DeleteOptions{Preconditions: &registry.Preconditions{UID: "x"}},
			api.StatusReasonConflict, http.StatusConflict, ""},
		{"resourceVersion precondition", "p", registry.DeleteOptions{Preconditions: &registry.Preconditions{ResourceVersion: "99"}},
			api.StatusReasonConflict, http.StatusConflict, ""},
		{"bad resourceVersion precondition", "p", registry.DeleteOptions{Preconditions: &registry.Preconditions{ResourceVersion: "x"}},
			api.StatusReasonBadRequest, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pods.Delete(ctx, "default", tt.pod, tt.opts)
			se := requireStatus(t, err, tt.reason, tt.code)
			if tt.field != "" {
				require.Equal(t, "DeleteOptions", se.Status.Details.Kind)
				require.Equal(t, tt.field, se.Status.Details.Causes[0].Field)
				require.Contains(t, se.Status.Message, `"Foreground"`)
			}
		})
	}
	got, err := pods.Get(ctx, "default", "p", registry.GetOptions{})
	require.NoError(t, err)
	require.Nil(t, got.GetObjectMeta().DeletionTimestamp, "no failed delete changed the pod")
}

func TestDeleteDryRun(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	created, err := pods.Create(ctx, boundPod("p", api.PodRunning), registry.CreateOptions{})
	require.NoError(t, err)
	for _, g := range []*int64{nil, grace(0)} {
		out, removed, err := pods.DeleteObject(ctx, "default", "p", registry.DeleteOptions{DryRun: true, GracePeriodSeconds: g})
		require.NoError(t, err)
		require.Equal(t, g != nil, removed)
		if g == nil {
			require.NotNil(t, out.GetObjectMeta().DeletionTimestamp)
		}
		got, err := pods.Get(ctx, "default", "p", registry.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, created, got, "a dry run writes nothing")
	}
}

func TestNamespaceLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	nss := e.registry(t, namespaceGVK, registry.Options{})

	t.Run("create adds the kubernetes finalizer and starts Active", func(t *testing.T) {
		for _, tt := range []struct {
			given []api.FinalizerName
			want  []api.FinalizerName
		}{
			{nil, []api.FinalizerName{"kubernetes"}},
			{[]api.FinalizerName{"example.com/x"}, []api.FinalizerName{"example.com/x", "kubernetes"}},
			{[]api.FinalizerName{"kubernetes"}, []api.FinalizerName{"kubernetes"}},
		} {
			ns := &api.Namespace{ObjectMeta: api.ObjectMeta{GenerateName: "c-"}, Spec: api.NamespaceSpec{Finalizers: tt.given}}
			ns.Status.Phase = api.NamespaceTerminating
			out, err := nss.Create(ctx, ns, registry.CreateOptions{})
			require.NoError(t, err)
			got := out.(*api.Namespace)
			require.Equal(t, tt.want, got.Spec.Finalizers)
			require.Equal(t, api.NamespaceActive, got.Status.Phase)
		}
	})

	t.Run("delete keeps it Terminating until finalize empties spec.finalizers", func(t *testing.T) {
		_, err := nss.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "team"}}, registry.CreateOptions{})
		require.NoError(t, err)
		out, removed, err := nss.DeleteObject(ctx, "", "team", registry.DeleteOptions{})
		require.NoError(t, err)
		require.False(t, removed)
		ns := out.(*api.Namespace)
		require.Equal(t, api.NamespaceTerminating, ns.Status.Phase)
		require.Equal(t, at(e.now), ns.DeletionTimestamp)

		again, removed, err := nss.DeleteObject(ctx, "", "team", registry.DeleteOptions{})
		require.NoError(t, err)
		require.False(t, removed)
		require.Equal(t, out, again)

		// An update cannot drop spec.finalizers: only finalize can.
		upd := api.DeepCopy(ns)
		upd.Spec.Finalizers = nil
		upd.Labels = map[string]string{"x": "y"}
		kept, err := nss.Update(ctx, upd, registry.UpdateOptions{})
		require.NoError(t, err)
		require.Equal(t, []api.FinalizerName{"kubernetes"}, kept.(*api.Namespace).Spec.Finalizers)

		fin := api.DeepCopy(kept.(*api.Namespace))
		fin.Spec.Finalizers = nil
		dry, err := nss.Finalize(ctx, fin, registry.UpdateOptions{DryRun: true})
		require.NoError(t, err)
		require.Empty(t, dry.(*api.Namespace).Spec.Finalizers)
		_, err = nss.Get(ctx, "", "team", registry.GetOptions{})
		require.NoError(t, err, "a dry-run finalize removes nothing")

		_, err = nss.Finalize(ctx, fin, registry.UpdateOptions{})
		require.NoError(t, err)
		_, err = nss.Get(ctx, "", "team", registry.GetOptions{})
		requireStatus(t, err, api.StatusReasonNotFound, http.StatusNotFound)
	})

	t.Run("metadata finalizers hold it after finalize", func(t *testing.T) {
		_, err := nss.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "held", Finalizers: []string{"example.com/f"}}},
			registry.CreateOptions{})
		require.NoError(t, err)
		_, err = nss.Delete(ctx, "", "held", registry.DeleteOptions{PropagationPolicy: registry.PropagationForeground})
		require.NoError(t, err)
		out, err := nss.Finalize(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "held"}}, registry.UpdateOptions{})
		require.NoError(t, err)
		ns := out.(*api.Namespace)
		require.Empty(t, ns.Spec.Finalizers)
		require.Equal(t, []string{"example.com/f", registry.FinalizerForegroundDeletion}, ns.Finalizers)

		ns.Finalizers = []string{registry.FinalizerForegroundDeletion}
		_, err = nss.Update(ctx, ns, registry.UpdateOptions{})
		require.NoError(t, err)
		_, err = nss.Get(ctx, "", "held", registry.GetOptions{})
		require.NoError(t, err)
		// A later delete with Background drops the garbage collector's
		// finalizer: nothing holds it any more.
		_, removed, err := nss.DeleteObject(ctx, "", "held", registry.DeleteOptions{PropagationPolicy: registry.PropagationBackground})
		require.NoError(t, err)
		require.True(t, removed)
	})

	t.Run("finalized before delete: the first delete marks, the second removes", func(t *testing.T) {
		_, err := nss.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "early"}}, registry.CreateOptions{})
		require.NoError(t, err)
		out, err := nss.Finalize(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "early"}}, registry.UpdateOptions{})
		require.NoError(t, err)
		require.Equal(t, api.NamespaceActive, out.(*api.Namespace).Status.Phase)
		_, removed, err := nss.DeleteObject(ctx, "", "early", registry.DeleteOptions{})
		require.NoError(t, err)
		require.False(t, removed)
		_, removed, err = nss.DeleteObject(ctx, "", "early", registry.DeleteOptions{})
		require.NoError(t, err)
		require.True(t, removed)
	})
}

func TestFinalizeErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	nss := e.registry(t, namespaceGVK, registry.Options{})
	created, err := nss.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "team"}}, registry.CreateOptions{})
	require.NoError(t, err)
	pods := e.registry(t, podGVK, registry.Options{})
	tests := []struct {
		name   string
		reg    *registry.Registry
		obj    api.Object
		reason api.StatusReason
		code   int
	}{
		{"not a namespace registry", pods, pod("default", "p", nil), api.StatusReasonMethodNotAllowed, http.StatusMethodNotAllowed},
		{"wrong type", nss, pod("", "team", nil), api.StatusReasonBadRequest, http.StatusBadRequest},
		{"no name", nss, &api.Namespace{}, api.StatusReasonBadRequest, http.StatusBadRequest},
		{"missing", nss, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "nope"}}, api.StatusReasonNotFound, http.StatusNotFound},
		{"stale resourceVersion", nss, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "team", ResourceVersion: "99"}},
			api.StatusReasonConflict, http.StatusConflict},
		{"bad finalizer name", nss, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "team"},
			Spec: api.NamespaceSpec{Finalizers: []api.FinalizerName{"not ok"}}}, api.StatusReasonInvalid, http.StatusUnprocessableEntity},
		{"unqualified finalizer name", nss, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "team"},
			Spec: api.NamespaceSpec{Finalizers: []api.FinalizerName{"mine"}}}, api.StatusReasonInvalid, http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.reg.Finalize(ctx, tt.obj, registry.UpdateOptions{})
			requireStatus(t, err, tt.reason, tt.code)
		})
	}
	got, err := nss.Get(ctx, "", "team", registry.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, created, got)
}

func TestDeleteCollection(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	for _, p := range []*api.Pod{
		pod("a", "web-1", map[string]string{"app": "web"}),
		func() *api.Pod {
			p := boundPod("web-2", api.PodRunning)
			p.Namespace = "a"
			p.Labels = map[string]string{"app": "web"}
			return p
		}(),
		pod("a", "db", map[string]string{"app": "db"}),
		pod("b", "web-3", map[string]string{"app": "web"}),
	} {
		_, err := pods.Create(ctx, p, registry.CreateOptions{})
		require.NoError(t, err)
	}
	web, err := labels.Parse("app=web")
	require.NoError(t, err)

	var checked []string
	check := func(_ context.Context, obj api.Object) error {
		checked = append(checked, obj.GetObjectMeta().Name)
		return nil
	}
	list, err := pods.DeleteCollection(ctx, "a", registry.ListOptions{LabelSelector: web}, registry.DeleteOptions{}, check)
	require.NoError(t, err)
	pl := list.(*api.PodList)
	require.Equal(t, []string{"web-1", "web-2"}, checked)
	require.Len(t, pl.Items, 2)
	require.Equal(t, "web-1", pl.Items[0].Name)
	require.Nil(t, pl.Items[0].DeletionTimestamp, "removed: as last stored")
	require.Equal(t, "web-2", pl.Items[1].Name)
	require.Equal(t, at(e.now.Add(30*time.Second)), pl.Items[1].DeletionTimestamp, "bound: deleted gracefully")

	left, err := pods.List(ctx, "", registry.ListOptions{})
	require.NoError(t, err)
	var names []string
	for _, p := range left.(*api.PodList).Items {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	require.ElementsMatch(t, []string{"a/web-2", "a/db", "b/web-3"}, names)

	// A failing check stops it, with its error.
	refused := api.NewForbidden(api.GroupResource{Resource: "pods"}, "db", errors.New("no"))
	_, err = pods.DeleteCollection(ctx, "a", registry.ListOptions{}, registry.DeleteOptions{GracePeriodSeconds: grace(0)},
		func(_ context.Context, obj api.Object) error {
			if obj.GetObjectMeta().Name == "db" {
				return refused
			}
			return nil
		})
	require.ErrorIs(t, err, api.ErrForbidden)
	_, err = pods.Get(ctx, "a", "db", registry.GetOptions{})
	require.NoError(t, err)

	// Across namespaces (the apiserver allows it only per namespace) and
	// dry run.
	list, err = pods.DeleteCollection(ctx, "", registry.ListOptions{LabelSelector: web},
		registry.DeleteOptions{DryRun: true, GracePeriodSeconds: grace(0)}, nil)
	require.NoError(t, err)
	require.Len(t, list.(*api.PodList).Items, 2)
	left, err = pods.List(ctx, "", registry.ListOptions{})
	require.NoError(t, err)
	require.Len(t, left.(*api.PodList).Items, 3, "a dry run removes nothing")

	nss := e.registry(t, namespaceGVK, registry.Options{})
	for _, tt := range []struct {
		name   string
		reg    *registry.Registry
		ns     string
		lopts  registry.ListOptions
		opts   registry.DeleteOptions
		reason api.StatusReason
		code   int
	}{
		{"namespaces", nss, "", registry.ListOptions{}, registry.DeleteOptions{}, api.StatusReasonMethodNotAllowed, http.StatusMethodNotAllowed},
		{"bad policy", pods, "a", registry.ListOptions{}, registry.DeleteOptions{PropagationPolicy: "x"}, api.StatusReasonInvalid, http.StatusUnprocessableEntity},
		{"bad field", pods, "a", registry.ListOptions{FieldSelector: mustFields(t, "spec.nope=x")}, registry.DeleteOptions{},
			api.StatusReasonBadRequest, http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.reg.DeleteCollection(ctx, tt.ns, tt.lopts, tt.opts, nil)
			requireStatus(t, err, tt.reason, tt.code)
		})
	}
}
