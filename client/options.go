package client

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/api/labels"
)

// ListOptions are the options of List, Watch and DeleteAllOf. Pass the
// struct itself, or the shorthands InNamespace, MatchingLabels and
// MatchingFields; later options override earlier ones field by field.
type ListOptions struct {
	// Namespace limits the list to one namespace; "" lists across all
	// namespaces (and is the only value for cluster-scoped kinds).
	Namespace string
	// LabelSelector and FieldSelector pick the objects; the zero values
	// match everything.
	LabelSelector labels.Selector
	FieldSelector fields.Selector
	// Limit, if positive, is the most objects a List returns; the list's
	// Continue is then set if more follow. Not for Watch.
	Limit int64
	// Continue is the Continue of the previous page. Not for Watch.
	Continue string
	// ResourceVersion: for List, "" reads the latest state, "0" any
	// state (possibly stale, cheaper), and a revision a state not older
	// than it (or exactly it, with ResourceVersionMatch "Exact"). For
	// Watch, "" and "0" start with the current state as ADDED events; a
	// revision (usually a list's) streams the changes after it.
	ResourceVersion string
	// ResourceVersionMatch is "", "NotOlderThan" or "Exact". Not for Watch.
	ResourceVersionMatch string
	// AllowBookmarks asks a Watch for BOOKMARK events, which tell an
	// idle watcher the revision it is up to date with.
	AllowBookmarks bool
	// TimeoutSeconds, if positive, asks the server to end a Watch after
	// that many seconds.
	TimeoutSeconds int64
}

// ListOption changes ListOptions.
type ListOption interface {
	ApplyToList(*ListOptions)
}

// ApplyToList sets the fields of o that are not zero in dst.
func (o ListOptions) ApplyToList(dst *ListOptions) {
	if o.Namespace != "" {
		dst.Namespace = o.Namespace
	}
	if !o.LabelSelector.Empty() {
		dst.LabelSelector = o.LabelSelector
	}
	if !o.FieldSelector.Empty() {
		dst.FieldSelector = o.FieldSelector
	}
	if o.Limit != 0 {
		dst.Limit = o.Limit
	}
	if o.Continue != "" {
		dst.Continue = o.Continue
	}
	if o.ResourceVersion != "" {
		dst.ResourceVersion = o.ResourceVersion
	}
	if o.ResourceVersionMatch != "" {
		dst.ResourceVersionMatch = o.ResourceVersionMatch
	}
	if o.AllowBookmarks {
		dst.AllowBookmarks = true
	}
	if o.TimeoutSeconds != 0 {
		dst.TimeoutSeconds = o.TimeoutSeconds
	}
}

func (o *ListOptions) query(watch bool) url.Values {
	q := url.Values{}
	if s := o.LabelSelector.String(); s != "" {
		q.Set("labelSelector", s)
	}
	if s := o.FieldSelector.String(); s != "" {
		q.Set("fieldSelector", s)
	}
	if o.Limit != 0 {
		q.Set("limit", strconv.FormatInt(o.Limit, 10))
	}
	if o.Continue != "" {
		q.Set("continue", o.Continue)
	}
	if o.ResourceVersion != "" {
		q.Set("resourceVersion", o.ResourceVersion)
	}
	if o.ResourceVersionMatch != "" {
		q.Set("resourceVersionMatch", o.ResourceVersionMatch)
	}
	if watch {
		q.Set("watch", "true")
		if o.AllowBookmarks {
			q.Set("allowWatchBookmarks", "true")
		}
		if o.TimeoutSeconds > 0 {
			q.Set("timeoutSeconds", strconv.FormatInt(o.TimeoutSeconds, 10))
		}
	}
	return q
}

func listOptions(opts []ListOption) ListOptions {
	var o ListOptions
	for _, opt := range opts {
		opt.ApplyToList(&o)
	}
	return o
}

// InNamespace limits a List, Watch or DeleteAllOf to one namespace.
type InNamespace string

// ApplyToList sets the namespace.
func (n InNamespace) ApplyToList(o *ListOptions) { o.Namespace = string(n) }

