package raftstore

import (
	"os"
	"runtime"
	"strconv"
	"sync"
)

// RaiseGOMAXPROCS gives the Go runtime one processor (P) more than
// GOMAXPROCS is at its first call (the runtime's choice, unless the
// process set it), once per process, unless the GOMAXPROCS environment
// variable sets it (to a number above 0, as the runtime reads it); it
// returns the number before and after (equal when it changed nothing).
// A process that runs a member should call it at start; the drover
// binary does for up and server. See "Processors" in the package
// documentation for why.
func RaiseGOMAXPROCS() (before, after int) {
	raiseOnce.Do(func() {
		raisedFrom = runtime.GOMAXPROCS(0)
		raisedTo = raisedFrom
		if n, err := strconv.Atoi(os.Getenv("GOMAXPROCS")); err != nil || n <= 0 {
			raisedTo = raisedFrom + 1
			runtime.GOMAXPROCS(raisedTo)
		}
	})
	return raisedFrom, raisedTo
}

var (
	raiseOnce            sync.Once
	raisedFrom, raisedTo int
)
