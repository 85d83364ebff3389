package kubelet

import (
	"context"
	"sync"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/controllertest"
)

func TestStaticPods(t *testing.T) {
	var mu sync.Mutex
	var last *api.PodStatus
	e := newEnv(t, func(e *env, c *Config) {
		c.MirrorStatus = func(_ context.Context, p *api.Pod, s *api.PodStatus) error {
			mu.Lock()
			last = s
			mu.Unlock()
			return nil
		}
	})
	phase := func() api.PodPhase {
		mu.Lock()
		defer mu.Unlock()
		if last == nil {
			return ""
		}
		return last.Phase
	}
	p := simplePod("etcd", api.RestartPolicyAlways, "etcd")
	p.Namespace, p.UID = "kube-system", "static-uid-1"
	e.k.SetStaticPods([]*api.Pod{p})
	controllertest.Eventually(t, func() bool { return phase() == api.PodRunning })
	if len(e.k.Pods()) != 1 {
		t.Fatalf("Pods: %d", len(e.k.Pods()))
	}
	// A mirror pod in the API server is not run a second time.
	mirror := simplePod("etcd-"+nodeName, api.RestartPolicyAlways, "etcd")
	mirror.Namespace = "kube-system"
	mirror.Annotations = map[string]string{MirrorAnnotation: "x"}
	mirror.Spec.NodeName = nodeName
	if err := e.api.Client.Create(e.ctx, mirror); err != nil {
		t.Fatal(err)
	}
	e.k.SetStaticPods(nil)
	controllertest.Eventually(t, func() bool {
		sbs, _ := e.rt.ListPodSandboxes(e.ctx)
		return len(sbs) == 0 && len(e.k.Pods()) == 0
	})
}