// MatchingLabels selects the objects that have all these labels.
type MatchingLabels map[string]string

// ApplyToList sets the label selector. Labels that are not valid keys or
// values give a selector that matches nothing.
func (m MatchingLabels) ApplyToList(o *ListOptions) {
	o.LabelSelector = labels.SelectorFromSet(labels.Set(m))
}

// MatchingFields selects the objects whose fields have these values, such
// as {"spec.nodeName": "node-1"}.
type MatchingFields map[string]string

// ApplyToList sets the field selector.
func (m MatchingFields) ApplyToList(o *ListOptions) {
	o.FieldSelector = fields.SelectorFromSet(fields.Set(m))
}

// WriteOptions are the options of Create, Update, UpdateStatus, Patch and
// PatchStatus.
type WriteOptions struct {
	// DryRun asks the server to validate and admit the write, and answer
	// with the result, without storing it.
	DryRun bool
	// FieldManager names the writer, for server-side field ownership.
	FieldManager string
	// DiscardResult: the server's answer (the object as stored) is not
	// decoded into the object passed, which keeps what was sent. For a
	// writer that never reads it back, such as an event recorder, this
	// saves a JSON decode per write; errors are reported as usual.
	DiscardResult bool
}

// WriteOption changes WriteOptions.
type WriteOption interface {
	ApplyToWrite(*WriteOptions)
}

// ApplyToWrite sets the fields of o that are not zero in dst.
func (o WriteOptions) ApplyToWrite(dst *WriteOptions) {
	if o.DryRun {
		dst.DryRun = true
	}
	if o.FieldManager != "" {
		dst.FieldManager = o.FieldManager
	}
	if o.DiscardResult {
		dst.DiscardResult = true
	}
}

func (o *WriteOptions) query() url.Values {
	q := url.Values{}
	if o.DryRun {
		q.Set("dryRun", "All")
	}
	if o.FieldManager != "" {
		q.Set("fieldManager", o.FieldManager)
	}
	return q
}

func writeOptions(opts []WriteOption) WriteOptions {
	var o WriteOptions
	for _, opt := range opts {
		opt.ApplyToWrite(&o)
	}
	return o
}

// DryRunAll makes a write or a delete a dry run: the server checks it and
// answers as if it happened, but stores nothing.
var DryRunAll dryRunAll

type dryRunAll struct{}

// ApplyToWrite sets DryRun.
func (dryRunAll) ApplyToWrite(o *WriteOptions) { o.DryRun = true }

// ApplyToDelete sets DryRun.
func (dryRunAll) ApplyToDelete(o *DeleteOptions) { o.DryRun = true }

// DiscardResult makes Create, Update, UpdateStatus, Patch and
// PatchStatus leave the object passed as it is instead of decoding the
// stored object into it (see WriteOptions.DiscardResult).
var DiscardResult discardResult

type discardResult struct{}

// ApplyToWrite sets DiscardResult.
func (discardResult) ApplyToWrite(o *WriteOptions) { o.DiscardResult = true }

// DeletionPropagation says what happens to an object's dependents when it
// is deleted.
type DeletionPropagation string

// The propagation policies.
const (
	// DeletePropagationOrphan leaves the dependents.
	DeletePropagationOrphan DeletionPropagation = "Orphan"
	// DeletePropagationBackground deletes the object at once and its
	// dependents after, in the background.
	DeletePropagationBackground DeletionPropagation = "Background"
	// DeletePropagationForeground deletes the dependents first.
	DeletePropagationForeground DeletionPropagation = "Foreground"
)

// Preconditions must hold for a delete to happen; otherwise it fails with
// a Conflict.
type Preconditions struct {
	// UID, if set, must be the object's: the delete does not hit an
	// object re-created under the same name.
	UID api.UID
	// ResourceVersion, if set, must be the object's: nobody changed it
	// since it was read.
	ResourceVersion string
}

