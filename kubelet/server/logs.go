package server

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/logs"
)

// logRequest is a parsed GET /containerLogs request.
type logRequest struct {
	previous bool
	opts     logs.ReadOptions
}

// parseLogQuery reads the options of GET /containerLogs, with the names
// and encodings of the API server's pods/log (see apiserver.KubeletConfig):
// follow, previous and timestamps are booleans; tailLines an integer ≥ 0;
// sinceSeconds and limitBytes integers ≥ 1; sinceTime RFC 3339; at most
// one of sinceSeconds and sinceTime. Other parameters are ignored.
func parseLogQuery(q url.Values, now time.Time) (logRequest, error) {
	var req logRequest
	for _, p := range []struct {
		name string
		dst  *bool
	}{{"follow", &req.opts.Follow}, {"previous", &req.previous}, {"timestamps", &req.opts.Timestamps}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return req, fmt.Errorf("invalid log option %s=%q: must be true or false", p.name, v)
		}
		*p.dst = b
	}
	ints := map[string]int64{}
	for _, p := range []struct {
		name string
		min  int64
	}{{"tailLines", 0}, {"sinceSeconds", 1}, {"limitBytes", 1}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < p.min {
			return req, fmt.Errorf("invalid log option %s=%q: must be an integer greater than or equal to %d", p.name, v, p.min)
		}
		ints[p.name] = n
	}
	if n, ok := ints["tailLines"]; ok {
		req.opts.TailLines = &n
	}
	req.opts.LimitBytes = ints["limitBytes"]
	if n, ok := ints["sinceSeconds"]; ok {
		req.opts.SinceTime = now.Add(-time.Duration(min(n, int64(1<<33))) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		if _, ok := ints["sinceSeconds"]; ok {
			return req, errors.New("the log options sinceSeconds and sinceTime were both given: give at most one")
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return req, fmt.Errorf("invalid log option sinceTime=%q: must be an RFC 3339 time such as 2024-05-01T12:00:00Z", v)
		}
		req.opts.SinceTime = t
	}
	return req, nil
}

// serveLogs serves GET /containerLogs/{namespace}/{pod}/{container}: the
// log of the pod's current container of that name, or with previous=true
// of the one before it (see apiserver.KubeletConfig for the contract).
// The current container is the newest of that name: the highest attempt
// in the pod's newest sandbox; the previous one the next older, possibly
// in an older sandbox of the same pod UID. The body is text/plain,
// flushed as lines come when following; a follow ends when the client
// goes away.
func (s *Server) serveLogs(w http.ResponseWriter, r *http.Request) {
	ns, name, cname := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	req, err := parseLogQuery(r.URL.Query(), s.clock.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pod, err := s.findPod(r.Context(), ns, name)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if pod == nil {
		http.Error(w, fmt.Sprintf("pod %s/%s is not found on this node", ns, name), http.StatusNotFound)
		return
	}
	cs := pod.named(cname)
	if len(cs) == 0 {
		http.Error(w, fmt.Sprintf("container %q in pod %s/%s is not found on this node", cname, ns, name), http.StatusNotFound)
		return
	}
	c := cs[len(cs)-1]
	if req.previous {
		if len(cs) < 2 {
			http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", cname, name), http.StatusBadRequest)
			return
		}
		c = cs[len(cs)-2]
		req.opts.Follow = false // it has ended: there is nothing to follow
	}
	if c.State == runtime.ContainerCreated && c.StartedAt.IsZero() {
		http.Error(w, fmt.Sprintf("container %q in pod %q is waiting to start: ContainerCreating", cname, name), http.StatusBadRequest)
		return
	}
	if c.State != runtime.ContainerRunning {
		// A container that ended writes no more.
		req.opts.Follow = false
	}
	if c.LogPath == "" {
		http.Error(w, fmt.Sprintf("container %q in pod %s/%s has no log file", cname, ns, name), http.StatusNotFound)
		return
	}
	if !req.opts.Follow {
		if _, err := os.Stat(c.LogPath); errors.Is(err, os.ErrNotExist) {
			// Nothing written yet (or ever).
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	out := &logWriter{w: w, rc: http.NewResponseController(w), flush: req.opts.Follow}
	if req.opts.Follow {
		// The headers now: a followed log may stay quiet a long time,
		// and the API server waits for them.
		w.WriteHeader(http.StatusOK)
		out.started = true
		_ = out.rc.Flush()
	} else {
		out.buf = bufio.NewWriterSize(&startWriter{lw: out}, 32<<10)
	}
	err = logs.Read(r.Context(), c.LogPath, req.opts, out)
	if err == nil {
		err = out.finish()
	}
	if err != nil && r.Context().Err() == nil {
		if !out.started {
			s.internalError(w, r, fmt.Errorf("read the log of container %q of pod %s/%s: %w", cname, ns, name, err))
			return
		}
		// Too late for a status: the client sees the stream end.
		s.log.Warn("container log stream failed", "pod", ns+"/"+name, "container", cname, "err", err)
	}
}

// logWriter writes a log to the response: through a buffer for a whole
// log, flushing every write for a followed one.
type logWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	buf     *bufio.Writer // not following
	flush   bool
	started bool // the headers were sent
}

func (l *logWriter) Write(p []byte) (int, error) {
	if l.buf != nil {
		return l.buf.Write(p)
	}
	n, err := l.w.Write(p)
	if err == nil && l.flush {
		if ferr := l.rc.Flush(); ferr != nil && !errors.Is(ferr, http.ErrNotSupported) {
			err = ferr
		}
	}
	return n, err
}

// finish writes what the buffer holds.
func (l *logWriter) finish() error {
	if l.buf != nil {
		return l.buf.Flush()
	}
	return nil
}

// startWriter is under the buffer of a whole log: its first write sends
// the headers, so that an error before any output can still be a status.
type startWriter struct{ lw *logWriter }

func (s *startWriter) Write(p []byte) (int, error) {
	s.lw.started = true
	return s.lw.w.Write(p)
}
