package nodelifecycle

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/controllertest"
)

// podStatusGate holds the pod status writes that reach it until two are
// in flight together, and records the most ever in flight: writes sent
// one at a time would wait for each other for ever (until the test ends).
type podStatusGate struct {
	next http.RoundTripper

	mu       sync.Mutex
	inflight int
	peak     int
	open     chan struct{}
	opened   bool
}

func (g *podStatusGate) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPut || !strings.Contains(req.URL.Path, "/pods/") || !strings.HasSuffix(req.URL.Path, "/status") {
		return g.next.RoundTrip(req)
	}
	g.mu.Lock()
	g.inflight++
	g.peak = max(g.peak, g.inflight)
	if g.inflight >= 2 && !g.opened {
		g.opened = true
		close(g.open)
	}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inflight--
		g.mu.Unlock()
	}()
	select {
	case <-g.open:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	return g.next.RoundTrip(req)
}

func (g *podStatusGate) maxInFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.peak
}

// The pods of an unreachable node are marked not ready by concurrent
// writes, at most podWriters at once, not one round trip after another.
func TestPodsMarkedNotReadyConcurrently(t *testing.T) {
	gate := &podStatusGate{open: make(chan struct{})}
	s := newScenarioWith(t, Options{}, func(next http.RoundTripper) http.RoundTripper { gate.next = next; return gate })
	s.addNode("n1", "a")
	s.addNode("n2", "a") // stays healthy: the zone is not fully disrupted
	const n = 3 * podWriters
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("p%02d", i)
		s.addPod(names[i], "n1", false, api.Toleration{Operator: api.TolerationOpExists})
	}
	grace := t0.Add(DefaultNodeMonitorGracePeriod)
	s.waitArmed("n1", grace)
	s.advanceKeeping(grace, "n2")

	for _, name := range names {
		controllertest.Eventually(t, func() bool {
			p := s.pod(name)
			return p != nil && p.Status.Conditions[0].Status == api.ConditionFalse
		})
	}
	peak := gate.maxInFlight()
	require.GreaterOrEqual(t, peak, 2, "pod status writes were sent one at a time")
	require.LessOrEqual(t, peak, podWriters, "more pod status writes in flight than podWriters")
	for _, name := range names {
		require.False(t, s.evicted(name), name)
	}
}
