package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/examples/scheduler-plugin/cost"
	"github.com/drover-io/drover/scheduler"
)

// output is what run says, safe to read while run writes it.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// TestRunPlacesPodsOnTheCheapestNode runs the program: the embedded
// cluster's default scheduler, with NodeCost, puts every pod of the
// Deployment on the spot node.
func TestRunPlacesPodsOnTheCheapestNode(t *testing.T) {
	out := &output{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, options{
			DataDir: t.TempDir(),
			APIAddr: "127.0.0.1:0",
			Weight:  5,
			Logger:  slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError})),
			Out:     out,
		})
	}()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	require.Eventually(t, func() bool {
		select {
		case err := <-done:
			done <- err
			return true
		default:
		}
		return strings.Contains(out.String(), "pods placed")
	}, 60*time.Second, 20*time.Millisecond, "output so far:\n%s", out)
	text := out.String()
	require.Contains(t, text, fmt.Sprintf("all %d pods placed", replicas), text)
	assert.Equal(t, replicas, strings.Count(text, "→ spot-0"), text)
}

// TestNodeCostChangesThePlacement shows the plugin's effect on the same
// cluster through scheduler.Simulator: the default profile spreads the
// pods over the three equal nodes (least allocated first); with NodeCost
// they all go to the cheapest.
func TestNodeCostChangesThePlacement(t *testing.T) {
	place := func(profile scheduler.Profile) map[string]int {
		cfg := scheduler.DefaultConfig()
		cfg.Profiles = []scheduler.Profile{profile}
		var nodes []*api.Node
		for _, p := range prices {
			nodes = append(nodes, &api.Node{
				ObjectMeta: api.ObjectMeta{Name: p.name, Labels: map[string]string{cost.DefaultLabel: p.price}},
				Status:     api.NodeStatus{Capacity: controllertest.DefaultNodeCapacity(), Allocatable: controllertest.DefaultNodeCapacity()},
			})
		}
		sim, err := scheduler.NewSimulator(cfg, nodes, nil)
		require.NoError(t, err)
		got := map[string]int{}
		for i := range replicas {
			pod := &api.Pod{
				ObjectMeta: api.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: "default", UID: api.UID(fmt.Sprintf("uid-%d", i))},
				Spec: api.PodSpec{Containers: []api.Container{{Name: "c", Image: "busybox", Resources: api.ResourceRequirements{
					Requests: api.ResourceList{api.ResourceCPU: resource.MustParse("100m"), api.ResourceMemory: resource.MustParse("64Mi")},
				}}}},
			}
			api.Default(pod)
			res, err := sim.Schedule(context.Background(), pod)
			require.NoError(t, err)
			require.NotEmpty(t, res.Node, "%v", res.Status)
			got[res.Node]++
		}
		return got
	}
	plain := place(scheduler.Profile{SchedulerName: scheduler.DefaultSchedulerName})
	assert.Greater(t, len(plain), 1, "the default profile spreads the pods: %v", plain)
	assert.Equal(t, map[string]int{"spot": replicas}, place(withNodeCost(5)))
}

// TestConfigFileOfTheREADME parses the configuration file the README
// shows: the registered plugin and its typed Args decode from YAML.
func TestConfigFileOfTheREADME(t *testing.T) {
	cfg, err := scheduler.ParseConfig([]byte(`
profiles:
- schedulerName: default-scheduler
  plugins:
    multiPoint:
      enabled:
      - {name: NodeCost, weight: 5}
  pluginConfig:
  - name: NodeCost
    args: {label: example.drover.io/hourly-cost}
`))
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	require.Len(t, cfg.Profiles, 1)
	assert.Equal(t, []scheduler.PluginRef{{Name: cost.Name, Weight: 5}}, cfg.Profiles[0].Plugins.MultiPoint.Enabled)

	bad, err := scheduler.ParseConfig([]byte("profiles:\n- schedulerName: default-scheduler\n  plugins: {multiPoint: {enabled: [{name: NodeCost}]}}\n  pluginConfig:\n  - name: NodeCost\n    args: {lable: x}\n"))
	if err == nil {
		err = bad.Validate()
	}
	require.Error(t, err, "a typo in the plugin's args is an error")
	assert.Contains(t, err.Error(), "lable")
}
