package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/drover-io/drover/api"
)

// This file holds the subresources other than status: pods/binding (the
// scheduler), pods/eviction (drains), scale (the CLI, autoscalers) and
// pods/log (the CLI).

// Bind assigns the pod namespace/name to the node: what a scheduler does
// once it has chosen. It fails with api.ErrConflict if the pod is already
// bound, is being deleted, or is not the pod of BindOptions.UID.
//
//	err := c.Bind(ctx, pod.Namespace, pod.Name, "node-1", client.BindOptions{UID: pod.UID})
func (c *Client) Bind(ctx context.Context, namespace, pod, node string, opts ...BindOption) error {
	var o BindOptions
	for _, opt := range opts {
		opt.ApplyToBind(&o)
	}
	b := api.Binding{
		TypeMeta:   api.TypeMeta{Kind: "Binding", APIVersion: "v1"},
		ObjectMeta: api.ObjectMeta{Namespace: namespace, Name: pod, UID: o.UID},
		Target:     api.ObjectReference{Kind: "Node", APIVersion: "v1", Name: node},
	}
	w := WriteOptions{DryRun: o.DryRun, FieldManager: o.FieldManager}
	return c.postSubresource(ctx, "binding", namespace, pod, b, w.query(), false)
}

// BindOptions are the options of Bind. WriteOptions and DryRunAll are
// BindOptions too.
type BindOptions struct {
	// UID, if set, is a precondition: the pod must have this uid, so that
	// a binding decided for a pod does not bind another one created since
	// under the same name (the server answers 409 Conflict).
	UID api.UID
	// DryRun asks the server to check the binding without storing it.
	DryRun bool
	// FieldManager names the writer, for server-side field ownership.
	FieldManager string
}

// BindOption changes BindOptions.
type BindOption interface {
	ApplyToBind(*BindOptions)
}

// ApplyToBind sets the fields of o that are not zero in dst.
func (o BindOptions) ApplyToBind(dst *BindOptions) {
	if o.UID != "" {
		dst.UID = o.UID
	}
	if o.DryRun {
		dst.DryRun = true
	}
	if o.FieldManager != "" {
		dst.FieldManager = o.FieldManager
	}
}

// ApplyToBind sets DryRun and FieldManager, if set in o.
func (o WriteOptions) ApplyToBind(dst *BindOptions) {
	BindOptions{DryRun: o.DryRun, FieldManager: o.FieldManager}.ApplyToBind(dst)
}

// ApplyToBind sets DryRun.
func (dryRunAll) ApplyToBind(o *BindOptions) { o.DryRun = true }

// Evict asks for the pod namespace/name to be evicted: deleted, with the
// options given, if no disruption budget forbids it (the server answers
// 429 TooManyRequests if one does; it is not retried).
func (c *Client) Evict(ctx context.Context, namespace, pod string, opts ...DeleteOption) error {
	o := deleteOptions(opts)
	ev := api.Eviction{
		TypeMeta:      api.TypeMeta{Kind: "Eviction", APIVersion: "policy/v1"},
		ObjectMeta:    api.ObjectMeta{Namespace: namespace, Name: pod},
		DeleteOptions: o.wire(),
	}
	return c.postSubresource(ctx, "eviction", namespace, pod, ev, nil, true)
}

func (c *Client) postSubresource(ctx context.Context, sub, namespace, pod string, body any, q url.Values, noRetry bool) error {
	path, err := c.objectPath("create", podKind, namespace, pod, sub)
	if err != nil {
		return err
	}
	data, err := api.MarshalJSON(body)
	if err != nil {
		return fmt.Errorf("client: create %s: %w", path, err)
	}
	_, err = c.do(ctx, &request{verb: "create", method: http.MethodPost, path: path, query: q,
		body: data, contentType: "application/json", noRetry: noRetry})
	return err
}

// podKind is the kind of the pod subresources; only its path matters.
var podKind = api.Kind{
	GroupVersionKind: api.CoreV1.WithKind("Pod"), Resource: "pods", Namespaced: true,
	Subresources: []string{"binding", "eviction", "log"},
}

