// Package logs writes, reads, follows and rotates container log files in
// the CRI log format, the files drivers write and the node agent serves
// (kubectl logs). Each line of a file is one chunk of a container's output:
//
//	2016-10-06T00:17:09.669794202Z stdout F the whole line
//	2016-10-06T00:17:09.669794202Z stderr P the start of a long line
//
// that is, the time it was written (RFC 3339 with nanoseconds, UTC), the
// stream, a tag (F for a full line, P for a fragment of a line that
// continues in the next record of the same stream) and the text without
// its newline.
//
// A driver gives each container a [Writer]; the node agent reads with
// [Read], which joins fragments, filters, tails across rotated files and
// follows a file as it grows and rotates.
package logs

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Stream names an output stream of a container.
type Stream string

// The streams.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// Tags of a record: a full line or a fragment of one.
const (
	TagFull    = 'F'
	TagPartial = 'P'
)

// Record is one line of a log file.
type Record struct {
	// Time is when the chunk was written.
	Time time.Time
	// Stream is Stdout or Stderr.
	Stream Stream
	// Partial is true for a fragment (tag P): the line continues in the
	// next record of the same stream.
	Partial bool
	// Text is the output, without a newline.
	Text []byte
}

// ErrMalformed is wrapped by the errors of ParseRecord and Read for a
// line that is not a CRI log record.
var ErrMalformed = errors.New("logs: malformed record")

// ParseRecord parses one line of a log file, without its newline. The
// returned Text aliases line.
func ParseRecord(line []byte) (Record, error) {
	return parseRecord(line, nil)
}

// timeCache remembers the last time parsed: the records of one write
// share it.
type timeCache struct {
	text []byte
	t    time.Time
}

func parseRecord(line []byte, tc *timeCache) (Record, error) {
	var r Record
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return r, fmt.Errorf("%w: want \"<time> <stream> <F|P> <text>\", got %s", ErrMalformed, quote(line))
	}
	var t time.Time
	if tc != nil && len(tc.text) > 0 && bytes.Equal(tc.text, ts) {
		t = tc.t
	} else {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, string(ts)); err != nil {
			return r, fmt.Errorf("%w: time %s is not RFC 3339", ErrMalformed, quote(ts))
		}
		if tc != nil {
			tc.text, tc.t = append(tc.text[:0], ts...), t
		}
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return r, fmt.Errorf("%w: want \"<time> <stream> <F|P> <text>\", got %s", ErrMalformed, quote(line))
	}
	switch string(stream) {
	case string(Stdout):
		r.Stream = Stdout
	case string(Stderr):
		r.Stream = Stderr
	default:
		return r, fmt.Errorf("%w: stream %s is not stdout or stderr", ErrMalformed, quote(stream))
	}
	tag, text, _ := bytes.Cut(rest, []byte{' '})
	switch string(tag) {
	case "F":
	case "P":
		r.Partial = true
	default:
		return r, fmt.Errorf("%w: tag %s is not F or P", ErrMalformed, quote(tag))
	}
	if bytes.IndexByte(text, '\n') >= 0 {
		return r, fmt.Errorf("%w: text holds a newline", ErrMalformed)
	}
	r.Time, r.Text = t, text
	return r, nil
}

// AppendRecord appends r to dst as a line of a log file, with its
// newline. Text must not hold a newline (the Writer splits output at
// newlines).
func AppendRecord(dst []byte, r Record) []byte {
	dst = r.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, ' ')
	dst = append(dst, r.Stream...)
	if r.Partial {
		dst = append(dst, " P "...)
	} else {
		dst = append(dst, " F "...)
	}
	dst = append(dst, r.Text...)
	return append(dst, '\n')
}

// quote shows at most 64 bytes of b in an error.
func quote(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%q...", b[:64])
	}
	return fmt.Sprintf("%q", b)
}
