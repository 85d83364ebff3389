package client_test

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// TestGetRawHTTP checks GetRaw over TLS with a bearer token: the path and
// query sent, the body returned as is, and the errors of other codes.
func TestGetRawHTTP(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/drover/v1/thing":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"q":"` + r.URL.Query().Get("q") + `"}`))
		case "/drover/v1/status":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(api.NewStatusError(http.StatusServiceUnavailable, api.StatusReasonServiceUnavailable, "not the leader").Status)
		default:
			http.Error(w, "404 page not found", http.StatusNotFound)
		}
	}))
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	c, err := client.New(client.Config{Host: srv.URL, BearerToken: "secret", TLS: client.TLSConfig{CAData: ca},
		Retry: client.RetryPolicy{MaxAttempts: 1}})
	require.NoError(t, err)
	ctx := ctxT(t)

	body, err := c.GetRaw(ctx, "/drover/v1/thing?q=a%20b")
	require.NoError(t, err)
	require.JSONEq(t, `{"q":"a b"}`, string(body))

	_, err = c.GetRaw(ctx, "/drover/v1/status")
	se, ok := errors.AsType[*api.StatusError](err)
	require.True(t, ok, "err %v: want a StatusError", err)
	require.Equal(t, int32(http.StatusServiceUnavailable), se.Status.Code)
	require.Equal(t, "not the leader", se.Status.Message)
	require.ErrorIs(t, err, api.ErrServiceUnavailable)

	_, err = c.GetRaw(ctx, "/drover/v1/missing")
	require.True(t, api.IsNotFound(err), "a plain 404: %v, want NotFound", err)
	require.ErrorContains(t, err, "404 page not found")

	for _, bad := range []string{"drover/v1/thing", "//other.example/x", "https://other.example/x"} {
		_, err := c.GetRaw(ctx, bad)
		require.ErrorContains(t, err, "is not an absolute path", "path %q", bad)
	}
}

// TestGetRawInProcess checks GetRaw over the API server's in-process
// transport.
func TestGetRawInProcess(t *testing.T) {
	e := newEnv(t)
	c := e.inProcess(t)
	body, err := c.GetRaw(ctxT(t), "/api/v1/namespaces/default")
	require.NoError(t, err)
	var ns api.Namespace
	require.NoError(t, json.Unmarshal(body, &ns))
	require.Equal(t, "default", ns.Name)
	_, err = c.GetRaw(ctxT(t), "/api/v1/namespaces/nope")
	require.True(t, api.IsNotFound(err), "err %v, want NotFound", err)
	require.True(t, strings.Contains(err.Error(), "nope"), "err %v names no namespace", err)
}
