package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
)

// failover is an http.RoundTripper that sends each request to one of
// several API servers of a cluster: the one that answered last, or, when
// that one refuses the connection (its member stopped), the next in turn.
// It is what a node agent needs to survive the loss of the member it
// talks to; in production a load balancer in front of the members, or a
// DNS name with several addresses, does the same job.
//
// A request is sent again only when it could not have reached the server:
// the connection was refused. A request whose body cannot be replayed
// (no GetBody) is sent once. Safe for concurrent use.
type failover struct {
	servers []*url.URL
	next    http.RoundTripper

	mu  sync.Mutex
	cur int // index in servers of the one that answered last
}

// newFailover returns a failover over the API server URLs (http://host:port),
// preferring the first, sending through next (nil: a clone of
// http.DefaultTransport).
func newFailover(servers []string, next http.RoundTripper) (*failover, error) {
	if len(servers) == 0 {
		return nil, errors.New("failover: no API server URL: give at least one")
	}
	f := &failover{next: next}
	if f.next == nil {
		f.next = http.DefaultTransport.(*http.Transport).Clone()
	}
	for _, s := range servers {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("failover: API server URL %q: want http://HOST:PORT or https://HOST:PORT", s)
		}
		f.servers = append(f.servers, u)
	}
	return f, nil
}

// RoundTrip implements http.RoundTripper.
func (f *failover) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	first := f.cur
	f.mu.Unlock()
	replayable := r.Body == nil || r.Body == http.NoBody || r.GetBody != nil
	var errs []error
	for i := range f.servers {
		j := (first + i) % len(f.servers)
		req := r.Clone(r.Context())
		req.URL.Scheme, req.URL.Host = f.servers[j].Scheme, f.servers[j].Host
		req.Host = ""
		if i > 0 && r.GetBody != nil {
			body, err := r.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = body
		}
		resp, err := f.next.RoundTrip(req)
		if err == nil {
			if j != first {
				f.mu.Lock()
				f.cur = j
				f.mu.Unlock()
			}
			return resp, nil
		}
		errs = append(errs, err)
		if !refused(err) || !replayable || r.Context().Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// refused reports whether err is a failure to connect: the request never
// left this process, so another server may be asked.
func refused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
