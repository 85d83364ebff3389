package raftstore

import (
	"os"
	"runtime"
	"sync"
)

// RaiseGOMAXPROCS gives the Go runtime one processor (P) more than it
// chose, once per process, unless the GOMAXPROCS environment variable is
// set; it returns the number before and after (equal when it changed
// nothing). A process that runs a member should call it at start; the
// drover binary does for up and server. See "Processors" in the package
// documentation for why.
func RaiseGOMAXPROCS() (before, after int) {
	raiseOnce.Do(func() {
		raisedFrom = runtime.GOMAXPROCS(0)
		raisedTo = raisedFrom
		if os.Getenv("GOMAXPROCS") == "" {
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
