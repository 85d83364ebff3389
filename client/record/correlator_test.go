package record

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
)

func event(obj, reason, message string) *api.Event {
	return &api.Event{
		ObjectMeta:     api.ObjectMeta{Namespace: "default"},
		InvolvedObject: api.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: obj, UID: api.UID("uid-" + obj)},
		Reason:         reason, Message: message, Type: api.EventTypeNormal,
		Source: api.EventSource{Component: "test", Host: "node-1"},
	}
}

func TestCorrelatorAggregates(t *testing.T) {
	c := newCorrelator(10*time.Minute, 100, time.Minute, 100)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	e1 := event("web", "Pulled", "pulled nginx")
	require.Equal(t, actionCreate, c.observe(e1, t0))
	require.Equal(t, int32(1), e1.Count)
	require.True(t, strings.HasPrefix(e1.Name, "web."), e1.Name)
	require.Equal(t, api.NewTime(t0), e1.FirstTimestamp)
	require.Equal(t, api.NewTime(t0), e1.LastTimestamp)

	e2 := event("web", "Pulled", "pulled nginx")
	require.Equal(t, actionPatch, c.observe(e2, t0.Add(time.Minute)))
	require.Equal(t, e1.Name, e2.Name)
	require.Equal(t, int32(2), e2.Count)
	require.Equal(t, api.NewTime(t0), e2.FirstTimestamp)
	require.Equal(t, api.NewTime(t0.Add(time.Minute)), e2.LastTimestamp)

	// Another message, type, reason or object is another series.
	for _, other := range []*api.Event{
		event("web", "Pulled", "pulled redis"),
		event("web", "Failed", "pulled nginx"),
		event("db", "Pulled", "pulled nginx"),
		func() *api.Event {
			e := event("web", "Pulled", "pulled nginx")
			e.Type = api.EventTypeWarning
			return e
		}(),
		func() *api.Event { e := event("web", "Pulled", "pulled nginx"); e.Source.Host = "node-2"; return e }(),
	} {
		require.Equal(t, actionCreate, c.observe(other, t0.Add(time.Minute)))
		require.NotEqual(t, e1.Name, other.Name)
	}

	// Within the window of the last occurrence: still the same series.
	e3 := event("web", "Pulled", "pulled nginx")
	require.Equal(t, actionPatch, c.observe(e3, t0.Add(11*time.Minute)))
	require.Equal(t, int32(3), e3.Count)

	// Past it: a new Event object.
	e4 := event("web", "Pulled", "pulled nginx")
	require.Equal(t, actionCreate, c.observe(e4, t0.Add(22*time.Minute)))
	require.NotEqual(t, e1.Name, e4.Name)
	require.Equal(t, int32(1), e4.Count)

	// A series whose object is gone goes on under a new name, keeping its
	// count; one whose write failed starts over.
	e5 := event("web", "Pulled", "pulled nginx")
	require.Equal(t, actionPatch, c.observe(e5, t0.Add(23*time.Minute)))
	c.recreate(e5, t0.Add(23*time.Minute))
	require.NotEqual(t, e4.Name, e5.Name)
	require.Equal(t, int32(2), e5.Count)
	c.forget(e5)
	e6 := event("web", "Pulled", "pulled nginx")
	require.Equal(t, actionCreate, c.observe(e6, t0.Add(24*time.Minute)))
}

func TestCorrelatorRateLimit(t *testing.T) {
	c := newCorrelator(10*time.Minute, 3, time.Minute, 100)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var got []action
	for i := range 5 {
		got = append(got, c.observe(event("hot", "Tick", strings.Repeat("x", i+1)), t0))
	}
	require.Equal(t, []action{actionCreate, actionCreate, actionCreate, actionDrop, actionDrop}, got)
	require.Equal(t, actionCreate, c.observe(event("cold", "Tick", "x"), t0), "other objects have their own bucket")

	// One token back per minute, up to the burst.
	require.Equal(t, actionDrop, c.observe(event("hot", "Tick", "y"), t0.Add(59*time.Second)))
	require.Equal(t, actionCreate, c.observe(event("hot", "Tick", "y"), t0.Add(61*time.Second)))
	require.Equal(t, actionDrop, c.observe(event("hot", "Tick", "z"), t0.Add(62*time.Second)))
	got = nil
	for i := range 4 {
		got = append(got, c.observe(event("hot", "Tock", strings.Repeat("x", i+1)), t0.Add(time.Hour)))
	}
	require.Equal(t, []action{actionCreate, actionCreate, actionCreate, actionDrop}, got)
}

func TestCorrelatorNamesAreUnique(t *testing.T) {
	c := newCorrelator(time.Minute, 100, time.Minute, 100)
	now := time.Unix(1_700_000_000, 0)
	seen := map[string]bool{}
	for i := range 10 {
		e := event("web", "R", strings.Repeat("m", i+1))
		require.Equal(t, actionCreate, c.observe(e, now))
		require.False(t, seen[e.Name], "duplicate name %s", e.Name)
		seen[e.Name] = true
	}
}

func TestCorrelatorForgetsLeastRecentlyUsed(t *testing.T) {
	c := newCorrelator(time.Hour, 100, time.Minute, 2)
	now := time.Unix(1_700_000_000, 0)
	for _, m := range []string{"a", "b", "a", "c"} { // b is the least recently used when c arrives
		c.observe(event("web", "R", m), now)
	}
	require.Equal(t, 2, c.seen.len())
	require.Equal(t, actionPatch, c.observe(event("web", "R", "a"), now))
	require.Equal(t, actionCreate, c.observe(event("web", "R", "b"), now), "b was forgotten")
}
