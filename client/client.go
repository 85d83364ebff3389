package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/internal/readall"
)

// Clock is where the client gets the time from: the waits between retries
// and the age of a bearer token read from a file. Tests inject one that
// moves when they say so. Its methods are called from every goroutine that
// makes requests, so they must be safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives once d has passed, like
	// time.After. The client calls it to wait between retries.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Client talks to one API server. It is safe for concurrent use by many
// goroutines; make one per server and share it.
type Client struct {
	base      *url.URL
	hc        *http.Client
	scheme    *api.Scheme
	timeout   time.Duration
	retry     RetryPolicy
	log       *slog.Logger
	clock     Clock
	metrics   *metrics
	namespace string
}

// DefaultMaxIdleConnsPerHost is how many idle connections to the API
// server the transport New builds keeps open for reuse. Over HTTP/1.1 each
// request in flight needs a connection of its own: net/http's default of
// 2 makes a client with more concurrent requests than that (a scheduler
// binding pods, informers, controllers' workers) dial and close a TCP
// connection for most of them, which costs more CPU than the request.
const DefaultMaxIdleConnsPerHost = 256

// New returns a client for cfg. It makes no request.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	host := cfg.Host
	if host == "" {
		host = inProcessHost
	}
	base, err := parseHost(host)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:      base,
		scheme:    cfg.Scheme,
		timeout:   cfg.Timeout,
		retry:     cfg.Retry.withDefaults(),
		log:       cfg.Logger,
		clock:     cfg.Clock,
		namespace: cfg.Namespace,
	}
	if c.scheme == nil {
		c.scheme = api.NewDefaultScheme()
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = systemClock{}
	}
	if cfg.Registerer != nil {
		if c.metrics, err = newMetrics(cfg.Registerer); err != nil {
			return nil, err
		}
	}
	rt := cfg.Transport
	if rt == nil {
		tc, err := cfg.TLS.tlsConfig()
		if err != nil {
			return nil, err
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tc
		t.ForceAttemptHTTP2 = true
		t.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
		t.MaxIdleConns = max(t.MaxIdleConns, DefaultMaxIdleConnsPerHost)
		rt = t
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "drover-client"
	}
	var tok *tokenSource
	if cfg.BearerToken != "" || cfg.BearerTokenFile != "" {
		tok = &tokenSource{token: cfg.BearerToken, file: cfg.BearerTokenFile, clock: c.clock}
		if cfg.BearerToken == "" {
			if _, err := tok.get(); err != nil {
				return nil, err
			}
		}
	}
	c.hc = &http.Client{
		Transport: &headerTransport{next: rt, userAgent: ua, token: tok},
		// Redirects are not part of the API; a 3xx is reported as is.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// Scheme returns the scheme the client maps Go types with.
func (c *Client) Scheme() *api.Scheme { return c.scheme }

// Namespace returns Config.Namespace: the namespace of the kubeconfig
// context, or "".
func (c *Client) Namespace() string { return c.namespace }

// headerTransport adds the User-Agent and the bearer token to every request.
// It sets them on the request itself, which a RoundTripper in general must
// not change: it only ever sees the client's own requests, each built
// afresh for one attempt and not used after it, so the copy that would
// protect the caller (the whole request, headers and all) is saved.
type headerTransport struct {
	next      http.RoundTripper
	userAgent string
	token     *tokenSource
}

func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", t.userAgent)
	}
	if t.token != nil && req.Header.Get("Authorization") == "" {
		tok, err := t.token.get()
		if err != nil {
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return t.next.RoundTrip(req)
}

// tokenRefresh is how long a token read from a file is used before the
// file is read again.
const tokenRefresh = time.Minute

// tokenSource gives the bearer token: a fixed one, or the content of a
// file, read again once a minute.
type tokenSource struct {
	file  string
	clock Clock

	mu     sync.Mutex
	token  string
	readAt time.Time
}

func (s *tokenSource) get() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == "" || (s.token != "" && s.readAt.IsZero()) {
		return s.token, nil // a fixed token
	}
	now := s.clock.Now()
	if s.token != "" && now.Sub(s.readAt) < tokenRefresh {
		return s.token, nil
	}
	data, err := os.ReadFile(s.file)
	tok := strings.TrimSpace(string(data))
	switch {
	case err == nil && tok != "":
		s.token, s.readAt = tok, now
	case s.token != "":
		// Keep the last good token; the file may be mid-rotation.
		s.readAt = now
	case err != nil:
		return "", fmt.Errorf("client: read the bearer token file: %w", err)
	default:
		return "", fmt.Errorf("client: the bearer token file %s is empty", s.file)
	}
	return s.token, nil
}

// request is one API request, before it is sent.
type request struct {
	verb        string // the Kubernetes verb, for errors and metrics: get, list, watch, create, ...
	method      string
	path        string // absolute path under the base URL, such as /api/v1/namespaces/default/pods
	query       url.Values
	body        []byte
	contentType string
	noRetry     bool // a write that must not be repeated even when the server asks (an eviction's 429 is a refusal)
}

// idempotent reports whether sending r twice is the same as once.
func (r *request) idempotent() bool {
	return r.method == http.MethodGet || r.method == http.MethodHead
}

func (r *request) String() string {
	s := r.verb + " " + r.path
	if q := r.query.Encode(); q != "" {
		s += "?" + q
	}
	return s
}

// do sends r, retrying per the policy, and returns the body of the 2xx
// response. Every other response is a *api.StatusError; transport errors
// are wrapped with the verb and the path.
func (c *Client) do(ctx context.Context, r *request) ([]byte, error) {
	resp, err := c.send(ctx, r, false)
	if err != nil {
		return nil, err
	}
	return resp.body, nil
}

// response is what one successful attempt returned. For a stream, body is
// nil and stream is the open body, which the caller must close.
type response struct {
	body   []byte
	stream io.ReadCloser
	cancel context.CancelFunc // for a stream: ends it
}

// send runs the attempts of r. With stream, the body of a 2xx response is
// returned open, and no timeout applies.
func (c *Client) send(ctx context.Context, r *request, stream bool) (*response, error) {
	var last error
	for attempt := 1; ; attempt++ {
		resp, code, wait, err := c.attempt(ctx, r, stream)
		if err == nil {
			return resp, nil
		}
		last = err
		retry := attempt < c.retry.MaxAttempts && ctx.Err() == nil && c.retryable(r, code, wait, err)
		if !retry {
			return nil, err
		}
		if wait == 0 {
			wait = c.backoff(attempt)
		}
		reason := "error"
		if code != 0 {
			reason = strconv.Itoa(code)
		}
		c.metrics.retry(r.verb, reason)
		c.log.Debug("retrying request", "request", r.String(), "attempt", attempt, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("client: %s %s: %w while waiting to retry after: %w", r.verb, r.path, ctx.Err(), last)
		case <-c.clock.After(wait):
		}
	}
}

// attempt sends r once. On failure it returns the HTTP code (0 for a
// transport error) and the wait the server asked for (0 for none).
func (c *Client) attempt(ctx context.Context, r *request, stream bool) (*response, int, time.Duration, error) {
	u := *c.base
	u.Path = c.base.Path + r.path
	u.RawQuery = r.query.Encode()
	actx, cancel := ctx, context.CancelFunc(func() {})
	switch {
	case stream:
		actx, cancel = context.WithCancel(ctx)
	case c.timeout > 0:
		actx, cancel = context.WithTimeout(ctx, c.timeout)
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(actx, r.method, u.String(), body)
	if err != nil {
		cancel()
		return nil, 0, 0, fmt.Errorf("client: %s %s: %w", r.verb, r.path, err)
	}
	req.Header.Set("Accept", "application/json")
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		cancel()
		c.metrics.observe(r.verb, "error", time.Since(start))
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, 0, 0, fmt.Errorf("client: %s %s: %w", r.verb, r.path, ctxErr)
		}
		return nil, 0, 0, &transportError{verb: r.verb, path: r.path, err: err}
	}
	code := resp.StatusCode
	if stream && code/100 == 2 {
		c.metrics.observe(r.verb, strconv.Itoa(code), time.Since(start))
		return &response{stream: resp.Body, cancel: cancel}, code, 0, nil
	}
	data, err := readBody(resp)
	_ = resp.Body.Close()
	cancel()
	c.metrics.observe(r.verb, strconv.Itoa(code), time.Since(start))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, 0, 0, fmt.Errorf("client: %s %s: %w", r.verb, r.path, ctxErr)
		}
		return nil, 0, 0, &transportError{verb: r.verb, path: r.path, err: fmt.Errorf("read the response: %w", err)}
	}
	if code/100 == 2 {
		return &response{body: data}, code, 0, nil
	}
	se := statusError(code, data)
	return nil, code, c.retryAfter(resp.Header, se), se
}

