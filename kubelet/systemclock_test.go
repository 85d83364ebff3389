package kubelet

import (
	"context"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/runtime/fake"
)

// TestSystemClock runs the agent on real time: the container exits, a
// relist sees it within a second, and the pod Succeeds.
func TestSystemClock(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	n := &api.Node{ObjectMeta: api.ObjectMeta{Name: nodeName}}
	if err := env.Client.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	d, err := fake.New(fake.Config{Registry: fake.NewRegistry(fake.Busybox), ByName: map[string]*fake.Script{"job": {Exit: true, RunFor: 50 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	k, err := New(Config{NodeName: nodeName, Client: env.Client, Runtime: d, Images: d, RootDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(runCtx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "p"}}
	p.Spec.NodeName, p.Spec.RestartPolicy = nodeName, api.RestartPolicyNever
	p.Spec.Containers = []api.Container{{Name: "job", Image: "busybox"}}
	if err := env.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := controllertest.WaitFor(ctx, env.Client, "default", "p", func(p *api.Pod) bool { return p.Status.Phase == api.PodSucceeded }); err != nil {
		t.Fatal(err)
	}
}
