package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/drover-io/drover/api"
)

// Finalize replaces the spec.finalizers of the Namespace ns.Name with
// ns.Spec.Finalizers through the finalize subresource (PUT
// /api/v1/namespaces/<name>/finalize), the only way to change them, and
// updates ns with the result. The rest of ns is not used, but a non-empty
// resourceVersion must be the stored one (api.ErrConflict otherwise). A
// namespace being deleted that is left with no spec.finalizers and no
// metadata.finalizers is removed by the server; ns then holds it as last
// stored. The namespace controller calls it to remove "kubernetes" once a
// terminating namespace is empty.
func (c *Client) Finalize(ctx context.Context, ns *api.Namespace, opts ...WriteOption) error {
	if ns == nil {
		return errors.New("client: finalize: the Namespace is nil")
	}
	k, err := c.kindOf("finalize", ns)
	if err != nil {
		return err
	}
	path, err := c.objectPath("finalize", k, "", ns.Name, "finalize")
	if err != nil {
		return err
	}
	body, err := c.scheme.Encode(ns)
	if err != nil {
		return fmt.Errorf("client: finalize %s: %w", path, err)
	}
	o := writeOptions(opts)
	data, err := c.do(ctx, &request{verb: "finalize", method: http.MethodPut, path: path, query: o.query(),
		body: body, contentType: "application/json"})
	if err != nil {
		return err
	}
	return c.decode("finalize", path, data, ns)
}
