package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/apiserver/registry"
)

// The resource metrics API (metrics.k8s.io/v1beta1), which kubectl top
// and autoscalers read, and which metrics-server serves in Kubernetes.
// The API server serves it itself, from the node agents' Summary API:
//
//	GET /apis/metrics.k8s.io/v1beta1/nodes[/<name>]                   NodeMetrics
//	GET /apis/metrics.k8s.io/v1beta1/pods                             PodMetrics of every namespace
//	GET /apis/metrics.k8s.io/v1beta1/namespaces/<ns>/pods[/<name>]    PodMetrics
//
// with labelSelector and fieldSelector on the Nodes or Pods listed. Each
// request asks the node agents concerned for GET /stats/summary (at the
// address and through the transport of KubeletConfig, as pods/log), in
// parallel, each within metricsTimeout; a node agent that cannot be
// reached, does not answer in time or answers anything but a Summary is
// left out, as are Nodes with no address, and so are their pods: a list
// holds what could be measured. A get of an object with no metrics is a
// 404, as in metrics-server.
//
// CPU usage is the node agent's usageNanoCores (a quantity such as "250m"
// or "123456n"), memory its workingSetBytes (in bytes, "Ki" when a whole
// number of KiB). The node agent measures the rate of CPU use since its
// previous sample, so the window of a NodeMetrics or PodMetrics is the
// time since the previous Summary this API server read from that node
// (other readers of /stats/summary, such as other API servers, make it an
// upper bound). When the node agent has no rate yet (its first sample, or
// a container that started since the previous one), or this API server
// has no previous sample of the node, the node is asked again after
// metricsResampleDelay and the window is the time between the two
// samples. A pod is left out unless every container the node agent
// reports for it has both a CPU rate and a working set.

// metricsGroupVersion is the group and version of the resource metrics
// API.
var metricsGroupVersion = api.GroupVersion{Group: "metrics.k8s.io", Version: "v1beta1"}

// maxMetricsTimeout bounds the time spent on a node agent for one
// metrics request (both samples when it is asked twice); a shorter
// KubeletConfig.ResponseHeaderTimeout is used instead.
const maxMetricsTimeout = 5 * time.Second

// maxMetricsResampleDelay is the longest wait before a node agent is
// asked a second time.
const maxMetricsResampleDelay = time.Second

// maxMetricsScrapes is the most node agents asked at once by one request.
const maxMetricsScrapes = 32

// maxSummaryBytes caps the Summary read from a node agent.
const maxSummaryBytes = 32 << 20

// metricsTimeout is the time a request gives each node agent.
func (c KubeletConfig) metricsTimeout() time.Duration {
	return min(c.headerTimeout(), maxMetricsTimeout)
}

// metricsResampleDelay is the wait before a second sample: a fifth of
// the timeout, at most maxMetricsResampleDelay, so that both fit in it.
func (c KubeletConfig) metricsResampleDelay() time.Duration {
	return min(c.metricsTimeout()/5, maxMetricsResampleDelay)
}

// statsSummary is the part of a node agent's GET /stats/summary answer
// (the Kubernetes Summary API, stats/v1alpha1) that the metrics API
// reads. The apiserver does not import the node agent's packages.
type statsSummary struct {
	Node struct {
		NodeName string       `json:"nodeName"`
		CPU      *statsCPU    `json:"cpu"`
		Memory   *statsMemory `json:"memory"`
	} `json:"node"`
	Pods []statsPod `json:"pods"`
}

// statsPod is one pod of a statsSummary.
type statsPod struct {
	PodRef struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		UID       string `json:"uid"`
	} `json:"podRef"`
	Containers []statsContainer `json:"containers"`
}

// statsContainer is one container of a statsPod.
type statsContainer struct {
	Name   string       `json:"name"`
	CPU    *statsCPU    `json:"cpu"`
	Memory *statsMemory `json:"memory"`
}

// statsCPU is CPU usage at Time; UsageNanoCores is nil on a first sample.
type statsCPU struct {
	Time           time.Time `json:"time"`
	UsageNanoCores *uint64   `json:"usageNanoCores"`
}

// statsMemory is memory usage at Time.
type statsMemory struct {
	Time            time.Time `json:"time"`
	WorkingSetBytes *uint64   `json:"workingSetBytes"`
}

