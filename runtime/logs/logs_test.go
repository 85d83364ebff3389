package logs_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/runtime/logs"
)

// stepClock returns a time one millisecond later at each call.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func newStepClock() *stepClock { return &stepClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func newWriter(t *testing.T, path string, cfg logs.WriterConfig) *logs.Writer {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = newStepClock()
	}
	w, err := logs.NewWriter(path, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	return w
}

func readAll(t *testing.T, path string, opts logs.ReadOptions) string {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, logs.Read(context.Background(), path, opts, &out))
	return out.String()
}

func TestWriterFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c", "0.log")
	w := newWriter(t, path, logs.WriterConfig{})
	fmt.Fprint(w.Stdout(), "one\ntw")
	fmt.Fprint(w.Stderr(), "err\n")
	fmt.Fprint(w.Stdout(), "o\n\nhalf")
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "closing twice")
	_, err := w.Stdout().Write([]byte("x"))
	assert.ErrorIs(t, err, logs.ErrClosed)

	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, ""+
		"2026-01-02T03:04:05.001Z stdout F one\n"+
		"2026-01-02T03:04:05.002Z stderr F err\n"+
		"2026-01-02T03:04:05.003Z stdout F two\n"+
		"2026-01-02T03:04:05.003Z stdout F \n"+
		"2026-01-02T03:04:05.004Z stdout P half\n", string(got))
	assert.Equal(t, "one\nerr\ntwo\n\nhalf", readAll(t, path, logs.ReadOptions{}))
}

func TestWriterLongLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w := newWriter(t, path, logs.WriterConfig{})
	long := strings.Repeat("x", logs.MaxRecordText*2+10)
	// Without a newline: fragments as soon as MaxRecordText gathered.
	fmt.Fprint(w.Stdout(), long)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(string(data), " stdout P "))
	fmt.Fprint(w.Stdout(), "\n"+long+"\n")
	require.NoError(t, w.Close())

	data, err = os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, lines, 6)
	for i, tag := range []string{"P", "P", "F", "P", "P", "F"} {
		rec, err := logs.ParseRecord([]byte(lines[i]))
		require.NoError(t, err)
		assert.Equal(t, tag == "P", rec.Partial, "record %d", i)
		assert.LessOrEqual(t, len(rec.Text), logs.MaxRecordText)
	}
	assert.Equal(t, long+"\n"+long+"\n", readAll(t, path, logs.ReadOptions{}))
}

func TestWriterConcurrentStreamsInterleaveByLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w := newWriter(t, path, logs.WriterConfig{})
	var wg sync.WaitGroup
	for _, name := range []string{"out", "err"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := w.Stdout()
			if name == "err" {
				dst = w.Stderr()
			}
			for i := range 200 {
				// Lines split across writes at odd places.
				fmt.Fprintf(dst, "%s-%03d-", name, i)
				fmt.Fprintf(dst, "end\n")
			}
		}()
	}
	wg.Wait()
	require.NoError(t, w.Close())
	out := readAll(t, path, logs.ReadOptions{Stream: logs.Stdout})
	errs := readAll(t, path, logs.ReadOptions{Stream: logs.Stderr})
	var wantOut, wantErr strings.Builder
	for i := range 200 {
		fmt.Fprintf(&wantOut, "out-%03d-end\n", i)
		fmt.Fprintf(&wantErr, "err-%03d-end\n", i)
	}
	assert.Equal(t, wantOut.String(), out)
	assert.Equal(t, wantErr.String(), errs)
}

func TestWriterConfigValidate(t *testing.T) {
	assert.NoError(t, logs.DefaultWriterConfig().Validate())
	assert.ErrorContains(t, logs.WriterConfig{MaxSize: -1}.Validate(), "MaxSize")
	assert.ErrorContains(t, logs.WriterConfig{MaxSize: 10}.Validate(), "MaxFiles")
	_, err := logs.NewWriter(filepath.Join(t.TempDir(), "x"), logs.WriterConfig{MaxSize: 10})
	assert.ErrorContains(t, err, "MaxFiles")
}

