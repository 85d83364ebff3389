package raftstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// One TCP port per member carries two protocols. The dialer writes one
// header byte on every new connection; the listener reads it and hands the
// connection to Raft's transport or to the store's RPC server.
const (
	muxRaft byte = 0xD1 // hashicorp/raft's NetworkTransport
	muxRPC  byte = 0xD2 // forwarded writes, read index, join, remove (rpc.go)
)

// muxHeaderTimeout bounds how long an accepted connection may take to send
// its header byte.
const muxHeaderTimeout = 10 * time.Second

// dialFunc opens a connection to another member.
type dialFunc func(ctx context.Context, addr string) (net.Conn, error)

// mux owns the member's listener. Its accept goroutine reads each new
// connection's header and routes it; Close stops it and closes every
// connection it accepted.
type mux struct {
	ln        net.Listener
	advertise net.Addr
	log       *slog.Logger
	serveRPC  func(net.Conn) // runs in a goroutine of the mux's, until conn closes

	raftConns  chan net.Conn
	raftClosed chan struct{} // closed when Raft's transport closes its side
	done       chan struct{}
	wg         sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	// raftOpen counts connections handed to Raft that Raft has not
	// closed yet: Close waits for them, since Raft's connection
	// goroutines log when they end.
	raftOpen sync.WaitGroup
}

func newMux(ln net.Listener, advertise net.Addr, log *slog.Logger) *mux {
	return &mux{
		ln:         ln,
		advertise:  advertise,
		log:        log,
		raftConns:  make(chan net.Conn),
		raftClosed: make(chan struct{}),
		done:       make(chan struct{}),
		conns:      make(map[net.Conn]struct{}),
	}
}

// start starts the accept goroutine; serveRPC serves RPC connections.
func (m *mux) start(serveRPC func(net.Conn)) {
	m.serveRPC = serveRPC
	m.wg.Add(1)
	go m.acceptLoop()
}

func (m *mux) acceptLoop() {
	defer m.wg.Done()
	var backoff time.Duration
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A temporary failure (out of file descriptors, say): back off.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			m.log.Warn("accept failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-m.done:
				return
			}
			continue
		}
		backoff = 0
		if !m.track(conn) {
			conn.Close()
			return
		}
		m.wg.Add(1)
		go m.route(conn)
	}
}

// track records an accepted connection so Close can close it; it reports
// false if the mux is closed.
func (m *mux) track(conn net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.conns[conn] = struct{}{}
	return true
}

func (m *mux) untrack(conn net.Conn) {
	m.mu.Lock()
	delete(m.conns, conn)
	m.mu.Unlock()
}

// route reads the header of an accepted connection and hands it on.
func (m *mux) route(conn net.Conn) {
	defer m.wg.Done()
	var hdr [1]byte
	conn.SetReadDeadline(time.Now().Add(muxHeaderTimeout))
	if _, err := conn.Read(hdr[:]); err != nil {
		m.log.Debug("connection closed before its header", "remote", conn.RemoteAddr(), "err", err)
		m.untrack(conn)
		conn.Close()
		return
	}
	conn.SetReadDeadline(time.Time{})
	switch hdr[0] {
	case muxRaft:
		// Raft's transport owns the connection now; the mux still closes
		// it on Close, and forgets it when Raft closes it.
		tc := &trackedConn{Conn: conn, m: m}
		m.raftOpen.Add(1)
		select {
		case m.raftConns <- tc:
		case <-m.raftClosed: // Raft stopped (the member was removed, say)
			tc.Close()
		case <-m.done:
			tc.Close()
		}
	case muxRPC:
		m.serveRPC(conn)
		m.untrack(conn)
		conn.Close()
	default:
		m.log.Warn("connection with an unknown protocol header: not a Drover store member?",
			"remote", conn.RemoteAddr(), "header", hdr[0])
		m.untrack(conn)
		conn.Close()
	}
}

// trackedConn untracks itself from the mux when closed.
type trackedConn struct {
	net.Conn
	m    *mux
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.m.untrack(c.Conn)
		c.m.raftOpen.Done()
	})
	return err
}

// close stops accepting, closes every accepted connection and waits for
// the mux's goroutines. serveRPC must return once its connection closes.
func (m *mux) close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	close(m.done)
	conns := m.conns
	m.conns = nil
	m.mu.Unlock()
	m.ln.Close()
	for c := range conns {
		c.Close()
	}
	m.wg.Wait()
	// Raft's goroutines close their connections once reads fail; give
	// them a moment, but do not hang on them.
	done := make(chan struct{})
	go func() {
		m.raftOpen.Wait()
		close(done)
	}()
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		m.log.Warn("raft connections still open 5s after close")
	}
}

// dial connects to addr and sends the protocol header.
func dialMux(ctx context.Context, dial dialFunc, addr string, proto byte) (net.Conn, error) {
	conn, err := dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetWriteDeadline(dl)
	}
	if _, err := conn.Write([]byte{proto}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("send header to %s: %w", addr, err)
	}
	conn.SetWriteDeadline(time.Time{})
	return conn, nil
}

// raftLayer is the raft.StreamLayer of the mux: Raft's transport accepts
// the connections whose header is muxRaft and dials with that header.
type raftLayer struct {
	m    *mux
	dial dialFunc
	once sync.Once
}

var _ raft.StreamLayer = (*raftLayer)(nil)

func newRaftLayer(m *mux, dial dialFunc) *raftLayer {
	return &raftLayer{m: m, dial: dial}
}

// Accept implements net.Listener.
func (l *raftLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.m.raftConns:
		return c, nil
	case <-l.m.raftClosed:
		return nil, net.ErrClosed
	case <-l.m.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener. It closes only Raft's side: the mux
// belongs to the store.
func (l *raftLayer) Close() error {
	l.once.Do(func() { close(l.m.raftClosed) })
	return nil
}

// Addr implements net.Listener: the advertised address, which Raft puts
// in the cluster configuration.
func (l *raftLayer) Addr() net.Addr { return l.m.advertise }

// Dial implements raft.StreamLayer.
func (l *raftLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return dialMux(ctx, l.dial, string(address), muxRaft)
}

// tcpAddr is a net.Addr for an advertised host:port that may be a name.
type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }
