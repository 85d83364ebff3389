package mvcc

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/drover-io/drover/store"
)

// ring holds the events of the most recent revisions, one per revision:
// the events of revisions base+1 through base+n, oldest first.
type ring struct {
	buf   []store.Event
	start int   // index in buf of the oldest event
	n     int   // number of events held
	base  int64 // revision just before the oldest event held
}

// push appends the event of revision base+n+1, dropping the oldest if full.
func (r *ring) push(ev store.Event) {
	if r.n == len(r.buf) {
		r.buf[r.start] = store.Event{} // let the KeyValues go
		r.start = (r.start + 1) % len(r.buf)
		r.base++
		r.n--
	}
	r.buf[(r.start+r.n)%len(r.buf)] = ev
	r.n++
}

// at returns the event of revision rev, which must be in (base, base+n].
func (r *ring) at(rev int64) *store.Event {
	return &r.buf[(r.start+int(rev-r.base-1))%len(r.buf)]
}

// trim drops the events of revisions up to rev.
func (r *ring) trim(rev int64) {
	for r.n > 0 && r.base < rev {
		r.buf[r.start] = store.Event{}
		r.start = (r.start + 1) % len(r.buf)
		r.base++
		r.n--
	}
	if r.n == 0 && r.base < rev {
		r.base = rev
	}
}

// reset empties the ring, which then starts after revision base.
func (r *ring) reset(base int64) {
	clear(r.buf)
	r.start, r.n, r.base = 0, 0, base
}

// Limits on the work one watcher does per read lock, so that a watcher
// never holds writers up for long.
const (
	// maxBatch is the most events a watcher copies out of the ring at once.
	maxBatch = 256
	// maxScan is the most ring revisions a watcher examines at once.
	maxScan = 4096
	// minCatchUp is the least number of revisions a watcher that has fallen
	// out of the ring rebuilds from the key history at once.
	minCatchUp = 4096
)

// watcher is one watch. Its fields other than e and out are owned by its
// goroutine.
type watcher struct {
	e        *Engine
	prefix   string
	cursor   int64  // every event up to here has been delivered
	gen      uint64 // the Engine.gen the cursor belongs to
	progress bool
	out      chan store.Event
}

// run is the watch's goroutine: it reads the events after the cursor, sends
// them, and waits for more, until ctx ends, the Engine closes or the watch
// fails.
func (w *watcher) run(ctx context.Context) {
	e := w.e
	defer e.wg.Done()
	defer e.watchers.Add(-1)
	defer close(w.out)

	var (
		buf           []store.Event
		progress      chan struct{} // closed by the next tick; kept until seen, so no tick is lost
		sentSinceTick bool          // an event was sent since the last progress tick
		progressDue   bool          // send a progress event once caught up
	)
	send := func(ev store.Event) bool {
		select {
		case w.out <- ev:
			return true
		case <-ctx.Done():
		case <-e.done:
		}
		return false
	}
	for {
		e.mu.RLock()
		var covered, current int64
		var err error
		buf, covered, current, err = e.readLocked(w, buf[:0])
		notify := e.notify
		e.notifyTaken.Store(true)
		if w.progress && progress == nil {
			progress = e.progress
			e.progressTaken.Store(true)
		}
		e.mu.RUnlock()

		if err != nil {
			e.log.Debug("watch ended", "prefix", w.prefix, "cursor", w.cursor, "err", err)
			send(store.Event{Type: store.EventError, Err: err, Revision: w.cursor})
			return
		}
		for i := range buf {
			if !send(buf[i]) {
				return
			}
		}
		if len(buf) > 0 {
			sentSinceTick = true
		}
		clear(buf) // let the KeyValues go
		if cap(buf) > 4*maxBatch {
			buf = nil // a catch-up made it large
		}
		w.cursor = covered
		if covered < current {
			continue
		}
		if progressDue {
			if !send(store.Event{Type: store.EventProgress, Revision: covered}) {
				return
			}
			progressDue = false
		}
		select {
		case <-notify:
		case <-progress:
			progress = nil
			progressDue = !sentSinceTick
			sentSinceTick = false
		case <-ctx.Done():
			return
		case <-e.done:
			return
		}
	}
}

// readLocked appends to buf the next events for w after its cursor, and
// returns them with the revision they cover up to (the new cursor) and the
// current revision. e.mu must be held for reading.
func (e *Engine) readLocked(w *watcher, buf []store.Event) (_ []store.Event, covered, current int64, _ error) {
	if w.gen != e.gen {
		// The state was replaced by Restore. The watch can go on only if
		// the restored history still holds its cursor.
		if w.cursor < e.compactRev || w.cursor > e.rev {
			return buf, 0, 0, fmt.Errorf("store: watch %q: %w: the store was restored from a snapshot at revision %d "+
				"(history from revision %d) and no longer holds revision %d", w.prefix, store.ErrCompacted, e.rev, e.compactRev, w.cursor)
		}
		w.gen = e.gen
	}
	if w.cursor < e.compactRev {
		return buf, 0, 0, fmt.Errorf("store: watch %q: %w: the watch fell behind to revision %d and the store was compacted at %d",
			w.prefix, store.ErrCompacted, w.cursor, e.compactRev)
	}
	current = e.rev
	if w.cursor >= current {
		return buf, w.cursor, current, nil
	}
	if w.cursor >= e.ring.base {
		hi := min(current, w.cursor+maxScan)
		for rev := w.cursor + 1; rev <= hi; rev++ {
			ev := e.ring.at(rev)
			if strings.HasPrefix(ev.KV.Key, w.prefix) {
				buf = append(buf, *ev)
				if len(buf) == maxBatch {
					return buf, rev, current, nil
				}
			}
		}
		return buf, hi, current, nil
	}
	// The ring has moved past the cursor: rebuild the missed events from the
	// key history, which holds every revision since compactRev.
	hi := min(current, w.cursor+int64(max(len(e.ring.buf), minCatchUp)))
	buf = e.historyLocked(w.prefix, w.cursor, hi, buf)
	return buf, hi, current, nil
}

// historyLocked appends to buf, in revision order, the events for keys
// under prefix with revisions in (after, upTo], built from the key history.
// after must not be older than compactRev. e.mu must be held.
func (e *Engine) historyLocked(prefix string, after, upTo int64, buf []store.Event) []store.Event {
	from := len(buf)
	e.tree.AscendGreaterOrEqual(keyIndex{key: prefix}, func(ki keyIndex) bool {
		if !strings.HasPrefix(ki.key, prefix) {
			return false
		}
		vs := ki.versions
		i := sort.Search(len(vs), func(i int) bool { return vs[i].ModRevision > after })
		for ; i < len(vs) && vs[i].ModRevision <= upTo; i++ {
			buf = append(buf, eventAt(vs, i))
		}
		return true
	})
	slices.SortFunc(buf[from:], func(a, b store.Event) int { return cmp.Compare(a.Revision, b.Revision) })
	return buf
}

// eventAt returns the event that wrote version i of a key.
func eventAt(vs []*store.KeyValue, i int) store.Event {
	kv := vs[i]
	var prev *store.KeyValue
	if i > 0 {
		prev = vs[i-1]
	}
	switch {
	case kv.CreateRevision == 0:
		return store.Event{Type: store.EventDeleted, KV: kv, Prev: prev, Revision: kv.ModRevision}
	case kv.CreateRevision == kv.ModRevision:
		return store.Event{Type: store.EventAdded, KV: kv, Revision: kv.ModRevision}
	default:
		return store.Event{Type: store.EventModified, KV: kv, Prev: prev, Revision: kv.ModRevision}
	}
}
