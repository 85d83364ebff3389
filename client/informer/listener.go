package informer

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/drover-io/drover/api"
)

type noteKind uint8

const (
	addNote noteKind = iota
	updateNote
	deleteNote
	// syncedNote marks the end of the notifications of the first list.
	syncedNote
)

// notification is one change for a handler.
type notification struct {
	kind    noteKind
	old     api.Object
	obj     api.Object
	initial bool
}

// listener delivers notifications to one handler from its own goroutine,
// through an unbounded buffer, so a slow handler never holds up the
// informer or the other handlers.
type listener struct {
	h      Handler
	mu     sync.Mutex
	buf    []notification
	wake   chan struct{} // capacity 1: "buf is not empty"
	synced atomic.Bool
}

func newListener(h Handler) *listener {
	return &listener{h: h, wake: make(chan struct{}, 1)}
}

// push queues n. It never blocks.
func (l *listener) push(n notification) {
	l.mu.Lock()
	l.buf = append(l.buf, n)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// HasSynced reports whether the handler has been given the first list.
func (l *listener) HasSynced() bool { return l.synced.Load() }

// run delivers notifications until ctx ends.
func (l *listener) run(ctx context.Context) {
	for {
		l.mu.Lock()
		batch := l.buf
		l.buf = nil
		l.mu.Unlock()
		for i, n := range batch {
			if ctx.Err() != nil {
				return
			}
			l.deliver(n)
			batch[i] = notification{} // let the objects go
		}
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		}
	}
}

func (l *listener) deliver(n notification) {
	switch n.kind {
	case addNote:
		l.h.OnAdd(n.obj, n.initial)
	case updateNote:
		l.h.OnUpdate(n.old, n.obj)
	case deleteNote:
		l.h.OnDelete(n.obj)
	case syncedNote:
		l.synced.Store(true)
	}
}
