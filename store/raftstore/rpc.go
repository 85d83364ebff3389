package raftstore

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/store"
)

// The member-to-member RPC protocol, on connections whose mux header is
// muxRPC. A connection carries many requests at once (pipelining): each
// frame has a request ID, the server handles requests concurrently and
// answers in any order, and the client matches answers to requests by ID.
// A client keeps a small pool of connections per member.
//
// Every frame:
//
//	length   4 bytes, big-endian: the length of what follows
//	id       8 bytes, big-endian
//	kind     1 byte: the request kind, or in a response rpcOK / rpcErr
//	payload
//
// Every request payload starts with the caller's remaining time (varint
// nanoseconds, 0 = no deadline), which bounds the server's work. The rest
// of the payload depends on the kind (see the rpc* constants); an rpcErr
// payload is an encoded error (see encodeError).
const (
	rpcWrite     byte = 1 // mvcc.Command → rev (varint), prev KV
	rpcReadIndex byte = 2 // nothing → read index (uvarint)
	rpcJoin      byte = 3 // JSON joinRequest → JSON clusterInfo
	rpcRemove    byte = 4 // JSON removeRequest → nothing
	rpcInfo      byte = 5 // nothing → JSON clusterInfo
	rpcConfirm   byte = 6 // term (uvarint), leader ID (string) → confirms (byte), term (uvarint); see read.go

	rpcOK  byte = 0
	rpcErr byte = 1
)

// rpcKindName names a request kind for metrics and logs.
func rpcKindName(kind byte) string {
	switch kind {
	case rpcWrite:
		return "write"
	case rpcReadIndex:
		return "read_index"
	case rpcJoin:
		return "join"
	case rpcRemove:
		return "remove"
	case rpcInfo:
		return "info"
	case rpcConfirm:
		return "confirm"
	}
	return fmt.Sprintf("kind%d", kind)
}

const (
	frameHeader   = 4 + 8 + 1
	maxFrame      = 16 << 20 // well above a batch of MaxValueSize values
	rpcPoolSize   = 2        // connections per member
	rpcMaxPending = 1024     // requests a server handles at once per connection
	rpcDialLimit  = 5 * time.Second
)

func appendFrame(b []byte, id uint64, kind byte, payload []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(8+1+len(payload)))
	b = binary.BigEndian.AppendUint64(b, id)
	b = append(b, kind)
	return append(b, payload...)
}

// readFrame reads one frame; payload is a fresh slice.
func readFrame(r *bufio.Reader) (id uint64, kind byte, payload []byte, err error) {
	var hdr [frameHeader]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 9 || n > maxFrame {
		return 0, 0, nil, fmt.Errorf("frame of %d bytes: not a Drover store RPC stream", n)
	}
	id = binary.BigEndian.Uint64(hdr[4:12])
	kind = hdr[12]
	payload = make([]byte, n-9)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, 0, nil, err
	}
	return id, kind, payload, nil
}

// appendTimeout encodes ctx's remaining time.
func appendTimeout(b []byte, ctx context.Context) []byte {
	var d time.Duration
	if dl, ok := ctx.Deadline(); ok {
		d = max(time.Until(dl), time.Nanosecond)
	}
	return binary.AppendVarint(b, int64(d))
}

// Error codes in an rpcErr payload. The client turns each into an error
// that wraps the matching sentinel, so errors.Is works across members.
const (
	codeOther           byte = 1
	codeUnavailable     byte = 2 // store.ErrUnavailable; a write may have been applied
	codeNotLeader       byte = 3 // the request was not acted on: try the leader
	codeNotFound        byte = 4
	codeAlreadyExists   byte = 5
	codeConflict        byte = 6 // followed by the ConflictError's fields
	codeInvalidKey      byte = 7
	codeValueTooLarge   byte = 8
	codeCompacted       byte = 9
	codeFutureRevision  byte = 10
	codeClosed          byte = 11 // the remote member is closing
	codeCanceled        byte = 12
	codeDeadline        byte = 13
	codeClusterMismatch byte = 14
)

// errNotLeader means the member asked is not the leader and did nothing:
// the request may be sent to the leader. It wraps store.ErrUnavailable.
var errNotLeader = fmt.Errorf("%w: not the leader", store.ErrUnavailable)

// errNotSent means a request never left this member (no connection to
// the leader): it may be retried. It wraps store.ErrUnavailable.
var errNotSent = fmt.Errorf("%w: request not sent", store.ErrUnavailable)

