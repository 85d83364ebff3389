package deployment

// This file is the driver: Reconcile reads a Deployment and its
// ReplicaSets, asks the pure core (rollout.go, status.go) what to do, and
// writes it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/controller"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// Reconcile takes the Deployment req names one step along its rollout:
//
//  1. it claims the ReplicaSets of the Deployment's namespace that its
//     selector matches (adopting orphans, releasing those that no longer
//     match) and finds the new one, whose template is the Deployment's;
//  2. when the Deployment is paused, or was scaled since its ReplicaSets
//     were sized, it only scales them (in proportion, mid-rollout);
//  3. otherwise it takes one step of the strategy: create the new
//     ReplicaSet, scale it up or the old ones down (RollingUpdate), or
//     scale the old ones to 0, wait for their pods to go, and scale the
//     new one up (Recreate); a complete rollout trims the history;
//  4. it writes the status and the revision annotation.
//
// It asks to be called again when the progress deadline would pass.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	cached, err := r.deployments.Get(req.Namespace, req.Name)
	switch {
	case api.IsNotFound(err):
		return controller.Result{}, nil
	case err != nil:
		return controller.Result{}, err
	case cached.DeletionTimestamp != nil:
		return controller.Result{}, nil
	}
	d := api.DeepCopy(cached)
	sel, err := api.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return controller.Result{}, controller.TerminalError(fmt.Errorf("Deployment %s: spec.selector: %w", d.Key(), err))
	}
	if sel.Empty() {
		r.events.Eventf(d, api.EventTypeWarning, EventSelectingAll, "This deployment is selecting all pods. A non-empty selector is required.")
		return controller.Result{}, nil
	}
	surge, unavailable, err := Bounds(d)
	if err != nil {
		return controller.Result{}, controller.TerminalError(err)
	}
	candidates, err := r.replicaSets.ListNamespace(d.Namespace, labels.Everything())
	if err != nil {
		return controller.Result{}, err
	}
	owned, err := ctrlutil.Claim(ctx, r.c, d, deploymentGVK, sel, candidates)
	if errors.Is(err, ctrlutil.ErrOwnerGone) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	s := &rollout{r: r, cached: cached, d: d, surge: surge, unavailable: unavailable}
	s.split(owned)

	if d.Spec.Paused || s.scalingEvent() {
		err = s.sync(ctx)
	} else if d.Spec.Strategy.Type == api.RecreateDeploymentStrategyType {
		err = s.recreate(ctx)
	} else {
		err = s.rolling(ctx)
	}
	if err != nil {
		return controller.Result{}, err
	}
	return s.writeStatus(ctx)
}

// rollout is one reconcile of one Deployment: the Deployment (a copy) and
// its ReplicaSets as this reconcile has left them.
type rollout struct {
	r                  *Reconciler
	cached             *api.Deployment // as read: never modified
	d                  *api.Deployment // a copy, whose status.collisionCount a collision bumps
	surge, unavailable int32
	newRS              *api.ReplicaSet   // nil until made
	olds               []*api.ReplicaSet // every other ReplicaSet the Deployment controls
	event              rolloutEvent
}

// split sorts owned into the new ReplicaSet (the oldest whose template is
// the Deployment's, if several) and the old ones.
func (s *rollout) split(owned []*api.ReplicaSet) {
	for _, rs := range owned {
		if !equalIgnoringHash(&rs.Spec.Template, &s.d.Spec.Template) {
			s.olds = append(s.olds, rs)
			continue
		}
		if s.newRS == nil || oldestFirst(rs, s.newRS) < 0 {
			if s.newRS != nil {
				s.olds = append(s.olds, s.newRS)
			}
			s.newRS = rs
		} else {
			s.olds = append(s.olds, rs)
		}
	}
}

// all returns every ReplicaSet, the new one first.
func (s *rollout) all() []*api.ReplicaSet {
	if s.newRS == nil {
		return s.olds
	}
	return append([]*api.ReplicaSet{s.newRS}, s.olds...)
}

