package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// DefaultPollInterval is how often Read, following a file, looks for data
// written by another process when ReadOptions.PollInterval is 0. Writes
// of a Writer in the same process wake it at once.
const DefaultPollInterval = time.Second

// ReadOptions choose what Read outputs, as kubectl logs' flags do.
type ReadOptions struct {
	// Follow keeps reading as the file grows and rotates, until ctx ends.
	Follow bool
	// TailLines, if not nil, starts with the last *TailLines lines only
	// (0: none, then follow).
	TailLines *int64
	// SinceTime, if not zero, skips the lines written before it.
	SinceTime time.Time
	// Timestamps puts the time of each line before it
	// ("2016-10-06T00:17:09.669794202Z hello").
	Timestamps bool
	// LimitBytes, if positive, stops the output after that many bytes.
	LimitBytes int64
	// Stream, if not "", outputs that stream only.
	Stream Stream
	// PollInterval is how often Follow looks for data that no Writer of
	// this process announced; 0 means DefaultPollInterval.
	PollInterval time.Duration
}

// errLimit stops a read at LimitBytes.
var errLimit = errors.New("logs: byte limit reached")

// Read writes the lines of the log file at path, and of its rotated
// files before it, to out: each line's text (fragments joined) with its
// newline, after its time when opts.Timestamps. With opts.Follow it then
// waits for new lines, following the file across rotations, and returns
// nil when ctx ends. A line that is not a CRI record is an error naming
// the file and the line number.
func Read(ctx context.Context, path string, opts ReadOptions, out io.Writer) error {
	if opts.TailLines != nil && *opts.TailLines < 0 {
		return fmt.Errorf("logs: ReadOptions.TailLines is %d: must not be negative", *opts.TailLines)
	}
	if opts.Stream != "" && opts.Stream != Stdout && opts.Stream != Stderr {
		return fmt.Errorf("logs: ReadOptions.Stream is %q: must be \"\", %q or %q", opts.Stream, Stdout, Stderr)
	}
	r := &reader{opts: opts, out: out}
	if opts.TailLines != nil {
		r.tail = &ring{max: int(*opts.TailLines)}
	}
	k := key(path)
	if opts.Follow {
		hub.subscribe(k)
		defer hub.unsubscribe(k)
	}
	err := r.read(ctx, path, k)
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

type reader struct {
	opts    ReadOptions
	out     io.Writer
	written int64
	pending [2]pendingLine
	tail    *ring // while reading the history with TailLines
	prefix  []byte
	times   timeCache
}

type pendingLine struct {
	t    time.Time
	text []byte
	open bool
}

func (r *reader) read(ctx context.Context, path, k string) error {
	var changed <-chan struct{}
	if r.opts.Follow {
		changed = hub.changed(k)
	}
	live, err := os.Open(path)
	if err != nil && !(r.opts.Follow && errors.Is(err, os.ErrNotExist)) {
		return fmt.Errorf("logs: read %q: %w", path, err)
	}
	var liveStat os.FileInfo
	defer func() {
		if live != nil {
			live.Close()
		}
	}()
	if live != nil {
		if liveStat, err = live.Stat(); err != nil {
			return fmt.Errorf("logs: read %q: %w", path, err)
		}
	}
	old, err := rotatedFiles(path)
	if err != nil {
		return err
	}
	// Without a live file, the rotated files read now are told apart from
	// those a writer rotates before Follow first finds a live file.
	readAtStart := map[string]bool{}
	for _, name := range old {
		if st, err := os.Stat(name); err == nil && liveStat != nil &&
			(os.SameFile(st, liveStat) || st.ModTime().After(liveStat.ModTime())) {
			// Rotated since we opened it: read it as the live one; or
			// written after it: it comes later (Follow finds it).
			break
		}
		if err := r.readFile(name); err != nil {
			return err
		}
		readAtStart[name] = true
	}
	var lr *lineReader
	if live != nil {
		lr = &lineReader{f: live, name: path}
		if err := r.drain(lr); err != nil {
			return err
		}
	}
	if err := r.flushPending(); err != nil {
		return err
	}
	if r.tail != nil {
		t := r.tail
		r.tail = nil
		for _, m := range t.items() {
			if err := r.write(m.t, m.text); err != nil {
				return err
			}
		}
	}
	if !r.opts.Follow {
		return nil
	}

	interval := r.opts.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-tick.C:
		}
		changed = hub.changed(k)
		if lr != nil {
			if err := r.drain(lr); err != nil {
				return err
			}
		}
		// Has the file been rotated (or removed and made anew)?
		st, err := os.Stat(path)
		if err != nil {
			continue // rotating, or gone: wait for it
		}
		if liveStat != nil && os.SameFile(st, liveStat) {
			if err := r.flushPending(); err != nil {
				return err
			}
			continue
		}
		// Rotated (or removed and made anew): what the old file got last,
		// then the files rotated after it, come before the new one.
		next, err := os.Open(path)
		if err != nil {
			continue
		}
		nextStat, err := next.Stat()
		if err != nil {
			next.Close()
			return fmt.Errorf("logs: read %q: %w", path, err)
		}
		if lr != nil {
			if err := r.drain(lr); err != nil {
				next.Close()
				return err
			}
			if st, err := live.Stat(); err == nil {
				liveStat = st // its last write: later files are newer
			}
			live.Close()
		}
		// The first live file found may have been rotated already (a first
		// write past MaxSize): its rotated files come first.
		if err := r.catchUp(path, liveStat, readAtStart, next); err != nil {
			next.Close()
			return err
		}
		live, liveStat = next, nextStat
		lr = &lineReader{f: live, name: path}
		if err := r.drain(lr); err != nil {
			return err
		}
		if err := r.flushPending(); err != nil {
			return err
		}
		// Wake again at once: more may have come while we switched.
		c := make(chan struct{})
		close(c)
		changed = c
	}
}

