package raftstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// hclogAdapter is an hclog.Logger that writes to a *slog.Logger, so that
// hashicorp/raft logs where the store does. Raft's trace, debug and info
// lines go to Debug (Raft is chatty about routine elections and
// snapshots); its warnings and errors keep their level.
type hclogAdapter struct {
	log     *slog.Logger
	name    string
	implied []any
}

var _ hclog.Logger = (*hclogAdapter)(nil)

func newHCLog(l *slog.Logger, name string) hclog.Logger {
	return &hclogAdapter{log: l, name: name}
}

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelDebug
	}
}

func (h *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off {
		return
	}
	lv := slogLevel(level)
	if lv > slog.LevelDebug && closedConnError(args) {
		// Raft reports connections closed by a shutdown, ours or a
		// peer's, as errors: they are routine.
		lv = slog.LevelDebug
	}
	ctx := context.Background()
	if !h.log.Enabled(ctx, lv) {
		return
	}
	all := make([]any, 0, 2+len(h.implied)+len(args))
	if h.name != "" {
		all = append(all, "component", h.name)
	}
	all = append(all, h.implied...)
	all = append(all, args...)
	h.log.Log(ctx, lv, msg, all...)
}

// closedConnError reports whether args hold an error from a connection
// that was closed.
func closedConnError(args []any) bool {
	for _, a := range args {
		if err, ok := a.(error); ok && (errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) ||
			errors.Is(err, raft.ErrTransportShutdown)) {
			return true
		}
	}
	return false
}

func (h *hclogAdapter) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogAdapter) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogAdapter) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hclogAdapter) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogAdapter) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hclogAdapter) enabled(l hclog.Level) bool {
	return h.log.Enabled(context.Background(), slogLevel(l))
}

func (h *hclogAdapter) IsTrace() bool { return false }
func (h *hclogAdapter) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *hclogAdapter) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *hclogAdapter) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *hclogAdapter) IsError() bool { return h.enabled(hclog.Error) }

func (h *hclogAdapter) ImpliedArgs() []any { return h.implied }

func (h *hclogAdapter) With(args ...any) hclog.Logger {
	c := *h
	c.implied = append(append([]any{}, h.implied...), args...)
	return &c
}

func (h *hclogAdapter) Name() string { return h.name }

func (h *hclogAdapter) Named(name string) hclog.Logger {
	c := *h
	if c.name == "" {
		c.name = name
	} else {
		c.name += "." + name
	}
	return &c
}

func (h *hclogAdapter) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	return &c
}

// SetLevel does nothing: the slog handler decides.
func (h *hclogAdapter) SetLevel(hclog.Level) {}

func (h *hclogAdapter) GetLevel() hclog.Level {
	switch {
	case h.enabled(hclog.Debug):
		return hclog.Debug
	case h.enabled(hclog.Warn):
		return hclog.Warn
	case h.enabled(hclog.Error):
		return hclog.Error
	}
	return hclog.Off
}

func (h *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *hclogAdapter) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	level := hclog.Info
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		level = opts.ForceLevel
	}
	return &hclogWriter{h: h, level: level}
}

// hclogWriter turns lines written to a standard logger into log records,
// picking the level from a "[WARN]"-style prefix when there is one.
type hclogWriter struct {
	h     *hclogAdapter
	level hclog.Level
}

func (w *hclogWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		s := string(line)
		level := w.level
		for prefix, l := range map[string]hclog.Level{
			"[ERROR]": hclog.Error, "[ERR]": hclog.Error, "[WARN]": hclog.Warn,
			"[INFO]": hclog.Info, "[DEBUG]": hclog.Debug, "[TRACE]": hclog.Trace,
		} {
			if rest, ok := strings.CutPrefix(s, prefix); ok {
				s, level = strings.TrimSpace(rest), l
				break
			}
		}
		w.h.Log(level, s)
	}
	return len(p), nil
}
