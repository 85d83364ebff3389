package scheduler

import (
	"context"
	"encoding/json"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/scheduler/framework"
)

// apiClient is the framework.Client of plugins, over a client.Client.
type apiClient struct{ c *client.Client }

var _ framework.Client = apiClient{}

// Bind writes pods/binding with uid as a precondition, so a pod deleted
// and re-created under the same name between the cycle and the binding
// is not bound by the old pod's decision (the server answers Conflict).
func (a apiClient) Bind(ctx context.Context, namespace, name string, uid api.UID, node string) error {
	return a.c.Bind(ctx, namespace, name, node, client.BindOptions{UID: uid})
}

// DeletePod deletes pod gracefully, if it is still the same pod.
func (a apiClient) DeletePod(ctx context.Context, pod *api.Pod) error {
	target := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name}}
	return a.c.Delete(ctx, target, client.DeleteOptions{Preconditions: &client.Preconditions{UID: pod.UID}})
}

// SetNominatedNode patches status.nominatedNodeName ("" clears it).
func (a apiClient) SetNominatedNode(ctx context.Context, pod *api.Pod, node string) error {
	var v any
	if node != "" {
		v = node
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"nominatedNodeName": v}})
	if err != nil {
		return err
	}
	target := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name}}
	return a.c.PatchStatus(ctx, target, client.MergePatch, patch)
}
