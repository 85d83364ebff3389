// Command custom-scheduler is a second scheduler for a Drover (or
// Kubernetes) cluster, with a plugin of its own: it places the pods whose
// spec.schedulerName is "custom-scheduler", with the default plugins plus
// TierAffinity (package tier), which prefers the nodes of the tier a pod
// asks for. Pods of other schedulers are left alone.
//
//	go run ./examples/custom-scheduler --kubeconfig ~/.kube/config
//
// Flags:
//
//	--kubeconfig PATH  the kubeconfig (default: $KUBECONFIG, or ~/.kube/config)
//	--context NAME     its context (default: the current one)
//	--config FILE      a scheduler configuration in YAML (default: the
//	                   profile of profile(), in Go)
//	--log-level info   debug, info, warn or error
//
// It stops on SIGINT or SIGTERM. See README.md for a walk through.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/examples/custom-scheduler/tier"
	"github.com/drover-io/drover/scheduler"
)

// SchedulerName is the spec.schedulerName of the pods this program places.
const SchedulerName = "custom-scheduler"

// The plugin is known by name to every profile, from Go or from YAML.
func init() { scheduler.Register(tier.Name, tier.New) }

func main() {
	kubeconfig := flag.String("kubeconfig", "", "the kubeconfig file (default: $KUBECONFIG, or ~/.kube/config)")
	kubeContext := flag.String("context", "", "the kubeconfig context (default: the current one)")
	configFile := flag.String("config", "", "a scheduler configuration file in YAML (default: the built-in custom-scheduler profile)")
	logLevel := flag.String("log-level", "info", "the least level logged: debug, info, warn or error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "custom-scheduler: --log-level %q: want debug, info, warn or error\n", *logLevel)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, options{Kubeconfig: *kubeconfig, Context: *kubeContext, ConfigFile: *configFile, Logger: logger})
	if err != nil {
		logger.Error("stopped", "err", err)
		os.Exit(1)
	}
	logger.Info("stopped")
}

// options are what run needs: the flags, and a logger.
type options struct {
	Kubeconfig, Context, ConfigFile string
	Logger                          *slog.Logger
}

// profile is the scheduler's profile when no --config is given: the
// default plugins, plus TierAffinity scoring with weight 10 (the default
// plugins weigh 1 to 3 each), so a pod's tier outweighs the rest.
func profile() scheduler.Profile {
	return scheduler.Profile{
		SchedulerName: SchedulerName,
		Plugins: scheduler.Plugins{MultiPoint: scheduler.PluginSet{
			Enabled: []scheduler.PluginRef{{Name: tier.Name, Weight: 10}},
		}},
		PluginConfig: []scheduler.PluginConfig{{Name: tier.Name, Args: tier.Args{NodeLabel: tier.DefaultKey}}},
	}
}

// run connects to the API server of the kubeconfig and schedules until
// ctx ends.
func run(ctx context.Context, o options) error {
	var ccfg client.Config
	var err error
	if o.Kubeconfig != "" {
		ccfg, err = client.LoadKubeconfig(o.Kubeconfig, o.Context)
	} else {
		ccfg, err = client.KubeconfigFromEnv(o.Context)
	}
	if err != nil {
		return err
	}
	ccfg.UserAgent = SchedulerName
	c, err := client.New(ccfg)
	if err != nil {
		return err
	}

	cfg := scheduler.Config{Profiles: []scheduler.Profile{profile()}}
	if o.ConfigFile != "" {
		if cfg, err = scheduler.LoadConfig(o.ConfigFile); err != nil {
			return err
		}
	}
	cfg.Client, cfg.Logger = c, o.Logger
	s, err := scheduler.New(cfg) // validates cfg: names the wrong field
	if err != nil {
		return err
	}
	defer s.Close()
	o.Logger.Info("scheduling", "server", ccfg.Host, "profiles", len(cfg.Profiles))
	return s.Run(ctx)
}