// rated reports whether the node and every container measured have a
// CPU rate: whether the Summary needs no second sample.
func (sum *statsSummary) rated() bool {
	if sum.Node.CPU == nil || sum.Node.CPU.UsageNanoCores == nil {
		return false
	}
	for _, p := range sum.Pods {
		for _, c := range p.Containers {
			if c.CPU != nil && c.CPU.UsageNanoCores == nil {
				return false
			}
		}
	}
	return true
}

// nodeSample is what one node agent answered: its Summary and the window
// its rates cover.
type nodeSample struct {
	sum    *statsSummary
	window time.Duration
}

// metricsMeta is the metadata of a NodeMetrics or PodMetrics.
type metricsMeta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace,omitempty"`
	CreationTimestamp api.Time          `json:"creationTimestamp"`
	Labels            map[string]string `json:"labels,omitempty"`
}

// nodeMetrics is a metrics.k8s.io/v1beta1 NodeMetrics.
type nodeMetrics struct {
	Kind       string           `json:"kind,omitempty"`
	APIVersion string           `json:"apiVersion,omitempty"`
	Metadata   metricsMeta      `json:"metadata"`
	Timestamp  api.Time         `json:"timestamp"`
	Window     string           `json:"window"`
	Usage      api.ResourceList `json:"usage"`
}

// podMetrics is a metrics.k8s.io/v1beta1 PodMetrics.
type podMetrics struct {
	Kind       string             `json:"kind,omitempty"`
	APIVersion string             `json:"apiVersion,omitempty"`
	Metadata   metricsMeta        `json:"metadata"`
	Timestamp  api.Time           `json:"timestamp"`
	Window     string             `json:"window"`
	Containers []containerMetrics `json:"containers"`
}

// containerMetrics is one container of a podMetrics.
type containerMetrics struct {
	Name  string           `json:"name"`
	Usage api.ResourceList `json:"usage"`
}

// metricsList is a NodeMetricsList or PodMetricsList.
type metricsList[T any] struct {
	Kind       string       `json:"kind"`
	APIVersion string       `json:"apiVersion"`
	Metadata   api.ListMeta `json:"metadata"`
	Items      []T          `json:"items"`
}

// usage returns the ResourceList of a CPU rate in nanocores and a
// working set in bytes.
func usage(nanoCores, workingSet uint64) api.ResourceList {
	return api.ResourceList{
		api.ResourceCPU:    resource.NewScaledQuantity(int64(min(nanoCores, math.MaxInt64)), resource.Nano),
		api.ResourceMemory: resource.NewQuantity(int64(min(workingSet, math.MaxInt64)), resource.BinarySI),
	}
}

// metricsGroup returns the group of the metrics API when the server
// serves it: when it serves core v1 Nodes and Pods and no kind of its
// own in the metrics.k8s.io group (a user kind there wins).
func metricsGroup(regs map[api.GroupVersionResource]*registry.Registry) (groupInfo, bool) {
	_, nodes := regs[api.CoreV1.WithResource("nodes")]
	_, pods := regs[api.CoreV1.WithResource("pods")]
	if !nodes || !pods {
		return groupInfo{}, false
	}
	for gvr := range regs {
		if gvr.Group == metricsGroupVersion.Group {
			return groupInfo{}, false
		}
	}
	return groupInfo{name: metricsGroupVersion.Group, versions: []string{metricsGroupVersion.Version}}, true
}

// isMetricsAPI reports whether gv is the metrics API and the server
// serves it.
func (s *Server) isMetricsAPI(gv api.GroupVersion) bool {
	if gv != metricsGroupVersion {
		return false
	}
	_, ok := metricsGroup(s.regs)
	return ok
}

// metricsAPIResources is the discovery of the metrics API's resources
// when gv is it, else nil.
func (s *Server) metricsAPIResources(gv api.GroupVersion) []APIResource {
	if !s.isMetricsAPI(gv) {
		return nil
	}
	verbs := []string{"get", "list"}
	return []APIResource{
		{Name: "nodes", Kind: "NodeMetrics", Verbs: verbs},
		{Name: "pods", Kind: "PodMetrics", Namespaced: true, Verbs: verbs},
	}
}

// metricsResourceDiscovery is metricsAPIResources for aggregated
// discovery.
func (s *Server) metricsResourceDiscovery(gv api.GroupVersion) []APIResourceDiscovery {
	var out []APIResourceDiscovery
	for _, r := range s.metricsAPIResources(gv) {
		scope := "Cluster"
		if r.Namespaced {
			scope = "Namespaced"
		}
		out = append(out, APIResourceDiscovery{
			Resource: r.Name, ResponseKind: ResponseKind{Group: gv.Group, Version: gv.Version, Kind: r.Kind},
			Scope: scope, SingularResource: r.SingularName, Verbs: r.Verbs,
		})
	}
	return out
}