// active returns the ReplicaSets that want pods.
func (s *rollout) active() []*api.ReplicaSet {
	var out []*api.ReplicaSet
	for _, rs := range s.all() {
		if specReplicas(rs) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// scalingEvent reports whether the Deployment's replicas changed since an
// active ReplicaSet was last sized (its desired-replicas annotation).
func (s *rollout) scalingEvent() bool {
	want := fmt.Sprint(replicasOf(s.d))
	for _, rs := range s.active() {
		if v, ok := rs.Annotations[DesiredReplicasAnnotation]; ok && v != want {
			return true
		}
	}
	return false
}

// replace puts updated in the place of the ReplicaSet of the same name.
func (s *rollout) replace(updated *api.ReplicaSet) {
	if s.newRS != nil && s.newRS.Name == updated.Name {
		s.newRS = updated
		return
	}
	for i, rs := range s.olds {
		if rs.Name == updated.Name {
			s.olds[i] = updated
		}
	}
}

// sync scales a paused Deployment, or one scaled since its ReplicaSets
// were sized, without moving its rollout: a single active ReplicaSet (or
// the latest one) takes the Deployment's replicas; once the new one is
// saturated the old ones go to 0; mid-rollout the change is spread in
// proportion (proportionalScale, up to replicas+maxSurge), except for
// Recreate, whose next step scales the old ones to 0 anyway. A paused
// Deployment's history is trimmed too.
func (s *rollout) sync(ctx context.Context) error {
	if s.newRS != nil {
		if err := s.syncNewRS(ctx); err != nil {
			return err
		}
	}
	want := replicasOf(s.d)
	active := s.active()
	switch {
	case len(active) <= 1:
		target := s.newRS
		if len(active) == 1 {
			target = active[0]
		} else if target == nil && len(s.olds) > 0 {
			target = s.olds[0]
			for _, rs := range s.olds {
				if Revision(&rs.ObjectMeta) > Revision(&target.ObjectMeta) {
					target = rs
				}
			}
		}
		if target != nil {
			if _, err := s.scale(ctx, target, want); err != nil {
				return err
			}
		}
	case s.newRS != nil && specReplicas(s.newRS) == want && availableOf(s.newRS) >= want:
		for _, rs := range s.olds {
			if _, err := s.scale(ctx, rs, 0); err != nil {
				return err
			}
		}
	case s.scalingEvent() && s.d.Spec.Strategy.Type == api.RecreateDeploymentStrategyType:
		// Recreate scales the old ones to 0 next: only note the new size.
		for _, rs := range active {
			if _, err := s.scale(ctx, rs, specReplicas(rs)); err != nil {
				return err
			}
		}
	case s.scalingEvent():
		allowed := want + s.surge
		if want == 0 {
			allowed = 0
		}
		for _, t := range proportionalScale(active, allowed) {
			if _, err := s.scale(ctx, t.rs, t.replicas); err != nil {
				return err
			}
		}
	}
	if s.d.Spec.Paused {
		return s.cleanup(ctx)
	}
	return nil
}

// rolling takes one step of a RollingUpdate: create the new ReplicaSet,
// else scale it up, else scale old ones down; with none of that to do,
// the rollout is over and the history is trimmed.
func (s *rollout) rolling(ctx context.Context) error {
	if s.newRS == nil {
		return s.createNewRS(ctx, rollingNewReplicas(s.d, nil, s.olds, s.surge))
	}
	if err := s.syncNewRS(ctx); err != nil {
		return err
	}
	scaled, err := s.scale(ctx, s.newRS, rollingNewReplicas(s.d, s.newRS, s.olds, s.surge))
	if err != nil || scaled {
		return err
	}
	downs := rollingOldScaleDown(s.d, s.newRS, s.olds, s.unavailable)
	for _, t := range downs {
		if _, err := s.scale(ctx, t.rs, t.replicas); err != nil {
			return err
		}
	}
	if len(downs) > 0 {
		return nil
	}
	if sumSpec(s.olds) == 0 && availableOf(s.newRS) >= replicasOf(s.d) {
		return s.cleanup(ctx)
	}
	return nil
}

// recreate takes one step of a Recreate rollout: scale the old
// ReplicaSets to 0, wait until none has pods left, then create or scale
// up the new one.
func (s *rollout) recreate(ctx context.Context) error {
	if s.newRS != nil {
		if err := s.syncNewRS(ctx); err != nil {
			return err
		}
	}
	scaledDown := false
	for _, rs := range s.olds {
		if specReplicas(rs) > 0 {
			if _, err := s.scale(ctx, rs, 0); err != nil {
				return err
			}
			scaledDown = true
		}
	}
	if scaledDown {
		return nil
	}
	for _, rs := range s.olds {
		if rs.Status.Replicas > 0 || rs.Status.ObservedGeneration < rs.Generation {
			return nil // old pods still running: wait for their ReplicaSet's status
		}
	}
	if running, err := s.oldPodsRunning(); err != nil || running {
		return err // terminating pods still run: wait for them to go
	}
	if s.newRS == nil {
		return s.createNewRS(ctx, replicasOf(s.d))
	}
	scaled, err := s.scale(ctx, s.newRS, replicasOf(s.d))
	if err != nil || scaled {
		return err
	}
	if availableOf(s.newRS) >= replicasOf(s.d) {
		return s.cleanup(ctx)
	}
	return nil
}

// oldPodsRunning reports whether a pod of an old ReplicaSet has not
// terminated yet: one being deleted may still run, and a ReplicaSet's
// status no longer counts it.
func (s *rollout) oldPodsRunning() (bool, error) {
	if len(s.olds) == 0 {
		return false, nil
	}
	pods, err := s.r.pods.ListNamespace(s.d.Namespace, labels.Everything())
	if err != nil {
		return false, err
	}
	old := make(map[api.UID]bool, len(s.olds))
	for _, rs := range s.olds {
		old[rs.UID] = true
	}
	for _, p := range pods {
		ref := p.ControllerRef()
		if ref != nil && old[ref.UID] && p.Status.Phase != api.PodSucceeded && p.Status.Phase != api.PodFailed {
			return true, nil
		}
	}
	return false, nil
}

// nextRevision returns the revision the new ReplicaSet should have: one
// above every old one (and its own, if it has one above them already).
func (s *rollout) nextRevision() int64 {
	return maxRevision(s.olds) + 1
}

// createNewRS creates the new ReplicaSet with replicas, named after the
// template's hash. A name that is taken by a ReplicaSet of this template
// that the cache has not shown yet is that ReplicaSet; taken by any other,
// it is a collision: status.collisionCount is bumped (writeStatus writes
// it), which gives another name on the next reconcile.
func (s *rollout) createNewRS(ctx context.Context, replicas int32) error {
	d := s.d
	hash := TemplateHash(&d.Spec.Template, d.Status.CollisionCount)
	tmpl := d.Spec.Template.DeepCopy()
	tmpl.Labels = withLabel(tmpl.Labels, PodTemplateHashLabel, hash)
	sel := d.Spec.Selector.DeepCopy()
	sel.MatchLabels = withLabel(sel.MatchLabels, PodTemplateHashLabel, hash)
	annotations := make(map[string]string, len(d.Annotations)+3)
	for k, v := range d.Annotations {
		if k != lastAppliedAnnotation && k != RevisionAnnotation {
			annotations[k] = v
		}
	}
	annotations[RevisionAnnotation] = fmt.Sprint(s.nextRevision())
	annotations[DesiredReplicasAnnotation] = fmt.Sprint(replicasOf(d))
	annotations[MaxReplicasAnnotation] = fmt.Sprint(replicasOf(d) + s.surge)
	rs := &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{
			Name: d.Name + "-" + hash, Namespace: d.Namespace,
			Labels: maps.Clone(tmpl.Labels), Annotations: annotations,
			OwnerReferences: []api.OwnerReference{api.NewControllerRef(d, deploymentGVK)},
		},
		Spec: api.ReplicaSetSpec{Replicas: &replicas, MinReadySeconds: d.Spec.MinReadySeconds, Selector: sel, Template: *tmpl},
	}
	rsc := client.Resource[api.ReplicaSet](s.r.c)
	created, err := rsc.Create(ctx, rs)
	if err == nil {
		s.newRS, s.event = created, rolloutCreatedRS
		if replicas > 0 {
			s.r.events.Eventf(d, api.EventTypeNormal, EventScalingReplicaSet, "Scaled up replica set %s from 0 to %d", created.Name, replicas)
		}
		return nil
	}
	if !api.IsAlreadyExists(err) {
		return fmt.Errorf("create ReplicaSet %s/%s: %w", d.Namespace, rs.Name, err)
	}
	existing, err := rsc.Get(ctx, d.Namespace, rs.Name)
	if err != nil {
		return fmt.Errorf("get ReplicaSet %s/%s: %w", d.Namespace, rs.Name, err)
	}
	if existing.IsControlledBy(d.UID) && equalIgnoringHash(&existing.Spec.Template, &d.Spec.Template) {
		s.newRS = existing // the cache is behind
		return nil
	}
	n := int32(1)
	if c := d.Status.CollisionCount; c != nil {
		n = *c + 1
	}
	s.d.Status.CollisionCount = &n
	controller.LoggerFrom(ctx).Info("replica set name collision", "replicaSet", rs.Name, "collisionCount", n)
	return nil
}

// lastAppliedAnnotation is kubectl apply's, which is not copied to
// ReplicaSets.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// withLabel returns a copy of m with k set to v.
func withLabel(m map[string]string, k, v string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	out[k] = v
	return out
}

// syncNewRS gives the new ReplicaSet the next revision if it has not the
// highest (an old one found again, by a rollback or a template changed
// back) and the Deployment's minReadySeconds.
func (s *rollout) syncNewRS(ctx context.Context) error {
	rs := s.newRS
	next := s.nextRevision()
	patch := map[string]any{}
	if Revision(&rs.ObjectMeta) < next {
		patch["metadata"] = map[string]any{"annotations": map[string]string{RevisionAnnotation: fmt.Sprint(next)}}
	}
	if rs.Spec.MinReadySeconds != s.d.Spec.MinReadySeconds {
		patch["spec"] = map[string]any{"minReadySeconds": s.d.Spec.MinReadySeconds}
	}
	if len(patch) == 0 {
		return nil
	}
	updated, err := s.patchRS(ctx, rs, patch)
	if err != nil {
		return err
	}
	if Revision(&rs.ObjectMeta) < next && Revision(&rs.ObjectMeta) > 0 {
		s.event = rolloutFoundOldRS
	}
	s.replace(updated)
	return nil
}

// scale sets rs's replicas, with the desired- and max-replicas
// annotations of the Deployment, if they differ, and records an Event if
// the size changed, which it reports.
func (s *rollout) scale(ctx context.Context, rs *api.ReplicaSet, replicas int32) (bool, error) {
	want := fmt.Sprint(replicasOf(s.d))
	maxR := fmt.Sprint(replicasOf(s.d) + s.surge)
	from := specReplicas(rs)
	if from == replicas && rs.Annotations[DesiredReplicasAnnotation] == want && rs.Annotations[MaxReplicasAnnotation] == maxR {
		return false, nil
	}
	updated, err := s.patchRS(ctx, rs, map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{DesiredReplicasAnnotation: want, MaxReplicasAnnotation: maxR}},
		"spec":     map[string]any{"replicas": replicas},
	})
	if err != nil {
		return false, err
	}
	s.replace(updated)
	if from == replicas {
		return false, nil
	}
	dir := "up"
	if replicas < from {
		dir = "down"
	}
	s.r.events.Eventf(s.d, api.EventTypeNormal, EventScalingReplicaSet, "Scaled %s replica set %s from %d to %d", dir, rs.Name, from, replicas)
	controller.LoggerFrom(ctx).Info("scaled replica set", "replicaSet", rs.Name, "from", from, "to", replicas)
	return true, nil
}

