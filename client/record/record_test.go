package record_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/record"
	"github.com/drover-io/drover/store/memstore"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newClient returns a client of a real API server, in process, with the
// namespace "default".
func newClient(t *testing.T) *client.Client {
	t.Helper()
	ms, err := memstore.New(memstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ms.Close() })
	s, err := apiserver.New(apiserver.Config{Store: ms, Scheme: api.NewDefaultScheme(), Registerer: prometheus.NewRegistry()})
	require.NoError(t, err)
	c, err := client.New(client.Config{Transport: s.Transport()})
	require.NoError(t, err)
	require.NoError(t, c.Create(context.Background(), &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "default"}}))
	return c
}

// run starts r.Run and stops it at the end of the test.
func run(t *testing.T, r *record.Recorder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

// events polls the Events until cond holds for them, and returns them by
// name.
func events(t *testing.T, c *client.Client, cond func([]api.Event) bool) []api.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var l api.EventList
		require.NoError(t, c.List(context.Background(), &l))
		sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
		if cond(l.Items) {
			return l.Items
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out; events: %+v", l.Items)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRecorderAggregates(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	pod := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec:       api.PodSpec{Containers: []api.Container{{Name: "app", Image: "nginx"}}},
	}
	require.NoError(t, c.Create(ctx, pod))
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	clock := &fakeClock{now: t0}
	r, err := record.New(record.Config{Client: c, Component: "drover-kubelet", Host: "node-1", Clock: clock})
	require.NoError(t, err)
	run(t, r)

	for range 3 {
		r.Eventf(pod, api.EventTypeWarning, "BackOff", "Back-off restarting failed container %s", "app")
		clock.Add(time.Second)
	}
	evs := events(t, c, func(evs []api.Event) bool { return len(evs) == 1 && evs[0].Count == 3 })
	ev := evs[0]
	require.True(t, strings.HasPrefix(ev.Name, "web."), ev.Name)
	require.Equal(t, "default", ev.Namespace)
	require.Equal(t, api.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "web",
		UID: pod.UID, ResourceVersion: pod.ResourceVersion}, ev.InvolvedObject)
	require.Equal(t, api.EventTypeWarning, ev.Type)
	require.Equal(t, "BackOff", ev.Reason)
	require.Equal(t, "Back-off restarting failed container app", ev.Message)
	require.Equal(t, api.EventSource{Component: "drover-kubelet", Host: "node-1"}, ev.Source)
	require.Equal(t, "drover-kubelet", ev.ReportingController)
	require.Equal(t, "drover-kubelet-node-1", ev.ReportingInstance)
	require.Equal(t, api.NewTime(t0), ev.FirstTimestamp)
	require.Equal(t, api.NewTime(t0.Add(2*time.Second)), ev.LastTimestamp)

	// Past the window the same event starts a new Event object.
	clock.Add(record.DefaultAggregationWindow + time.Minute)
	r.Event(pod, api.EventTypeWarning, "BackOff", "Back-off restarting failed container app")
	evs = events(t, c, func(evs []api.Event) bool { return len(evs) == 2 })
	require.Equal(t, int32(3), evs[0].Count)
	require.Equal(t, int32(1), evs[1].Count)

	// An Event object that expired on the server is written again, with
	// the series' count.
	require.NoError(t, c.Delete(ctx, &evs[1]))
	r.Event(pod, api.EventTypeWarning, "BackOff", "Back-off restarting failed container app")
	evs = events(t, c, func(evs []api.Event) bool { return len(evs) == 2 && evs[1].Count == 2 })
	require.NotEqual(t, evs[0].Name, evs[1].Name)

	// Events about cluster-scoped objects live in "default".
	node := &api.Node{ObjectMeta: api.ObjectMeta{Name: "node-1"}}
	r.Event(node, api.EventTypeNormal, "NodeReady", "Node node-1 status is now: NodeReady")
	evs = events(t, c, func(evs []api.Event) bool { return len(evs) == 3 })
	var nodeEv *api.Event
	for i := range evs {
		if evs[i].InvolvedObject.Kind == "Node" {
			nodeEv = &evs[i]
		}
	}
	require.NotNil(t, nodeEv)
	require.Equal(t, "default", nodeEv.Namespace)
	require.Empty(t, nodeEv.InvolvedObject.Namespace)
	require.True(t, strings.HasPrefix(nodeEv.Name, "node-1."))
}

func TestRecorderRateLimit(t *testing.T) {
	c := newClient(t)
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	r, err := record.New(record.Config{Client: c, Component: "hot-loop", Clock: clock, Burst: 2, RefillInterval: time.Hour})
	require.NoError(t, err)
	run(t, r)
	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "cm"}}
	for i := range 10 {
		r.Eventf(cm, api.EventTypeNormal, "Spin", "spin %d", i)
	}
	eventually(t, func() bool { return r.Dropped() == 8 })
	events(t, c, func(evs []api.Event) bool { return len(evs) == 2 })
}

