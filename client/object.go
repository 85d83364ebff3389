package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	"github.com/drover-io/drover/api"
)

// Get reads the object named name in namespace ("" for cluster-scoped
// kinds) into obj, whose Go type says the kind:
//
//	var pod api.Pod
//	err := c.Get(ctx, "default", "web", &pod)
//	if errors.Is(err, api.ErrNotFound) { ... }
func (c *Client) Get(ctx context.Context, namespace, name string, obj api.Object) error {
	k, err := c.kindOf("get", obj)
	if err != nil {
		return err
	}
	path, err := c.objectPath("get", k, namespace, name, "")
	if err != nil {
		return err
	}
	data, err := c.do(ctx, &request{verb: "get", method: http.MethodGet, path: path})
	if err != nil {
		return err
	}
	return c.decode("get", path, data, obj)
}

// List reads the objects of list's kind into list (an *api.PodList, an
// *api.List[Widget]):
//
//	var pods api.PodList
//	err := c.List(ctx, &pods, client.InNamespace("default"), client.MatchingLabels{"app": "web"})
//
// With a Limit, pass the list's Continue back to get the next page.
func (c *Client) List(ctx context.Context, list api.ListObject, opts ...ListOption) error {
	k, err := c.listKindOf("list", list)
	if err != nil {
		return err
	}
	o := listOptions(opts)
	path, err := collectionPath("list", k, o.Namespace)
	if err != nil {
		return err
	}
	data, err := c.do(ctx, &request{verb: "list", method: http.MethodGet, path: path, query: o.query(false)})
	if err != nil {
		return err
	}
	return c.decode("list", path, data, list)
}

// Create creates obj, in its namespace for a namespaced kind, and updates
// obj with what the server stored (uid, resourceVersion, defaults, a name
// made from generateName).
func (c *Client) Create(ctx context.Context, obj api.Object, opts ...WriteOption) error {
	return c.create(ctx, obj, obj, writeOptions(opts))
}

func (c *Client) create(ctx context.Context, in, out api.Object, o WriteOptions) error {
	k, err := c.kindOf("create", in)
	if err != nil {
		return err
	}
	m := in.GetObjectMeta()
	if k.Namespaced && m.Namespace == "" {
		return fmt.Errorf("client: create %s %q: metadata.namespace is empty: %s is a namespaced kind", k.Kind, nameOf(m), k.Kind)
	}
	body, err := c.scheme.Encode(in)
	if err != nil {
		return fmt.Errorf("client: create %s %q: %w", k.Kind, nameOf(m), err)
	}
	path, err := collectionPath("create", k, m.Namespace)
	if err != nil {
		return err
	}
	data, err := c.do(ctx, &request{verb: "create", method: http.MethodPost, path: path, query: o.query(),
		body: body, contentType: "application/json"})
	if err != nil {
		return err
	}
	if o.DiscardResult {
		return nil
	}
	return c.decode("create", path, data, out)
}

// Update replaces obj's spec and metadata with obj and updates obj with
// the result. obj's resourceVersion makes it a compare-and-swap: if the
// object changed since obj was read the update fails with api.ErrConflict
// (see RetryOnConflict). Changes to the status are ignored by the server;
// use UpdateStatus.
func (c *Client) Update(ctx context.Context, obj api.Object, opts ...WriteOption) error {
	return c.update(ctx, "update", "", obj, obj, writeOptions(opts))
}

// UpdateStatus replaces obj's status through the status subresource and
// updates obj with the result; only the status changes. Like Update it
// fails with api.ErrConflict if obj is stale.
func (c *Client) UpdateStatus(ctx context.Context, obj api.Object, opts ...WriteOption) error {
	return c.update(ctx, "update", "status", obj, obj, writeOptions(opts))
}

func (c *Client) update(ctx context.Context, verb, sub string, in, out api.Object, o WriteOptions) error {
	k, err := c.kindOf(verb, in)
	if err != nil {
		return err
	}
	m := in.GetObjectMeta()
	path, err := c.objectPath(verb, k, m.Namespace, m.Name, sub)
	if err != nil {
		return err
	}
	body, err := c.scheme.Encode(in)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", verb, path, err)
	}
	data, err := c.do(ctx, &request{verb: verb, method: http.MethodPut, path: path, query: o.query(),
		body: body, contentType: "application/json"})
	if err != nil {
		return err
	}
	if o.DiscardResult {
		return nil
	}
	return c.decode(verb, path, data, out)
}

