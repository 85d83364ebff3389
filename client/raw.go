package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// GetRaw sends GET path to the server and returns the body of its 2xx
// response, as is. path is absolute, with an optional query, such as
// /drover/v1/scheduling/namespaces/default/pods/web-0: it is for the
// server's endpoints outside the API's resources. The request goes the way
// every other does (the server's URL, TLS, bearer token, or the
// in-process transport), with the same timeout and retries; a response
// other than 2xx is returned as an *api.StatusError, whose Status is the
// body's when the body is one.
func (c *Client) GetRaw(ctx context.Context, path string) ([]byte, error) {
	u, err := url.Parse(path)
	if err != nil || !strings.HasPrefix(path, "/") || u.Scheme != "" || u.Host != "" {
		return nil, fmt.Errorf("client: GetRaw: path %q is not an absolute path such as /drover/v1/snapshot", path)
	}
	return c.do(ctx, &request{verb: "get", method: http.MethodGet, path: u.Path, query: u.Query()})
}
