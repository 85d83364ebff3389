package framework

import (
	"fmt"
	"testing"
)

type intData struct{ n int }

func (d *intData) Clone() StateData { return &intData{d.n} }

func TestCycleState(t *testing.T) {
	c := NewCycleState()
	if _, ok := c.Read("a"); ok {
		t.Fatal("empty state has a")
	}
	for i := range 12 {
		c.Write(StateKey(fmt.Sprintf("k%d", i)), &intData{i})
	}
	c.Write("k3", &intData{33}) // replaces
	clone := c.Clone()
	c.Write("k4", &intData{44})
	for i := range 12 {
		v, ok := c.Read(StateKey(fmt.Sprintf("k%d", i)))
		want := map[int]int{3: 33, 4: 44}[i]
		if want == 0 {
			want = i
		}
		if !ok || v.(*intData).n != want {
			t.Errorf("k%d: %v %v, want %d", i, v, ok, want)
		}
	}
	if v, _ := clone.Read("k4"); v.(*intData).n != 4 {
		t.Errorf("the clone saw a later write: k4 = %d", v.(*intData).n)
	}
	if v, _ := clone.Read("k3"); v.(*intData).n != 33 {
		t.Errorf("clone k3 = %d, want 33", v.(*intData).n)
	}
	v1, _ := c.Read("k5")
	v2, _ := clone.Read("k5")
	if v1 == v2 {
		t.Error("Clone did not clone the values")
	}
}

// BenchmarkCycleStateRead reads the last written of the keys of a
// default cycle, as Filter and Score do on every node.
func BenchmarkCycleStateRead(b *testing.B) {
	keys := []StateKey{"scheduler/skip-filter", "NodeAffinity/preFilter", "NodePorts", "NodeResourcesFit",
		"PodTopologySpread/preFilter", "InterPodAffinity/preFilter", "TaintToleration/preScore", "ImageLocality/preScore"}
	c := NewCycleState()
	for i, k := range keys {
		c.Write(k, &intData{i})
	}
	for b.Loop() {
		if _, ok := c.Read("ImageLocality/preScore"); !ok {
			b.Fatal("missing")
		}
	}
}
