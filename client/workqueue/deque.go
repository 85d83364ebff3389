package workqueue

// deque is a growable ring buffer: the FIFO of queued items. pushFront is
// for the rare item a cancelled Get hands back.
type deque[T any] struct {
	buf  []T
	head int // index of the first item
	n    int
}

func (d *deque[T]) len() int { return d.n }

func (d *deque[T]) pushBack(v T) {
	if d.n == len(d.buf) {
		d.resize(max(16, 2*len(d.buf)))
	}
	d.buf[(d.head+d.n)%len(d.buf)] = v
	d.n++
}

func (d *deque[T]) pushFront(v T) {
	if d.n == len(d.buf) {
		d.resize(max(16, 2*len(d.buf)))
	}
	d.head = (d.head - 1 + len(d.buf)) % len(d.buf)
	d.buf[d.head] = v
	d.n++
}

// popFront removes the first item; the deque must not be empty.
func (d *deque[T]) popFront() T {
	var zero T
	v := d.buf[d.head]
	d.buf[d.head] = zero // let the GC have what the item points to
	d.head = (d.head + 1) % len(d.buf)
	d.n--
	// Give back the memory of a burst once it has been worked off.
	if len(d.buf) > 1024 && d.n < len(d.buf)/4 {
		d.resize(len(d.buf) / 2)
	}
	return v
}

func (d *deque[T]) resize(size int) {
	buf := make([]T, size)
	if d.n > 0 {
		if d.head+d.n <= len(d.buf) {
			copy(buf, d.buf[d.head:d.head+d.n])
		} else {
			k := copy(buf, d.buf[d.head:])
			copy(buf[k:], d.buf[:d.n-k])
		}
	}
	d.buf, d.head = buf, 0
}