// Patch applies the patch data, of type pt, to the object named by obj's
// namespace and name, and updates obj with the result. The server applies
// it to the current object, so no resourceVersion is needed unless the
// patch sets one (then a stale one is a Conflict).
//
//	err := c.Patch(ctx, &deploy, client.MergePatch, []byte(`{"spec":{"replicas":3}}`))
func (c *Client) Patch(ctx context.Context, obj api.Object, pt PatchType, data []byte, opts ...WriteOption) error {
	m := obj.GetObjectMeta()
	return c.patch(ctx, "", m.Namespace, m.Name, pt, data, obj, writeOptions(opts))
}

// PatchStatus is Patch on the status subresource: only the status changes.
func (c *Client) PatchStatus(ctx context.Context, obj api.Object, pt PatchType, data []byte, opts ...WriteOption) error {
	m := obj.GetObjectMeta()
	return c.patch(ctx, "status", m.Namespace, m.Name, pt, data, obj, writeOptions(opts))
}

func (c *Client) patch(ctx context.Context, sub, namespace, name string, pt PatchType, patch []byte, out api.Object, o WriteOptions) error {
	k, err := c.kindOf("patch", out)
	if err != nil {
		return err
	}
	path, err := c.objectPath("patch", k, namespace, name, sub)
	if err != nil {
		return err
	}
	if pt == "" {
		return fmt.Errorf("client: patch %s: the patch type is empty: use MergePatch, StrategicMergePatch or JSONPatch", path)
	}
	data, err := c.do(ctx, &request{verb: "patch", method: http.MethodPatch, path: path, query: o.query(),
		body: patch, contentType: string(pt)})
	if err != nil {
		return err
	}
	if o.DiscardResult {
		return nil
	}
	return c.decode("patch", path, data, out)
}

// Delete deletes the object named by obj's namespace and name. obj is not
// changed. An object with finalizers is not gone when Delete returns: the
// server sets its deletionTimestamp and the finalizers' owners remove it.
func (c *Client) Delete(ctx context.Context, obj api.Object, opts ...DeleteOption) error {
	k, err := c.kindOf("delete", obj)
	if err != nil {
		return err
	}
	m := obj.GetObjectMeta()
	return c.delete(ctx, k, m.Namespace, m.Name, deleteOptions(opts))
}

func (c *Client) delete(ctx context.Context, k api.Kind, namespace, name string, o DeleteOptions) error {
	path, err := c.objectPath("delete", k, namespace, name, "")
	if err != nil {
		return err
	}
	r := &request{verb: "delete", method: http.MethodDelete, path: path}
	if b := o.wire(); b != nil {
		if r.body, err = json.Marshal(b); err != nil {
			return fmt.Errorf("client: delete %s: %w", path, err)
		}
		r.contentType = "application/json"
	}
	if o.DryRun {
		r.query = url.Values{"dryRun": {"All"}}
	}
	_, err = c.do(ctx, r)
	return err
}

// DeleteAllOf deletes the objects of list's kind that opts select (the
// server's deletecollection), each with del, in opts.Namespace (required
// for namespaced kinds, as the server deletes one namespace at a time).
// list is used for its type only.
func (c *Client) DeleteAllOf(ctx context.Context, list api.ListObject, opts ListOptions, del DeleteOptions) error {
	k, err := c.listKindOf("deletecollection", list)
	if err != nil {
		return err
	}
	if k.Namespaced && opts.Namespace == "" {
		return fmt.Errorf("client: deletecollection %s: ListOptions.Namespace is empty: %s is a namespaced kind", k.Resource, k.Kind)
	}
	path, err := collectionPath("deletecollection", k, opts.Namespace)
	if err != nil {
		return err
	}
	r := &request{verb: "deletecollection", method: http.MethodDelete, path: path, query: opts.query(false)}
	if b := del.wire(); b != nil {
		if r.body, err = json.Marshal(b); err != nil {
			return fmt.Errorf("client: deletecollection %s: %w", path, err)
		}
		r.contentType = "application/json"
	}
	if del.DryRun {
		r.query.Set("dryRun", "All")
	}
	_, err = c.do(ctx, r)
	return err
}