func listLogs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	// Each record is 40 bytes ("2026-01-02T03:04:05.001Z stdout F line-00\n"
	// is 41): rotate after every two lines, keep three files.
	w := newWriter(t, path, logs.WriterConfig{MaxSize: 80, MaxFiles: 3})
	for i := range 10 {
		fmt.Fprintf(w.Stdout(), "line-%02d\n", i)
	}
	names := listLogs(t, dir)
	require.Len(t, names, 3, "%v", names)
	assert.Equal(t, "0.log", names[0])
	// The live file is empty (just rotated); two rotated files hold the
	// last four lines.
	assert.Equal(t, "line-06\nline-07\nline-08\nline-09\n", readAll(t, path, logs.ReadOptions{}))
	assert.Equal(t, "line-08\nline-09\n", readAll(t, path, logs.ReadOptions{TailLines: new(int64(2))}))
	fmt.Fprintf(w.Stdout(), "line-10\n")
	assert.Equal(t, "line-07\nline-08\nline-09\nline-10\n", readAll(t, path, logs.ReadOptions{TailLines: new(int64(4))}))
}

func TestRotationNamesCollide(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	frozen := fixedClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	w := newWriter(t, path, logs.WriterConfig{MaxSize: 1, MaxFiles: 20, Clock: frozen})
	for i := range 12 {
		fmt.Fprintf(w.Stdout(), "%d\n", i)
	}
	// Same time for every rotation: .1, .2, ... .11 keep the order.
	assert.Len(t, listLogs(t, dir), 13)
	want := ""
	for i := range 12 {
		want += fmt.Sprintf("%d\n", i)
	}
	assert.Equal(t, want, readAll(t, path, logs.ReadOptions{}))
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func TestWriterReopensAndAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w := newWriter(t, path, logs.WriterConfig{})
	fmt.Fprint(w.Stdout(), "before\n")
	require.NoError(t, w.Close())
	w = newWriter(t, path, logs.WriterConfig{})
	fmt.Fprint(w.Stdout(), "after\n")
	assert.Equal(t, "before\nafter\n", readAll(t, path, logs.ReadOptions{}))
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

const sample = "" +
	"2026-01-02T03:04:05.1Z stdout F one\n" +
	"2026-01-02T03:04:06Z stderr P tw\n" +
	"2026-01-02T03:04:06.5Z stdout F three\n" +
	"2026-01-02T03:04:07Z stderr F o\n" +
	"2026-01-02T03:04:08Z stdout F four\n"

func TestReadOptions(t *testing.T) {
	path := writeFile(t, sample)
	for _, c := range []struct {
		name string
		opts logs.ReadOptions
		want string
	}{
		{"all, fragments joined", logs.ReadOptions{}, "one\nthree\ntwo\nfour\n"},
		{"stdout", logs.ReadOptions{Stream: logs.Stdout}, "one\nthree\nfour\n"},
		{"stderr", logs.ReadOptions{Stream: logs.Stderr}, "two\n"},
		{"tail 2", logs.ReadOptions{TailLines: new(int64(2))}, "two\nfour\n"},
		{"tail 0", logs.ReadOptions{TailLines: new(int64(0))}, ""},
		{"tail more than there is", logs.ReadOptions{TailLines: new(int64(10))}, "one\nthree\ntwo\nfour\n"},
		{"since", logs.ReadOptions{SinceTime: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)}, "three\ntwo\nfour\n"},
		{"timestamps", logs.ReadOptions{Timestamps: true, TailLines: new(int64(2))},
			"2026-01-02T03:04:06Z two\n2026-01-02T03:04:08Z four\n"},
		{"limit", logs.ReadOptions{LimitBytes: 6}, "one\nth"},
		{"limit with timestamps", logs.ReadOptions{LimitBytes: 10, Timestamps: true}, "2026-01-02"},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, readAll(t, path, c.opts))
		})
	}
}

