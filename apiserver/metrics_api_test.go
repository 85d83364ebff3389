package apiserver_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/kubelet/server"
)

// summaryAgent is a fake node agent serving GET /stats/summary over TLS,
// in the node agent's own types (kubelet/server.Summary): the nth answer
// (from 0) is summary(n), its CPU samples taken at metricsBase + n*10s.
type summaryAgent struct {
	srv     *httptest.Server
	mu      sync.Mutex
	n       int
	summary func(n int, at time.Time) server.Summary
}

var metricsBase = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func newSummaryAgent(t *testing.T, summary func(n int, at time.Time) server.Summary) *summaryAgent {
	a := &summaryAgent{summary: summary}
	a.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stats/summary" {
			http.NotFound(w, r)
			return
		}
		a.mu.Lock()
		n := a.n
		a.n++
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(a.summary(n, metricsBase.Add(time.Duration(n)*10*time.Second)))
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *summaryAgent) requests() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

func (a *summaryAgent) port(t *testing.T) int {
	u, err := url.Parse(a.srv.URL)
	require.NoError(t, err)
	p, err := strconv.Atoi(u.Port())
	require.NoError(t, err)
	return p
}

func u64(v uint64) *uint64 { return &v }

// measured is a container with a CPU rate and a working set.
func measured(name string, nanoCores, workingSet uint64, at time.Time) server.ContainerStats {
	return server.ContainerStats{Name: name,
		CPU:    &server.CPUStats{Time: at, UsageNanoCores: u64(nanoCores), UsageCoreNanoSeconds: u64(1e12)},
		Memory: &server.MemoryStats{Time: at, WorkingSetBytes: u64(workingSet), UsageBytes: u64(workingSet * 2)}}
}

// nodeStats is a node using nanoCores and workingSet, with no rate on the
// node agent's first sample (n 0), as the real one.
func nodeStats(name string, n int, at time.Time, nanoCores, workingSet uint64) server.NodeStats {
	ns := server.NodeStats{NodeName: name,
		CPU:    &server.CPUStats{Time: at, UsageCoreNanoSeconds: u64(5e12)},
		Memory: &server.MemoryStats{Time: at, WorkingSetBytes: u64(workingSet), AvailableBytes: u64(1 << 30)}}
	if n > 0 {
		ns.CPU.UsageNanoCores = u64(nanoCores)
	}
	return ns
}

func podRef(ns, name, uid string) server.PodReference {
	return server.PodReference{Namespace: ns, Name: name, UID: uid}
}

// metricsEnv is an API server with:
//
//	n1 (role=web)  agent a1: pods default/web (app, sidecar), default/new (a container the node agent could not measure), default/stale (another UID)
//	n2             agent a2: pods default/db, prod/cache
//	n3             an agent that never answers: pod default/slow
//	n4             no address
//
// and pod default/pending on no node.
type metricsEnv struct {
	*env
	a1, a2 *summaryAgent
}