// GetScale returns the Scale of the object named by obj's namespace and
// name, of a kind with a scale subresource (Deployment, ReplicaSet).
func (c *Client) GetScale(ctx context.Context, obj api.Object) (*api.Scale, error) {
	k, err := c.kindOf("get", obj)
	if err != nil {
		return nil, err
	}
	m := obj.GetObjectMeta()
	path, err := c.objectPath("get", k, m.Namespace, m.Name, "scale")
	if err != nil {
		return nil, err
	}
	data, err := c.do(ctx, &request{verb: "get", method: http.MethodGet, path: path})
	if err != nil {
		return nil, err
	}
	var s api.Scale
	if err := c.decode("get", path, data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Scale sets the desired replicas of the object named by obj's namespace
// and name through its scale subresource, whatever its resourceVersion,
// and returns the new Scale. Only spec.replicas changes.
func (c *Client) Scale(ctx context.Context, obj api.Object, replicas int32, opts ...WriteOption) (*api.Scale, error) {
	k, err := c.kindOf("patch", obj)
	if err != nil {
		return nil, err
	}
	m := obj.GetObjectMeta()
	path, err := c.objectPath("patch", k, m.Namespace, m.Name, "scale")
	if err != nil {
		return nil, err
	}
	o := writeOptions(opts)
	data, err := c.do(ctx, &request{verb: "patch", method: http.MethodPatch, path: path, query: o.query(),
		body: fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas), contentType: string(MergePatch)})
	if err != nil {
		return nil, err
	}
	var s api.Scale
	if err := c.decode("patch", path, data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// LogOptions are the options of Logs.
type LogOptions struct {
	// Container names the container; it may be empty for a pod with one.
	Container string
	// Follow streams the log as it grows, until the ctx ends, the reader
	// is closed or the container stops.
	Follow bool
	// Previous returns the log of the container's previous run.
	Previous bool
	// Timestamps prefixes each line with its time.
	Timestamps bool
	// SinceSeconds, if positive, starts that many seconds back; SinceTime,
	// if not zero, at that time. Set at most one.
	SinceSeconds int64
	SinceTime    time.Time
	// TailLines, if not nil, starts that many lines from the end.
	TailLines *int64
	// LimitBytes, if positive, stops after that many bytes.
	LimitBytes int64
}

func (o *LogOptions) query() url.Values {
	q := url.Values{}
	set := func(k string, b bool) {
		if b {
			q.Set(k, "true")
		}
	}
	if o.Container != "" {
		q.Set("container", o.Container)
	}
	set("follow", o.Follow)
	set("previous", o.Previous)
	set("timestamps", o.Timestamps)
	if o.SinceSeconds > 0 {
		q.Set("sinceSeconds", strconv.FormatInt(o.SinceSeconds, 10))
	}
	if !o.SinceTime.IsZero() {
		q.Set("sinceTime", o.SinceTime.UTC().Format(time.RFC3339))
	}
	if o.TailLines != nil {
		q.Set("tailLines", strconv.FormatInt(*o.TailLines, 10))
	}
	if o.LimitBytes > 0 {
		q.Set("limitBytes", strconv.FormatInt(o.LimitBytes, 10))
	}
	return q
}

// Logs returns the log of a container of the pod namespace/name, as the
// node agent serves it. The caller must close the reader; closing it, or
// the end of ctx, ends a Follow. Config.Timeout does not apply.
func (c *Client) Logs(ctx context.Context, namespace, pod string, opts LogOptions) (io.ReadCloser, error) {
	path, err := c.objectPath("get", podKind, namespace, pod, "log")
	if err != nil {
		return nil, err
	}
	resp, err := c.send(ctx, &request{verb: "get", method: http.MethodGet, path: path, query: opts.query()}, true)
	if err != nil {
		return nil, err
	}
	return &streamBody{ReadCloser: resp.stream, cancel: resp.cancel}, nil
}

// streamBody is a response body that ends its request when closed.
type streamBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *streamBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