// ErrClusterMismatch is returned by Open when the member would join, or
// its data directory belongs to, a cluster other than Config.ClusterID or
// the one it joined before.
var ErrClusterMismatch = errors.New("raftstore: cluster ID mismatch")

var codeTargets = []struct {
	code   byte
	target error
}{
	// Order matters: the first match wins.
	{codeNotLeader, errNotLeader},
	{codeClusterMismatch, ErrClusterMismatch},
	{codeClosed, store.ErrClosed},
	{codeUnavailable, store.ErrUnavailable},
	{codeNotFound, store.ErrNotFound},
	{codeAlreadyExists, store.ErrAlreadyExists},
	{codeInvalidKey, store.ErrInvalidKey},
	{codeValueTooLarge, store.ErrValueTooLarge},
	{codeCompacted, store.ErrCompacted},
	{codeFutureRevision, store.ErrFutureRevision},
	{codeCanceled, context.Canceled},
	{codeDeadline, context.DeadlineExceeded},
}

func encodeError(err error) []byte {
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		b := []byte{codeConflict}
		b = appendString(b, err.Error())
		b = appendString(b, ce.Op)
		b = appendString(b, ce.Key)
		b = binary.AppendVarint(b, ce.Expected)
		return binary.AppendVarint(b, ce.Actual)
	}
	code := codeOther
	for _, ct := range codeTargets {
		if errors.Is(err, ct.target) {
			code = ct.code
			break
		}
	}
	return appendString([]byte{code}, err.Error())
}

// remoteError is an error another member returned. Its message is the
// remote one; it wraps the sentinel its code stands for.
type remoteError struct {
	msg    string
	target error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.target }

func decodeError(b []byte) error {
	d := decoder{b: b}
	code := d.byte()
	msg := d.string()
	if d.err != nil {
		return fmt.Errorf("%w: undecodable error from another member", store.ErrUnavailable)
	}
	if code == codeConflict {
		ce := &store.ConflictError{Op: d.string(), Key: d.string(), Expected: d.varint(), Actual: d.varint()}
		if d.err == nil {
			return ce
		}
	}
	if code == codeClosed {
		// The other member is shutting down: for us that is temporary.
		return &remoteError{msg: msg, target: store.ErrUnavailable}
	}
	for _, ct := range codeTargets {
		if ct.code == code {
			return &remoteError{msg: msg, target: ct.target}
		}
	}
	return &remoteError{msg: msg}
}

// rpcHandler serves one request; the returned bytes are the response
// payload.
type rpcHandler func(ctx context.Context, kind byte, payload []byte) ([]byte, error)

// rpcServer serves RPC connections handed over by the mux.
type rpcServer struct {
	handle rpcHandler
	log    *slog.Logger
	ctx    context.Context // canceled by close
	cancel context.CancelFunc
}

func newRPCServer(h rpcHandler, log *slog.Logger) *rpcServer {
	ctx, cancel := context.WithCancel(context.Background())
	return &rpcServer{handle: h, log: log, ctx: ctx, cancel: cancel}
}

// close cancels every request being served. The mux closes the
// connections, which ends serveConn.
func (s *rpcServer) close() { s.cancel() }

// serveConn serves conn until it fails or closes, and waits for the
// requests it started.
func (s *rpcServer) serveConn(conn net.Conn) {
	ctx, cancel := context.WithCancel(s.ctx)
	out := make(chan []byte, 256)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := writeFrames(ctx, conn, out); err != nil && ctx.Err() == nil {
			s.log.Debug("rpc connection write failed", "remote", conn.RemoteAddr(), "err", err)
			conn.Close()
		}
	}()
	sem := make(chan struct{}, rpcMaxPending)
	br := bufio.NewReaderSize(conn, 64<<10)
	for {
		id, kind, payload, err := readFrame(br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
				s.log.Debug("rpc connection read failed", "remote", conn.RemoteAddr(), "err", err)
			}
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			resp := s.serve(ctx, kind, payload)
			select {
			case out <- appendFrame(make([]byte, 0, frameHeader+len(resp.payload)), id, resp.status, resp.payload):
			case <-ctx.Done():
			}
		}()
	}
	cancel()
	conn.Close()
	wg.Wait()
}

type rpcResponse struct {
	status  byte
	payload []byte
}