func TestReadErrors(t *testing.T) {
	path := writeFile(t, "2026-01-02T03:04:05Z stdout F ok\nnot a record\n")
	err := logs.Read(context.Background(), path, logs.ReadOptions{}, &bytes.Buffer{})
	assert.ErrorIs(t, err, logs.ErrMalformed)
	assert.ErrorContains(t, err, path+":2:")

	err = logs.Read(context.Background(), path, logs.ReadOptions{TailLines: new(int64(-1))}, &bytes.Buffer{})
	assert.ErrorContains(t, err, "TailLines")
	err = logs.Read(context.Background(), path, logs.ReadOptions{Stream: "stdin"}, &bytes.Buffer{})
	assert.ErrorContains(t, err, "Stream")
	err = logs.Read(context.Background(), filepath.Join(t.TempDir(), "none"), logs.ReadOptions{}, &bytes.Buffer{})
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestReadIgnoresUnfinishedLastLine(t *testing.T) {
	path := writeFile(t, "2026-01-02T03:04:05Z stdout F ok\n2026-01-02T03:04:05Z std")
	assert.Equal(t, "ok\n", readAll(t, path, logs.ReadOptions{}))
}

func TestParseRecord(t *testing.T) {
	rec, err := logs.ParseRecord([]byte("2016-10-06T00:17:09.669794202Z stderr P  two  spaces "))
	require.NoError(t, err)
	assert.Equal(t, logs.Record{
		Time: time.Date(2016, 10, 6, 0, 17, 9, 669794202, time.UTC), Stream: logs.Stderr,
		Partial: true, Text: []byte(" two  spaces "),
	}, rec)
	rec, err = logs.ParseRecord([]byte("2016-10-06T00:17:09Z stdout F"))
	require.NoError(t, err)
	assert.Empty(t, rec.Text)

	for _, bad := range []string{
		"", "2016-10-06T00:17:09Z", "yesterday stdout F x", "2016-10-06T00:17:09Z stdin F x",
		"2016-10-06T00:17:09Z stdout X x", "2016-10-06T00:17:09Z stdout", "2016-10-06T00:17:09Z stdout F a\nb",
	} {
		_, err := logs.ParseRecord([]byte(bad))
		assert.ErrorIs(t, err, logs.ErrMalformed, "%q", bad)
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		"2016-10-06T00:17:09.669794202Z stdout F message",
		"2016-10-06T00:17:09Z stderr P ",
		"2016-10-06T00:17:09+02:00 stdout F x y z",
		"2016-10-06T00:17:09Z stdout F",
		"bad",
		"2016-10-06T00:17:09Z stdout Q x",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := logs.ParseRecord(line)
		if err != nil {
			return
		}
		// A record that parses formats to a line that parses the same.
		out := logs.AppendRecord(nil, rec)
		if out[len(out)-1] != '\n' {
			t.Fatalf("no newline: %q", out)
		}
		again, err := logs.ParseRecord(out[:len(out)-1])
		if err != nil {
			t.Fatalf("ParseRecord(AppendRecord(%q)) = %v", line, err)
		}
		if !again.Time.Equal(rec.Time) || again.Stream != rec.Stream || again.Partial != rec.Partial ||
			!bytes.Equal(again.Text, rec.Text) {
			t.Fatalf("round trip of %q: %+v != %+v", line, again, rec)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for a reader and a writer.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(msg, args...)
		}
		time.Sleep(time.Millisecond)
	}
}

// follow starts Read with Follow; stop cancels it and returns its error.
func follow(t *testing.T, path string, opts logs.ReadOptions) (*syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	opts.Follow = true
	go func() { done <- logs.Read(ctx, path, opts, out) }()
	stop := func() error {
		cancel()
		return <-done
	}
	once := sync.OnceValue(stop)
	t.Cleanup(func() { once() })
	return out, once
}

func TestFollowAcrossRotations(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	// Enough files kept that a slow reader loses nothing.
	w := newWriter(t, path, logs.WriterConfig{MaxSize: 100, MaxFiles: 100})
	fmt.Fprint(w.Stdout(), "old\n")
	// An hour-long poll: only the Writer's wake-ups can deliver.
	out, stop := follow(t, path, logs.ReadOptions{PollInterval: time.Hour})
	eventually(t, func() bool { return out.String() == "old\n" }, "got %q", out)

	var want strings.Builder
	want.WriteString("old\n")
	for i := range 50 {
		line := fmt.Sprintf("line %02d %s\n", i, strings.Repeat("y", i))
		want.WriteString(line)
		fmt.Fprint(w.Stdout(), line)
	}
	fmt.Fprint(w.Stderr(), "part")
	fmt.Fprint(w.Stderr(), "ial\n")
	// A fragment written at close shows as soon as it is written.
	fmt.Fprint(w.Stdout(), "no newline")
	require.NoError(t, w.Close())
	want.WriteString("partial\nno newline")
	eventually(t, func() bool { return out.String() == want.String() }, "got %q\nwant %q", out, want.String())
	assert.NoError(t, stop())
}

func TestFollowTailAndSince(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w := newWriter(t, path, logs.WriterConfig{})
	fmt.Fprint(w.Stdout(), "a\nb\nc\n")
	out, stop := follow(t, path, logs.ReadOptions{TailLines: new(int64(0)), PollInterval: time.Hour})
	// Until the reader has started, "d" may be in the history it skips.
	eventually(t, func() bool { fmt.Fprint(w.Stdout(), "d\n"); return strings.HasPrefix(out.String(), "d\n") }, "got %q", out)
	assert.NotContains(t, out.String(), "c")
	assert.NoError(t, stop())
}

func TestFollowFileWrittenByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	// The file does not exist yet: Follow waits for it.
	out, stop := follow(t, path, logs.ReadOptions{PollInterval: time.Millisecond})
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	require.NoError(t, err)
	defer f.Close()
	fmt.Fprint(f, "2026-01-02T03:04:05Z stdout F one\n2026-01-02T03:04:05Z stdout F t")
	eventually(t, func() bool { return out.String() == "one\n" }, "got %q", out)
	fmt.Fprint(f, "wo\n")
	eventually(t, func() bool { return out.String() == "one\ntwo\n" }, "got %q", out)
	// Rotated by hand: renamed and made anew.
	require.NoError(t, os.Rename(path, path+".20260102-030405.000000000"))
	require.NoError(t, os.WriteFile(path, []byte("2026-01-02T03:04:06Z stderr F three\n"), 0o644))
	eventually(t, func() bool { return out.String() == "one\ntwo\nthree\n" }, "got %q", out)
	assert.NoError(t, stop())
}