// metricsParams are the query parameters of the metrics API. limit is
// accepted and ignored (kubectl get sends it), as in metrics-server: a
// list is one page.
var metricsParams = map[string]bool{
	"labelSelector": true, "fieldSelector": true, "resourceVersion": true, "resourceVersionMatch": true, "pretty": true, "limit": true,
}

// metricsRequest is a parsed metrics API path.
type metricsRequest struct {
	resource  string // "nodes" or "pods"
	namespace string // pods only; "" for every namespace
	name      string // "" for a list
}

// parseMetricsPath parses the path segments after
// /apis/metrics.k8s.io/v1beta1.
func parseMetricsPath(rest []string) (metricsRequest, bool) {
	if slices.Contains(rest, "") {
		return metricsRequest{}, false
	}
	switch {
	case len(rest) == 1 && (rest[0] == "nodes" || rest[0] == "pods"):
		return metricsRequest{resource: rest[0]}, true
	case len(rest) == 2 && rest[0] == "nodes":
		return metricsRequest{resource: "nodes", name: rest[1]}, true
	case len(rest) >= 3 && len(rest) <= 4 && rest[0] == "namespaces" && rest[2] == "pods":
		m := metricsRequest{resource: "pods", namespace: rest[1]}
		if len(rest) == 4 {
			m.name = rest[3]
		}
		return m, true
	}
	return metricsRequest{}, false
}

// serveMetricsAPI serves a request under /apis/metrics.k8s.io/v1beta1/;
// rest are the path segments after it.
func (s *Server) serveMetricsAPI(w http.ResponseWriter, r *http.Request, rest []string) {
	m, ok := parseMetricsPath(rest)
	if !ok {
		s.writeError(w, notFound())
		return
	}
	gr := metricsGroupVersion.WithResource(m.resource).GroupResource()
	info := requestInfo{verb: "list", resource: gr.String()}
	if m.name != "" {
		info.verb = "get"
	}
	setInfo(w, info)
	if err := s.metricsAPI(w, r, m, gr); err != nil {
		s.writeError(w, err)
	}
}

func (s *Server) metricsAPI(w http.ResponseWriter, r *http.Request, m metricsRequest, gr api.GroupResource) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return api.NewMethodNotAllowed(gr, r.Method)
	}
	q := r.URL.Query()
	for p := range q {
		if !metricsParams[p] {
			return api.NewBadRequest("unknown query parameter %q for %s: valid are %s",
				p, gr, strings.Join(slices.Sorted(maps.Keys(metricsParams)), ", "))
		}
	}
	opts, err := listOptions(q)
	if err != nil {
		return err
	}
	opts.Limit, opts.Continue = 0, ""
	nodes := s.regs[api.CoreV1.WithResource("nodes")]
	pods := s.regs[api.CoreV1.WithResource("pods")]
	ctx := r.Context()
	now := s.cfg.Clock.Now()
	if m.resource == "nodes" {
		var list []api.Node
		if m.name != "" {
			obj, err := nodes.Get(ctx, "", m.name, registry.GetOptions{})
			if err != nil {
				return metricsNotFound(err, gr, m.name)
			}
			n, ok := obj.(*api.Node)
			if !ok {
				return api.NewInternalError(fmt.Errorf("node %q decoded as %T", m.name, obj))
			}
			list = []api.Node{*n}
		} else if list, err = listNodes(ctx, nodes, opts); err != nil {
			return err
		}
		samples := s.sampleNodes(ctx, list)
		items := nodeMetricsOf(list, samples, now)
		if m.name != "" {
			if len(items) == 0 {
				return api.NewNotFound(gr, m.name)
			}
			items[0].Kind, items[0].APIVersion = "NodeMetrics", metricsGroupVersion.String()
			s.writeJSON(w, http.StatusOK, items[0])
			return nil
		}
		s.writeJSON(w, http.StatusOK, metricsList[nodeMetrics]{Kind: "NodeMetricsList", APIVersion: metricsGroupVersion.String(), Items: items})
		return nil
	}
	var podList []api.Pod
	if m.name != "" {
		obj, err := pods.Get(ctx, m.namespace, m.name, registry.GetOptions{})
		if err != nil {
			return metricsNotFound(err, gr, m.name)
		}
		p, ok := obj.(*api.Pod)
		if !ok {
			return api.NewInternalError(fmt.Errorf("pod %q decoded as %T", m.name, obj))
		}
		podList = []api.Pod{*p}
	} else {
		obj, err := pods.List(ctx, m.namespace, opts)
		if err != nil {
			return err
		}
		l, ok := obj.(*api.PodList)
		if !ok {
			return api.NewInternalError(fmt.Errorf("pods listed as %T", obj))
		}
		podList = l.Items
	}
	// The nodes of the pods: one read of every Node for a list, a get for
	// one pod.
	want := map[string]bool{}
	for i := range podList {
		if n := podList[i].Spec.NodeName; n != "" {
			want[n] = true
		}
	}
	var nodeList []api.Node
	switch {
	case len(want) == 0:
	case m.name != "":
		obj, err := nodes.Get(ctx, "", podList[0].Spec.NodeName, registry.GetOptions{})
		if err != nil && !api.IsNotFound(err) {
			return err
		}
		if n, ok := obj.(*api.Node); ok && err == nil {
			nodeList = []api.Node{*n}
		}
	default:
		all, err := listNodes(ctx, nodes, registry.ListOptions{})
		if err != nil {
			return err
		}
		for _, n := range all {
			if want[n.Name] {
				nodeList = append(nodeList, n)
			}
		}
	}
	samples := s.sampleNodes(ctx, nodeList)
	items := podMetricsOf(podList, samples, now)
	if m.name != "" {
		if len(items) == 0 {
			return api.NewNotFound(gr, m.name)
		}
		items[0].Kind, items[0].APIVersion = "PodMetrics", metricsGroupVersion.String()
		s.writeJSON(w, http.StatusOK, items[0])
		return nil
	}
	s.writeJSON(w, http.StatusOK, metricsList[podMetrics]{Kind: "PodMetricsList", APIVersion: metricsGroupVersion.String(), Items: items})
	return nil
}

