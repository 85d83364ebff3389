package logs_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/drover-io/drover/runtime/logs"
)

// chunk is 4 KiB of output in 64 lines of 64 bytes, as a pipe delivers it.
var chunk = bytes.Repeat(append(bytes.Repeat([]byte{'x'}, 63), '\n'), 64)

// BenchmarkWrite measures the output a Writer turns into log records,
// rotation at the default size included (MB/s of container output).
func BenchmarkWrite(b *testing.B) {
	w, err := logs.NewWriter(filepath.Join(b.TempDir(), "0.log"), logs.DefaultWriterConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	out := w.Stdout()
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := out.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead measures Read of a 4 MiB log (MB/s of container output).
func BenchmarkRead(b *testing.B) {
	path := filepath.Join(b.TempDir(), "0.log")
	w, err := logs.NewWriter(path, logs.WriterConfig{})
	if err != nil {
		b.Fatal(err)
	}
	const chunks = 1024
	for range chunks {
		w.Stdout().Write(chunk)
	}
	w.Close()
	b.SetBytes(chunks * int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		if err := logs.Read(context.Background(), path, logs.ReadOptions{}, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
