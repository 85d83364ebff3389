package logs

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxRecordText is the longest text of one record: output with no
// newline within this many bytes is written as fragments (tag P).
const MaxRecordText = 16 << 10

// rotatedLayout is the time in the name of a rotated file,
// "<path>.20061002-150405.000000000", which sorts in time order.
const rotatedLayout = "20060102-150405.000000000"

// Clock tells a Writer the time of its records and rotated files.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// WriterConfig is how a Writer writes and rotates a log file.
type WriterConfig struct {
	// MaxSize is the size in bytes at which the file is rotated: renamed
	// to "<path>.<time>" and started anew. 0 means never.
	MaxSize int64
	// MaxFiles is how many files of the log are kept, the live one
	// included (the kubelet's containerLogMaxFiles): at a rotation the
	// oldest rotated files beyond MaxFiles-1 are removed. It must be at
	// least 1 when MaxSize is set.
	MaxFiles int
	// Clock timestamps the records; nil means the system clock.
	Clock Clock
}

// DefaultWriterConfig returns the kubelet's defaults: rotation at 10 MiB,
// five files.
func DefaultWriterConfig() WriterConfig {
	return WriterConfig{MaxSize: 10 << 20, MaxFiles: 5}
}

// Validate says which field of c is wrong.
func (c WriterConfig) Validate() error {
	if c.MaxSize < 0 {
		return fmt.Errorf("logs: WriterConfig.MaxSize is %d: must be 0 (never rotate) or positive", c.MaxSize)
	}
	if c.MaxSize > 0 && c.MaxFiles < 1 {
		return fmt.Errorf("logs: WriterConfig.MaxFiles is %d: must be at least 1 when MaxSize is set", c.MaxFiles)
	}
	return nil
}

// Writer writes a container's stdout and stderr to one log file in the
// CRI format. Each stream is an io.Writer, safe for concurrent use with
// the other; records of the two streams interleave by whole records.
// Output is split at newlines; text with no newline is held until its
// newline comes, MaxRecordText bytes have gathered (written as a
// fragment, tag P) or the Writer is closed (likewise).
//
// Readers in the same process that follow the file are woken at each
// write and rotation.
type Writer struct {
	path, key string
	cfg       WriterConfig

	mu      sync.Mutex
	f       *os.File
	size    int64
	closed  bool
	pending [2][]byte // text without a newline yet, per stream
	scratch []byte
	prefix  []byte
}

