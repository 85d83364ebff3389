package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/drover-io/drover/api"
)

// The resource metrics API (metrics.k8s.io/v1beta1): the CPU and memory
// use of nodes and pods, as kubectl top reads it. The API server answers
// from the node agents; a node or pod it could not measure is left out of
// a list, and a get of it is a NotFound (api.IsNotFound).

// MetricsGroupVersion is the group and version of the metrics API.
var MetricsGroupVersion = api.GroupVersion{Group: "metrics.k8s.io", Version: "v1beta1"}

// nodeMetricsKind and podMetricsKind are the kinds of the metrics API,
// for their paths.
var (
	nodeMetricsKind = api.Kind{GroupVersionKind: MetricsGroupVersion.WithKind("NodeMetrics"), Resource: "nodes"}
	podMetricsKind  = api.Kind{GroupVersionKind: MetricsGroupVersion.WithKind("PodMetrics"), Resource: "pods", Namespaced: true}
)

// NodeMetrics is the use of a node's resources, averaged over Window up
// to Timestamp. Usage has "cpu" (cores) and "memory" (the working set, in
// bytes).
type NodeMetrics struct {
	api.TypeMeta   `json:",inline"`
	api.ObjectMeta `json:"metadata,omitzero"`
	Timestamp      api.Time         `json:"timestamp"`
	Window         Duration         `json:"window"`
	Usage          api.ResourceList `json:"usage"`
}

// NodeMetricsList is a list of NodeMetrics.
type NodeMetricsList = api.List[NodeMetrics]

// PodMetrics is the use of a pod's containers' resources, averaged over
// Window up to Timestamp.
type PodMetrics struct {
	api.TypeMeta   `json:",inline"`
	api.ObjectMeta `json:"metadata,omitzero"`
	Timestamp      api.Time           `json:"timestamp"`
	Window         Duration           `json:"window"`
	Containers     []ContainerMetrics `json:"containers"`
}

// Usage returns the sum of the containers' usage.
func (m *PodMetrics) Usage() api.ResourceList {
	sum := api.ResourceList{}
	for _, c := range m.Containers {
		for name, q := range c.Usage {
			t := sum[name]
			t.Add(q)
			sum[name] = t
		}
	}
	return sum
}

// ContainerMetrics is the use of one container's resources: "cpu"
// (cores) and "memory" (the working set, in bytes).
type ContainerMetrics struct {
	Name  string           `json:"name"`
	Usage api.ResourceList `json:"usage"`
}

// PodMetricsList is a list of PodMetrics.
type PodMetricsList = api.List[PodMetrics]

// Duration is a time.Duration on the wire as its String ("10s",
// "1m30.5s"), as Kubernetes' metav1.Duration.
type Duration struct {
	time.Duration
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"10s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: %w", s, err)
	}
	d.Duration = v
	return nil
}

// NodeMetrics reads the metrics of the node name.
func (c *Client) NodeMetrics(ctx context.Context, name string) (*NodeMetrics, error) {
	var m NodeMetrics
	if err := c.getMetrics(ctx, nodeMetricsKind, "", name, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// ListNodeMetrics reads the metrics of the nodes opts select (by their
// labels and fields).
func (c *Client) ListNodeMetrics(ctx context.Context, opts ...ListOption) (*NodeMetricsList, error) {
	var l NodeMetricsList
	if err := c.listMetrics(ctx, nodeMetricsKind, listOptions(opts), &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// PodMetrics reads the metrics of the pod namespace/name.
func (c *Client) PodMetrics(ctx context.Context, namespace, name string) (*PodMetrics, error) {
	var m PodMetrics
	if err := c.getMetrics(ctx, podMetricsKind, namespace, name, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// ListPodMetrics reads the metrics of the pods opts select (by namespace,
// labels and fields; every namespace when opts give none).
func (c *Client) ListPodMetrics(ctx context.Context, opts ...ListOption) (*PodMetricsList, error) {
	var l PodMetricsList
	if err := c.listMetrics(ctx, podMetricsKind, listOptions(opts), &l); err != nil {
		return nil, err
	}
	return &l, nil
}

func (c *Client) getMetrics(ctx context.Context, k api.Kind, namespace, name string, into any) error {
	path, err := c.objectPath("get", k, namespace, name, "")
	if err != nil {
		return err
	}
	data, err := c.do(ctx, &request{verb: "get", method: http.MethodGet, path: path})
	if err != nil {
		return err
	}
	return c.decode("get", path, data, into)
}

func (c *Client) listMetrics(ctx context.Context, k api.Kind, o ListOptions, into any) error {
	ns := o.Namespace
	if !k.Namespaced {
		ns = ""
	}
	path, err := collectionPath("list", k, ns)
	if err != nil {
		return err
	}
	data, err := c.do(ctx, &request{verb: "list", method: http.MethodGet, path: path, query: o.query(false)})
	if err != nil {
		return err
	}
	return c.decode("list", path, data, into)
}
