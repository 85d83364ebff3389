package workqueue_test

import (
	"testing"
	"time"

	"github.com/drover-io/drover/client/workqueue"
	"github.com/drover-io/drover/client/workqueue/fakeclock"
)

func TestExponentialBackoffGrowsAndCaps(t *testing.T) {
	r, err := workqueue.NewExponentialRateLimiter[string](5*time.Millisecond, 1000*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := 5 * time.Millisecond
	for i := range 18 { // 5ms·2^17 = 655s, still under the cap
		if got := r.When("a"); got != want {
			t.Fatalf("retry %d: When = %v, want %v", i, got, want)
		}
		want *= 2
	}
	for range 100 { // far past where base<<n would overflow
		if got := r.When("a"); got != 1000*time.Second {
			t.Fatalf("When = %v past the cap, want 1000s", got)
		}
	}
	if n := r.NumRequeues("a"); n != 118 {
		t.Fatalf("NumRequeues = %d, want 118", n)
	}
	// Items back off separately.
	if got := r.When("b"); got != 5*time.Millisecond {
		t.Fatalf("When(b) = %v, want 5ms", got)
	}
}

func TestExponentialForgetResets(t *testing.T) {
	r, err := workqueue.NewExponentialRateLimiter[string](time.Millisecond, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r.When("a")
	r.When("a")
	r.Forget("a")
	if n := r.NumRequeues("a"); n != 0 {
		t.Fatalf("NumRequeues after Forget = %d, want 0", n)
	}
	if got := r.When("a"); got != time.Millisecond {
		t.Fatalf("When after Forget = %v, want the base 1ms", got)
	}
}

func TestRateLimiterConstructorsRejectBadParameters(t *testing.T) {
	if _, err := workqueue.NewExponentialRateLimiter[string](0, time.Second); err == nil {
		t.Error("base 0 accepted")
	}
	if _, err := workqueue.NewExponentialRateLimiter[string](time.Second, time.Millisecond); err == nil {
		t.Error("max < base accepted")
	}
	if _, err := workqueue.NewBucketRateLimiter[string](0, 10, nil); err == nil {
		t.Error("qps 0 accepted")
	}
	if _, err := workqueue.NewBucketRateLimiter[string](10, 0, nil); err == nil {
		t.Error("burst 0 accepted")
	}
}

func TestTokenBucket(t *testing.T) {
	clk := fakeclock.New(epoch)
	r, err := workqueue.NewBucketRateLimiter[string](10, 100, clk)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if d := r.When("x"); d != 0 {
			t.Fatalf("When #%d = %v within the burst, want 0", i, d)
		}
	}
	// The bucket is empty: each further retry waits one more 1/qps.
	for i, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond} {
		if d := r.When("y"); d != want {
			t.Fatalf("When #%d past the burst = %v, want %v", 100+i, d, want)
		}
	}
	// One second refills 10 tokens; 3 were lent, so 7 are free.
	clk.Advance(time.Second)
	for i := range 7 {
		if d := r.When("z"); d != 0 {
			t.Fatalf("When #%d after refill = %v, want 0", i, d)
		}
	}
	if d := r.When("z"); d != 100*time.Millisecond {
		t.Fatalf("When after the refill is spent = %v, want 100ms", d)
	}
	// A long idle period fills the bucket only up to burst.
	clk.Advance(time.Hour)
	for i := range 100 {
		if d := r.When("x"); d != 0 {
			t.Fatalf("When #%d after idling = %v, want 0", i, d)
		}
	}
	if d := r.When("x"); d != 100*time.Millisecond {
		t.Fatalf("When past a refilled burst = %v, want 100ms", d)
	}
	if n := r.NumRequeues("x"); n != 0 {
		t.Fatalf("NumRequeues = %d, want 0 (the bucket counts no items)", n)
	}
}

func TestMaxOf(t *testing.T) {
	clk := fakeclock.New(epoch)
	exp, _ := workqueue.NewExponentialRateLimiter[string](time.Millisecond, time.Minute)
	bucket, _ := workqueue.NewBucketRateLimiter[string](1, 1, clk)
	r := workqueue.MaxOf[string](exp, bucket)

	if d := r.When("a"); d != time.Millisecond { // bucket had a token
		t.Fatalf("When = %v, want 1ms from the backoff", d)
	}
	if d := r.When("a"); d != time.Second { // bucket: 1s; backoff: 2ms
		t.Fatalf("When = %v, want 1s from the bucket", d)
	}
	if n := r.NumRequeues("a"); n != 2 {
		t.Fatalf("NumRequeues = %d, want 2", n)
	}
	r.Forget("a")
	if n := r.NumRequeues("a"); n != 0 {
		t.Fatalf("NumRequeues after Forget = %d, want 0", n)
	}
}

func TestDefaultRateLimiter(t *testing.T) {
	clk := fakeclock.New(epoch)
	r := workqueue.DefaultRateLimiter[int](clk)
	// Per item: 5ms, 10ms, 20ms while the bucket has tokens.
	for i, want := range []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
		if d := r.When(0); d != want {
			t.Fatalf("When #%d = %v, want %v", i, d, want)
		}
	}
	// 97 more distinct items spend the burst of 100...
	for i := 1; i <= 97; i++ {
		if d := r.When(i); d != 5*time.Millisecond {
			t.Fatalf("When(%d) = %v, want 5ms", i, d)
		}
	}
	// ...and then the 10 qps bucket sets the pace for a fresh item.
	if d := r.When(1000); d != 100*time.Millisecond {
		t.Fatalf("When past the burst = %v, want 100ms", d)
	}
}

func TestQueueAddRateLimited(t *testing.T) {
	clk := fakeclock.New(epoch)
	exp, _ := workqueue.NewExponentialRateLimiter[string](time.Second, time.Minute)
	q, err := workqueue.New(workqueue.Config[string]{Clock: clk, RateLimiter: exp})
	if err != nil {
		t.Fatal(err)
	}
	// A worker fails twice, then succeeds.
	q.Add("a")
	for retry, delay := range []time.Duration{time.Second, 2 * time.Second} {
		a := mustGet(t, q)
		q.AddRateLimited(a)
		q.Done(a)
		if n := q.NumRequeues("a"); n != retry+1 {
			t.Fatalf("NumRequeues = %d, want %d", n, retry+1)
		}
		clk.Advance(delay - time.Millisecond)
		if q.Len() != 0 {
			t.Fatalf("retry %d queued before its %v backoff", retry, delay)
		}
		clk.Advance(time.Millisecond)
		if q.Len() != 1 {
			t.Fatalf("retry %d not queued after its %v backoff", retry, delay)
		}
	}
	a := mustGet(t, q)
	q.Forget(a)
	q.Done(a)
	if n := q.NumRequeues("a"); n != 0 {
		t.Fatalf("NumRequeues after Forget = %d, want 0", n)
	}
	q.AddRateLimited("a")
	clk.Advance(time.Second)
	if q.Len() != 1 {
		t.Fatal("after Forget the backoff did not start again at the base")
	}
}