// metricsNotFound turns the NotFound of a Node or Pod into that of its
// metrics.
func metricsNotFound(err error, gr api.GroupResource, name string) error {
	if api.IsNotFound(err) {
		return api.NewNotFound(gr, name)
	}
	return err
}

// listNodes lists the Nodes opts select.
func listNodes(ctx context.Context, nodes *registry.Registry, opts registry.ListOptions) ([]api.Node, error) {
	obj, err := nodes.List(ctx, "", opts)
	if err != nil {
		return nil, err
	}
	l, ok := obj.(*api.NodeList)
	if !ok {
		return nil, api.NewInternalError(fmt.Errorf("nodes listed as %T", obj))
	}
	return l.Items, nil
}

// nodeMetricsOf returns the NodeMetrics of the nodes measured, in the
// order of nodes.
func nodeMetricsOf(nodes []api.Node, samples map[string]nodeSample, now time.Time) []nodeMetrics {
	items := []nodeMetrics{}
	for i := range nodes {
		n := &nodes[i]
		smp, ok := samples[n.Name]
		if !ok {
			continue
		}
		cpu, mem := smp.sum.Node.CPU, smp.sum.Node.Memory
		if cpu == nil || cpu.UsageNanoCores == nil || mem == nil || mem.WorkingSetBytes == nil {
			continue
		}
		items = append(items, nodeMetrics{
			Metadata:  metricsMeta{Name: n.Name, CreationTimestamp: api.NewTime(now), Labels: n.Labels},
			Timestamp: api.NewTime(cpu.Time),
			Window:    smp.window.String(),
			Usage:     usage(*cpu.UsageNanoCores, *mem.WorkingSetBytes),
		})
	}
	return items
}

// podMetricsOf returns the PodMetrics of the pods measured, in the order
// of pods.
func podMetricsOf(pods []api.Pod, samples map[string]nodeSample, now time.Time) []podMetrics {
	items := []podMetrics{}
	for i := range pods {
		p := &pods[i]
		smp, ok := samples[p.Spec.NodeName]
		if !ok {
			continue
		}
		idx := slices.IndexFunc(smp.sum.Pods, func(sp statsPod) bool {
			return sp.PodRef.Namespace == p.Namespace && sp.PodRef.Name == p.Name &&
				(sp.PodRef.UID == "" || sp.PodRef.UID == string(p.UID))
		})
		if idx < 0 {
			continue
		}
		sp := smp.sum.Pods[idx]
		pm := podMetrics{
			Metadata: metricsMeta{Name: p.Name, Namespace: p.Namespace, CreationTimestamp: api.NewTime(now), Labels: p.Labels},
			Window:   smp.window.String(),
		}
		var ts time.Time
		complete := len(sp.Containers) > 0
		for _, c := range sp.Containers {
			if c.CPU == nil || c.CPU.UsageNanoCores == nil || c.Memory == nil || c.Memory.WorkingSetBytes == nil {
				complete = false
				break
			}
			if c.CPU.Time.After(ts) {
				ts = c.CPU.Time
			}
			pm.Containers = append(pm.Containers, containerMetrics{Name: c.Name, Usage: usage(*c.CPU.UsageNanoCores, *c.Memory.WorkingSetBytes)})
		}
		if !complete {
			continue
		}
		pm.Timestamp = api.NewTime(ts)
		items = append(items, pm)
	}
	return items
}

