package storebench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram records latencies in log-linear buckets, as HdrHistogram
// does: values below 2^histBits nanoseconds each have a bucket, and every
// power of two above that is split into 2^(histBits-1) buckets, so a
// quantile is exact to within 1/2^(histBits-1) (0.8%) of its value
// whatever the range. Values of histMax or more land in the top bucket.
//
// Recording is a few instructions and never allocates. A Histogram is not
// safe for concurrent use: each client goroutine records into its own,
// and Merge combines them when the cell ends.
type Histogram struct {
	counts [histBuckets]uint64
	total  uint64
	sum    time.Duration
	min    time.Duration
	max    time.Duration
}

const (
	histBits    = 8
	histHalf    = 1 << (histBits - 1)
	histMaxBits = 40 // 2^40 ns is about 18 minutes
	histMax     = 1 << histMaxBits
	histBuckets = 1<<histBits + (histMaxBits-histBits)*histHalf
)

// bucketOf returns the index of the bucket that holds v nanoseconds.
func bucketOf(v uint64) int {
	if v >= histMax {
		v = histMax - 1
	}
	if v < 1<<histBits {
		return int(v)
	}
	shift := bits.Len64(v) - histBits // at least 1
	top := v >> shift                 // in [histHalf, 2*histHalf)
	return 1<<histBits + (shift-1)*histHalf + int(top) - histHalf
}

// bucketRange returns the smallest and largest value bucket i holds.
func bucketRange(i int) (lo, hi uint64) {
	if i < 1<<histBits {
		return uint64(i), uint64(i)
	}
	i -= 1 << histBits
	shift := i/histHalf + 1
	top := uint64(i%histHalf + histHalf)
	return top << shift, (top+1)<<shift - 1
}

// Record adds one latency. Negative durations count as 0.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	if h.total == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.total++
	h.sum += d
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.total += o.total
	h.sum += o.sum
}

// Count returns how many values were recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Mean returns the mean of the values, or 0 if there are none.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return h.sum / time.Duration(h.total)
}

// Max returns the largest value recorded.
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile returns the value below or at which a fraction q (0 to 1) of
// the recorded values lie: the largest value of the bucket that holds
// the value of rank ceil(q*n), clamped to the exact minimum and maximum
// seen. It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketRange(i)
			return min(max(time.Duration(hi), h.min), h.max)
		}
	}
	return h.max
}
