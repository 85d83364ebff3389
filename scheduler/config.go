package scheduler

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/informer"
	"github.com/drover-io/drover/client/record"
	"github.com/drover-io/drover/client/workqueue"
)

// Defaults of Config.
const (
	DefaultSchedulerName     = api.DefaultSchedulerName
	DefaultPodInitialBackoff = time.Second
	DefaultPodMaxBackoff     = 10 * time.Second
	// DefaultExplanations is how many pods' last attempts Explain keeps.
	DefaultExplanations = 256
)

// Config configures a Scheduler. The fields tagged json:"-" are the
// dependencies a program passes in Go; the others can also come from a
// YAML file (LoadConfig).
type Config struct {
	// Client reaches the API server: the scheduler watches nodes and pods
	// and writes bindings, pod conditions and events through it. Required
	// by New (not by Validate or NewFramework).
	Client *client.Client `json:"-"`
	// Informers is the shared informer factory to watch nodes and pods
	// with (a Manager's, mgr.Informers()). nil means the Scheduler makes
	// its own from Client, started by Run.
	Informers *informer.Factory `json:"-"`
	// Recorder records the FailedScheduling and Scheduled events. nil
	// means one of the Scheduler's own, run by Run.
	Recorder *record.Recorder `json:"-"`
	// Logger receives the scheduler's log lines. nil means discard.
	Logger *slog.Logger `json:"-"`
	// Registerer receives the scheduler's metrics. nil means none.
	Registerer prometheus.Registerer `json:"-"`
	// Clock gives the time of backoffs, permit timeouts and the assumed
	// pods' expiry. nil means the wall clock.
	Clock workqueue.Clock `json:"-"`
	// Registry adds plugins, by name, to those registered with Register
	// (the default plugins among them), for this Scheduler only.
	Registry Registry `json:"-"`

	// Profiles are the schedulers this one acts as, each for the pods
	// whose spec.schedulerName is its SchedulerName. Empty means one
	// profile, DefaultSchedulerName, with the default plugins.
	Profiles []Profile `json:"profiles,omitempty"`
	// PercentageOfNodesToScore is the share of the nodes Filter looks for
	// feasible ones among before it stops, in percent (1..100). 0 means
	// adaptive: 50% less one point per 125 nodes, at least 5%, and never
	// fewer than 100 nodes. A profile may set its own.
	PercentageOfNodesToScore int32 `json:"percentageOfNodesToScore,omitempty"`
	// PodInitialBackoffSeconds and PodMaxBackoffSeconds bound the backoff
	// of pods that failed: it doubles per attempt. 0 means 1 and 10.
	PodInitialBackoffSeconds int64 `json:"podInitialBackoffSeconds,omitempty"`
	PodMaxBackoffSeconds     int64 `json:"podMaxBackoffSeconds,omitempty"`
	// Parallelism is the most goroutines Filter and Score run on across
	// the nodes. 0 means GOMAXPROCS. A phase is spread over them only
	// while that has measured faster than running it on one goroutine
	// (see the package documentation, The cycle); 1 never spreads.
	Parallelism int `json:"parallelism,omitempty"`
	// Explanations is how many pods' last attempt (per-node verdicts and
	// scores) Explain keeps, least recently scheduled first out. 0 means
	// DefaultExplanations; negative keeps none.
	Explanations int `json:"explanations,omitempty"`
}

// Profile is one scheduler profile: its name and its plugins.
type Profile struct {
	// SchedulerName is the spec.schedulerName of the pods it schedules.
	SchedulerName string `json:"schedulerName"`
	// Plugins enable and disable plugins relative to the defaults
	// (DefaultPlugins).
	Plugins Plugins `json:"plugins,omitzero"`
	// PluginConfig holds the args of plugins, by name.
	PluginConfig []PluginConfig `json:"pluginConfig,omitempty"`
	// PercentageOfNodesToScore overrides Config's for this profile (0:
	// Config's).
	PercentageOfNodesToScore int32 `json:"percentageOfNodesToScore,omitempty"`
}

// Plugins lists the plugins of a profile per extension point.
//
// MultiPoint enables a plugin at every extension point it implements;
// the defaults (DefaultPlugins) are given that way. A point's own set
// then disables plugins there (by name, or "*" for all of MultiPoint's)
// and enables more, in order after the others. A plugin's Score weight
// is the one in Score.Enabled, else the one in MultiPoint, else 1.
type Plugins struct {
	MultiPoint PluginSet `json:"multiPoint,omitzero"`
	QueueSort  PluginSet `json:"queueSort,omitzero"`
	PreFilter  PluginSet `json:"preFilter,omitzero"`
	Filter     PluginSet `json:"filter,omitzero"`
	PostFilter PluginSet `json:"postFilter,omitzero"`
	PreScore   PluginSet `json:"preScore,omitzero"`
	Score      PluginSet `json:"score,omitzero"`
	Reserve    PluginSet `json:"reserve,omitzero"`
	Permit     PluginSet `json:"permit,omitzero"`
	PreBind    PluginSet `json:"preBind,omitzero"`
	Bind       PluginSet `json:"bind,omitzero"`
	PostBind   PluginSet `json:"postBind,omitzero"`
}

// PluginSet enables and disables plugins; Disabled applies first.
type PluginSet struct {
	Enabled  []PluginRef `json:"enabled,omitempty"`
	Disabled []PluginRef `json:"disabled,omitempty"`
}