// catchUp reads the rotated files that came after prev (the live file
// until now; nil when there was none, and then the rotated files read
// already are in done) and before next (the live file now, which may
// itself have been rotated since). Files are placed by identity where
// they can be, and by modification time where the file to compare with
// has been removed by a rotation: a file written after another has a
// later time.
func (r *reader) catchUp(path string, prev os.FileInfo, done map[string]bool, next *os.File) error {
	old, err := rotatedFiles(path)
	if err != nil {
		return err
	}
	nextStat, err := next.Stat()
	if err != nil {
		return fmt.Errorf("logs: read %q: %w", path, err)
	}
	found := false
	for i, name := range old {
		if st, err := os.Stat(name); err == nil && prev != nil && os.SameFile(st, prev) {
			old, found = old[i+1:], true
			break
		}
	}
	for _, name := range old {
		st, err := os.Stat(name)
		if err != nil {
			continue // removed by a later rotation
		}
		if os.SameFile(st, nextStat) || st.ModTime().After(nextStat.ModTime()) {
			break // next, or after it
		}
		if prev == nil && done[name] {
			continue // read before there was a live file
		}
		if !found && prev != nil && st.ModTime().Before(prev.ModTime()) {
			continue // before what we read
		}
		if err := r.readFile(name); err != nil {
			return err
		}
	}
	return nil
}

// readFile reads a rotated file whole.
func (r *reader) readFile(name string) error {
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil // removed by a rotation since we listed it
	}
	if err != nil {
		return fmt.Errorf("logs: read %q: %w", name, err)
	}
	defer f.Close()
	return r.drain(&lineReader{f: f, name: name})
}

// drain handles every complete line lr has now.
func (r *reader) drain(lr *lineReader) error {
	for {
		line, err := lr.next()
		if err != nil {
			return err
		}
		if line == nil {
			return nil
		}
		rec, err := parseRecord(line, &r.times)
		if err != nil {
			return fmt.Errorf("logs: %s:%d: %w", lr.name, lr.lineNo, err)
		}
		if err := r.record(rec); err != nil {
			return err
		}
	}
}