func (s *rpcServer) serve(ctx context.Context, kind byte, payload []byte) rpcResponse {
	d := decoder{b: payload}
	timeout := time.Duration(d.varint())
	if d.err != nil {
		return rpcResponse{rpcErr, encodeError(fmt.Errorf("raftstore: malformed %s request", rpcKindName(kind)))}
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	resp, err := s.handle(ctx, kind, d.b)
	if err != nil {
		return rpcResponse{rpcErr, encodeError(err)}
	}
	return rpcResponse{rpcOK, resp}
}

// writeFrames writes the frames sent on out to conn, flushing once out is
// momentarily empty, so that a burst of frames costs one write.
func writeFrames(ctx context.Context, conn net.Conn, out <-chan []byte) error {
	bw := bufio.NewWriterSize(conn, 64<<10)
	for {
		select {
		case f := <-out:
			bw.Write(f)
		drain:
			for {
				select {
				case f := <-out:
					bw.Write(f)
				default:
					break drain
				}
			}
			if err := bw.Flush(); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// rpcClient sends requests to other members over a pool of connections
// per member. Its connections' goroutines are its own; close stops them.
type rpcClient struct {
	dial dialFunc
	log  *slog.Logger

	mu     sync.Mutex
	peers  map[string]*[rpcPoolSize]rpcSlot
	next   atomic.Uint32
	closed bool
	wg     sync.WaitGroup
}

// rpcSlot holds one pooled connection; mu serializes dialing it. cc is
// written with both mu and the client's mu held, and read with either:
// close reads it under the client's mu alone, so it never waits for a
// dial (conn holds mu while dialing, then takes the client's mu).
type rpcSlot struct {
	mu sync.Mutex
	cc *clientConn
}

func newRPCClient(dial dialFunc, log *slog.Logger) *rpcClient {
	return &rpcClient{dial: dial, log: log, peers: make(map[string]*[rpcPoolSize]rpcSlot)}
}

var errClientClosed = fmt.Errorf("%w: rpc client closed", store.ErrClosed)

// call sends one request to addr and waits for the answer. An error
// wrapping errNotSent means the request did not leave this member.
func (c *rpcClient) call(ctx context.Context, addr string, kind byte, payload []byte) ([]byte, error) {
	cc, err := c.conn(ctx, addr)
	if err != nil {
		return nil, err
	}
	return cc.call(ctx, kind, payload)
}

// conn returns a live pooled connection to addr, dialing if needed.
func (c *rpcClient) conn(ctx context.Context, addr string) (*clientConn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errClientClosed
	}
	slots := c.peers[addr]
	if slots == nil {
		slots = new([rpcPoolSize]rpcSlot)
		c.peers[addr] = slots
	}
	c.mu.Unlock()
	slot := &slots[c.next.Add(1)%rpcPoolSize]
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.cc != nil && !slot.cc.isBroken() {
		return slot.cc, nil
	}
	dctx, cancel := context.WithTimeout(ctx, rpcDialLimit)
	defer cancel()
	conn, err := dialMux(dctx, c.dial, addr, muxRPC)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: connect to %s: %w", errNotSent, addr, ctx.Err())
		}
		return nil, fmt.Errorf("%w: connect to %s: %v", errNotSent, addr, err)
	}
	cc := newClientConn(conn, addr)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		conn.Close()
		return nil, errClientClosed
	}
	c.wg.Add(2)
	slot.cc = cc
	c.mu.Unlock()
	go func() { defer c.wg.Done(); cc.readLoop() }()
	go func() { defer c.wg.Done(); cc.writeLoop() }()
	return cc, nil
}

// close fails every request in flight and waits for the connections'
// goroutines. It does not wait for a dial in progress: that dial's
// connection is closed when it completes (conn sees closed).
func (c *rpcClient) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	var ccs []*clientConn
	for _, slots := range c.peers {
		for i := range slots {
			// Not slots[i].mu: conn holds it while dialing and then takes
			// c.mu. slot.cc is only written with c.mu held too.
			if slots[i].cc != nil {
				ccs = append(ccs, slots[i].cc)
			}
		}
	}
	c.mu.Unlock()
	for _, cc := range ccs {
		cc.fail(errClientClosed)
	}
	c.wg.Wait()
}

// clientConn is one connection to a member, with its requests in flight.
type clientConn struct {
	conn net.Conn
	addr string
	reqs chan *rpcCall

	mu      sync.Mutex
	pending map[uint64]*rpcCall
	nextID  uint64
	broken  error
	done    chan struct{} // closed when broken
}

