package queuesort

import (
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

func info(prio *int32, ts time.Time) *framework.QueuedPodInfo {
	return &framework.QueuedPodInfo{
		PodInfo:   &framework.PodInfo{Pod: &api.Pod{Spec: api.PodSpec{Priority: prio}}},
		Timestamp: ts,
	}
}

func TestLess(t *testing.T) {
	p, err := New(Args{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hi, lo := int32(10), int32(-1)
	t0 := time.Unix(100, 0)
	t1 := t0.Add(time.Second)
	for _, tc := range []struct {
		name string
		a, b *framework.QueuedPodInfo
		want bool
	}{
		{"higher priority first", info(&hi, t1), info(&lo, t0), true},
		{"lower priority after", info(&lo, t0), info(&hi, t1), false},
		{"unset is zero", info(nil, t0), info(&lo, t0), true},
		{"same priority: earlier first", info(&hi, t0), info(&hi, t1), true},
		{"same priority: later after", info(&hi, t1), info(&hi, t0), false},
		{"equal is not less", info(nil, t0), info(nil, t0), false},
	} {
		if got := p.Less(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: Less = %v, want %v", tc.name, got, tc.want)
		}
	}
	if p.Name() != Name {
		t.Errorf("Name = %q", p.Name())
	}
}
