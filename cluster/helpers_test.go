package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// testLogger logs to the test when -v, and discards otherwise.
func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() && os.Getenv("CLUSTER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// eventually polls cond until it returns nil or the deadline passes, and
// then fails the test with cond's last error.
func eventually(t testing.TB, within time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	var err error
	for {
		if err = cond(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", within, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for an event
	}
}

// deployment returns a Deployment of n replicas named name in "default".
func deployment(name string, n int32) *api.Deployment {
	labels := map[string]string{"app": name}
	return &api.Deployment{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec: api.DeploymentSpec{
			Replicas: &n,
			Selector: &api.LabelSelector{MatchLabels: labels},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: labels},
				Spec:       api.PodSpec{Containers: []api.Container{{Name: "web", Image: "nginx:1.27"}}},
			},
		},
	}
}

// podsOf lists the pods of the Deployment name and checks there are n of
// them, each passing check.
func podsOf(ctx context.Context, c *client.Client, name string, n int, check func(*api.Pod) error) error {
	pods, err := client.Resource[api.Pod](c).List(ctx, client.InNamespace("default"), client.MatchingLabels{"app": name})
	if err != nil {
		return err
	}
	if len(pods.Items) != n {
		return fmt.Errorf("deployment %s has %d pods, want %d", name, len(pods.Items), n)
	}
	for i := range pods.Items {
		if err := check(&pods.Items[i]); err != nil {
			return fmt.Errorf("pod %s: %w", pods.Items[i].Name, err)
		}
	}
	return nil
}

// replicaSetOf checks that the Deployment name has one ReplicaSet, owned
// by it.
func replicaSetOf(ctx context.Context, c *client.Client, name string) error {
	rss, err := client.Resource[api.ReplicaSet](c).List(ctx, client.InNamespace("default"), client.MatchingLabels{"app": name})
	if err != nil {
		return err
	}
	if len(rss.Items) != 1 {
		return fmt.Errorf("deployment %s has %d ReplicaSets, want 1", name, len(rss.Items))
	}
	if refs := rss.Items[0].OwnerReferences; len(refs) != 1 || refs[0].Kind != "Deployment" || refs[0].Name != name {
		return fmt.Errorf("ReplicaSet %s is owned by %v, want Deployment %s", rss.Items[0].Name, refs, name)
	}
	return nil
}
