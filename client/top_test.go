package client_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/client"
)

// summaryTransport is a node agent as an http.RoundTripper: it answers
// GET /stats/summary for the node at each host, its nth answer sampled
// at n*10s past base.
type summaryTransport struct {
	mu    sync.Mutex
	n     map[string]int
	pods  map[string][]string // host → "namespace/name" of its pods
	hosts map[string]string   // host → node name
}

func (s *summaryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	host := req.URL.Hostname()
	n := s.n[host]
	s.n[host]++
	s.mu.Unlock()
	if req.URL.Path != "/stats/summary" {
		return &http.Response{StatusCode: http.StatusNotFound, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
	}
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * 10 * time.Second).Format(time.RFC3339)
	var pods []string
	for _, p := range s.pods[host] {
		ns, name, _ := strings.Cut(p, "/")
		pods = append(pods, `{"podRef":{"namespace":"`+ns+`","name":"`+name+`"},"containers":[`+
			`{"name":"app","cpu":{"time":"`+at+`","usageNanoCores":5000000},"memory":{"time":"`+at+`","workingSetBytes":10485760}},`+
			`{"name":"log","cpu":{"time":"`+at+`","usageNanoCores":1000000},"memory":{"time":"`+at+`","workingSetBytes":1048576}}]}`)
	}
	body := `{"node":{"nodeName":"` + s.hosts[host] + `","cpu":{"time":"` + at + `","usageNanoCores":1500000000},` +
		`"memory":{"time":"` + at + `","workingSetBytes":2147483648}},"pods":[` + strings.Join(pods, ",") + `]}`
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

func TestResourceMetrics(t *testing.T) {
	agents := &summaryTransport{n: map[string]int{},
		hosts: map[string]string{"10.0.0.1": "n1", "10.0.0.2": "n2"},
		pods:  map[string][]string{"10.0.0.1": {"default/web"}, "10.0.0.2": {"other/db"}}}
	e := newEnv(t, envOptions{kubelet: agents})
	c := e.client(t)
	ctx := ctxT(t)
	for i, name := range []string{"n1", "n2"} {
		node := &api.Node{ObjectMeta: api.ObjectMeta{Name: name, Labels: map[string]string{"zone": name}}}
		require.NoError(t, c.Create(ctx, node))
		node.Status.Addresses = []api.NodeAddress{{Type: api.NodeInternalIP, Address: "10.0.0." + string(rune('1'+i))}}
		require.NoError(t, c.UpdateStatus(ctx, node))
	}
	for _, p := range []*api.Pod{pod("default", "web", map[string]string{"app": "web"}), pod("other", "db", nil)} {
		p.Spec.NodeName = map[string]string{"web": "n1", "db": "n2"}[p.Name]
		require.NoError(t, c.Create(ctx, p))
	}

	nodes, err := c.ListNodeMetrics(ctx)
	require.NoError(t, err)
	require.Len(t, nodes.Items, 2)
	n1 := nodes.Items[0]
	require.Equal(t, "n1", n1.Name)
	require.Equal(t, "1500m", n1.Usage[api.ResourceCPU].String())
	require.Equal(t, "2Gi", n1.Usage[api.ResourceMemory].String())
	require.Equal(t, 10*time.Second, n1.Window.Duration)
	require.Equal(t, time.Date(2026, 5, 1, 12, 0, 10, 0, time.UTC), n1.Timestamp.Time)

	sel, err := labels.Parse("zone=n2")
	require.NoError(t, err)
	nodes, err = c.ListNodeMetrics(ctx, client.ListOptions{LabelSelector: sel})
	require.NoError(t, err)
	require.Len(t, nodes.Items, 1)
	require.Equal(t, "n2", nodes.Items[0].Name)

	one, err := c.NodeMetrics(ctx, "n2")
	require.NoError(t, err)
	require.Equal(t, "NodeMetrics", one.Kind)
	require.Equal(t, "1500m", one.Usage[api.ResourceCPU].String())
	require.Equal(t, "n2", one.Name)
	_, err = c.NodeMetrics(ctx, "nope")
	require.True(t, api.IsNotFound(err), "%v", err)

	pods, err := c.ListPodMetrics(ctx)
	require.NoError(t, err)
	require.Len(t, pods.Items, 2)
	pods, err = c.ListPodMetrics(ctx, client.InNamespace("default"))
	require.NoError(t, err)
	require.Len(t, pods.Items, 1)
	web := pods.Items[0]
	require.Equal(t, "default", web.Namespace)
	require.Equal(t, "web", web.Name)
	require.Len(t, web.Containers, 2)
	require.Equal(t, "5m", web.Containers[0].Usage[api.ResourceCPU].String())
	require.Equal(t, "6m", web.Usage()[api.ResourceCPU].String())
	require.Equal(t, "11Mi", web.Usage()[api.ResourceMemory].String())

	db, err := c.PodMetrics(ctx, "other", "db")
	require.NoError(t, err)
	require.Equal(t, "PodMetrics", db.Kind)
	require.Equal(t, "db", db.Name)
	_, err = c.PodMetrics(ctx, "default", "db")
	require.True(t, api.IsNotFound(err), "%v", err)
	_, err = c.PodMetrics(ctx, "", "db")
	require.ErrorContains(t, err, "the namespace is empty")

	// The window round-trips as a duration string.
	data, err := json.Marshal(client.Duration{Duration: 90 * time.Second})
	require.NoError(t, err)
	require.Equal(t, `"1m30s"`, string(data))
	var d client.Duration
	require.Error(t, json.Unmarshal([]byte(`"soon"`), &d))
}
