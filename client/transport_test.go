package client_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// TestTransportReusesConnections checks that the transport New builds
// keeps enough idle connections for a client with many requests in
// flight: a second round of concurrent requests reuses the first round's
// connections instead of dialing (net/http's default keeps 2).
func TestTransportReusesConnections(t *testing.T) {
	const concurrent = 32
	var (
		dialed  atomic.Int64
		arrived = make(chan struct{}, concurrent)
		release = make(chan struct{})
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"default"}}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialed.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := client.New(client.Config{Host: srv.URL})
	require.NoError(t, err)

	round := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		errs := make(chan error, concurrent)
		for range concurrent {
			wg.Go(func() { errs <- c.Get(ctx, "default", "p", &api.Pod{}) })
		}
		// Every request holds its connection until all have arrived, so
		// the round needs concurrent connections at once.
		for range concurrent {
			select {
			case <-arrived:
			case <-ctx.Done():
				t.Fatal("the requests did not all arrive")
			}
		}
		for range concurrent {
			release <- struct{}{}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	}
	round()
	require.EqualValues(t, concurrent, dialed.Load())
	round()
	require.EqualValues(t, concurrent, dialed.Load(), "the second round dialed new connections")
}
