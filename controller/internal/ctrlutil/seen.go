package ctrlutil

import "github.com/drover-io/drover/api"

// LiveIn returns the live function for Expectations.DeletionsSeen over a
// listing of the cache: a uid is live when pods holds it without a
// deletionTimestamp. A pod being deleted counts as seen, as it does for
// a controller whose event handler observes a deletion when the
// deletionTimestamp appears. The listing is read once, here; the
// function returned does not touch pods or any Expectations.
func LiveIn(pods []*api.Pod) func(uid api.UID) bool {
	live := make(map[api.UID]bool, len(pods))
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			live[p.UID] = true
		}
	}
	return func(uid api.UID) bool { return live[uid] }
}