func (r *reader) record(rec Record) error {
	if r.opts.Stream != "" && rec.Stream != r.opts.Stream {
		return nil
	}
	p := &r.pending[0]
	if rec.Stream == Stderr {
		p = &r.pending[1]
	}
	if !p.open {
		p.t, p.open = rec.Time, true
	}
	p.text = append(p.text, rec.Text...)
	if rec.Partial {
		return nil
	}
	p.text = append(p.text, '\n')
	err := r.message(p.t, p.text)
	p.text, p.open = p.text[:0], false
	return err
}

// flushPending outputs the fragments still waiting for the rest of their
// line: the reader has caught up with the writer.
func (r *reader) flushPending() error {
	for i := range r.pending {
		p := &r.pending[i]
		if p.open && len(p.text) > 0 {
			if err := r.message(p.t, p.text); err != nil {
				return err
			}
			// The rest of the line, if it comes, is a line of its own
			// with the time of its first fragment.
			p.text, p.open = p.text[:0], false
		}
	}
	return nil
}

// message outputs a line, or keeps it for the tail.
func (r *reader) message(t time.Time, text []byte) error {
	if !r.opts.SinceTime.IsZero() && t.Before(r.opts.SinceTime) {
		return nil
	}
	if r.tail != nil {
		r.tail.add(t, text)
		return nil
	}
	return r.write(t, text)
}

func (r *reader) write(t time.Time, text []byte) error {
	if r.opts.Timestamps {
		r.prefix = t.UTC().AppendFormat(r.prefix[:0], time.RFC3339Nano)
		r.prefix = append(r.prefix, ' ')
		if err := r.put(r.prefix); err != nil {
			return err
		}
	}
	return r.put(text)
}

func (r *reader) put(b []byte) error {
	limited := false
	if r.opts.LimitBytes > 0 && r.written+int64(len(b)) >= r.opts.LimitBytes {
		b = b[:r.opts.LimitBytes-r.written]
		limited = true
	}
	n, err := r.out.Write(b)
	r.written += int64(n)
	if err != nil {
		return fmt.Errorf("logs: write output: %w", err)
	}
	if limited {
		return errLimit
	}
	return nil
}

// ring keeps the last max lines.
type ring struct {
	max  int
	buf  []message
	next int
}

type message struct {
	t    time.Time
	text []byte
}

func (g *ring) add(t time.Time, text []byte) {
	if g.max == 0 {
		return
	}
	if len(g.buf) < g.max {
		g.buf = append(g.buf, message{t, bytes.Clone(text)})
		return
	}
	m := &g.buf[g.next]
	m.t, m.text = t, append(m.text[:0], text...)
	g.next = (g.next + 1) % g.max
}

func (g *ring) items() []message {
	return append(g.buf[g.next:len(g.buf):len(g.buf)], g.buf[:g.next]...)
}

// lineReader returns the complete lines of a file that may still grow:
// a line without its newline yet stays buffered until it has one.
type lineReader struct {
	f      *os.File
	name   string
	buf    []byte
	start  int
	lineNo int
	eof    bool
}

// maxLine bounds a line: a record's text, its time, stream and tag.
const maxLine = MaxRecordText + 128

// next returns the next complete line without its newline, or nil when
// the file has no more for now.
func (lr *lineReader) next() ([]byte, error) {
	for {
		if i := bytes.IndexByte(lr.buf[lr.start:], '\n'); i >= 0 {
			line := lr.buf[lr.start : lr.start+i]
			lr.start += i + 1
			lr.lineNo++
			return line, nil
		}
		if len(lr.buf)-lr.start > 4*maxLine {
			return nil, fmt.Errorf("logs: %s:%d: %w: line longer than %d bytes", lr.name, lr.lineNo+1, ErrMalformed, 4*maxLine)
		}
		// Keep the unfinished line, read more after it.
		n := copy(lr.buf, lr.buf[lr.start:])
		lr.buf, lr.start = lr.buf[:n], 0
		if cap(lr.buf)-n < maxLine {
			lr.buf = append(make([]byte, 0, 2*cap(lr.buf)+2*maxLine), lr.buf...)
		}
		m, err := lr.f.Read(lr.buf[n:cap(lr.buf)])
		lr.buf = lr.buf[:n+m]
		if m > 0 {
			continue
		}
		if err == nil || errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("logs: read %q: %w", lr.name, err)
	}
}
