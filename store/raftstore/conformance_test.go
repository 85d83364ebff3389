package raftstore

import (
	"testing"

	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/storetest"
)

// The suite writes tens of thousands of keys at scale 1; through Raft on
// two cores under -race that takes minutes, so it runs at a tenth.
var conformanceOptions = storetest.Options{Scale: 0.1}

func TestConformanceSingleMember(t *testing.T) {
	storetest.RunWithOptions(t, func(t *testing.T) store.Store {
		return openT(t, testConfig(t, "solo", tempDir(t), "127.0.0.1:0"))
	}, conformanceOptions)
}

// TestConformanceThreeMembersFollower runs the suite against a follower of
// a three-member cluster: every write is forwarded to the leader, every
// read asks the leader for a read index, and watches are served from the
// follower's own state.
func TestConformanceThreeMembersFollower(t *testing.T) {
	if testing.Short() {
		t.Skip("three-member clusters per subtest are slow")
	}
	storetest.RunWithOptions(t, func(t *testing.T) store.Store {
		c := newCluster(t, 3, nil)
		f := c.members[c.follower()]
		return &clusterStore{Store: f, c: c}
	}, conformanceOptions)
}

// clusterStore is a member whose Close closes its whole cluster.
type clusterStore struct {
	*Store
	c *cluster
}

func (s *clusterStore) Close() error {
	err := s.Store.Close()
	s.c.close()
	return err
}