func newMetricsEnv(t *testing.T) *metricsEnv {
	t.Helper()
	release := make(chan struct{})
	slow := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // before slow.Close, which waits for its handlers
	uids := map[string]string{}
	me := &metricsEnv{}
	me.a1 = newSummaryAgent(t, func(n int, at time.Time) server.Summary {
		return server.Summary{Node: nodeStats("n1", n, at, 250_000_000, 123456*1024), Pods: []server.PodStats{
			{PodRef: podRef("default", "web", uids["web"]), Containers: []server.ContainerStats{
				measured("app", 1_500_000, 64<<20, at), measured("sidecar", 123456, 1000, at.Add(-time.Second))}},
			{PodRef: podRef("default", "new", uids["new"]), Containers: []server.ContainerStats{
				measured("app", 1, 1, at), {Name: "unmeasured"}}},
			{PodRef: podRef("default", "stale", "another-uid"), Containers: []server.ContainerStats{measured("app", 1, 1, at)}},
		}}
	})
	me.a2 = newSummaryAgent(t, func(n int, at time.Time) server.Summary {
		return server.Summary{Node: nodeStats("n2", n, at, 2_000_000_000, 1<<30), Pods: []server.PodStats{
			{PodRef: podRef("default", "db", uids["db"]), Containers: []server.ContainerStats{measured("db", 500_000_000, 256<<20, at)}},
			{PodRef: podRef("prod", "cache", uids["cache"]), Containers: []server.ContainerStats{measured("redis", 7_000_000, 8<<20, at)}},
		}}
	})
	me.env = newEnv(t, func(c *apiserver.Config) {
		c.Kubelet.Transport = me.a1.srv.Client().Transport // trusts every httptest TLS server
		c.Kubelet.ResponseHeaderTimeout = 500 * time.Millisecond
	})
	slowPort, err := strconv.Atoi(must(url.Parse(slow.URL)).Port())
	require.NoError(t, err)
	for _, n := range []struct {
		name, labels string
		port         int
		addr         bool
	}{{"n1", `{"role":"web"}`, me.a1.port(t), true}, {"n2", `{}`, me.a2.port(t), true}, {"n3", `{}`, slowPort, true}, {"n4", `{}`, 0, false}} {
		addrs := `[]`
		if n.addr {
			addrs = `[{"type":"InternalIP","address":"127.0.0.1"}]`
		}
		me.ok(t, http.StatusCreated, "POST", "/api/v1/nodes", `{"apiVersion":"v1","kind":"Node","metadata":{"name":"`+n.name+`","labels":`+n.labels+`},`+
			`"status":{"allocatable":{"cpu":"4","memory":"8Gi"},"addresses":`+addrs+`,"daemonEndpoints":{"kubeletEndpoint":{"Port":`+strconv.Itoa(n.port)+`}}}}`)
	}
	for _, p := range []struct{ ns, name, node, labels string }{
		{"default", "web", "n1", `{"app":"web"}`}, {"default", "new", "n1", `{}`}, {"default", "stale", "n1", `{}`},
		{"default", "db", "n2", `{"app":"db"}`}, {"prod", "cache", "n2", `{}`}, {"default", "slow", "n3", `{}`}, {"default", "pending", "", `{}`},
	} {
		spec := `"containers":[{"name":"app","image":"nginx:1.27"}]`
		if p.node != "" {
			spec += `,"nodeName":"` + p.node + `"`
		}
		obj := me.ok(t, http.StatusCreated, "POST", "/api/v1/namespaces/"+p.ns+"/pods",
			`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"`+p.name+`","labels":`+p.labels+`},"spec":{`+spec+`}}`)
		uids[p.name] = obj["metadata"].(map[string]any)["uid"].(string)
	}
	return me
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// metricsGet GETs path under /apis/metrics.k8s.io/v1beta1 into v.
func (e *metricsEnv) metricsGet(t *testing.T, path string, v any) {
	t.Helper()
	code, data := e.do(t, "GET", "/apis/metrics.k8s.io/v1beta1"+path, "")
	require.Equal(t, http.StatusOK, code, "%s: %s", path, data)
	require.NoError(t, json.Unmarshal(data, v), "%s", data)
}

// The shapes of metrics.k8s.io/v1beta1, as a client decodes them.
type (
	testMetricsMeta struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		CreationTimestamp string            `json:"creationTimestamp"`
		Labels            map[string]string `json:"labels"`
	}
	testNodeMetrics struct {
		Kind       string            `json:"kind"`
		APIVersion string            `json:"apiVersion"`
		Metadata   testMetricsMeta   `json:"metadata"`
		Timestamp  string            `json:"timestamp"`
		Window     string            `json:"window"`
		Usage      map[string]string `json:"usage"`
	}
	testContainerMetrics struct {
		Name  string            `json:"name"`
		Usage map[string]string `json:"usage"`
	}
	testPodMetrics struct {
		Kind       string                 `json:"kind"`
		APIVersion string                 `json:"apiVersion"`
		Metadata   testMetricsMeta        `json:"metadata"`
		Timestamp  string                 `json:"timestamp"`
		Window     string                 `json:"window"`
		Containers []testContainerMetrics `json:"containers"`
	}
	testMetricsList[T any] struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Items      []T    `json:"items"`
	}
)

func nodeNames(l testMetricsList[testNodeMetrics]) []string {
	var out []string
	for _, n := range l.Items {
		out = append(out, n.Metadata.Name)
	}
	return out
}