// kindOf returns the registered kind of obj's Go type.
func (c *Client) kindOf(verb string, obj api.Object) (api.Kind, error) {
	k, err := c.scheme.ObjectKind(obj)
	if err != nil {
		return k, fmt.Errorf("client: %s: %w", verb, err)
	}
	return k, nil
}

// listKindOf returns the registered kind whose list type is list's.
func (c *Client) listKindOf(verb string, list api.ListObject) (api.Kind, error) {
	k, err := c.scheme.ListKind(list)
	if err != nil {
		return k, fmt.Errorf("client: %s: %w", verb, err)
	}
	return k, nil
}

// objectPath returns the path of a named object (or its subresource),
// checking that the name, the namespace and the subresource make sense for
// the kind.
func (c *Client) objectPath(verb string, k api.Kind, namespace, name, sub string) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("client: %s %s: the name is empty", verb, k.Kind)
	case !validSegment(name):
		return "", fmt.Errorf("client: %s %s %q: the name cannot be a path segment (no \"/\", \"%%\", \".\" or \"..\")", verb, k.Kind, name)
	case k.Namespaced && !validSegment(namespace) && namespace != "":
		return "", fmt.Errorf("client: %s %s %q: the namespace %q cannot be a path segment", verb, k.Kind, name, namespace)
	case k.Namespaced && namespace == "":
		return "", fmt.Errorf("client: %s %s %q: the namespace is empty: %s is a namespaced kind", verb, k.Kind, name, k.Kind)
	case sub != "" && !k.HasSubresource(sub):
		return "", fmt.Errorf("client: %s %s %q: kind %s has no %s subresource", verb, k.Kind, name, k.Kind, sub)
	}
	return resourcePath(k, namespace, name, sub), nil
}

// collectionPath returns the path of a kind's collection in namespace.
func collectionPath(verb string, k api.Kind, namespace string) (string, error) {
	if k.Namespaced && namespace != "" && !validSegment(namespace) {
		return "", fmt.Errorf("client: %s %s: the namespace %q cannot be a path segment", verb, k.Resource, namespace)
	}
	return resourcePath(k, namespace, "", ""), nil
}

// validSegment reports whether s can be a segment of a URL path as is, as
// the API server requires of names.
func validSegment(s string) bool {
	return s != "." && s != ".." && !strings.ContainsAny(s, "/%")
}

// resourcePath returns the path of a kind's collection (name ""), of one
// object, or of its subresource, unescaped (url.URL.Path). namespace is
// ignored for cluster-scoped kinds, and "" lists a namespaced kind across
// namespaces.
func resourcePath(k api.Kind, namespace, name, sub string) string {
	var b strings.Builder
	if k.Group == "" {
		b.WriteString("/api/" + k.Version)
	} else {
		b.WriteString("/apis/" + k.Group + "/" + k.Version)
	}
	if k.Namespaced && namespace != "" {
		b.WriteString("/namespaces/" + namespace)
	}
	b.WriteString("/" + k.Resource)
	if name != "" {
		b.WriteString("/" + name)
	}
	if sub != "" {
		b.WriteString("/" + sub)
	}
	return b.String()
}

// decode sets *into to the JSON data, leaving nothing of what into held.
// Unknown fields are ignored: a newer server may send fields this client
// does not know.
func (c *Client) decode(verb, path string, data []byte, into any) error {
	rv := reflect.ValueOf(into)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("client: %s %s: decode into %T: a non-nil pointer is required", verb, path, into)
	}
	fresh := reflect.New(rv.Type().Elem())
	if err := api.UnmarshalTrusted(data, fresh.Interface()); err != nil {
		return fmt.Errorf("client: %s %s: decode the response: %w", verb, path, err)
	}
	rv.Elem().Set(fresh.Elem())
	return nil
}

func nameOf(m *api.ObjectMeta) string {
	if m.Name == "" && m.GenerateName != "" {
		return m.GenerateName + "*"
	}
	return m.Name
}