// NewWriter opens (creating it and its directory when missing) the log
// file at path for appending.
func NewWriter(path string, cfg WriterConfig) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	w := &Writer{path: path, key: key(path), cfg: cfg}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("logs: open %q: %w", path, err)
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("logs: open %q: %w", w.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("logs: open %q: %w", w.path, err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// Path is the live file's path.
func (w *Writer) Path() string { return w.path }

// Stdout returns the writer of the stdout stream.
func (w *Writer) Stdout() io.Writer { return streamWriter{w, 0} }

// Stderr returns the writer of the stderr stream.
func (w *Writer) Stderr() io.Writer { return streamWriter{w, 1} }

type streamWriter struct {
	w *Writer
	s int
}

func (s streamWriter) Write(p []byte) (int, error) { return s.w.write(s.s, p) }

var streams = [2]Stream{Stdout, Stderr}

// ErrClosed is returned by writes to a closed Writer.
var ErrClosed = errors.New("logs: writer closed")

func (w *Writer) write(s int, p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	now := w.cfg.Clock.Now()
	out := w.scratch[:0]
	// Every record of this write has the same time and stream.
	w.prefix = now.UTC().AppendFormat(w.prefix[:0], time.RFC3339Nano)
	w.prefix = append(append(append(w.prefix, ' '), streams[s]...), ' ')
	record := func(out []byte, partial bool, text []byte) []byte {
		out = append(out, w.prefix...)
		if partial {
			out = append(out, "P "...)
		} else {
			out = append(out, "F "...)
		}
		return append(append(out, text...), '\n')
	}
	buf := w.pending[s]
	n := len(p)
	for len(p) > 0 {
		i := indexNewline(p)
		if i < 0 {
			buf = append(buf, p...)
			p = nil
			for len(buf) >= MaxRecordText {
				out = record(out, true, buf[:MaxRecordText])
				buf = buf[:copy(buf, buf[MaxRecordText:])]
			}
			break
		}
		line := p[:i]
		p = p[i+1:]
		if len(buf) > 0 {
			buf = append(buf, line...)
			line = buf
		}
		for len(line) > MaxRecordText {
			out = record(out, true, line[:MaxRecordText])
			line = line[MaxRecordText:]
		}
		out = record(out, false, line)
		buf = buf[:0]
	}
	w.pending[s] = buf
	err := w.emit(out)
	if cap(out) <= 64<<10 {
		w.scratch = out[:0]
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

func indexNewline(p []byte) int {
	for i, c := range p {
		if c == '\n' {
			return i
		}
	}
	return -1
}

// emit writes records to the file, rotates it when it has grown past
// MaxSize and wakes the readers.
func (w *Writer) emit(out []byte) error {
	if len(out) == 0 {
		return nil
	}
	n, err := w.f.Write(out)
	w.size += int64(n)
	if err != nil {
		return fmt.Errorf("logs: write %q: %w", w.path, err)
	}
	if w.cfg.MaxSize > 0 && w.size >= w.cfg.MaxSize {
		err = w.rotate()
	}
	hub.notify(w.key)
	return err
}

// rotate renames the live file and opens a new one, then removes the
// rotated files beyond MaxFiles-1.
func (w *Writer) rotate() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("logs: rotate %q: %w", w.path, err)
	}
	name := w.path + "." + w.cfg.Clock.Now().UTC().Format(rotatedLayout)
	for i := 1; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			break
		}
		name = w.path + "." + w.cfg.Clock.Now().UTC().Format(rotatedLayout) + "." + strconv.Itoa(i)
	}
	renameErr := os.Rename(w.path, name)
	if err := w.open(); err != nil {
		w.closed = true
		return err
	}
	if renameErr != nil {
		return fmt.Errorf("logs: rotate %q: %w", w.path, renameErr)
	}
	old, err := rotatedFiles(w.path)
	if err != nil {
		return err
	}
	for len(old) > w.cfg.MaxFiles-1 {
		if err := os.Remove(old[0]); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("logs: rotate %q: %w", w.path, err)
		}
		old = old[1:]
	}
	return nil
}

// Close writes the text still waiting for a newline as fragments and
// closes the file. Closing twice is not an error.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	now := w.cfg.Clock.Now()
	var out []byte
	for s, buf := range w.pending {
		if len(buf) > 0 {
			out = AppendRecord(out, Record{Time: now, Stream: streams[s], Partial: true, Text: buf})
			w.pending[s] = nil
		}
	}
	err := w.emit(out)
	w.closed = true
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("logs: close %q: %w", w.path, cerr)
	}
	return err
}

// rotatedFiles returns the rotated files of the log at path, oldest
// first.
func rotatedFiles(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("logs: list rotated files of %q: %w", path, err)
	}
	type rotated struct {
		name string
		t    time.Time
		n    int
	}
	var found []rotated
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), base+".")
		if !ok || e.IsDir() {
			continue
		}
		ts, seq, hasSeq := strings.Cut(rest, ".")
		if hasSeq {
			// The layout holds a dot: "20060102-150405.000000000[.n]".
			frac, s, more := strings.Cut(seq, ".")
			ts += "." + frac
			seq, hasSeq = s, more
		}
		t, err := time.Parse(rotatedLayout, ts)
		if err != nil {
			continue
		}
		n := 0
		if hasSeq {
			if n, err = strconv.Atoi(seq); err != nil {
				continue
			}
		}
		found = append(found, rotated{filepath.Join(dir, e.Name()), t, n})
	}
	slices.SortFunc(found, func(a, b rotated) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.n, b.n)
	})
	names := make([]string, len(found))
	for i, r := range found {
		names[i] = r.name
	}
	return names, nil
}