func podNames(l testMetricsList[testPodMetrics]) []string {
	var out []string
	for _, p := range l.Items {
		out = append(out, p.Metadata.Namespace+"/"+p.Metadata.Name)
	}
	return out
}

func TestMetricsAPINodes(t *testing.T) {
	e := newMetricsEnv(t)

	// The first read has no previous sample of the nodes: each is asked
	// twice, and the window is the time between the samples. n3 never
	// answers and n4 has no address: both are left out.
	start := time.Now()
	var l testMetricsList[testNodeMetrics]
	e.metricsGet(t, "/nodes", &l)
	require.Less(t, time.Since(start), 5*time.Second, "the slow node agent held the request")
	require.Equal(t, "NodeMetricsList", l.Kind)
	require.Equal(t, "metrics.k8s.io/v1beta1", l.APIVersion)
	require.Equal(t, []string{"n1", "n2"}, nodeNames(l))
	require.Equal(t, 2, e.a1.requests())
	n1 := l.Items[0]
	require.Equal(t, map[string]string{"cpu": "250m", "memory": "123456Ki"}, n1.Usage)
	require.Equal(t, "10s", n1.Window)
	require.Equal(t, "2026-05-01T12:00:10Z", n1.Timestamp)
	require.Equal(t, map[string]string{"role": "web"}, n1.Metadata.Labels)
	require.NotEmpty(t, n1.Metadata.CreationTimestamp)
	require.Equal(t, map[string]string{"cpu": "2", "memory": "1Gi"}, l.Items[1].Usage)

	// Now the window is the time since the previous sample: one request.
	var one testNodeMetrics
	e.metricsGet(t, "/nodes/n1", &one)
	require.Equal(t, 3, e.a1.requests())
	require.Equal(t, "NodeMetrics", one.Kind)
	require.Equal(t, "metrics.k8s.io/v1beta1", one.APIVersion)
	require.Equal(t, "n1", one.Metadata.Name)
	require.Equal(t, "10s", one.Window)
	require.Equal(t, "2026-05-01T12:00:20Z", one.Timestamp)

	e.metricsGet(t, "/nodes?labelSelector=role%3Dweb", &l)
	require.Equal(t, []string{"n1"}, nodeNames(l))
	e.metricsGet(t, "/nodes?fieldSelector=metadata.name%3Dn2", &l)
	require.Equal(t, []string{"n2"}, nodeNames(l))
	e.metricsGet(t, "/nodes?labelSelector=role%3Dnone", &l)
	require.Empty(t, l.Items)

	st := e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", "/apis/metrics.k8s.io/v1beta1/nodes/nope", "")
	require.Equal(t, `nodes.metrics.k8s.io "nope" not found`, st.Message)
	e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", "/apis/metrics.k8s.io/v1beta1/nodes/n3", "")
	e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", "/apis/metrics.k8s.io/v1beta1/nodes/n4", "")
}

func TestMetricsAPIPods(t *testing.T) {
	e := newMetricsEnv(t)
	var l testMetricsList[testPodMetrics]
	e.metricsGet(t, "/namespaces/default/pods", &l)
	require.Equal(t, "PodMetricsList", l.Kind)
	// new has a container the node agent could not measure, stale is another pod of the
	// same name, slow's node does not answer, pending is on no node.
	require.Equal(t, []string{"default/db", "default/web"}, podNames(l))
	web := l.Items[1]
	require.Equal(t, "10s", web.Window)
	require.Equal(t, "2026-05-01T12:00:10Z", web.Timestamp, "the newest container sample")
	require.Equal(t, map[string]string{"app": "web"}, web.Metadata.Labels)
	require.Equal(t, []testContainerMetrics{
		{Name: "app", Usage: map[string]string{"cpu": "1500u", "memory": "64Mi"}},
		{Name: "sidecar", Usage: map[string]string{"cpu": "123456n", "memory": "1k"}},
	}, web.Containers)

	e.metricsGet(t, "/pods", &l)
	require.Equal(t, []string{"default/db", "default/web", "prod/cache"}, podNames(l))
	e.metricsGet(t, "/namespaces/default/pods?labelSelector=app%3Dweb", &l)
	require.Equal(t, []string{"default/web"}, podNames(l))
	e.metricsGet(t, "/namespaces/b/pods", &l)
	require.Empty(t, l.Items)
	require.NotNil(t, l.Items, "items is [] rather than null")

	var one testPodMetrics
	e.metricsGet(t, "/namespaces/prod/pods/cache", &one)
	require.Equal(t, "PodMetrics", one.Kind)
	require.Equal(t, "metrics.k8s.io/v1beta1", one.APIVersion)
	require.Equal(t, testMetricsMeta{Name: "cache", Namespace: "prod", CreationTimestamp: one.Metadata.CreationTimestamp}, one.Metadata)
	require.Equal(t, []testContainerMetrics{{Name: "redis", Usage: map[string]string{"cpu": "7m", "memory": "8Mi"}}}, one.Containers)

	for _, name := range []string{"new", "stale", "slow", "pending", "nope"} {
		st := e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/"+name, "")
		require.Equal(t, `pods.metrics.k8s.io "`+name+`" not found`, st.Message)
	}
}

