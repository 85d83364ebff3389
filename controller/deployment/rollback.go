package deployment

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// ErrRevisionNotFound is what Rollback returns (errors.Is) when the
// revision asked for is not in the Deployment's history.
var ErrRevisionNotFound = errors.New("deployment: revision not found")

// Rollback rolls the Deployment namespace/name back to toRevision, as
// `kubectl rollout undo --to-revision` does: it copies the template of the
// ReplicaSet with that revision into the Deployment's spec, and the
// controller then rolls it out again, with that ReplicaSet as the new one
// and the next revision number. toRevision 0 means the previous revision
// (the highest below the current one).
//
// It fails if the Deployment is paused (resume it first), if the revision
// is not in its history (ErrRevisionNotFound), or if the API server does.
// Rolling back to the current template changes nothing.
func Rollback(ctx context.Context, c *client.Client, namespace, name string, toRevision int64) error {
	deployments := client.Resource[api.Deployment](c)
	return client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		d, err := deployments.Get(ctx, namespace, name)
		if err != nil {
			return fmt.Errorf("deployment: rollback %s/%s: %w", namespace, name, err)
		}
		if d.Spec.Paused {
			return fmt.Errorf("deployment: rollback %s: the Deployment is paused; resume it first (spec.paused: false)", d.Key())
		}
		list, err := client.Resource[api.ReplicaSet](c).List(ctx, client.InNamespace(namespace))
		if err != nil {
			return fmt.Errorf("deployment: rollback %s: list ReplicaSets: %w", d.Key(), err)
		}
		var history []*api.ReplicaSet
		for i := range list.Items {
			if rs := &list.Items[i]; rs.IsControlledBy(d.UID) && Revision(&rs.ObjectMeta) > 0 {
				history = append(history, rs)
			}
		}
		target, err := pickRevision(d, history, toRevision)
		if err != nil {
			return err
		}
		if equalIgnoringHash(&target.Spec.Template, &d.Spec.Template) {
			return nil
		}
		tmpl := target.Spec.Template.DeepCopy()
		delete(tmpl.Labels, PodTemplateHashLabel)
		d.Spec.Template = *tmpl
		if _, err := deployments.Update(ctx, d); err != nil {
			return fmt.Errorf("deployment: rollback %s to revision %d: %w", d.Key(), Revision(&target.ObjectMeta), err)
		}
		return nil
	})
}

// pickRevision returns the ReplicaSet of history with revision
// toRevision, or, for 0, the one with the highest revision below the
// current one (the Deployment's revision annotation, else the highest).
func pickRevision(d *api.Deployment, history []*api.ReplicaSet, toRevision int64) (*api.ReplicaSet, error) {
	if toRevision < 0 {
		return nil, fmt.Errorf("deployment: rollback %s: revision %d is negative; want 0 (the previous one) or a revision of its history", d.Key(), toRevision)
	}
	slices.SortFunc(history, func(a, b *api.ReplicaSet) int {
		return -oldestFirstByRevision(a, b)
	})
	if toRevision > 0 {
		for _, rs := range history {
			if Revision(&rs.ObjectMeta) == toRevision {
				return rs, nil
			}
		}
		return nil, fmt.Errorf("%w: Deployment %s has no revision %d; its history holds %v", ErrRevisionNotFound, d.Key(), toRevision, revisions(history))
	}
	current := Revision(&d.ObjectMeta)
	if current == 0 {
		current = maxRevision(history)
	}
	for _, rs := range history {
		if Revision(&rs.ObjectMeta) < current {
			return rs, nil
		}
	}
	return nil, fmt.Errorf("%w: Deployment %s has no revision before %d", ErrRevisionNotFound, d.Key(), current)
}

// oldestFirstByRevision orders ReplicaSets by revision, then age.
func oldestFirstByRevision(a, b *api.ReplicaSet) int {
	if c := cmp.Compare(Revision(&a.ObjectMeta), Revision(&b.ObjectMeta)); c != 0 {
		return c
	}
	return oldestFirst(a, b)
}

// revisions lists the revisions of history.
func revisions(history []*api.ReplicaSet) []int64 {
	out := make([]int64, 0, len(history))
	for _, rs := range history {
		out = append(out, Revision(&rs.ObjectMeta))
	}
	return out
}