// PluginRef names a plugin, with its Score weight (0: the default).
type PluginRef struct {
	Name   string `json:"name"`
	Weight int32  `json:"weight,omitempty"`
}

// PluginConfig holds one plugin's args: the plugin's typed Args value
// (from Go) or a YAML/JSON object (from a file) decoded into it.
type PluginConfig struct {
	Name string `json:"name"`
	Args any    `json:"args,omitempty"`
}

// DefaultConfig returns a Config with one default profile and the
// defaults spelled out; the dependencies (Client, ...) are left to set.
func DefaultConfig() Config {
	return Config{
		Profiles:                 []Profile{{SchedulerName: DefaultSchedulerName}},
		PodInitialBackoffSeconds: int64(DefaultPodInitialBackoff / time.Second),
		PodMaxBackoffSeconds:     int64(DefaultPodMaxBackoff / time.Second),
	}
}

// LoadConfig reads a Config from a YAML (or JSON) file, strictly: an
// unknown field is an error. The dependencies are left to set. The
// result is not validated; New does it.
//
//	percentageOfNodesToScore: 30
//	profiles:
//	- schedulerName: default-scheduler
//	- schedulerName: bin-packing
//	  pluginConfig:
//	  - name: NodeResourcesFit
//	    args: {scoringStrategy: {type: MostAllocated}}
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("scheduler: load config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("scheduler: load config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes a Config from YAML or JSON, strictly.
func ParseConfig(data []byte) (Config, error) {
	var cfg Config
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("scheduler: parse config: %w", err)
	}
	return cfg, nil
}

// withDefaults returns c with the zero fields defaulted.
func (c Config) withDefaults() Config {
	if len(c.Profiles) == 0 {
		c.Profiles = []Profile{{SchedulerName: DefaultSchedulerName}}
	}
	if c.PodInitialBackoffSeconds == 0 {
		c.PodInitialBackoffSeconds = int64(DefaultPodInitialBackoff / time.Second)
	}
	if c.PodMaxBackoffSeconds == 0 {
		c.PodMaxBackoffSeconds = int64(DefaultPodMaxBackoff / time.Second)
	}
	if c.Parallelism == 0 {
		c.Parallelism = runtime.GOMAXPROCS(0)
	}
	if c.Explanations == 0 {
		c.Explanations = DefaultExplanations
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = workqueue.RealClock{}
	}
	return c
}

// Validate reports the first field of c that is wrong, naming it, and
// what would be valid. It checks the plugin names against the registry
// and the plugins' args, by making each profile's plugins (with a handle
// that has no client).
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.PercentageOfNodesToScore < 0 || c.PercentageOfNodesToScore > 100:
		return fmt.Errorf("scheduler: Config.PercentageOfNodesToScore is %d: must be between 1 and 100, or 0 for adaptive", c.PercentageOfNodesToScore)
	case c.PodInitialBackoffSeconds < 0:
		return fmt.Errorf("scheduler: Config.PodInitialBackoffSeconds is %d: must be positive, or 0 for 1", c.PodInitialBackoffSeconds)
	case c.PodMaxBackoffSeconds < c.PodInitialBackoffSeconds:
		return fmt.Errorf("scheduler: Config.PodMaxBackoffSeconds is %d: must be at least PodInitialBackoffSeconds (%d)", c.PodMaxBackoffSeconds, c.PodInitialBackoffSeconds)
	case c.Parallelism < 0:
		return fmt.Errorf("scheduler: Config.Parallelism is %d: must be positive, or 0 for GOMAXPROCS", c.Parallelism)
	}
	reg, err := registered(c.Registry)
	if err != nil {
		return err
	}
	seen := make(map[string]int)
	var queueSort string
	for i, p := range c.Profiles {
		field := fmt.Sprintf("Config.Profiles[%d]", i)
		if p.SchedulerName == "" {
			return fmt.Errorf("scheduler: %s.SchedulerName is empty: name the scheduler (pods choose it with spec.schedulerName)", field)
		}
		if j, dup := seen[p.SchedulerName]; dup {
			return fmt.Errorf("scheduler: %s.SchedulerName %q is also Profiles[%d]'s: names must be unique", field, p.SchedulerName, j)
		}
		seen[p.SchedulerName] = i
		if p.PercentageOfNodesToScore < 0 || p.PercentageOfNodesToScore > 100 {
			return fmt.Errorf("scheduler: %s.PercentageOfNodesToScore is %d: must be between 1 and 100, or 0 for Config's", field, p.PercentageOfNodesToScore)
		}
		fw, err := newFramework(p, reg, frameworkDeps{})
		if err != nil {
			return fmt.Errorf("scheduler: %s (%s): %w", field, p.SchedulerName, err)
		}
		if i == 0 {
			queueSort = fw.queueSort.Name()
		} else if fw.queueSort.Name() != queueSort {
			return fmt.Errorf("scheduler: %s.Plugins.QueueSort is %q but Profiles[0]'s is %q: every profile must sort the one queue the same way", field, fw.queueSort.Name(), queueSort)
		}
	}
	return nil
}

var errNoQueueSort = errors.New("Plugins.QueueSort: no QueueSort plugin enabled: exactly one is required (the default is PrioritySort)")
