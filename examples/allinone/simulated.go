package main

import (
	"context"
	"strconv"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/controller/controllertest"
)

// simulatedNodePrefix starts the names of the simulated nodes:
// simulated-0, simulated-1, ...
const simulatedNodePrefix = "simulated-"

// simulatedNodes returns a node agent for the AllInOne that runs n
// simulated nodes (controllertest.StartNodes) in place of this machine's
// node agent, which arrives with issue 9. Each is a Ready Node with a
// heartbeat Lease; the scheduler binds pods to them, and their agent
// reports the pods Running and Ready at once. No container runs: the
// image is never pulled, and nothing listens on the pod's IP. When the
// real node agent lands, it takes this one's place in
// AllInOneConfig.NodeAgent and this file goes.
//
// controllertest is the test harness of the controller packages; it is an
// ordinary package (not internal) whose StartNodes needs only a client,
// so a program may use it, at the cost of linking package testing into
// the binary.
func simulatedNodes(n int) cluster.NodeAgent {
	return cluster.NodeAgentFunc(func(ctx context.Context, c *client.Client, registered func()) error {
		// The Nodes of an earlier run on the same data directory are
		// removed first: StartNodes creates its Nodes, and their pods are
		// taken over again when the Nodes of the same names come back.
		for i := range n {
			node := &api.Node{ObjectMeta: api.ObjectMeta{Name: simulatedNodePrefix + strconv.Itoa(i)}}
			if err := c.Delete(ctx, node); err != nil && !api.IsNotFound(err) {
				return err
			}
		}
		nodes, err := controllertest.StartNodes(ctx, c, controllertest.NodesConfig{Count: n, Prefix: simulatedNodePrefix})
		if err != nil {
			return err
		}
		registered()
		<-ctx.Done()
		return nodes.Close()
	})
}
