// Command custom-controller is a small Drover control plane in one process
// with a kind of its own: a store, the API server serving HTTP on
// 127.0.0.1, and a controller manager running the Website controller of
// package website, which turns each Website (an image, a replica count and
// a port) into a Deployment and a Service. kubectl talks to it:
//
//	go run ./examples/custom-controller --demo
//	kubectl --server http://127.0.0.1:8080 get websites
//
// Flags:
//
//	--port 8080        the port of 127.0.0.1 to serve the API on
//	--data-dir DIR     keep the objects in a one-member Raft store in DIR
//	                   (default: in memory, gone at exit)
//	--demo             create the Website default/hello at start
//	--log-level info   debug, info, warn or error
//
// It stops on SIGINT or SIGTERM. See README.md for a walk through.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	port := flag.Int("port", 8080, "the port of 127.0.0.1 to serve the API on")
	dataDir := flag.String("data-dir", "", "keep the objects in a one-member Raft store in this directory (default: in memory, gone at exit)")
	demo := flag.Bool("demo", false, "create the Website default/hello at start")
	logLevel := flag.String("log-level", "info", "the least level logged: debug, info, warn or error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "custom-controller: --log-level %q: want debug, info, warn or error\n", *logLevel)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		logger.Error("listen", "err", err)
		os.Exit(1)
	}
	if err := run(ctx, config{Listener: ln, DataDir: *dataDir, Demo: *demo, Logger: logger}); err != nil {
		logger.Error("stopped", "err", err)
		os.Exit(1)
	}
	logger.Info("stopped")
}
