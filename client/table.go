package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/drover-io/drover/api"
)

// Table is a meta.k8s.io/v1 Table: the server's printing of objects, the
// columns of `kubectl get` and one row of cells per object.
type Table struct {
	Metadata          api.ListMeta            `json:"metadata"`
	ColumnDefinitions []TableColumnDefinition `json:"columnDefinitions"`
	Rows              []TableRow              `json:"rows"`
}

// TableColumnDefinition is a column of a Table.
type TableColumnDefinition struct {
	// Name is the heading, such as "Name" or "Nominated Node".
	Name string `json:"name"`
	// Type is string, integer, number or boolean.
	Type string `json:"type"`
	// Format is "name" for the object's name column, "date" for a time.
	Format string `json:"format"`
	// Priority 0 columns are always shown, the others with -o wide.
	Priority int32 `json:"priority"`
}

// TableRow is one object's row.
type TableRow struct {
	// Cells holds a value per column: a string, a number or a boolean.
	Cells []any `json:"cells"`
	// Object is the object's metadata (a PartialObjectMetadata).
	Object struct {
		Metadata api.ObjectMeta `json:"metadata"`
	} `json:"object"`
}

// tableAccept asks for a Table, and says the client takes nothing else.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io"

// Table asks the server to print the object named name of the kind k
// (namespace "" for a cluster-scoped kind), or the objects opts select when
// name is "", as a Table: what `drover get` and `kubectl get` print. It is
// one GET, not retried; errors are a *api.StatusError as for Get.
func (c *Client) Table(ctx context.Context, k api.Kind, name string, opts ...ListOption) (*Table, error) {
	o := listOptions(opts)
	var path string
	var err error
	if name != "" {
		path, err = c.objectPath("get", k, o.Namespace, name, "")
	} else {
		path, err = collectionPath("list", k, o.Namespace)
	}
	if err != nil {
		return nil, err
	}
	u := *c.base
	u.Path = c.base.Path + path
	q := url.Values{}
	if name == "" {
		q = o.query(false)
	}
	q.Set("includeObject", "Metadata")
	u.RawQuery = q.Encode()
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("client: get %s: %w", path, err)
	}
	req.Header.Set("Accept", tableAccept)
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.metrics.observe("get", "error", time.Since(start))
		return nil, &transportError{verb: "get", path: path, err: err}
	}
	data, err := readBody(resp)
	_ = resp.Body.Close()
	c.metrics.observe("get", fmt.Sprint(resp.StatusCode), time.Since(start))
	if err != nil {
		return nil, &transportError{verb: "get", path: path, err: fmt.Errorf("read the response: %w", err)}
	}
	if resp.StatusCode/100 != 2 {
		return nil, statusError(resp.StatusCode, data)
	}
	var t Table
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("client: get %s: decode the Table: %w", path, err)
	}
	return &t, nil
}
