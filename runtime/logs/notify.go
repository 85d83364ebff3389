package logs

import (
	"path/filepath"
	"sync"
)

// hub tells the readers following a file in this process that a Writer
// in this process has written to it or rotated it, so Follow needs no
// polling for the common case of a driver and a node agent in one
// process. Data written by another process is found by the fallback
// poll of Follow.
var hub = &notifier{files: map[string]*watched{}}

type notifier struct {
	mu    sync.Mutex
	files map[string]*watched
}

type watched struct {
	ch   chan struct{} // closed and replaced at each change
	refs int
}

// key is the form of a path the hub is keyed by.
func key(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

// subscribe registers interest in path; the caller calls unsubscribe
// when done.
func (n *notifier) subscribe(path string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	w := n.files[path]
	if w == nil {
		w = &watched{ch: make(chan struct{})}
		n.files[path] = w
	}
	w.refs++
}

func (n *notifier) unsubscribe(path string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if w := n.files[path]; w != nil {
		if w.refs--; w.refs == 0 {
			delete(n.files, path)
		}
	}
}

// changed returns a channel closed at the next change of path, which the
// caller has subscribed to. Take it before looking at the file so that no
// change is missed.
func (n *notifier) changed(path string) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if w := n.files[path]; w != nil {
		return w.ch
	}
	return nil
}

// notify wakes the readers of path.
func (n *notifier) notify(path string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if w := n.files[path]; w != nil {
		close(w.ch)
		w.ch = make(chan struct{})
	}
}
