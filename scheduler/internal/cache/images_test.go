package cache

import (
	"testing"

	"github.com/drover-io/drover/api"
)

func withImages(n *api.Node, names ...string) *api.Node {
	for _, name := range names {
		n.Status.Images = append(n.Status.Images, api.ContainerImage{Names: []string{name}, SizeBytes: 100})
	}
	return n
}

// TestSnapshotImageCounts checks NumNodesWithImage as nodes are added,
// changed and removed, incrementally and past the rebuild threshold.
func TestSnapshotImageCounts(t *testing.T) {
	c := New(Config{})
	s := NewSnapshot()
	a := withImages(makeNode("a", 1000), "x:1", "y:1")
	b := withImages(makeNode("b", 1000), "x:1")
	c.AddNode(a)
	c.AddNode(b)
	if err := c.UpdateSnapshot(s); err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, c, s)
	if got := s.NumNodesWithImage("x:1"); got != 2 {
		t.Fatalf("x:1 on %d nodes, want 2", got)
	}
	b2 := withImages(makeNode("b", 1000), "z:1")
	c.UpdateNode(b, b2)
	if err := c.AssumePod(makePod("p", "a", 100)); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateSnapshot(s); err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, c, s)
	if got := s.NumNodesWithImage("x:1"); got != 1 {
		t.Fatalf("x:1 on %d nodes, want 1", got)
	}
	c.RemoveNode(a)
	for i := range rebuildThreshold + 5 {
		c.AddNode(withImages(makeNode(string(rune('A'+i%26))+string(rune('a'+i/26)), 1000), "y:1"))
	}
	if err := c.UpdateSnapshot(s); err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, c, s)
	if got, want := s.NumNodesWithImage("y:1"), rebuildThreshold+5; got != want {
		t.Fatalf("y:1 on %d nodes, want %d", got, want)
	}
}
