package apiserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/admission"
)

// serve sends one request to s's handler and returns the answer.
func serve(t *testing.T, s *Server, method, path, body string, header ...string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	var out map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), "%s %s: %s", method, path, rec.Body)
	return rec.Code, out
}

// Config.Clock is "the default Registry.Now": the binding's PodScheduled
// time and the AGE column of tables must come from it too, not from the
// wall clock, or a pod created "now" by the Clock has a wrong age.
func TestServerClockIsUsedEverywhere(t *testing.T) {
	clock := newFakeClock(t0)
	s := newMaintenanceServer(t, newMemstore(t), func(c *Config) {
		c.Clock = clock
		c.Admission = admission.NewChain(nil, nil)
	})
	code, _ := serve(t, s, "POST", "/api/v1/namespaces/default/pods",
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"containers":[{"name":"c","image":"i"}]}}`)
	require.Equal(t, http.StatusCreated, code)
	clock.Advance(t, 90*time.Second)
	code, _ = serve(t, s, "POST", "/api/v1/namespaces/default/pods/web/binding",
		`{"apiVersion":"v1","kind":"Binding","metadata":{"name":"web"},"target":{"kind":"Node","name":"n1"}}`)
	require.Equal(t, http.StatusCreated, code)
	code, pod := serve(t, s, "GET", "/api/v1/namespaces/default/pods/web", "")
	require.Equal(t, http.StatusOK, code)
	cond := pod["status"].(map[string]any)["conditions"].([]any)[0].(map[string]any)
	require.Equal(t, t0.Add(90*time.Second).Format(time.RFC3339), cond["lastTransitionTime"])

	code, table := serve(t, s, "GET", "/api/v1/namespaces/default/pods/web", "",
		"Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	require.Equal(t, http.StatusOK, code)
	cells := table["rows"].([]any)[0].(map[string]any)["cells"].([]any)
	for i, c := range table["columnDefinitions"].([]any) {
		if c.(map[string]any)["name"] == "Age" {
			require.Equal(t, "90s", cells[i], "AGE by Config.Clock")
			return
		}
	}
	t.Fatal("no Age column")
}

// An event whose client-written times lie far in the future (a node with a
// wrong clock, or a client that wants it kept) must still expire: before
// the fix its "last activity" stayed ahead of now for ever, so any client
// could store events that are never removed.
func TestEventsWithFutureTimesExpire(t *testing.T) {
	ev := func(name string, created time.Time, last time.Time) api.Event {
		return api.Event{ObjectMeta: api.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: "rv-" + name,
			CreationTimestamp: api.NewTime(created)}, LastTimestamp: api.NewTime(last)}
	}
	items := []api.Event{
		ev("future", t0.Add(-2*time.Hour), t0.Add(10*365*24*time.Hour)),
		ev("skewed-a-little", t0.Add(-2*time.Hour), t0.Add(30*time.Minute)), // within a TTL ahead: trusted
	}
	require.Equal(t, []expiredEvent{{"ns", "future", "rv-future"}}, expiredEvents(items, t0, time.Hour))
}
