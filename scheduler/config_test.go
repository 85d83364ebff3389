package scheduler

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover-io/drover/scheduler/framework"
)

func TestDefaultProfileWeightsAndPoints(t *testing.T) {
	fw, err := NewFramework(Profile{SchedulerName: DefaultSchedulerName}, FrameworkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		"NodeResourcesFit": 1, "NodeResourcesBalancedAllocation": 1, "ImageLocality": 1,
		"InterPodAffinity": 2, "NodeAffinity": 2, "PodTopologySpread": 2, "TaintToleration": 3,
	}
	got := fw.ScoreWeights()
	for name, w := range want {
		if got[name] != w {
			t.Errorf("weight of %s = %d, want %d", name, got[name], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("score plugins %v, want %v", got, want)
	}
	if fw.queueSort.Name() != "PrioritySort" || len(fw.bind) != 1 || fw.bind[0].Name() != "DefaultBinder" {
		t.Errorf("queue sort %s, binders %d", fw.queueSort.Name(), len(fw.bind))
	}
	if len(fw.postFilter) != 1 || fw.postFilter[0].Name() != "DefaultPreemption" {
		t.Errorf("post filters %v", fw.postFilter)
	}
	var filters []string
	for _, f := range fw.filter {
		filters = append(filters, f.Name())
	}
	if !strings.HasPrefix(strings.Join(filters, ","), "NodeUnschedulable,NodeName,TaintToleration,NodeAffinity,NodePorts,NodeResourcesFit") {
		t.Errorf("filters in order %v", filters)
	}
}

type gpuArgs struct {
	MinMemoryGiB int `json:"minMemoryGiB"`
}

func (a gpuArgs) Validate() error {
	if a.MinMemoryGiB < 0 {
		return errors.New("minMemoryGiB: must not be negative")
	}
	return nil
}

type gpuPlugin struct{ args gpuArgs }

func (*gpuPlugin) Name() string { return "Gpu" }
func (*gpuPlugin) Filter(_ any) {}

func newGpu(a gpuArgs, _ framework.Handle) (*gpuPlugin, error) { return &gpuPlugin{args: a}, nil }

func TestTypedArgsFromGoAndYAML(t *testing.T) {
	f := Typed(newGpu)
	for _, raw := range []any{
		gpuArgs{MinMemoryGiB: 16},
		&gpuArgs{MinMemoryGiB: 16},
		map[string]any{"minMemoryGiB": 16},
		json.RawMessage(`{"minMemoryGiB": 16}`),
	} {
		p, err := f(raw, nil)
		if err != nil {
			t.Fatalf("%T: %v", raw, err)
		}
		if got := p.(*gpuPlugin).args.MinMemoryGiB; got != 16 {
			t.Errorf("%T: MinMemoryGiB %d", raw, got)
		}
	}
	if p, err := f(nil, nil); err != nil || p.(*gpuPlugin).args != (gpuArgs{}) {
		t.Errorf("nil args: %v %v", p, err)
	}
	if _, err := f(map[string]any{"minMemory": 1}, nil); err == nil || !strings.Contains(err.Error(), "minMemory") {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := f(gpuArgs{MinMemoryGiB: -1}, nil); err == nil || !strings.Contains(err.Error(), "minMemoryGiB") {
		t.Errorf("invalid args: %v", err)
	}
}

func TestLoadConfigAndValidate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scheduler.yaml")
	yaml := `
percentageOfNodesToScore: 30
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packing
  plugins:
    score:
      disabled: [{name: NodeResourcesBalancedAllocation}]
      enabled: [{name: NodeResourcesFit, weight: 5}]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.PercentageOfNodesToScore != 30 || len(cfg.Profiles) != 2 {
		t.Fatalf("config %+v", cfg)
	}
	fw, err := NewFramework(cfg.Profiles[1], FrameworkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := fw.ScoreWeights()
	if w["NodeResourcesFit"] != 5 {
		t.Errorf("NodeResourcesFit weight %d, want 5", w["NodeResourcesFit"])
	}
	if _, ok := w["NodeResourcesBalancedAllocation"]; ok {
		t.Error("BalancedAllocation still scores")
	}

	if _, err := ParseConfig([]byte("profiles: [{schedulerName: x, plugns: {}}]")); err == nil {
		t.Error("an unknown field was accepted")
	}
}

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{PercentageOfNodesToScore: 120}, "Config.PercentageOfNodesToScore"},
		{Config{Profiles: []Profile{{}}}, "Config.Profiles[0].SchedulerName"},
		{Config{Profiles: []Profile{{SchedulerName: "a"}, {SchedulerName: "a"}}}, "Config.Profiles[1].SchedulerName"},
		{Config{Profiles: []Profile{{SchedulerName: "a", Plugins: Plugins{Filter: PluginSet{Enabled: []PluginRef{{Name: "Nope"}}}}}}}, `unknown plugin "Nope"`},
		{Config{Profiles: []Profile{{SchedulerName: "a", PluginConfig: []PluginConfig{{Name: "NodeResourcesFit", Args: map[string]any{"bogus": 1}}}}}}, "bogus"},
		{Config{Profiles: []Profile{{SchedulerName: "a", Plugins: Plugins{QueueSort: PluginSet{Disabled: []PluginRef{{Name: "*"}}}, MultiPoint: PluginSet{Disabled: []PluginRef{{Name: "PrioritySort"}}}}}}}, "QueueSort"},
		{Config{Profiles: []Profile{{SchedulerName: "a", Plugins: Plugins{Score: PluginSet{Enabled: []PluginRef{{Name: "NodeName"}}}}}}}, `"NodeName" does not implement the Score`},
		{Config{PodInitialBackoffSeconds: 5, PodMaxBackoffSeconds: 2}, "Config.PodMaxBackoffSeconds"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want an error naming %s", err, tc.want)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig: %v", err)
	}
}

func TestRegisterPanicsOnDuplicate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a duplicate name")
		}
	}()
	Register("PrioritySort", newGpu)
}
