package ctrlutil

import (
	"testing"

	"github.com/drover-io/drover/api"
)

func TestLiveIn(t *testing.T) {
	ts := api.NewTime(epoch)
	pods := []*api.Pod{
		{ObjectMeta: api.ObjectMeta{UID: "up"}},
		{ObjectMeta: api.ObjectMeta{UID: "going", DeletionTimestamp: &ts}},
	}
	live := LiveIn(pods)
	for uid, want := range map[api.UID]bool{"up": true, "going": false, "gone": false} {
		if got := live(uid); got != want {
			t.Errorf("live(%q) = %v, want %v", uid, got, want)
		}
	}

	e := NewExpectations(nil, 0)
	e.ExpectDeletions("ns/a", "up", "going", "gone")
	e.DeletionsSeen("ns/a", live)
	if _, dels := e.Pending("ns/a"); dels != 1 {
		t.Fatalf("%d deletions pending, want 1 (the pod still up)", dels)
	}
}
