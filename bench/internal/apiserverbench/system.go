package apiserverbench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// System is a server under test. Run calls Begin, Memory, Write and CPU
// from one goroutine, and Watch from several at once.
type System interface {
	// Name is the system's name in the table: "drover", "etcd".
	Name() string
	// Begin is called before a cell's watches are opened: they watch
	// the changes after this point.
	Begin(ctx context.Context) error
	// Watch opens one watch of every write and returns once the server
	// has it. A goroutine added to wg then adds the events it receives to
	// c until ctx ends.
	Watch(ctx context.Context, c *Counter, wg *sync.WaitGroup) error
	// Write makes one change, which every watch receives as one event.
	// i is unique in the run.
	Write(ctx context.Context, i int64) error
	// Memory reports the server's memory now.
	Memory(ctx context.Context) (Memory, error)
	// CPU returns the CPU time the server has used so far.
	CPU() time.Duration
	// Close stops the server.
	Close() error
}

// Memory is a server's memory.
type Memory struct {
	// Go is the Go heap and stacks in use after a GC (HeapInuse +
	// StackInuse), or 0 if the system does not say.
	Go uint64
	// RSS is the server process's resident set.
	RSS uint64
}

// Counter counts the events of one watch. It is padded to a cache line.
type Counter struct {
	events atomic.Int64
	failed atomic.Bool // the watch ended early or got an ERROR
	_      [48]byte
}

// Events returns the number of events received.
func (c *Counter) Events() int64 { return c.events.Load() }

// processCPU reads a process's user and system time from /proc, or 0.
func processCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Field 2, the command, is in parentheses and may hold spaces; utime
	// and stime are the 12th and 13th fields after it.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	const userHZ = 100
	return time.Duration(utime+stime) * time.Second / userHZ
}

// processRSS reads a process's resident set size from /proc, or 0.
func processRSS(pid int) uint64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// selfCPU returns the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