func TestFollowStopsAtMalformedLine(t *testing.T) {
	path := writeFile(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- logs.Read(ctx, path, logs.ReadOptions{Follow: true, PollInterval: time.Millisecond}, &bytes.Buffer{})
	}()
	require.NoError(t, os.WriteFile(path, []byte("garbage\n"), 0o644))
	select {
	case err := <-done:
		assert.ErrorContains(t, err, path+":1:")
	case <-time.After(10 * time.Second):
		t.Fatal("Read did not fail on a malformed line")
	}
}

func TestFollowLimitBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w := newWriter(t, path, logs.WriterConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- logs.Read(ctx, path, logs.ReadOptions{Follow: true, LimitBytes: 5, PollInterval: time.Hour}, out)
	}()
	eventually(t, func() bool { fmt.Fprint(w.Stdout(), "abc\n"); return len(out.String()) == 5 }, "got %q", out)
	require.NoError(t, <-done, "Read returns once the limit is reached")
	assert.Equal(t, "abc\na", out.String())
}

// FuzzRead reads arbitrary files: an error or output, never a panic.
func FuzzRead(f *testing.F) {
	f.Add([]byte(sample), int64(-1), int64(0))
	f.Add([]byte("2026-01-02T03:04:05Z stdout P a\n2026-01-02T03:04:05Z stdout P b"), int64(1), int64(3))
	f.Add([]byte("\n\n"), int64(0), int64(1))
	path := filepath.Join(f.TempDir(), "0.log")
	f.Fuzz(func(t *testing.T, data []byte, tail, limit int64) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		opts := logs.ReadOptions{LimitBytes: limit}
		if tail >= 0 {
			opts.TailLines = &tail
		}
		var out bytes.Buffer
		if err := logs.Read(context.Background(), path, opts, &out); err != nil {
			return
		}
		if limit > 0 && int64(out.Len()) > limit {
			t.Fatalf("%d bytes out, limit %d", out.Len(), limit)
		}
	})
}

// A follower that falls behind a fast writer with few files kept may
// miss the files removed before it read them, but never shows a line
// twice or out of order, and ends with the last line.
func TestFollowFastRotationKeepsOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w := newWriter(t, path, logs.WriterConfig{MaxSize: 300, MaxFiles: 2})
	out, stop := follow(t, path, logs.ReadOptions{PollInterval: time.Hour})
	const n = 2000
	for i := range n {
		fmt.Fprintf(w.Stdout(), "%05d\n", i)
	}
	last := fmt.Sprintf("%05d\n", n-1)
	eventually(t, func() bool { return strings.HasSuffix(out.String(), last) }, "last line never shown")
	require.NoError(t, stop())
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for i := 1; i < len(lines); i++ {
		require.Less(t, lines[i-1], lines[i], "line %d", i)
	}
	t.Logf("follower saw %d of %d lines", len(lines), n)
}
