package mvcc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/drover-io/drover/store"
)

// benchValue is the size of a small Kubernetes object.
var benchValue = bytes.Repeat([]byte("x"), 512)

// benchKeys returns n keys shaped like the API server's.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("/registry/pods/ns-%03d/pod-%07d", i%100, i)
	}
	return keys
}

// loaded returns an Engine holding n keys.
func loaded(b *testing.B, n int) (*Engine, []string) {
	b.Helper()
	e := newEngine(b, Options{})
	keys := benchKeys(n)
	for _, k := range keys {
		if _, err := e.Create(k, benchValue); err != nil {
			b.Fatal(err)
		}
	}
	return e, keys
}

func BenchmarkCreate(b *testing.B) {
	e := newEngine(b, Options{})
	keys := benchKeys(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := e.Create(keys[i], benchValue); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	e, keys := loaded(b, 100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, _, err := e.Update(keys[i%len(keys)], benchValue, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyBatch100(b *testing.B) {
	e := newEngine(b, Options{})
	keys := benchKeys(b.N * 100)
	cmds := make([]Command, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for j := range cmds {
			cmds[j] = Command{Op: OpCreate, Key: keys[i*100+j], Value: benchValue}
		}
		for _, r := range e.Apply(cmds) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
}

func BenchmarkGet(b *testing.B) {
	e, keys := loaded(b, 100_000)
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := e.Get(keys[r.IntN(len(keys))], 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetParallel(b *testing.B) {
	e, keys := loaded(b, 100_000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), 2))
		for pb.Next() {
			if _, err := e.Get(keys[r.IntN(len(keys))], 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkList100 reads a page of 100 keys from a random place in a
// namespace of a 100k-key store.
func BenchmarkList100(b *testing.B) {
	e, keys := loaded(b, 100_000)
	slices.Sort(keys)
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		res, err := e.List("/registry/pods/", store.ListOptions{Limit: 100, After: keys[r.IntN(len(keys)-1000)]})
		if err != nil || len(res.KVs) != 100 {
			b.Fatal(err, len(res.KVs))
		}
	}
}

// BenchmarkWatchFanout measures a write delivered to 100 watchers of the
// same prefix; it includes the time for every watcher to receive it.
func BenchmarkWatchFanout(b *testing.B) {
	const watchers = 100
	e := newEngine(b, Options{})
	keys := benchKeys(b.N)
	done := make(chan int, watchers)
	for range watchers {
		ch, err := e.Watch(b.Context(), "/registry/", 0, store.WatchOptions{})
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			n := 0
			for range ch {
				if n++; n == b.N {
					break
				}
			}
			done <- n
		}()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := e.Create(keys[i], benchValue); err != nil {
			b.Fatal(err)
		}
	}
	for range watchers {
		<-done
	}
	b.ReportMetric(float64(b.N*watchers)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkSnapshot(b *testing.B) {
	e, _ := loaded(b, 100_000)
	var buf bytes.Buffer
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		buf.Reset()
		s, err := e.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.WriteTo(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

func BenchmarkRestore(b *testing.B) {
	e, _ := loaded(b, 100_000)
	data := snapshotBytes(b, e)
	r := newEngine(b, Options{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := r.Restore(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
