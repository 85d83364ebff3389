package staticpod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// ErrNoMirror is returned by UpdateStatus when the API server has no
// current mirror pod for the static pod: none yet, or one of an older
// version of its manifest. The next Sync makes it.
var ErrNoMirror = errors.New("staticpod: no current mirror pod")

// MirrorConfig configures a Mirror.
type MirrorConfig struct {
	// Client talks to the API server. Required.
	Client *client.Client
	// NodeName is this node: the mirror pods it owns are those of its
	// pods, and it is their owner. Required.
	NodeName string
	// Logger receives a line per mirror pod made or deleted. nil means
	// discard.
	Logger *slog.Logger
}

// Mirror keeps the API server's mirror pods of one node in step with the
// node's static pods. Its methods may be called from several goroutines,
// though the node agent normally calls Sync from one.
type Mirror struct {
	c    *client.Client
	node string
	log  *slog.Logger
}

// NewMirror returns a Mirror for cfg, or an error naming the field of cfg
// that is wrong.
func NewMirror(cfg MirrorConfig) (*Mirror, error) {
	if cfg.Client == nil {
		return nil, errors.New("staticpod: MirrorConfig.Client is required")
	}
	if cfg.NodeName == "" {
		return nil, errors.New("staticpod: MirrorConfig.NodeName is required: the name of this node")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Mirror{c: cfg.Client, node: cfg.NodeName, log: cfg.Logger.With("node", cfg.NodeName)}, nil
}

// Sync makes the mirror pods of this node match static, the node's static
// pods as a Source gives them:
//
//   - a static pod with no mirror pod gets one: the same namespace, name,
//     labels, annotations and spec, with AnnotationMirror set to its
//     MirrorHash, and owned by this node's Node (which must exist);
//   - a mirror pod whose AnnotationMirror is not its static pod's hash
//     (the manifest changed), or that is being deleted (a user deleted
//     it), is deleted at once and made again;
//   - a mirror pod of this node (spec.nodeName) with no static pod is
//     deleted.
//
// It does what it can and returns every error, joined: an API server that
// cannot be reached, a Node not registered yet, a name taken by a pod that
// is not a mirror. Nothing is lost by an error: the caller calls Sync again
// later, and it starts from what the API server holds then.
func (m *Mirror) Sync(ctx context.Context, static []*api.Pod) error {
	var list api.PodList
	if err := m.c.List(ctx, &list, client.MatchingFields{"spec.nodeName": m.node}); err != nil {
		return fmt.Errorf("staticpod: list the pods of node %q: %w", m.node, err)
	}
	mirrors := make(map[string]*api.Pod)
	for i := range list.Items {
		if p := &list.Items[i]; IsMirror(p) {
			mirrors[p.Namespace+"/"+p.Name] = p
		}
	}

	var errs []error
	var owner *api.OwnerReference
	want := make(map[string]bool, len(static))
	for _, sp := range static {
		hash := MirrorHash(sp)
		if !IsStatic(sp) || hash == "" {
			errs = append(errs, fmt.Errorf("staticpod: pod %s/%s is not a static pod: it needs the annotations %s and %s",
				sp.Namespace, sp.Name, AnnotationSource, AnnotationHash))
			continue
		}
		key := sp.Namespace + "/" + sp.Name
		want[key] = true
		if mp := mirrors[key]; mp != nil {
			if MirrorHash(mp) == hash && mp.DeletionTimestamp == nil {
				continue
			}
			if err := m.delete(ctx, mp, "outdated"); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if owner == nil {
			ref, err := m.nodeRef(ctx)
			if err != nil {
				// No mirror pod can be made without its owner.
				return errors.Join(append(errs, err)...)
			}
			owner = ref
		}
		mp := mirrorOf(sp, hash, *owner)
		if err := m.c.Create(ctx, mp); err != nil {
			errs = append(errs, fmt.Errorf("staticpod: create the mirror pod %s of static pod %s: %w", key, sp.UID, err))
			continue
		}
		m.log.Info("mirror pod created", "pod", key, "hash", hash)
	}
	for key, mp := range mirrors {
		if !want[key] {
			if err := m.delete(ctx, mp, "orphaned"); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// delete deletes the mirror pod mp at once (grace period 0), unless it has
// been replaced meanwhile. A pod already gone is not an error.
func (m *Mirror) delete(ctx context.Context, mp *api.Pod, why string) error {
	zero := int64(0)
	err := m.c.Delete(ctx, mp, client.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &client.Preconditions{UID: mp.UID},
	})
	if err != nil && !api.IsNotFound(err) {
		return fmt.Errorf("staticpod: delete the %s mirror pod %s/%s: %w", why, mp.Namespace, mp.Name, err)
	}
	m.log.Info("mirror pod deleted", "pod", mp.Namespace+"/"+mp.Name, "reason", why)
	return nil
}

// nodeRef returns the owner reference to this node's Node.
func (m *Mirror) nodeRef(ctx context.Context) (*api.OwnerReference, error) {
	var node api.Node
	if err := m.c.Get(ctx, "", m.node, &node); err != nil {
		return nil, fmt.Errorf("staticpod: get Node %q, the owner of its mirror pods: %w", m.node, err)
	}
	controller := true
	return &api.OwnerReference{
		APIVersion: "v1",
		Kind:       "Node",
		Name:       node.Name,
		UID:        node.UID,
		Controller: &controller,
	}, nil
}

// mirrorOf returns the mirror pod of the static pod sp.
func mirrorOf(sp *api.Pod, hash string, owner api.OwnerReference) *api.Pod {
	annotations := maps.Clone(sp.Annotations)
	annotations[AnnotationMirror] = hash
	return &api.Pod{
		TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: api.ObjectMeta{
			Name:            sp.Name,
			Namespace:       sp.Namespace,
			Labels:          maps.Clone(sp.Labels),
			Annotations:     annotations,
			OwnerReferences: []api.OwnerReference{owner},
		},
		Spec: *sp.Spec.DeepCopy(),
	}
}

// UpdateStatus writes status as the status of the mirror pod of the
// static pod staticPod, retrying on conflicts. It returns an error wrapping
// ErrNoMirror when there is no mirror pod of staticPod's present version,
// and the API server's error when it cannot be reached.
func (m *Mirror) UpdateStatus(ctx context.Context, staticPod *api.Pod, status api.PodStatus) error {
	hash := MirrorHash(staticPod)
	if !IsStatic(staticPod) || hash == "" {
		return fmt.Errorf("staticpod: pod %s/%s is not a static pod: it needs the annotations %s and %s",
			staticPod.Namespace, staticPod.Name, AnnotationSource, AnnotationHash)
	}
	return client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		var mp api.Pod
		if err := m.c.Get(ctx, staticPod.Namespace, staticPod.Name, &mp); err != nil {
			if api.IsNotFound(err) {
				return fmt.Errorf("%w of static pod %s/%s", ErrNoMirror, staticPod.Namespace, staticPod.Name)
			}
			return fmt.Errorf("staticpod: get the mirror pod %s/%s: %w", staticPod.Namespace, staticPod.Name, err)
		}
		if !IsMirror(&mp) || MirrorHash(&mp) != hash {
			return fmt.Errorf("%w of static pod %s/%s with hash %s", ErrNoMirror, staticPod.Namespace, staticPod.Name, hash)
		}
		mp.Status = *status.DeepCopy()
		if err := m.c.UpdateStatus(ctx, &mp); err != nil {
			return fmt.Errorf("staticpod: update the status of mirror pod %s/%s: %w", mp.Namespace, mp.Name, err)
		}
		return nil
	})
}
