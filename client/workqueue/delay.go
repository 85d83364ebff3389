package workqueue

import "time"

// The delayed adds: a min-heap of items ordered by the time they become
// ready, with an index so that a second AddAfter of a waiting item finds
// it, and one clock timer armed for the earliest. The queue's mutex guards
// all of it.

type waitingItem[T comparable] struct {
	item    T
	readyAt time.Time
	seq     uint64 // breaks ties in readyAt: first added, first queued
}

type waitHeap[T comparable] struct {
	items []waitingItem[T]
	index map[T]int // item -> position in items
	seq   uint64
}

func (h *waitHeap[T]) len() int { return len(h.items) }

// add puts item in the heap to become ready at readyAt; if it is already
// there, the earlier of the two times wins.
func (h *waitHeap[T]) add(item T, readyAt time.Time) {
	if i, ok := h.index[item]; ok {
		if readyAt.Before(h.items[i].readyAt) {
			h.items[i].readyAt = readyAt
			h.up(i)
		}
		return
	}
	if h.index == nil {
		h.index = make(map[T]int)
	}
	h.seq++
	h.items = append(h.items, waitingItem[T]{item: item, readyAt: readyAt, seq: h.seq})
	h.index[item] = len(h.items) - 1
	h.up(len(h.items) - 1)
}

// peek returns the earliest item; the heap must not be empty.
func (h *waitHeap[T]) peek() waitingItem[T] { return h.items[0] }

// pop removes the earliest item; the heap must not be empty.
func (h *waitHeap[T]) pop() waitingItem[T] {
	top := h.items[0]
	last := len(h.items) - 1
	h.swap(0, last)
	h.items[last] = waitingItem[T]{}
	h.items = h.items[:last]
	delete(h.index, top.item)
	if last > 0 {
		h.down(0)
	}
	return top
}

func (h *waitHeap[T]) clear() {
	clear(h.items)
	h.items = h.items[:0]
	clear(h.index)
}

func (h *waitHeap[T]) less(i, j int) bool {
	a, b := &h.items[i], &h.items[j]
	if a.readyAt.Equal(b.readyAt) {
		return a.seq < b.seq
	}
	return a.readyAt.Before(b.readyAt)
}

func (h *waitHeap[T]) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.index[h.items[i].item] = i
	h.index[h.items[j].item] = j
}

func (h *waitHeap[T]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h *waitHeap[T]) down(i int) {
	n := len(h.items)
	for {
		smallest := i
		if l := 2*i + 1; l < n && h.less(l, smallest) {
			smallest = l
		}
		if r := 2*i + 2; r < n && h.less(r, smallest) {
			smallest = r
		}
		if smallest == i {
			return
		}
		h.swap(i, smallest)
		i = smallest
	}
}

// AddAfter adds item to the queue once d has passed on the queue's clock;
// d <= 0 is Add. An item already waiting keeps the earlier of its two ready
// times, so a burst of AddAfter calls for one item queues it once. AddAfter
// does not look at whether the item is queued or being processed now: when
// it becomes ready it is added as by Add, with Add's de-duplication.
//
// AddAfter never blocks. After ShutDown it does nothing, and ShutDown
// drops the items still waiting. Safe to call from any goroutine.
func (q *Queue[T]) AddAfter(item T, d time.Duration) {
	if d <= 0 {
		q.Add(item)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shuttingDown {
		return
	}
	q.waiting.add(item, q.clock.Now().Add(d))
	q.armLocked()
}

// armLocked makes sure the clock timer is set for the earliest waiting
// item, or not set if none waits.
func (q *Queue[T]) armLocked() {
	if q.waiting.len() == 0 {
		q.stopTimerLocked()
		return
	}
	at := q.waiting.peek().readyAt
	if q.timerStop != nil && q.timerAt.Equal(at) {
		return
	}
	q.stopTimerLocked()
	q.timerGen++
	gen := q.timerGen
	q.timerAt = at
	q.timerStop = q.clock.AfterFunc(at.Sub(q.clock.Now()), func() { q.fire(gen) })
}

func (q *Queue[T]) stopTimerLocked() {
	if q.timerStop != nil {
		q.timerStop()
		q.timerStop = nil
	}
}

// fire runs on the clock's timer: it queues every waiting item that is
// ready and arms the timer for the next. A timer that fires after it was
// replaced (its gen is old) finds nothing or only ready items to move, so
// running it is harmless.
func (q *Queue[T]) fire(gen uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if gen == q.timerGen {
		q.timerStop = nil
	}
	if q.shuttingDown {
		return
	}
	now := q.clock.Now()
	for q.waiting.len() > 0 && !q.waiting.peek().readyAt.After(now) {
		q.addLocked(q.waiting.pop().item, now)
	}
	q.armLocked()
	q.dispatchLocked()
}
