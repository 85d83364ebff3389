package raftstore

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/store"
)

// startClientConn runs cc's loops until the test ends.
func startClientConn(t *testing.T, cc *clientConn) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); cc.readLoop() }()
	go func() { defer wg.Done(); cc.writeLoop() }()
	t.Cleanup(func() { cc.fail(errors.New("test over")); wg.Wait() })
}

// TestRequestInFlightIsAmbiguous: a server reads a request, then breaks
// the connection with a malformed frame. The request reached the server,
// so its caller must not be told it was not sent (a write would be
// retried, and applied twice).
func TestRequestInFlightIsAmbiguous(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer conn.Close()
		if _, _, _, err := readFrame(bufio.NewReader(conn)); err != nil {
			served <- err
			return
		}
		// A frame length below the minimum: not an RPC stream.
		_, err = conn.Write([]byte{0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, rpcOK})
		served <- err
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cc := newClientConn(conn, ln.Addr().String())
	startClientConn(t, cc)
	_, err = cc.call(ctxT(t), rpcWrite, []byte("a write"))
	if err := <-served; err != nil {
		t.Fatalf("server: %v", err)
	}
	if err == nil {
		t.Fatal("call succeeded on a broken connection")
	}
	if errors.Is(err, errNotSent) {
		t.Fatalf("request the server read is reported not sent: %v", err)
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("call: %v, want ErrUnavailable", err)
	}
}

// countConn is a connection that counts what is written to it, even
// after Close.
type countConn struct {
	net.Conn
	written atomic.Int64
}

func (c *countConn) Write(p []byte) (int, error) {
	c.written.Add(int64(len(p)))
	return len(p), nil
}

// TestQueuedRequestNotSent: a request still queued when the connection
// breaks is reported not sent, and is then never written.
func TestQueuedRequestNotSent(t *testing.T) {
	for range 50 {
		a, b := net.Pipe()
		b.Close()
		conn := &countConn{Conn: a}
		cc := newClientConn(conn, "peer")
		errc := make(chan error, 1)
		go func() {
			_, err := cc.call(ctxT(t), rpcWrite, []byte("a write"))
			errc <- err
		}()
		waitFor(t, 5*time.Second, "the request to be queued", func() bool { return len(cc.reqs) == 1 })
		cc.fail(errors.New("boom"))
		if err := <-errc; !errors.Is(err, errNotSent) {
			t.Fatalf("queued request: %v, want errNotSent", err)
		}
		// writeLoop may still take the request off the queue (select
		// picks at random); it must not write it.
		cc.writeLoop()
		if n := conn.written.Load(); n != 0 {
			t.Fatalf("%d bytes written after the connection broke", n)
		}
	}
}

// TestCloseDuringDial: closing the client does not wait for a dial in
// progress, and the dialed connection is not used.
func TestCloseDuringDial(t *testing.T) {
	dialing := make(chan struct{})
	release := make(chan struct{})
	var peer net.Conn
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		close(dialing)
		<-release
		a, b := net.Pipe()
		peer = b
		go io.Copy(io.Discard, b)
		return a, nil
	}
	c := newRPCClient(dial, slog.New(slog.DiscardHandler))
	errc := make(chan error, 1)
	go func() {
		_, err := c.call(context.Background(), "peer:1", rpcInfo, nil)
		errc <- err
	}()
	<-dialing
	closed := make(chan struct{})
	go func() { c.close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("close blocked on a dial in progress")
	}
	close(release)
	if err := <-errc; !errors.Is(err, store.ErrClosed) {
		t.Fatalf("call during close: %v, want ErrClosed", err)
	}
	peer.Close()
	c.close() // twice is fine
}
