package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/examples/custom-scheduler/tier"
)

// start serves an API server over HTTP with the nodes given (name →
// tier, "" for none), then runs the program against it through a
// kubeconfig, with the --config file configFile ("" for none), until the
// test ends.
func start(t *testing.T, configFile string, nodes map[string]string) *controllertest.Env {
	t.Helper()
	env := controllertest.New(t, controllertest.WithHTTP())
	ctx := controllertest.Context(t)
	for name, tr := range nodes {
		n := &api.Node{ObjectMeta: api.ObjectMeta{Name: name}}
		if tr != "" {
			n.Labels = map[string]string{tier.DefaultKey: tr}
		}
		if err := env.Client.Create(ctx, n); err != nil {
			t.Fatal(err)
		}
		n.Status.Allocatable = api.ResourceList{
			api.ResourceCPU: resource.MustParse("4"), api.ResourceMemory: resource.MustParse("8Gi"), "pods": resource.MustParse("110"),
		}
		if err := env.Client.UpdateStatus(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	kubeconfig, err := env.Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() { done <- run(runCtx, options{Kubeconfig: kubeconfig, ConfigFile: configFile, Logger: logger}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return env
}

// createPod creates the pod default/name of schedulerName, asking for
// the tier want ("" for none).
func createPod(t *testing.T, env *controllertest.Env, name, schedulerName, want string) {
	t.Helper()
	p := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec: api.PodSpec{SchedulerName: schedulerName, Containers: []api.Container{{
			Name: "app", Image: "nginx",
			Resources: api.ResourceRequirements{Requests: api.ResourceList{api.ResourceCPU: resource.MustParse("100m")}},
		}}},
	}
	if want != "" {
		p.Annotations = map[string]string{tier.DefaultKey: want}
	}
	if err := env.Client.Create(controllertest.Context(t), p); err != nil {
		t.Fatal(err)
	}
}

func waitNode(t *testing.T, env *controllertest.Env, name string) string {
	t.Helper()
	p, err := controllertest.WaitFor(controllertest.Context(t), env.Client, "default", name, func(p *api.Pod) bool { return p.Spec.NodeName != "" })
	if err != nil {
		t.Fatalf("pod %s not bound: %v", name, err)
	}
	return p.Spec.NodeName
}

// TestPodsGoToTheirTier: with the profile built in Go, the pods of
// custom-scheduler land on the nodes of the tier they ask for; the pods
// of another scheduler are left alone.
func TestPodsGoToTheirTier(t *testing.T) {
	env := start(t, "", map[string]string{"gold-1": "gold", "silver-1": "silver", "plain-1": ""})
	createPod(t, env, "other", "default-scheduler", "gold")
	for _, name := range []string{"gold-a", "gold-b", "gold-c"} {
		createPod(t, env, name, SchedulerName, "gold")
	}
	createPod(t, env, "silver-a", SchedulerName, "silver")
	for _, name := range []string{"gold-a", "gold-b", "gold-c"} {
		if got := waitNode(t, env, name); got != "gold-1" {
			t.Errorf("%s bound to %s, want gold-1", name, got)
		}
	}
	if got := waitNode(t, env, "silver-a"); got != "silver-1" {
		t.Errorf("silver-a bound to %s, want silver-1", got)
	}
	// A pod that asks for a tier no node has still runs somewhere: the
	// tier is a preference.
	createPod(t, env, "bronze-a", SchedulerName, "bronze")
	waitNode(t, env, "bronze-a")

	var other api.Pod
	if err := env.Client.Get(controllertest.Context(t), "default", "other", &other); err != nil || other.Spec.NodeName != "" {
		t.Errorf("the pod of default-scheduler was bound to %q (%v): custom-scheduler must leave it alone", other.Spec.NodeName, err)
	}
}

// TestConfigFileMakesTheTierARule: with scheduler.yaml, a pod asking for
// a tier no node has waits, Unschedulable, and is placed as soon as a
// node is labelled with its tier (a NodeLabelChange, which TierAffinity
// registered for).
func TestConfigFileMakesTheTierARule(t *testing.T) {
	env := start(t, "scheduler.yaml", map[string]string{"gold-1": "gold", "silver-1": "silver"})
	ctx := controllertest.Context(t)
	createPod(t, env, "bronze-a", SchedulerName, "bronze")
	_, err := controllertest.WaitFor(ctx, env.Client, "default", "bronze-a", func(p *api.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == api.PodScheduled && c.Reason == "Unschedulable" && strings.Contains(c.Message, "2 node(s) not of tier bronze") {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("bronze-a is not Unschedulable for want of a bronze node: %v", err)
	}
	var n api.Node
	if err := env.Client.Get(ctx, "", "silver-1", &n); err != nil {
		t.Fatal(err)
	}
	n.Labels[tier.DefaultKey] = "bronze"
	if err := env.Client.Update(ctx, &n); err != nil {
		t.Fatal(err)
	}
	if got := waitNode(t, env, "bronze-a"); got != "silver-1" {
		t.Errorf("bronze-a bound to %s, want silver-1 (now bronze)", got)
	}
}

// TestBadConfig: run refuses a configuration whose plugin args are
// invalid, naming the field.
func TestBadConfig(t *testing.T) {
	env := controllertest.New(t, controllertest.WithHTTP())
	kubeconfig, err := env.Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "bad.yaml")
	yaml := "profiles:\n- schedulerName: custom-scheduler\n  plugins: {multiPoint: {enabled: [{name: TierAffinity}]}}\n" +
		"  pluginConfig:\n  - name: TierAffinity\n    args: {nodeLabel: \"not a key!\"}\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	err = run(controllertest.Context(t), options{Kubeconfig: kubeconfig, ConfigFile: file, Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "nodeLabel") || !strings.Contains(err.Error(), "TierAffinity") {
		t.Fatalf("run with bad args: %v, want an error naming TierAffinity and nodeLabel", err)
	}
}
