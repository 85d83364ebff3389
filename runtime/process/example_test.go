package process_test

import (
	"context"
	"fmt"
	"log"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/process"
)

// A program that runs containers as processes calls
// RunMonitorIfRequested first in main: the driver runs the program
// again as each container's monitor.
func Example() {
	process.RunMonitorIfRequested()

	d, err := process.New(process.Config{Root: "/var/lib/drover/process"})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close() // the containers keep running
	ctx := context.Background()
	if _, err := d.PullImage(ctx, "127.0.0.1:5000/busybox:latest", runtime.PullOptions{}); err != nil {
		log.Fatal(err)
	}
	sb, err := d.RunPodSandbox(ctx, &runtime.SandboxConfig{
		Metadata:     runtime.PodMetadata{Name: "web", Namespace: "default", UID: "1"},
		LogDirectory: "/var/log/pods/default_web_1",
	})
	if err != nil {
		log.Fatal(err)
	}
	id, err := d.CreateContainer(ctx, sb, &runtime.ContainerConfig{
		Name: "hello", Image: "127.0.0.1:5000/busybox:latest",
		Command: []string{"sh", "-c", "echo hello"}, LogPath: "hello/0.log",
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := d.StartContainer(ctx, id); err != nil {
		log.Fatal(err)
	}
	fmt.Println("isolation:", d.Isolation())
}
