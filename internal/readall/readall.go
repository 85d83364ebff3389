// Package readall reads a body whose length is declared in one
// allocation, where io.ReadAll grows its buffer several times for a body
// of a few KiB.
package readall

import (
	"bytes"
	"io"
)

// Sized reads r to its end. When n, the declared length, is positive and
// at most max, the buffer is allocated once for n bytes and room to see
// the end; otherwise, or if r holds more than declared, it grows as the
// bytes come, as io.ReadAll's does. max bounds what a declared length
// alone makes the caller allocate before any byte arrives.
func Sized(r io.Reader, n, max int64) ([]byte, error) {
	if n <= 0 || n > max {
		return io.ReadAll(r)
	}
	var buf bytes.Buffer
	buf.Grow(int(n) + bytes.MinRead)
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}
