package cache

import (
	"fmt"
	"testing"

	"github.com/drover-io/drover/api"
)

const (
	benchNodes       = 5000
	benchPodsPerNode = 10
)

// benchCache returns a cache of benchNodes nodes with benchPodsPerNode
// pods each, one node in 50 with a pod with anti-affinity, and a snapshot
// of it.
func benchCache(b *testing.B) (*Cache, *Snapshot) {
	b.Helper()
	c := New(Config{})
	for i := range benchNodes {
		node := fmt.Sprintf("node-%04d", i)
		c.AddNode(makeNode(node, 32000))
		for j := range benchPodsPerNode {
			p := makePod(fmt.Sprintf("p-%d-%d", i, j), node, 100)
			if i%50 == 0 && j == 0 {
				withAntiAffinity(p)
			}
			if err := c.AddPod(p); err != nil {
				b.Fatal(err)
			}
		}
	}
	s := NewSnapshot()
	if err := c.UpdateSnapshot(s); err != nil {
		b.Fatal(err)
	}
	return c, s
}

func BenchmarkUpdateSnapshot(b *testing.B) {
	c, s := benchCache(b)

	b.Run("5000nodes/0changed", func(b *testing.B) {
		for b.Loop() {
			if err := c.UpdateSnapshot(s); err != nil {
				b.Fatal(err)
			}
		}
	})

	// One cycle's worth: a pod assumed (or forgotten) on one node, then
	// the update; the time includes AssumePod or ForgetPod.
	b.Run("5000nodes/1changed", func(b *testing.B) {
		p := makePod("new", "node-2500", 100)
		i := 0
		for b.Loop() {
			var err error
			if i%2 == 0 {
				err = c.AssumePod(p)
			} else {
				err = c.ForgetPod(p)
			}
			if err != nil {
				b.Fatal(err)
			}
			if err := c.UpdateSnapshot(s); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})

	b.Run("5000nodes/allChanged", func(b *testing.B) {
		nodes := make([]*api.Node, benchNodes)
		for i := range nodes {
			nodes[i] = makeNode(fmt.Sprintf("node-%04d", i), 32000)
		}
		for b.Loop() {
			b.StopTimer()
			for _, n := range nodes {
				c.UpdateNode(nil, n)
			}
			b.StartTimer()
			if err := c.UpdateSnapshot(s); err != nil {
				b.Fatal(err)
			}
		}
	})

	// A new snapshot each time: the first cycle's cost.
	b.Run("5000nodes/new", func(b *testing.B) {
		for b.Loop() {
			if err := c.UpdateSnapshot(NewSnapshot()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAssume(b *testing.B) {
	c, _ := benchCache(b)
	pods := make([]*api.Pod, 0, 1<<16)
	for i := range cap(pods) {
		pods = append(pods, makePod(fmt.Sprintf("new-%d", i), fmt.Sprintf("node-%04d", i%benchNodes), 100))
	}

	// AssumePod then ForgetPod: the cache does not grow.
	b.Run("assume+forget", func(b *testing.B) {
		i := 0
		for b.Loop() {
			p := pods[i%len(pods)]
			if err := c.AssumePod(p); err != nil {
				b.Fatal(err)
			}
			if err := c.ForgetPod(p); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})

	// The life of a placed pod: assumed, binding sent, binding observed,
	// then deleted (to keep the cache's size).
	b.Run("assume+finish+add+remove", func(b *testing.B) {
		i := 0
		for b.Loop() {
			p := pods[i%len(pods)]
			_ = c.AssumePod(p)
			_ = c.FinishBinding(p)
			_ = c.AddPod(p)
			if err := c.RemovePod(p); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
