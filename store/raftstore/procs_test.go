package raftstore

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestRaiseGOMAXPROCS runs in a child process, since the setting is
// process-wide and made once: without GOMAXPROCS in the environment it
// raises the runtime's choice by one, once; with it, it changes nothing.
func TestRaiseGOMAXPROCS(t *testing.T) {
	if os.Getenv("RAFTSTORE_PROCS_CHILD") != "" {
		start := runtime.GOMAXPROCS(0)
		b1, a1 := RaiseGOMAXPROCS()
		b2, a2 := RaiseGOMAXPROCS()
		// For the parent: the start, both calls' answers, the result.
		os.Stdout.WriteString(strings.Join([]string{strconv.Itoa(start), strconv.Itoa(b1), strconv.Itoa(a1),
			strconv.Itoa(b2), strconv.Itoa(a2), strconv.Itoa(runtime.GOMAXPROCS(0))}, " ") + "\n")
		return
	}
	child := func(extra ...string) []int {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run", "^TestRaiseGOMAXPROCS$", "-test.count", "1")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "GOMAXPROCS=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "RAFTSTORE_PROCS_CHILD=1")
		cmd.Env = append(cmd.Env, extra...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		var nums []int
		for _, f := range strings.Fields(strings.SplitN(string(out), "\n", 2)[0]) {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("child printed %q", out)
			}
			nums = append(nums, n)
		}
		return nums
	}
	got := child()
	if len(got) == 0 {
		t.Fatal("the child printed nothing")
	}
	n := got[0]
	if want := []int{n, n, n + 1, n, n + 1, n + 1}; !slices.Equal(got, want) {
		t.Errorf("without GOMAXPROCS: start, calls and result %v, want %v", got, want)
	}
	got = child("GOMAXPROCS=3")
	if want := []int{3, 3, 3, 3, 3, 3}; !slices.Equal(got, want) {
		t.Errorf("with GOMAXPROCS=3: start, calls and result %v, want %v", got, want)
	}
	// Values the runtime ignores leave it its own choice, which is raised.
	for _, v := range []string{"0", "abc", "-2"} {
		got = child("GOMAXPROCS=" + v)
		if want := []int{n, n, n + 1, n, n + 1, n + 1}; !slices.Equal(got, want) {
			t.Errorf("with GOMAXPROCS=%s: start, calls and result %v, want %v", v, got, want)
		}
	}
}
