package cluster

import (
	"context"
	"fmt"
	"sync"

	"github.com/drover-io/drover/client"
)

// NodeAgent is the node agent of an AllInOne: it registers this machine as
// a Node and runs the pods bound to it. The node agent itself arrives with
// issue 9; until then an AllInOne has none, and its pods stay Pending.
type NodeAgent interface {
	// Run registers the Node through c, calls registered once the Node is
	// Ready, and runs its pods until ctx ends; then it returns nil. An
	// error stops the AllInOne. The AllInOne calls Run once, from a
	// goroutine of its own, after the control plane answers.
	Run(ctx context.Context, c *client.Client, registered func()) error
}

// NodeAgentFunc adapts a function to a NodeAgent.
type NodeAgentFunc func(ctx context.Context, c *client.Client, registered func()) error

// Run implements NodeAgent.
func (f NodeAgentFunc) Run(ctx context.Context, c *client.Client, registered func()) error {
	return f(ctx, c, registered)
}

// AllInOne is a whole cluster in one process: a one-member ControlPlane and
// this machine's node agent. Make it with NewAllInOne, then Start it; Close
// stops it. Its methods are safe for concurrent use.
type AllInOne struct {
	*ControlPlane
	cfg  AllInOneConfig
	node *Node

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// NewAllInOne validates cfg and returns an AllInOne that has started
// nothing.
func NewAllInOne(cfg AllInOneConfig) (*AllInOne, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &AllInOne{ControlPlane: newControlPlane(cfg.ControlPlaneConfig), cfg: cfg}, nil
}

// Runtime returns the container runtime the node agent drives, "" with
// no node agent of the cluster's own.
func (a *AllInOne) Runtime() string {
	if a.cfg.Node == nil || a.cfg.NodeAgent != nil {
		return ""
	}
	return a.cfg.Node.Runtime
}

// Node returns the cluster's own node agent once Start has made it; nil
// before, or with none (AllInOneConfig.Node nil or NodeAgent set).
func (a *AllInOne) Node() *Node { return a.node }

// Start starts the control plane (see ControlPlane.Start), then the node
// agent if there is one, and returns once the API server answers; the
// "node registered" progress step follows when the node agent says so.
// ctx bounds the start only.
func (a *AllInOne) Start(ctx context.Context) error {
	agent := a.cfg.NodeAgent
	if agent == nil && a.cfg.Node != nil {
		// The node agent first: the API server is told how to reach it
		// (its certificate and token) before it serves pods/log and exec.
		nc := *a.cfg.Node
		if nc.KubeletToken == "" {
			nc.KubeletToken = NewKubeletToken()
		}
		if nc.Logger == nil {
			nc.Logger = a.cfg.Logger
		}
		if nc.Registerer == nil {
			nc.Registerer = a.ControlPlane.reg
		}
		node, err := NewNode(nc)
		if err != nil {
			return err
		}
		a.node, agent = node, node
		a.ControlPlane.cfg.Kubelet = node.KubeletConfig()
	}
	if err := a.ControlPlane.Start(ctx); err != nil {
		if a.node != nil {
			_ = a.node.Close()
		}
		return err
	}
	if agent == nil {
		return nil
	}
	nctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.wg.Go(func() {
		var once sync.Once
		err := agent.Run(nctx, a.Client(), func() {
			once.Do(func() { a.progress("node registered") })
		})
		if err != nil {
			a.fail(fmt.Errorf("cluster: node agent: %w", err))
		} else if nctx.Err() == nil {
			a.fail(nil)
		}
	})
	return nil
}

// Close stops the node agent, then the control plane (see
// ControlPlane.Close). It is safe to call more than once.
func (a *AllInOne) Close() error {
	a.closeOnce.Do(func() {
		if a.cancel != nil {
			a.cancel()
		}
		a.wg.Wait()
		a.closeErr = a.ControlPlane.Close()
	})
	return a.closeErr
}

// Run starts the cluster, runs it until ctx ends or a component fails, and
// closes it. It returns nil after ctx ended and everything stopped.
func (a *AllInOne) Run(ctx context.Context) error {
	if err := a.Start(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-a.Done():
	}
	return a.Close()
}
