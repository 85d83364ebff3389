package storebench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsTileTheRange(t *testing.T) {
	var next uint64
	for i := range histBuckets {
		lo, hi := bucketRange(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		if hi < lo {
			t.Fatalf("bucket %d is [%d, %d]", i, lo, hi)
		}
		if got := bucketOf(lo); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", lo, got, i)
		}
		if got := bucketOf(hi); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", hi, got, i)
		}
		if lo > 0 && float64(hi-lo) > float64(lo)/histHalf {
			t.Fatalf("bucket %d [%d, %d] is wider than 1/%d of its value", i, lo, hi, histHalf)
		}
		next = hi + 1
	}
	if next != histMax {
		t.Fatalf("buckets end at %d, want %d", next, uint64(histMax))
	}
	if got := bucketOf(math.MaxUint64); got != histBuckets-1 {
		t.Fatalf("bucketOf(max) = %d, want the top bucket %d", got, histBuckets-1)
	}
}

func TestQuantilesMatchASortedSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var sample []time.Duration
	var parts [4]Histogram
	for i := range 100_000 {
		// Log-normal-ish latencies from 20µs to a few hundred ms.
		d := time.Duration(math.Exp(rng.NormFloat64()*1.5+math.Log(2e6))) + 20*time.Microsecond
		sample = append(sample, d)
		parts[i%len(parts)].Record(d)
	}
	var h Histogram
	for i := range parts {
		h.Merge(&parts[i])
	}
	slices.Sort(sample)
	if h.Count() != uint64(len(sample)) {
		t.Fatalf("Count = %d, want %d", h.Count(), len(sample))
	}
	for _, q := range []float64{0, 0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		rank := max(int(math.Ceil(q*float64(len(sample)))), 1)
		want := sample[rank-1]
		got := h.Quantile(q)
		if got < want || float64(got-want) > float64(want)/histHalf {
			t.Errorf("Quantile(%v) = %v, want %v to within 1/%d above", q, got, want, histHalf)
		}
	}
	if h.Max() != sample[len(sample)-1] {
		t.Errorf("Max = %v, want %v", h.Max(), sample[len(sample)-1])
	}
	var sum time.Duration
	for _, d := range sample {
		sum += d
	}
	if want := sum / time.Duration(len(sample)); h.Mean() != want {
		t.Errorf("Mean = %v, want %v", h.Mean(), want)
	}
}

func TestEmptyHistogram(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Count() != 0 {
		t.Fatalf("empty histogram: p50 %v, mean %v, count %d", h.Quantile(0.5), h.Mean(), h.Count())
	}
	var o Histogram
	o.Record(3 * time.Millisecond)
	h.Merge(&o)
	if h.Quantile(0) != 3*time.Millisecond || h.Quantile(1) != 3*time.Millisecond {
		t.Fatalf("one value: p0 %v, p100 %v", h.Quantile(0), h.Quantile(1))
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	for i := range b.N {
		h.Record(time.Duration(i) * 997)
	}
}
