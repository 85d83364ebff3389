package growstack

import (
	"testing"
	"unsafe"
)

// deep recurses n frames of about 1 KiB each.
//
//go:noinline
func deep(n int) byte {
	var pad [1000]byte
	pad[n%len(pad)] = byte(n)
	if n == 0 {
		return pad[0]
	}
	return deep(n-1) + pad[(n*7)%len(pad)]
}

// depth is a call chain that fits in Size with room to spare.
const depth = Size/1100 - 4

// stackMoved runs a goroutine that calls Grow first, or not, then a call
// chain of depth frames, and reports whether its stack was copied during
// the chain: a copy moves every variable on it, and the runtime updates
// the pointers to them (p) but not an address taken as a number.
func stackMoved(t *testing.T, grow bool) bool {
	t.Helper()
	ch := make(chan bool)
	go func() {
		if grow {
			Grow()
		}
		var x byte
		p := &x
		before := uintptr(unsafe.Pointer(p))
		deep(depth)
		ch <- uintptr(unsafe.Pointer(p)) != before
	}()
	return <-ch
}

// TestGrow checks what Grow is for: a goroutine that grew first runs a
// call chain of nearly Size without its stack being copied, where one
// that did not is copied (which also shows the check can fail).
func TestGrow(t *testing.T) {
	for range 20 {
		if stackMoved(t, true) {
			t.Fatal("the stack was copied during the call chain after Grow")
		}
	}
	if !stackMoved(t, false) {
		t.Fatal("without Grow the call chain did not copy the stack: the test shows nothing")
	}
}

// BenchmarkRequestGoroutine is a goroutine per request with a deep call
// chain, as the API server's in-process requests run.
func BenchmarkRequestGoroutine(b *testing.B) {
	for _, grow := range []bool{false, true} {
		name := "grown-on-demand"
		if grow {
			name = "Grow"
		}
		b.Run(name, func(b *testing.B) {
			done := make(chan byte)
			for b.Loop() {
				go func() {
					if grow {
						Grow()
					}
					done <- deep(depth)
				}()
				<-done
			}
		})
	}
}
