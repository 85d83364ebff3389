package rolloutbench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunSmall runs the benchmark small, on both stores: both phases
// complete and their requests are counted.
func TestRunSmall(t *testing.T) {
	for _, st := range []string{StoreMem, StoreRaft} {
		t.Run(st, func(t *testing.T) {
			cfg := Config{Nodes: 5, Replicas: 20, Store: st, Dir: t.TempDir(), Timeout: time.Minute}
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Phases) != 3 {
				t.Fatalf("%d phases, want setup, create and roll", len(res.Phases))
			}
			for _, p := range res.Phases[1:] {
				if p.Total == 0 || p.ByComponent[ComponentControllers] == 0 || p.ByComponent[ComponentNodes] == 0 || p.ByComponent[ComponentScheduler] == 0 {
					t.Errorf("phase %s: %d requests, by component %v", p.Name, p.Total, p.ByComponent)
				}
				created := 0
				for _, c := range p.Requests {
					if c.Verb == "create" && c.Resource == "pods" {
						created = c.N
					}
				}
				if created < 20 {
					t.Errorf("phase %s created %d pods, want at least 20", p.Name, created)
				}
			}
			var buf bytes.Buffer
			res.Markdown(&buf)
			if !strings.Contains(buf.String(), "| roll |") {
				t.Errorf("Markdown has no roll row:\n%s", buf.String())
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{Nodes: 0, Replicas: 1, Store: StoreMem, Timeout: time.Second},
		{Nodes: 1, Replicas: 1, Store: "etcd", Timeout: time.Second},
		{Nodes: 1, Replicas: 0, Store: StoreMem, Timeout: time.Second},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", c)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}