// maxPresize is the largest Content-Length readBody allocates for up
// front; a larger body grows as it is read.
const maxPresize = 1 << 20

// readBody reads the whole body of resp, in one allocation when its
// length is known.
func readBody(resp *http.Response) ([]byte, error) {
	return readall.Sized(resp.Body, resp.ContentLength, maxPresize)
}

// retryable reports whether a failed attempt of r may be retried; see
// RetryPolicy. asked is the wait the server asked for with Retry-After.
func (c *Client) retryable(r *request, code int, asked time.Duration, err error) bool {
	if code != 0 {
		overloaded := code == http.StatusTooManyRequests || code >= 500
		return overloaded && ((asked > 0 && !r.noRetry) || r.idempotent())
	}
	te, ok := errors.AsType[*transportError](err)
	if !ok {
		return false
	}
	if te.notSent() {
		return true
	}
	return r.idempotent() && te.temporary()
}

// retryAfter returns the wait a failed response asks for: its Retry-After
// header (seconds), or its Status's retryAfterSeconds, capped at
// MaxRetryAfter. The header is only honoured on 429 and 5xx.
func (c *Client) retryAfter(h http.Header, se *api.StatusError) time.Duration {
	code := int(se.Status.Code)
	if code != http.StatusTooManyRequests && code < 500 {
		return 0
	}
	var secs int64
	if v := h.Get("Retry-After"); v != "" {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > 0 {
			secs = n
		} else if t, err := http.ParseTime(v); err == nil {
			if d := t.Sub(c.clock.Now()); d > 0 {
				return min(d, c.retry.MaxRetryAfter)
			}
		}
	}
	if secs == 0 && se.Status.Details != nil {
		secs = int64(se.Status.Details.RetryAfterSeconds)
	}
	if secs <= 0 {
		return 0
	}
	if secs > int64(c.retry.MaxRetryAfter/time.Second) {
		return c.retry.MaxRetryAfter
	}
	return time.Duration(secs) * time.Second
}

