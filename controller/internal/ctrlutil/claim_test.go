package ctrlutil

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller/controllertest"
)

func newRS(name string) *api.ReplicaSet {
	return &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec: api.ReplicaSetSpec{
			Replicas: new(int32(1)),
			Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "c", Image: "nginx"}}},
			},
		},
	}
}

func newPod(name string, lbls map[string]string, refs ...api.OwnerReference) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name, Labels: lbls, OwnerReferences: refs},
		Spec:       api.PodSpec{Containers: []api.Container{{Name: "c", Image: "nginx"}}},
	}
}

func mustCreate(t *testing.T, c *client.Client, objs ...api.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatalf("create %s: %v", o.GetObjectMeta().Name, err)
		}
	}
}

func get(t *testing.T, c *client.Client, name string) *api.Pod {
	t.Helper()
	p := &api.Pod{}
	if err := c.Get(context.Background(), "default", name, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func names(pods []*api.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

func selector(t *testing.T, rs *api.ReplicaSet) labels.Selector {
	t.Helper()
	sel, err := api.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

func TestClaimAdoptsReleasesAndSkips(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	c := env.Client
	rs, other := newRS("web"), newRS("other")
	mustCreate(t, c, rs, other)

	match := map[string]string{"app": "web"}
	mustCreate(t, c,
		newPod("orphan", match),
		newPod("orphan-nomatch", map[string]string{"app": "db"}),
		newPod("mine", match, api.NewControllerRef(rs, rsGVK)),
		newPod("mine-relabelled", map[string]string{"app": "x"}, api.NewControllerRef(rs, rsGVK)),
		newPod("foreign", match, api.NewControllerRef(other, rsGVK)),
	)
	// A non-controller owner reference survives adoption and release.
	extra := api.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "cm", UID: "cm-uid"}
	withExtra := newPod("orphan-extra", match, extra)
	mustCreate(t, c, withExtra)

	var cands []*api.Pod
	for _, n := range []string{"orphan", "orphan-nomatch", "mine", "mine-relabelled", "foreign", "orphan-extra"} {
		cands = append(cands, get(t, c, n))
	}
	owned, err := ClaimPods(ctx, c, rs, rsGVK, selector(t, rs), cands)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(owned), []string{"mine", "orphan", "orphan-extra"}; !slices.Equal(got, want) {
		t.Fatalf("owned = %v, want %v", got, want)
	}
	for _, p := range owned {
		if !p.IsControlledBy(rs.UID) {
			t.Fatalf("returned pod %s is not controlled by the ReplicaSet: %+v", p.Name, p.OwnerReferences)
		}
	}
	if p := get(t, c, "orphan"); !p.IsControlledBy(rs.UID) {
		t.Fatal("orphan not adopted on the server")
	}
	if p := get(t, c, "orphan-extra"); !p.IsControlledBy(rs.UID) || len(p.OwnerReferences) != 2 {
		t.Fatalf("orphan-extra refs = %+v; want the ConfigMap's and the ReplicaSet's", p.OwnerReferences)
	}
	if p := get(t, c, "mine-relabelled"); len(p.OwnerReferences) != 0 {
		t.Fatalf("mine-relabelled still has refs %+v; it should be released", p.OwnerReferences)
	}
	if p := get(t, c, "orphan-nomatch"); len(p.OwnerReferences) != 0 {
		t.Fatal("a pod the selector does not match was adopted")
	}
	if p := get(t, c, "foreign"); !p.IsControlledBy(other.UID) || len(p.OwnerReferences) != 1 {
		t.Fatalf("a pod of another controller was touched: %+v", p.OwnerReferences)
	}
	// The candidates, standing for the cache's objects, are unchanged.
	if cands[0].ControllerRef() != nil || cands[3].ControllerRef() == nil {
		t.Fatal("Claim modified its candidates")
	}

	// Releasing keeps the other owner references.
	relabel := get(t, c, "orphan-extra")
	relabel.Labels = map[string]string{"app": "gone"}
	if err := c.Update(ctx, relabel); err != nil {
		t.Fatal(err)
	}
	if _, err := ClaimPods(ctx, c, rs, rsGVK, selector(t, rs), []*api.Pod{relabel}); err != nil {
		t.Fatal(err)
	}
	if p := get(t, c, "orphan-extra"); p.ControllerRef() != nil || len(p.OwnerReferences) != 1 || p.OwnerReferences[0].UID != "cm-uid" {
		t.Fatalf("after release refs = %+v; want only the ConfigMap's", p.OwnerReferences)
	}
}

func TestClaimNoAdoptionWhileOwnerDeleting(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	c := env.Client
	rs := newRS("web")
	rs.Finalizers = []string{"example.com/hold"}
	mustCreate(t, c, rs)
	mustCreate(t, c,
		newPod("orphan", map[string]string{"app": "web"}),
		newPod("mine-relabelled", map[string]string{"app": "x"}, api.NewControllerRef(rs, rsGVK)))
	cands := []*api.Pod{get(t, c, "orphan"), get(t, c, "mine-relabelled")}

	// The cache still shows the owner alive, the server has it deleting:
	// the recheck stops the adoption.
	if err := c.Delete(ctx, rs); err != nil {
		t.Fatal(err)
	}
	owned, err := ClaimPods(ctx, c, rs, rsGVK, selector(t, rs), cands[:1])
	if err != nil {
		t.Fatalf("a deleting owner is not an error: %v", err)
	}
	if len(owned) != 0 || get(t, c, "orphan").ControllerRef() != nil {
		t.Fatal("an orphan was adopted by an owner being deleted (live state)")
	}

	// The owner as the cache shows it once it catches up.
	live := &api.ReplicaSet{}
	if err := c.Get(ctx, "default", "web", live); err != nil {
		t.Fatal(err)
	}
	if live.DeletionTimestamp == nil {
		t.Fatal("setup: the ReplicaSet has no deletionTimestamp")
	}
	owned, err = ClaimPods(ctx, c, live, rsGVK, selector(t, live), cands)
	if err != nil {
		t.Fatal(err)
	}
	if len(owned) != 0 || get(t, c, "orphan").ControllerRef() != nil {
		t.Fatal("an orphan was adopted by an owner being deleted")
	}
	if get(t, c, "mine-relabelled").ControllerRef() == nil {
		t.Fatal("a pod was released by an owner being deleted: it is the garbage collector's")
	}
}

func TestClaimRecreatedOwnerNeverAdopts(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	c := env.Client
	old := newRS("web")
	mustCreate(t, c, old)
	stale := api.DeepCopy(old) // what a lagging cache still holds
	if err := c.Delete(ctx, old); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, c, newRS("web")) // same name, new uid
	mustCreate(t, c, newPod("orphan", map[string]string{"app": "web"}))

	owned, err := ClaimPods(ctx, c, stale, rsGVK, selector(t, stale), []*api.Pod{get(t, c, "orphan")})
	if !errors.Is(err, ErrOwnerGone) {
		t.Fatalf("err = %v, want ErrOwnerGone", err)
	}
	if len(owned) != 0 || get(t, c, "orphan").ControllerRef() != nil {
		t.Fatal("the stale owner adopted a pod")
	}

	// Deleted and not recreated: also gone.
	other := newRS("other")
	mustCreate(t, c, other)
	if err := c.Delete(ctx, other); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, c, newPod("orphan2", map[string]string{"app": "other"}))
	if _, err := ClaimPods(ctx, c, other, rsGVK, selector(t, other), []*api.Pod{get(t, c, "orphan2")}); !errors.Is(err, ErrOwnerGone) {
		t.Fatalf("err = %v, want ErrOwnerGone", err)
	}
}

func TestClaimStaleCandidateConflicts(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	c := env.Client
	rs := newRS("web")
	mustCreate(t, c, rs)
	mustCreate(t, c, newPod("orphan", map[string]string{"app": "web"}), newPod("gone", map[string]string{"app": "web"}))
	stale := get(t, c, "orphan")
	gone := get(t, c, "gone")
	// Someone else makes the pod theirs after the cache read it.
	fresh := get(t, c, "orphan")
	fresh.OwnerReferences = []api.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "x", UID: "x-uid", Controller: new(true)}}
	if err := c.Update(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	owned, err := ClaimPods(ctx, c, rs, rsGVK, selector(t, rs), []*api.Pod{stale, gone})
	if !api.IsConflict(err) {
		t.Fatalf("err = %v, want a Conflict for the stale pod (and nothing for the gone one)", err)
	}
	if len(owned) != 0 || !get(t, c, "orphan").IsControlledBy("x-uid") {
		t.Fatal("a pod changed since the cache read it was adopted")
	}
}