func TestMetricsAPIRequests(t *testing.T) {
	e := newMetricsEnv(t)
	base := "/apis/metrics.k8s.io/v1beta1"
	e.status(t, http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed, "POST", base+"/nodes", "{}")
	e.status(t, http.StatusMethodNotAllowed, api.StatusReasonMethodNotAllowed, "DELETE", base+"/namespaces/default/pods/web", "")
	st := e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "GET", base+"/nodes?watch=true", "")
	require.Contains(t, st.Message, `unknown query parameter "watch"`)
	e.status(t, http.StatusBadRequest, api.StatusReasonBadRequest, "GET", base+"/nodes?labelSelector=a%3D%3D%3D", "")
	for _, p := range []string{"/pods/web", "/nodes/n1/status", "/namespaces/default/nodes", "/namespaces/default/pods/web/x", "/widgets"} {
		e.status(t, http.StatusNotFound, api.StatusReasonNotFound, "GET", base+p, "")
	}
}

func TestMetricsAPIDiscovery(t *testing.T) {
	e := newEnv(t)
	var groups apiserver.APIGroupList
	_, data := e.do(t, "GET", "/apis", "")
	require.NoError(t, json.Unmarshal(data, &groups))
	var found *apiserver.APIGroup
	for i := range groups.Groups {
		if groups.Groups[i].Name == "metrics.k8s.io" {
			found = &groups.Groups[i]
		}
	}
	require.NotNil(t, found, "%s", data)
	require.Equal(t, "metrics.k8s.io/v1beta1", found.PreferredVersion.GroupVersion)
	require.Equal(t, "APIGroup", e.ok(t, http.StatusOK, "GET", "/apis/metrics.k8s.io", "")["kind"])

	var rl apiserver.APIResourceList
	_, data = e.do(t, "GET", "/apis/metrics.k8s.io/v1beta1", "")
	require.NoError(t, json.Unmarshal(data, &rl))
	require.Equal(t, "metrics.k8s.io/v1beta1", rl.GroupVersion)
	require.Equal(t, []apiserver.APIResource{
		{Name: "nodes", Kind: "NodeMetrics", Verbs: []string{"get", "list"}},
		{Name: "pods", Kind: "PodMetrics", Namespaced: true, Verbs: []string{"get", "list"}},
	}, rl.Resources)

	req, err := http.NewRequest("GET", e.srv.URL+"/apis", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var agg apiserver.APIGroupDiscoveryList
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&agg))
	var vd *apiserver.APIVersionDiscovery
	for _, g := range agg.Items {
		if g.Metadata.Name == "metrics.k8s.io" {
			vd = &g.Versions[0]
		}
	}
	require.NotNil(t, vd)
	require.Equal(t, "v1beta1", vd.Version)
	require.Len(t, vd.Resources, 2)
	require.Equal(t, "nodes", vd.Resources[0].Resource)
	require.Equal(t, "Cluster", vd.Resources[0].Scope)
	require.Equal(t, apiserver.ResponseKind{Group: "metrics.k8s.io", Version: "v1beta1", Kind: "PodMetrics"}, vd.Resources[1].ResponseKind)
	require.Equal(t, "Namespaced", vd.Resources[1].Scope)
}
