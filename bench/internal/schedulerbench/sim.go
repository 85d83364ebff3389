package schedulerbench

import (
	"context"
	"fmt"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/bench/internal/storebench"
	"github.com/drover-io/drover/scheduler"
)

// runSim schedules the scenario's pods one after another on a
// scheduler.Simulator with the default profile. A pod that preemption
// made room for is scheduled a second time at once (as the scheduler's
// queue would); its latency is both cycles.
func runSim(ctx context.Context, cfg Config, sc Scenario) Result {
	r := Result{Scenario: sc, Mode: ModeSim, Nodes: cfg.Nodes, Pods: cfg.Pods, Latency: &storebench.Histogram{}}
	setup := time.Now()
	nodes := Nodes(cfg.Nodes)
	var existing []*api.Pod
	if sc.Existing != nil {
		existing = sc.Existing(nodes)
		for i, p := range existing {
			p.UID = api.UID(fmt.Sprintf("uid-existing-%d", i))
		}
	}
	sim, err := scheduler.NewSimulator(scheduler.Config{Parallelism: cfg.Parallelism}, nodes, existing)
	if err != nil {
		r.Err = err
		return r
	}
	pods := make([]*api.Pod, cfg.Pods)
	for i := range pods {
		pods[i] = sc.Pod(i)
		pods[i].UID = api.UID(fmt.Sprintf("uid-%d", i))
	}
	r.Setup = time.Since(setup)

	start, cpu0 := time.Now(), cpuTime()
	for _, p := range pods {
		t0 := time.Now()
		res, err := sim.Schedule(ctx, p)
		if err == nil && res.Node == "" && res.NominatedNode != "" {
			res, err = sim.Schedule(ctx, p)
		}
		if err != nil {
			r.Err = err
			break
		}
		if res.Node == "" {
			continue
		}
		r.Latency.Record(time.Since(t0))
		r.Placed++
	}
	r.Elapsed, r.CPU = time.Since(start), cpuTime()-cpu0
	if r.Err == nil && r.Placed < r.Pods {
		r.Err = fmt.Errorf("%d pods not placed", r.Pods-r.Placed)
	}
	return r
}