func newClientConn(conn net.Conn, addr string) *clientConn {
	return &clientConn{
		conn:    conn,
		addr:    addr,
		reqs:    make(chan *rpcCall, 256),
		pending: make(map[uint64]*rpcCall),
		done:    make(chan struct{}),
	}
}

type rpcCall struct {
	id    uint64
	frame []byte // owned by writeLoop once queued
	sent  bool   // guarded by clientConn.mu: writeLoop may have written it
	done  chan struct{}

	// Set before done is closed.
	status byte
	resp   []byte
	err    error
}

func (cc *clientConn) isBroken() bool {
	select {
	case <-cc.done:
		return true
	default:
		return false
	}
}

func (cc *clientConn) call(ctx context.Context, kind byte, payload []byte) ([]byte, error) {
	call := &rpcCall{done: make(chan struct{})}
	cc.mu.Lock()
	if cc.broken != nil {
		err := cc.broken
		cc.mu.Unlock()
		return nil, fmt.Errorf("%w: connection to %s: %v", errNotSent, cc.addr, err)
	}
	cc.nextID++
	call.id = cc.nextID
	cc.pending[call.id] = call
	cc.mu.Unlock()

	body := appendTimeout(make([]byte, 0, binary.MaxVarintLen64+len(payload)), ctx)
	body = append(body, payload...)
	call.frame = appendFrame(make([]byte, 0, frameHeader+len(body)), call.id, kind, body)
	select {
	case cc.reqs <- call:
	case <-call.done:
	case <-ctx.Done():
		cc.forget(call.id)
		return nil, fmt.Errorf("%w: %w", errNotSent, ctx.Err())
	}
	select {
	case <-call.done:
	case <-ctx.Done():
		cc.forget(call.id)
		return nil, ctx.Err()
	}
	if call.err != nil {
		return nil, call.err
	}
	if call.status != rpcOK {
		return nil, decodeError(call.resp)
	}
	return call.resp, nil
}

func (cc *clientConn) forget(id uint64) {
	cc.mu.Lock()
	delete(cc.pending, id)
	cc.mu.Unlock()
}

// fail breaks the connection: every request in flight fails with err,
// wrapped in errNotSent only for those that never reached the
// connection. Once broken is set, writeLoop writes nothing more (it
// checks broken and marks a call sent under mu before writing it), and
// the connection is closed before any failure is reported, so no byte of
// it reaches the wire after a caller learns of the failure.
func (cc *clientConn) fail(err error) {
	cc.mu.Lock()
	if cc.broken != nil {
		cc.mu.Unlock()
		return
	}
	cc.broken = err
	close(cc.done)
	cc.mu.Unlock()
	cc.conn.Close()

	cc.mu.Lock()
	defer cc.mu.Unlock()
	for id, call := range cc.pending {
		if call.sent {
			call.err = fmt.Errorf("%w: connection to %s lost with the request in flight: %v", store.ErrUnavailable, cc.addr, err)
		} else {
			call.err = fmt.Errorf("%w: connection to %s: %v", errNotSent, cc.addr, err)
		}
		close(call.done)
		delete(cc.pending, id)
	}
}

func (cc *clientConn) readLoop() {
	br := bufio.NewReaderSize(cc.conn, 64<<10)
	for {
		id, status, payload, err := readFrame(br)
		if err != nil {
			cc.fail(err)
			return
		}
		cc.mu.Lock()
		call := cc.pending[id]
		delete(cc.pending, id)
		if call != nil {
			call.status, call.resp = status, payload
			close(call.done)
		}
		cc.mu.Unlock()
	}
}

func (cc *clientConn) writeLoop() {
	bw := bufio.NewWriterSize(cc.conn, 64<<10)
	write := func(call *rpcCall) {
		frame := call.frame
		call.frame = nil
		cc.mu.Lock()
		// A call no longer pending was failed (reported as not sent) or
		// abandoned by its caller: it must not be written.
		ok := cc.broken == nil && cc.pending[call.id] == call
		if ok {
			call.sent = true
		}
		cc.mu.Unlock()
		if ok {
			bw.Write(frame)
		}
	}
	for {
		select {
		case call := <-cc.reqs:
			write(call)
		drain:
			for {
				select {
				case call := <-cc.reqs:
					write(call)
				default:
					break drain
				}
			}
			if err := bw.Flush(); err != nil {
				cc.fail(err)
				return
			}
		case <-cc.done:
			return
		}
	}
}
