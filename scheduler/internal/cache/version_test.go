package cache

import "testing"

// TestSnapshotVersion: every UpdateSnapshot gives a new version, and
// nothing else changes it.
func TestSnapshotVersion(t *testing.T) {
	c := New(Config{})
	c.AddNode(makeNode("a", 1000))
	s := NewSnapshot()
	seen := map[uint64]bool{s.Version(): true}
	for i := range 3 {
		if i == 1 {
			c.AddNode(makeNode("b", 1000))
		}
		mustUpdate(t, c, s)
		if seen[s.Version()] {
			t.Fatalf("update %d: version %d seen before", i, s.Version())
		}
		seen[s.Version()] = true
		v := s.Version()
		s.List()
		s.Get("a")
		if s.Version() != v {
			t.Fatalf("reading changed the version")
		}
	}
	// From another cache: a new version too.
	other := New(Config{})
	other.AddNode(makeNode("a", 1000))
	mustUpdate(t, other, s)
	if seen[s.Version()] {
		t.Fatalf("update from another cache: version %d seen before", s.Version())
	}
}
