package ctrlutil

import (
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestExpectationsCreations(t *testing.T) {
	clk := fakeclock.New(epoch)
	e := NewExpectations(clk, time.Minute)
	const key = "default/rs"
	if !e.Satisfied(key) {
		t.Fatal("a key with nothing recorded must be satisfied")
	}
	e.ExpectCreations(key, 2)
	if e.Satisfied(key) {
		t.Fatal("satisfied with 2 creations outstanding")
	}
	e.CreationObserved(key)
	if adds, dels := e.Pending(key); adds != 1 || dels != 0 {
		t.Fatalf("Pending = %d, %d; want 1, 0", adds, dels)
	}
	e.ExpectCreations(key, 1) // raising adds to what is outstanding
	e.CreationObserved(key)
	if e.Satisfied(key) {
		t.Fatal("satisfied with 1 creation outstanding")
	}
	e.CreationObserved(key)
	if !e.Satisfied(key) {
		t.Fatal("not satisfied after every creation was observed")
	}
	// An extra observation (an adopted pod, a replayed cache) does not
	// go below zero and eat a later expectation.
	e.CreationObserved(key)
	e.ExpectCreations(key, 1)
	if e.Satisfied(key) {
		t.Fatal("an observation before the expectation counted against it")
	}
	e.ExpectCreations(key, 0)
	e.ExpectCreations("other/key", -3)
	if !e.Satisfied("other/key") {
		t.Fatal("a non-positive expectation was recorded")
	}
}

func TestExpectationsDeletions(t *testing.T) {
	e := NewExpectations(fakeclock.New(epoch), 0)
	const key = "ns/rs"
	e.ExpectDeletions(key, "a", "b")
	e.DeletionObserved(key, "zzz") // not expected: ignored
	e.DeletionObserved(key, "a")
	e.DeletionObserved(key, "a") // twice: same as once
	if e.Satisfied(key) {
		t.Fatal("satisfied with b's deletion outstanding")
	}
	if _, dels := e.Pending(key); dels != 1 {
		t.Fatalf("pending deletions = %d, want 1", dels)
	}
	e.DeletionObserved(key, "b")
	if !e.Satisfied(key) {
		t.Fatal("not satisfied after both deletions were observed")
	}
	if e.Len() != 0 {
		t.Fatalf("a satisfied record was kept: Len = %d", e.Len())
	}
	e.DeletionObserved("never/seen", "x") // no record: no panic, nothing kept
	e.ExpectDeletions(key)
	if e.Len() != 0 {
		t.Fatal("an empty ExpectDeletions recorded something")
	}
}

func TestExpectationsDeletionsSeen(t *testing.T) {
	e := NewExpectations(fakeclock.New(epoch), 0)
	const key = "ns/rs"
	e.DeletionsSeen(key, func(api.UID) bool { t.Fatal("called with nothing pending"); return false })
	if e.PendingDeletions(key) {
		t.Fatal("pending deletions with nothing expected")
	}
	e.ExpectCreations(key, 1)
	e.ExpectDeletions(key, "a", "b")
	if !e.PendingDeletions(key) {
		t.Fatal("no pending deletions after ExpectDeletions")
	}
	// The cache shows a still active, b gone.
	e.DeletionsSeen(key, func(uid api.UID) bool { return uid == "a" })
	if adds, dels := e.Pending(key); adds != 1 || dels != 1 {
		t.Fatalf("Pending = %d, %d; want 1, 1: only b seen, creations untouched", adds, dels)
	}
	e.DeletionsSeen(key, func(api.UID) bool { return false })
	if e.PendingDeletions(key) {
		t.Fatal("a's deletion still pending after the cache showed it")
	}
	if e.Satisfied(key) {
		t.Fatal("satisfied with a creation outstanding")
	}
}

func TestExpectationsExpire(t *testing.T) {
	clk := fakeclock.New(epoch)
	e := NewExpectations(clk, time.Minute)
	const key = "default/rs"
	e.ExpectCreations(key, 3)
	e.ExpectDeletions(key, "u1")
	clk.Advance(time.Minute)
	if e.Satisfied(key) {
		t.Fatal("expired at exactly the TTL; it must last the whole TTL")
	}
	clk.Advance(time.Second)
	if adds, dels := e.Pending(key); adds != 0 || dels != 0 {
		t.Fatalf("Pending after expiry = %d, %d; want 0, 0", adds, dels)
	}
	if !e.Satisfied(key) {
		t.Fatal("not satisfied after the TTL: a lost event would wedge the controller")
	}
	// A new expectation after expiry starts afresh, without the lost
	// creations of the old one.
	e.ExpectCreations(key, 1)
	e.CreationObserved(key)
	if !e.Satisfied(key) {
		t.Fatal("the expired record's creations leaked into the new one")
	}
}

func TestExpectationsRaiseRestartsTTL(t *testing.T) {
	clk := fakeclock.New(epoch)
	e := NewExpectations(clk, time.Minute)
	const key = "default/rs"
	e.ExpectCreations(key, 1)
	clk.Advance(50 * time.Second)
	e.ExpectCreations(key, 1) // a new batch: wait a whole TTL for it
	clk.Advance(50 * time.Second)
	if e.Satisfied(key) {
		t.Fatal("the TTL ran from the first batch, not the last")
	}
}

func TestExpectationsDefaultTTLAndForget(t *testing.T) {
	clk := fakeclock.New(epoch)
	e := NewExpectations(clk, 0)
	const key = "default/rs"
	e.ExpectCreations(key, 1)
	clk.Advance(DefaultExpectationsTTL)
	if e.Satisfied(key) {
		t.Fatal("expired before DefaultExpectationsTTL")
	}
	e.Forget(key)
	if !e.Satisfied(key) || e.Len() != 0 {
		t.Fatal("Forget left the record")
	}
	if NewExpectations(nil, 0).clock == nil {
		t.Fatal("nil clock not defaulted")
	}
}

func TestExpectationsConcurrent(t *testing.T) {
	e := NewExpectations(fakeclock.New(epoch), time.Minute)
	const key, n = "default/rs", 200
	e.ExpectCreations(key, n)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range n / 4 {
				e.CreationObserved(key)
				_ = e.Satisfied(key)
			}
		})
	}
	wg.Wait()
	if !e.Satisfied(key) {
		t.Fatal("not satisfied after n concurrent observations")
	}
}