// sampleNodes asks the node agents of nodes for their Summary, at most
// maxMetricsScrapes at once, and returns the answers by node name. The
// nodes that could not be measured are not in it.
func (s *Server) sampleNodes(ctx context.Context, nodes []api.Node) map[string]nodeSample {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out = make(map[string]nodeSample, len(nodes))
		sem = make(chan struct{}, maxMetricsScrapes)
	)
	for i := range nodes {
		n := &nodes[i]
		hostPort, err := nodeAgentAddress(n)
		if err != nil {
			continue // no address: no node agent to ask
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			smp, err := s.sampleNode(ctx, n.Name, hostPort)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Debug("node left out of the metrics", "node", n.Name, "err", err)
				}
				return
			}
			mu.Lock()
			out[n.Name] = smp
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// sampleNode reads the Summary of node's agent at hostPort within
// metricsTimeout: once, or twice when a second sample is needed for the
// rates or the window (see the top of this file).
func (s *Server) sampleNode(ctx context.Context, node, hostPort string) (nodeSample, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Kubelet.metricsTimeout())
	defer cancel()
	first, err := s.fetchSummary(ctx, node, hostPort)
	if err != nil {
		return nodeSample{}, err
	}
	t1 := summaryTime(first)
	prev, seen := s.metricsSeen.Load(node)
	if seen && first.rated() && t1.After(prev.(time.Time)) {
		s.metricsSeen.Store(node, t1)
		return nodeSample{sum: first, window: t1.Sub(prev.(time.Time))}, nil
	}
	delay := s.cfg.Kubelet.metricsResampleDelay()
	timer := time.NewTimer(delay)
	select {
	case <-timer.C:
	case <-ctx.Done():
		timer.Stop()
		return nodeSample{}, ctx.Err()
	}
	second, err := s.fetchSummary(ctx, node, hostPort)
	if err != nil {
		return nodeSample{}, err
	}
	t2 := summaryTime(second)
	window := t2.Sub(t1)
	if window <= 0 {
		window = delay
	}
	s.metricsSeen.Store(node, t2)
	return nodeSample{sum: second, window: window}, nil
}

// summaryTime is the time of a Summary's node CPU sample, or the zero
// time.
func summaryTime(sum *statsSummary) time.Time {
	if sum.Node.CPU == nil {
		return time.Time{}
	}
	return sum.Node.CPU.Time
}

// fetchSummary sends GET /stats/summary to the node agent of node at
// hostPort, through KubeletConfig's transport.
func (s *Server) fetchSummary(ctx context.Context, node, hostPort string) (*statsSummary, error) {
	u := url.URL{Scheme: s.cfg.Kubelet.scheme(), Host: hostPort, Path: "/stats/summary"}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("the summary of node %q: %w", node, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.cfg.Kubelet.transport().RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("the summary of node %q: %w", node, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxNodeAgentErrorBytes))
		return nil, fmt.Errorf("the node agent of node %q answered %s to GET %s: %s", node, resp.Status, u.Redacted(), strings.TrimSpace(string(data)))
	}
	var sum statsSummary
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSummaryBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the summary of node %q: %w", node, err)
	}
	if len(data) > maxSummaryBytes {
		return nil, fmt.Errorf("the summary of node %q is over %d bytes", node, maxSummaryBytes)
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		return nil, fmt.Errorf("decode the summary of node %q: %w", node, err)
	}
	if sum.Node.NodeName != "" && sum.Node.NodeName != node {
		return nil, fmt.Errorf("the node agent at %s of node %q reports the node %q: %w", hostPort, node, sum.Node.NodeName, errWrongNode)
	}
	return &sum, nil
}

// errWrongNode is the error of a node agent that answers for another
// node than the one whose address it was reached at.
var errWrongNode = errors.New("apiserver: a node agent answered for another node")
