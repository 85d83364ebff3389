package ctrlutil

import (
	"testing"
	"time"

	"github.com/drover-io/drover/client/workqueue/fakeclock"
)

func TestWriteTracker(t *testing.T) {
	clk := fakeclock.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	tr := NewWriteTracker(clk, time.Minute)
	tr.Wrote("a", "10")
	if !tr.Stale("a", "10") || tr.Stale("b", "3") {
		t.Fatal("Stale: want true for a cache at the version written over, false for an object never written")
	}
	tr.Observed("a", "10") // an older event: still pending
	if !tr.Stale("a", "10") {
		t.Fatal("seeing the version written over cleared the write")
	}
	tr.Observed("a", "12")
	if tr.Stale("a", "10") {
		t.Fatal("a write seen is still pending")
	}

	// A relist may skip the written version: any other version will do.
	tr.Wrote("a", "12")
	if tr.Stale("a", "20") {
		t.Fatal("a cache past the write is stale")
	}
	// A deleted object's write and an expired write are forgotten.
	tr.Wrote("a", "20")
	tr.Forget("a")
	if tr.Stale("a", "20") {
		t.Fatal("a deleted object's write is pending")
	}
	tr.Wrote("b", "5")
	clk.Advance(2 * time.Minute)
	if tr.Stale("b", "5") {
		t.Fatal("an expired write is pending")
	}
}
