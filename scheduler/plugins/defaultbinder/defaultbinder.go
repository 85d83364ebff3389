// Package defaultbinder holds DefaultBinder, the Bind plugin that writes
// the pod's pods/binding subresource through the API server.
package defaultbinder

import (
	"context"
	"errors"
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// Name is the plugin's name in a profile.
const Name = "DefaultBinder"

// Args configures DefaultBinder; it has no settings.
type Args struct{}

// Validate reports nothing: there is nothing to get wrong.
func (Args) Validate() error { return nil }

// Plugin is DefaultBinder.
type Plugin struct {
	h framework.Handle
}

var _ framework.BindPlugin = (*Plugin)(nil)

// New returns the plugin; h.Client() is what it binds through.
func New(_ Args, h framework.Handle) (*Plugin, error) {
	if h == nil {
		return nil, errors.New("defaultbinder: the framework handle is nil")
	}
	return &Plugin{h: h}, nil
}

// Name returns Name.
func (*Plugin) Name() string { return Name }

// Bind writes pods/binding for pod and nodeName. An error (the pod is
// gone, already bound, the server unreachable) is an Error status: the
// scheduler forgets the placement and retries the pod.
func (p *Plugin) Bind(ctx context.Context, _ *framework.CycleState, pod *api.Pod, nodeName string) *framework.Status {
	c := p.h.Client()
	if c == nil {
		return framework.AsStatus(errors.New("defaultbinder: no client to bind with"))
	}
	if err := c.Bind(ctx, pod.Namespace, pod.Name, pod.UID, nodeName); err != nil {
		return framework.AsStatus(fmt.Errorf("bind %s/%s to %s: %w", pod.Namespace, pod.Name, nodeName, err))
	}
	return nil
}