// patchRS applies a merge patch to rs, guarded by its uid and
// resourceVersion: a ReplicaSet that changed since it was read (the cache
// was behind) is not touched, and the Conflict makes the controller try
// again with what is current, as an update would.
func (s *rollout) patchRS(ctx context.Context, rs *api.ReplicaSet, patch map[string]any) (*api.ReplicaSet, error) {
	meta, _ := patch["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		patch["metadata"] = meta
	}
	meta["uid"], meta["resourceVersion"] = rs.UID, rs.ResourceVersion
	data, err := jsonMarshal(patch)
	if err != nil {
		return nil, err
	}
	updated, err := client.Resource[api.ReplicaSet](s.r.c).Patch(ctx, rs.Namespace, rs.Name, client.MergePatch, data)
	if err != nil {
		return nil, fmt.Errorf("patch ReplicaSet %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	return updated, nil
}

// cleanup deletes the old ReplicaSets beyond the revision history limit.
func (s *rollout) cleanup(ctx context.Context) error {
	var errs []error
	for _, rs := range historyToDelete(s.d, s.olds) {
		err := client.Resource[api.ReplicaSet](s.r.c).Delete(ctx, rs.Namespace, rs.Name, client.DeleteOptions{Preconditions: &client.Preconditions{UID: rs.UID}})
		if err != nil && !api.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete old ReplicaSet %s/%s: %w", rs.Namespace, rs.Name, err))
			continue
		}
		controller.LoggerFrom(ctx).Info("deleted old replica set", "replicaSet", rs.Name, "revision", Revision(&rs.ObjectMeta))
	}
	return errors.Join(errs...)
}

// writeStatus writes the Deployment's revision annotation and status, if
// they changed, and says when to look again: at the progress deadline, or
// when pods ready now may have become available.
func (s *rollout) writeStatus(ctx context.Context) (controller.Result, error) {
	d := s.d
	now := s.r.clock.Now()
	// Both writes are guarded by the resourceVersion read: a status
	// computed from a stale Deployment is not written (Conflict), and the
	// next reconcile, on the fresh one, writes it.
	base := s.cached
	if s.newRS != nil {
		rev := s.newRS.Annotations[RevisionAnnotation]
		if rev != "" && d.Annotations[RevisionAnnotation] != rev {
			data, err := jsonMarshal(map[string]any{"metadata": map[string]any{
				"uid": d.UID, "resourceVersion": d.ResourceVersion, "annotations": map[string]string{RevisionAnnotation: rev}}})
			if err != nil {
				return controller.Result{}, err
			}
			patched := &api.Deployment{ObjectMeta: api.ObjectMeta{Namespace: d.Namespace, Name: d.Name}}
			if err := s.r.c.Patch(ctx, patched, client.MergePatch, data); err != nil {
				return controller.Result{}, fmt.Errorf("patch Deployment %s: %w", d.Key(), err)
			}
			base = patched
		}
	}
	st := nextStatus(d, s.newRS, s.all(), s.event, s.unavailable, now)
	if !statusEqual(&st, &base.Status) {
		next := api.DeepCopy(base)
		next.Status = st
		if _, err := client.Resource[api.Deployment](s.r.c).UpdateStatus(ctx, next); err != nil {
			return controller.Result{}, fmt.Errorf("update the status of Deployment %s: %w", d.Key(), err)
		}
	}
	var res controller.Result
	if wait, ok := deadlineIn(d, &st, now); ok {
		res.RequeueAfter = wait + time.Second
	}
	if ms := d.Spec.MinReadySeconds; ms > 0 && st.ReadyReplicas > st.AvailableReplicas {
		if w := time.Duration(ms) * time.Second; res.RequeueAfter == 0 || w < res.RequeueAfter {
			res.RequeueAfter = w
		}
	}
	return res, nil
}

// jsonMarshal encodes a patch.
func jsonMarshal(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode patch: %w", err)
	}
	return data, nil
}

// statusEqual reports whether two statuses encode alike (times compare
// by their encoding, to the second).
func statusEqual(a, b *api.DeploymentStatus) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}
