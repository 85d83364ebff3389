package chaostest

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// netsim is the network between the members of an in-process cluster, on
// real loopback TCP, which a test can partition. Each member listens
// through netsim.listen and dials through netsim.dialer (Config.Listener
// and Config.Dialer), so netsim sees every connection between members and
// knows both ends of it.
//
// A partition is a set of cut links: a link between two members is cut
// when either is isolated or the pair was cut with cut. Over a cut link no
// new connection is made (the dialer fails; the listener closes what it
// accepts) and the existing connections are closed, from both ends. heal
// restores every link.
//
// Members are named by their advertised address.
type netsim struct {
	mu       sync.Mutex
	isolated map[string]bool
	cutPairs map[[2]string]bool
	conns    map[*simConn]struct{}
	// dialers maps the local address of each connection a member dialed
	// to that member, so the accepting side knows who is calling.
	dialers map[string]string
}

var errPartitioned = errors.New("netsim: link is cut")

func newNetsim() *netsim {
	return &netsim{
		isolated: make(map[string]bool),
		cutPairs: make(map[[2]string]bool),
		conns:    make(map[*simConn]struct{}),
		dialers:  make(map[string]string),
	}
}

func pair(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// linkUp reports whether a and b may talk; b is "" if unknown (a
// connection accepted before its dialer registered it), which is allowed
// unless a is isolated. The caller holds mu.
func (n *netsim) linkUp(a, b string) bool {
	if n.isolated[a] || n.isolated[b] {
		return false
	}
	return b == "" || !n.cutPairs[pair(a, b)]
}

// isolate cuts every link of the member at addr.
func (n *netsim) isolate(addr string) {
	n.mu.Lock()
	n.isolated[addr] = true
	n.mu.Unlock()
	n.closeCut()
}

// cut cuts the link between a and b only.
func (n *netsim) cut(a, b string) {
	n.mu.Lock()
	n.cutPairs[pair(a, b)] = true
	n.mu.Unlock()
	n.closeCut()
}

// heal restores every link.
func (n *netsim) heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.isolated)
	clear(n.cutPairs)
}

// closeCut closes every connection over a cut link.
func (n *netsim) closeCut() {
	n.mu.Lock()
	var doomed []*simConn
	for c := range n.conns {
		if !n.linkUp(c.local, c.remote) {
			doomed = append(doomed, c)
		}
	}
	n.mu.Unlock()
	for _, c := range doomed {
		c.Close()
	}
}

// dialer returns the Config.Dialer of the member at from.
func (n *netsim) dialer(from string) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		n.mu.Lock()
		up := n.linkUp(from, addr)
		n.mu.Unlock()
		if !up {
			return nil, errPartitioned
		}
		var d net.Dialer
		raw, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		c := &simConn{Conn: raw, n: n, local: from, remote: addr}
		n.mu.Lock()
		if !n.linkUp(from, addr) {
			n.mu.Unlock()
			raw.Close()
			return nil, errPartitioned
		}
		c.dialKey = raw.LocalAddr().String()
		n.dialers[c.dialKey] = from
		n.conns[c] = struct{}{}
		n.mu.Unlock()
		return c, nil
	}
}

// listen listens on addr for the member at addr. A port that its previous
// listener just released may stay busy for a moment; listen retries for up
// to ten seconds.
func (n *netsim) listen(addr string) (net.Listener, error) {
	var (
		ln  net.Listener
		err error
	)
	poll(10*time.Second, 20*time.Millisecond, func() bool {
		ln, err = net.Listen("tcp", addr)
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	return &simListener{Listener: ln, n: n, addr: addr}, nil
}

// simListener accepts the connections of one member, closing those that
// come over a cut link.
type simListener struct {
	net.Listener
	n    *netsim
	addr string
}

func (l *simListener) Accept() (net.Conn, error) {
	for {
		raw, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		n := l.n
		n.mu.Lock()
		peer := n.dialers[raw.RemoteAddr().String()]
		if !n.linkUp(l.addr, peer) {
			n.mu.Unlock()
			raw.Close()
			continue
		}
		c := &simConn{Conn: raw, n: n, local: l.addr, remote: peer}
		n.conns[c] = struct{}{}
		n.mu.Unlock()
		return c, nil
	}
}

// Addr is the member's address, which the store advertises.
func (l *simListener) Addr() net.Addr { return l.Listener.Addr() }

// simConn is a connection between two members that netsim tracks.
type simConn struct {
	net.Conn
	n       *netsim
	local   string // the member at this end
	remote  string // the member at the other end, "" if unknown
	dialKey string // for a dialed connection, its key in n.dialers
	once    sync.Once
}

func (c *simConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.n.mu.Lock()
		delete(c.n.conns, c)
		if c.dialKey != "" {
			delete(c.n.dialers, c.dialKey)
		}
		c.n.mu.Unlock()
	})
	return err
}

// TestNetsim checks the partitionable network itself: isolation refuses
// new connections both ways and closes existing ones, a cut link affects
// only its pair, and heal restores everything.
func TestNetsim(t *testing.T) {
	n := newNetsim()
	addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	var lns []net.Listener
	accepted := make(chan net.Conn, 16)
	for _, a := range addrs {
		ln, err := n.listen(a)
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
	}
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dial := func(from, to int) (net.Conn, error) { return n.dialer(addrs[from])(ctx, addrs[to]) }
	mustDial := func(from, to int) (net.Conn, net.Conn) {
		t.Helper()
		c, err := dial(from, to)
		if err != nil {
			t.Fatalf("dial %d->%d: %v", from, to, err)
		}
		select {
		case s := <-accepted:
			return c, s
		case <-ctx.Done():
			t.Fatalf("dial %d->%d: never accepted", from, to)
		}
		return nil, nil
	}
	// closed reports whether reading c fails at once: its other end (or
	// c itself) was closed.
	closed := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return err != nil && !(errors.As(err, &ne) && ne.Timeout())
	}

	c01, s01 := mustDial(0, 1)
	c12, s12 := mustDial(1, 2)
	c20, s20 := mustDial(2, 0)
	n.isolate(addrs[1])
	if !closed(c01) || !closed(s01) || !closed(c12) || !closed(s12) {
		t.Fatal("isolating member 1 left one of its connections open")
	}
	if _, err := dial(0, 1); !errors.Is(err, errPartitioned) {
		t.Fatalf("dial to an isolated member: %v, want errPartitioned", err)
	}
	if _, err := dial(1, 2); !errors.Is(err, errPartitioned) {
		t.Fatalf("dial from an isolated member: %v, want errPartitioned", err)
	}
	// The link 2-0 is untouched.
	if _, err := c20.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	s20.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := s20.Read(make([]byte, 1)); err != nil {
		t.Fatalf("connection between two members that are not isolated: %v", err)
	}
	n.heal()
	mustDial(0, 1)
	// A cut link: only that pair.
	n.cut(addrs[0], addrs[2])
	if !closed(c20) || !closed(s20) {
		t.Fatal("cutting the link 0-2 left its connection open")
	}
	if _, err := dial(0, 2); !errors.Is(err, errPartitioned) {
		t.Fatalf("dial over a cut link: %v, want errPartitioned", err)
	}
	mustDial(0, 1)
	mustDial(2, 1)
	n.heal()
	mustDial(2, 0)
}