// backoff returns the wait before retry n (the attempt that failed was n):
// a random duration in [d/2, d], d = min(BaseDelay·2^(n-1), MaxDelay).
func (c *Client) backoff(n int) time.Duration {
	return jitter(expDelay(c.retry.BaseDelay, c.retry.MaxDelay, n))
}

func expDelay(base, limit time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// transportError is a request that got no HTTP response.
type transportError struct {
	verb, path string
	err        error
}

func (e *transportError) Error() string {
	return fmt.Sprintf("client: %s %s: %v", e.verb, e.path, e.err)
}

func (e *transportError) Unwrap() error { return e.err }

// notSent reports whether the request certainly never reached the server:
// the connection could not be made.
func (e *transportError) notSent() bool {
	if errors.Is(e.err, syscall.ECONNREFUSED) {
		return true
	}
	if op, ok := errors.AsType[*net.OpError](e.err); ok && op.Op == "dial" {
		return true
	}
	if _, ok := errors.AsType[*net.DNSError](e.err); ok {
		return true
	}
	return false
}

// temporary reports whether the failure is of the connection, not of the
// request: a reset, an early EOF, a timeout.
func (e *transportError) temporary() bool {
	if errors.Is(e.err, syscall.ECONNRESET) || errors.Is(e.err, io.EOF) || errors.Is(e.err, io.ErrUnexpectedEOF) ||
		errors.Is(e.err, syscall.EPIPE) || errors.Is(e.err, context.DeadlineExceeded) {
		return true
	}
	if ne, ok := errors.AsType[net.Error](e.err); ok && ne.Timeout() {
		return true
	}
	return false
}

// statusError turns an error response into a *api.StatusError: its body
// when it is a Status, and otherwise a Status made from the HTTP code, with
// the start of the body as the message. A Status without a reason gets the
// one its code implies (503: ServiceUnavailable), so that errors.Is with
// the api sentinels falls back to the code as Kubernetes clients do.
func statusError(code int, body []byte) *api.StatusError {
	var st api.Status
	if err := json.Unmarshal(body, &st); err == nil && st.Kind == "Status" {
		if st.Code == 0 {
			st.Code = int32(code)
		}
		if st.Status == "" {
			st.Status = api.StatusFailure
		}
		if st.Reason == "" {
			st.Reason = reasonForCode(int(st.Code))
		}
		if st.Message == "" {
			st.Message = fmt.Sprintf("the server answered %d %s (reason %q)", code, http.StatusText(code), st.Reason)
		}
		return &api.StatusError{Status: st}
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 256 {
		msg = msg[:256] + "..."
	}
	text := http.StatusText(code)
	if msg == "" {
		msg = fmt.Sprintf("the server answered %d %s", code, text)
	} else {
		msg = fmt.Sprintf("the server answered %d %s: %s", code, text, msg)
	}
	return api.NewStatusError(code, reasonForCode(code), msg)
}

// reasonForCode is the reason of a response that carried no Status.
func reasonForCode(code int) api.StatusReason {
	switch code {
	case http.StatusBadRequest:
		return api.StatusReasonBadRequest
	case http.StatusUnauthorized:
		return api.StatusReasonUnauthorized
	case http.StatusForbidden:
		return api.StatusReasonForbidden
	case http.StatusNotFound:
		return api.StatusReasonNotFound
	case http.StatusMethodNotAllowed:
		return api.StatusReasonMethodNotAllowed
	case http.StatusNotAcceptable:
		return api.StatusReasonNotAcceptable
	case http.StatusConflict:
		return api.StatusReasonConflict
	case http.StatusGone:
		return api.StatusReasonGone
	case http.StatusRequestEntityTooLarge:
		return api.StatusReasonRequestEntityTooLarge
	case http.StatusUnsupportedMediaType:
		return api.StatusReasonUnsupportedMediaType
	case http.StatusUnprocessableEntity:
		return api.StatusReasonInvalid
	case http.StatusTooManyRequests:
		return api.StatusReasonTooManyRequests
	case http.StatusInternalServerError:
		return api.StatusReasonInternalError
	case http.StatusServiceUnavailable:
		return api.StatusReasonServiceUnavailable
	case http.StatusGatewayTimeout:
		return api.StatusReasonTimeout
	}
	return api.StatusReasonUnknown
}
