package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/controller/controllertest"
	"github.com/drover-io/drover/examples/runtime-driver/funcrt"
	"github.com/drover-io/drover/kubelet"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/logs"
)

// TestNodeAgentRunsFunctionPods gives a funcrt driver to the node agent
// (kubelet.Config{Runtime: d, Images: d}) on a real API server: a pod of
// a registered image runs and logs, and its deletion sends the program
// SIGTERM; a pod running a builtin that exits 3 with restartPolicy Never
// fails with that code.
func TestNodeAgentRunsFunctionPods(t *testing.T) {
	env := controllertest.New(t)
	ctx := controllertest.Context(t)
	node := &api.Node{ObjectMeta: api.ObjectMeta{Name: "tasks-1"}}
	node.Status.Capacity = api.ResourceList{
		api.ResourceCPU: resource.MustParse("4"), api.ResourceMemory: resource.MustParse("8Gi"), api.ResourcePods: resource.MustParse("110"),
	}
	node.Status.Allocatable = node.Status.Capacity
	require.NoError(t, env.Client.Create(ctx, node))

	// A worker that reports the signal that stops it.
	stoppedBy := make(chan syscall.Signal, 1)
	const graceful = "example.com/tasks/graceful:v1"
	reg := funcrt.NewRegistry()
	require.NoError(t, reg.Add(graceful, funcrt.Image{Main: func(ctx context.Context, p *funcrt.Process) int {
		sigs := p.Notify()
		fmt.Fprintln(p.Stdout, "working")
		select {
		case sig := <-sigs:
			stoppedBy <- sig
		case <-ctx.Done():
			stoppedBy <- syscall.SIGKILL
		}
		return 0
	}}))
	d, err := funcrt.New(funcrt.Config{Registry: reg})
	require.NoError(t, err)
	k, err := kubelet.New(kubelet.Config{
		NodeName: "tasks-1", Client: env.Client, Runtime: d, Images: d,
		RootDir: t.TempDir(), RelistPeriod: 20 * time.Millisecond, Clock: coarseClock{},
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(runCtx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
		sbs, err := d.ListPodSandboxes(context.Background())
		require.NoError(t, err)
		for _, sb := range sbs {
			require.NoError(t, d.RemovePodSandbox(context.Background(), sb.ID))
		}
	}()

	grace := int64(5)
	worker := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "resize"}}
	worker.Spec.NodeName = "tasks-1"
	worker.Spec.TerminationGracePeriodSeconds = &grace
	worker.Spec.Containers = []api.Container{{Name: "worker", Image: graceful}}
	require.NoError(t, env.Client.Create(ctx, worker))

	job := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "job"}}
	job.Spec.NodeName = "tasks-1"
	job.Spec.RestartPolicy = api.RestartPolicyNever
	job.Spec.Containers = []api.Container{{Name: "step", Image: graceful, Command: []string{"exit", "3"}}}
	require.NoError(t, env.Client.Create(ctx, job))

	pod := func(name string) *api.Pod {
		var p api.Pod
		if err := env.Client.Get(ctx, "default", name, &p); err != nil {
			return nil
		}
		return &p
	}
	controllertest.Eventually(t, func() bool {
		p := pod("resize")
		return p != nil && p.Status.Phase == api.PodRunning
	})
	controllertest.Eventually(t, func() bool {
		p := pod("job")
		return p != nil && p.Status.Phase == api.PodFailed
	})
	js := pod("job").Status.ContainerStatuses
	require.Len(t, js, 1)
	require.NotNil(t, js[0].State.Terminated)
	assert.Equal(t, int32(3), js[0].State.Terminated.ExitCode)

	running := runtime.ContainerRunning
	list, err := d.ListContainers(ctx, runtime.ContainerFilter{State: &running})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "worker", list[0].Name)
	controllertest.Eventually(t, func() bool {
		var out bytes.Buffer
		return logs.Read(ctx, list[0].LogPath, logs.ReadOptions{}, &out) == nil && out.String() == "working\n"
	})

	require.NoError(t, env.Client.Delete(ctx, worker))
	select {
	case sig := <-stoppedBy:
		assert.Equal(t, syscall.SIGTERM, sig)
	case <-time.After(controllertest.Timeout):
		t.Fatal("the worker was not stopped after its pod's deletion")
	}
	controllertest.Eventually(t, func() bool {
		_, err := d.ContainerStatus(ctx, list[0].ID)
		return errors.Is(err, runtime.ErrNotFound)
	})
}

// coarseClock is the wall clock read to the second. It works around the
// node agent's timer helper (kubelet.(*Kubelet).at, being written as this
// example lands), which sets a timer again until two readings of Now are
// equal: with a nanosecond wall clock it spins, holding the agent's lock,
// until the timer fires. Use kubelet's own clock once that is fixed.
type coarseClock struct{}

func (coarseClock) Now() time.Time                         { return time.Now().Truncate(time.Second) }
func (coarseClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (coarseClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}
