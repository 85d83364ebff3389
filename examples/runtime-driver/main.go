// Command runtime-driver shows funcrt, a runtime driver a third party
// would write: its containers are Go functions registered under image
// names (package funcrt). It drives the driver through the runtime
// interface directly, as the node agent does: pull, sandbox, create,
// start, follow the log, exec a probe, stop with a grace period, read the
// exit code, remove.
//
//	go run ./examples/runtime-driver
//
// Flags:
//
//	--log-dir DIR   where the sandbox's container logs go (default: a
//	                temporary directory, removed at the end)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/drover-io/drover/examples/runtime-driver/funcrt"
)

// ResizeImage is the image of the example's task.
const ResizeImage = "example.com/tasks/resize:v1"

// Registering the image by name, as database/sql drivers register, makes
// it pullable by every funcrt driver that uses the default registry.
func init() {
	funcrt.RegisterImage(ResizeImage, funcrt.Image{
		Main:     resize,
		Commands: map[string]funcrt.Program{"healthy": healthy},
		Env:      []string{"WIDTH=640"},
	})
}

// resize is the task: it "resizes" the files its args name, then waits
// for more work until it is stopped, as a worker does.
func resize(ctx context.Context, p *funcrt.Process) int {
	for _, name := range p.Args[1:] {
		fmt.Fprintf(p.Stdout, "resized %s to %spx\n", name, p.Getenv("WIDTH"))
	}
	fmt.Fprintln(p.Stdout, "waiting for more work")
	<-ctx.Done() // SIGTERM from StopContainer
	fmt.Fprintf(p.Stdout, "stopping after %d images\n", len(p.Args)-1)
	return 0
}

// healthy is the image's readiness check, for an exec probe.
func healthy(_ context.Context, p *funcrt.Process) int {
	fmt.Fprintln(p.Stdout, "ok")
	return 0
}

func main() {
	logDir := flag.String("log-dir", "", "where the container logs go (default: a temporary directory)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir := *logDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "drover-runtime-driver-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "runtime-driver:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if err := run(ctx, os.Stdout, dir); err != nil {
		fmt.Fprintln(os.Stderr, "runtime-driver:", err)
		os.Exit(1)
	}
}
