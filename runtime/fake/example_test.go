package fake_test

import (
	"context"
	"fmt"
	"time"

	"github.com/drover-io/drover/client/workqueue/fakeclock"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/fake"
)

// A scripted job that runs for a minute and fails, on a clock the
// example moves.
func Example() {
	clk := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	d, _ := fake.New(fake.Config{
		Clock:  clk,
		ByName: map[string]*fake.Script{"migrate": {Exit: true, RunFor: time.Minute, ExitCode: 2}},
	})
	ctx := context.Background()
	d.PullImage(ctx, "busybox", runtime.PullOptions{})
	sb, _ := d.RunPodSandbox(ctx, &runtime.SandboxConfig{Metadata: runtime.PodMetadata{Name: "db", Namespace: "default", UID: "1"}})
	id, _ := d.CreateContainer(ctx, sb, &runtime.ContainerConfig{Name: "migrate", Image: "busybox"})
	d.StartContainer(ctx, id)

	st, _ := d.ContainerStatus(ctx, id)
	fmt.Println(st.State)
	clk.Advance(time.Minute)
	st, _ = d.ContainerStatus(ctx, id)
	fmt.Println(st.State, st.ExitCode, st.Reason, st.FinishedAt.Format(time.TimeOnly))

	// Without a script, the command runs in the fake's tiny shell.
	id, _ = d.CreateContainer(ctx, sb, &runtime.ContainerConfig{Name: "check", Image: "busybox", Command: []string{"sh", "-c", "exit 3"}})
	d.StartContainer(ctx, id)
	st, _ = d.ContainerStatus(ctx, id)
	fmt.Println(st.State, st.ExitCode)
	// Output:
	// Running
	// Exited 2 Error 00:01:00
	// Exited 3
}
