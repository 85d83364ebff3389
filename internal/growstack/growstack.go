// Package growstack grows a new goroutine's stack once, up front, for
// goroutines that are started per request and then run deep call chains
// (an API request's handler, with JSON decoding several dozen frames
// deep). A goroutine starts with a small stack that the runtime doubles
// each time a call does not fit, copying the whole stack and adjusting
// every frame's pointers each time; for a goroutine that lives for one
// request, the copies cost more than the request's decoding (several
// percent of an API server's CPU under load). Growing it once at the
// start, when it holds a frame or two, costs one allocation and a copy of
// almost nothing.
package growstack

// Size is the stack a goroutine has after Grow: 16 KiB, which the API
// server's requests (decoding a Pod with goccy/go-json behind the
// server's middleware) fit in; a profile of the scheduler benchmark shows
// under 2 % of their growth left, where 32 KiB cost twice as much to get
// as 16.
const Size = 16 << 10

// frame is Grow's frame: the runtime doubles the stack until the frame
// and a guard fit, which from a new goroutine's 2 KiB (or the runtime's
// larger adaptive start) lands on Size.
const frame = Size/2 + 1024

var (
	sink  byte
	never bool // false; the compiler cannot know it
)

// Grow grows the calling goroutine's stack to at least Size. Call it
// first thing in the goroutine. It costs a check on a stack already that
// large.
//
//go:noinline
func Grow() {
	// The frame holds buf whether or not the branch runs, and the
	// prologue's stack check is for the whole frame: so the stack grows
	// here without buf's 9 KiB being zeroed, which, on memory a new
	// stack has not touched yet, would cost as much as the growth saved.
	if never {
		var buf [frame]byte
		sink = buf[int(sink)%frame]
	}
}