func TestRecorderQueueFullAndBadInput(t *testing.T) {
	c := newClient(t)
	r, err := record.New(record.Config{Client: c, Component: "c", QueueSize: 1})
	require.NoError(t, err)
	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "cm"}}
	r.Event(cm, api.EventTypeNormal, "A", "a")
	r.Event(cm, api.EventTypeNormal, "B", "b") // no Run yet: the queue is full
	require.Equal(t, int64(1), r.Dropped())
	r.Event(cm, "Loud", "C", "c")                                       // refused, not queued
	r.Event(&api.ConfigMap{}, api.EventTypeNormal, "D", "d")            // no name
	r.Event(cm, api.EventTypeNormal, "Long", strings.Repeat("é", 1000)) // truncated (the queue is full anyway)
	require.Equal(t, int64(2), r.Dropped())

	run(t, r)
	evs := events(t, c, func(evs []api.Event) bool { return len(evs) == 1 })
	require.Equal(t, "A", evs[0].Reason)
}

func TestRecorderLongMessage(t *testing.T) {
	c := newClient(t)
	r, err := record.New(record.Config{Client: c, Component: "c"})
	require.NoError(t, err)
	run(t, r)
	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "cm"}}
	r.Event(cm, api.EventTypeNormal, "Long", strings.Repeat("é", 1000))
	evs := events(t, c, func(evs []api.Event) bool { return len(evs) == 1 })
	require.LessOrEqual(t, len(evs[0].Message), 1024)
	require.True(t, strings.HasSuffix(evs[0].Message, "é"), "cut on a rune boundary")
}

func TestRecorderConfig(t *testing.T) {
	c := newClient(t)
	for _, tc := range []struct {
		cfg record.Config
		err string
	}{
		{record.Config{Component: "x"}, "Config.Client is nil"},
		{record.Config{Client: c}, "Config.Component is empty"},
		{record.Config{Client: c, Component: "x", QueueSize: -1}, "Config.QueueSize is -1"},
		{record.Config{Client: c, Component: "x", Burst: -1}, "Config.Burst is -1"},
	} {
		_, err := record.New(tc.cfg)
		require.ErrorContains(t, err, tc.err)
	}
	r, err := record.New(record.Config{Client: c, Component: "x"})
	require.NoError(t, err)
	run(t, r)
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	// A second Run is refused once the first runs (one that wins the race
	// returns at once, its ctx being done).
	eventually(t, func() bool { return r.Run(stopped) != nil })
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRecorderFlush: Flush returns once every event queued before it has
// been written, so that a component stopping loses none of its last
// events; with Run not running, it gives up when its ctx ends.
func TestRecorderFlush(t *testing.T) {
	c := newClient(t)
	r, err := record.New(record.Config{Client: c, Component: "test"})
	require.NoError(t, err)
	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "a"}}
	for i := range 3 {
		r.Eventf(cm, api.EventTypeNormal, "Step", "step %d", i)
	}
	short, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, r.Flush(short), context.DeadlineExceeded, "Run is not running")

	run(t, r)
	require.NoError(t, r.Flush(context.Background()))
	var l api.EventList
	require.NoError(t, c.List(context.Background(), &l)) // no polling: Flush waited
	require.Len(t, l.Items, 3)
}

// TestRecorderWritersConcurrent: with several writers every event of a
// burst about many objects is written, and the repeats of one series
// still fold into one Event (its create comes before its patches).
func TestRecorderWritersConcurrent(t *testing.T) {
	c := newClient(t)
	r, err := record.New(record.Config{Client: c, Component: "test", Writers: 4, QueueSize: 500})
	require.NoError(t, err)
	run(t, r)
	const n = 100
	for i := range n {
		cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("cm-%d", i)}}
		r.Event(cm, api.EventTypeNormal, "Created", "created")
	}
	same := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "same"}}
	for range 5 {
		r.Event(same, api.EventTypeNormal, "Synced", "synced")
	}
	require.NoError(t, r.Flush(context.Background()))
	require.Zero(t, r.Dropped())
	var l api.EventList
	require.NoError(t, c.List(context.Background(), &l)) // no polling: Flush waited
	require.Len(t, l.Items, n+1)
	for _, ev := range l.Items {
		if ev.InvolvedObject.Name == "same" {
			require.EqualValues(t, 5, ev.Count, "the repeats fold into one Event")
		} else {
			require.EqualValues(t, 1, ev.Count)
		}
	}
	_, err = record.New(record.Config{Client: c, Component: "x", Writers: -1})
	require.ErrorContains(t, err, "Config.Writers is -1")
}