// DeleteOptions are the options of Delete and DeleteAllOf.
type DeleteOptions struct {
	// Preconditions, if set, must hold.
	Preconditions *Preconditions
	// GracePeriodSeconds is how long the object may take to go away
	// (pods); nil means the kind's default.
	GracePeriodSeconds *int64
	// PropagationPolicy is what happens to dependents; "" means the kind's
	// default.
	PropagationPolicy DeletionPropagation
	// DryRun asks the server to check the delete without doing it.
	DryRun bool
}

// DeleteOption changes DeleteOptions.
type DeleteOption interface {
	ApplyToDelete(*DeleteOptions)
}

// ApplyToDelete sets the fields of o that are not zero in dst.
func (o DeleteOptions) ApplyToDelete(dst *DeleteOptions) {
	if o.Preconditions != nil {
		dst.Preconditions = o.Preconditions
	}
	if o.GracePeriodSeconds != nil {
		dst.GracePeriodSeconds = o.GracePeriodSeconds
	}
	if o.PropagationPolicy != "" {
		dst.PropagationPolicy = o.PropagationPolicy
	}
	if o.DryRun {
		dst.DryRun = true
	}
}

// wire returns the DeleteOptions object sent with a DELETE (and in an
// Eviction), or nil if every option is zero.
func (o *DeleteOptions) wire() *api.DeleteOptions {
	if o.Preconditions == nil && o.GracePeriodSeconds == nil && o.PropagationPolicy == "" && !o.DryRun {
		return nil
	}
	w := &api.DeleteOptions{
		TypeMeta:           api.TypeMeta{Kind: "DeleteOptions", APIVersion: "v1"},
		GracePeriodSeconds: o.GracePeriodSeconds,
	}
	if p := o.Preconditions; p != nil {
		w.Preconditions = &api.Preconditions{}
		if p.UID != "" {
			uid := p.UID
			w.Preconditions.UID = &uid
		}
		if p.ResourceVersion != "" {
			rv := p.ResourceVersion
			w.Preconditions.ResourceVersion = &rv
		}
	}
	if o.PropagationPolicy != "" {
		pp := string(o.PropagationPolicy)
		w.PropagationPolicy = &pp
	}
	if o.DryRun {
		w.DryRun = []string{"All"}
	}
	return w
}

func deleteOptions(opts []DeleteOption) DeleteOptions {
	var o DeleteOptions
	for _, opt := range opts {
		opt.ApplyToDelete(&o)
	}
	return o
}

// PatchType is the media type of a patch.
type PatchType string

// The patch types the API server takes.
const (
	// MergePatch is a JSON merge patch (RFC 7386): the fields given
	// replace the object's, null removes one, lists are replaced whole.
	MergePatch PatchType = "application/merge-patch+json"
	// StrategicMergePatch is a merge patch that merges lists of the
	// built-in kinds by their keys (containers by name, ...).
	StrategicMergePatch PatchType = "application/strategic-merge-patch+json"
	// JSONPatch is a list of operations (RFC 6902), such as
	// [{"op":"replace","path":"/spec/replicas","value":3}].
	JSONPatch PatchType = "application/json-patch+json"
)

// MergePatchFrom returns the JSON merge patch that turns original into
// modified, two objects of the same kind: what a controller sends with
// MergePatch to change only the fields it touched, without a
// resourceVersion and so without conflicts with other writers.
//
//	before := api.DeepCopy(pod)
//	pod.Status.Phase = api.PodRunning
//	patch, err := client.MergePatchFrom(before, pod)
//	err = c.PatchStatus(ctx, pod, client.MergePatch, patch)
func MergePatchFrom(original, modified api.Object) ([]byte, error) {
	a, err := json.Marshal(original)
	if err != nil {
		return nil, fmt.Errorf("client: merge patch: encode the original: %w", err)
	}
	b, err := json.Marshal(modified)
	if err != nil {
		return nil, fmt.Errorf("client: merge patch: encode the modified object: %w", err)
	}
	patch, err := jsonpatch.CreateMergePatch(a, b)
	if err != nil {
		return nil, fmt.Errorf("client: merge patch: %w", err)
	}
	return patch, nil
}
