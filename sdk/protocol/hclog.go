package protocol

import (
	"context"
	"io"
	"log"
	"log/slog"
	"time"

	"github.com/hashicorp/go-hclog"
)

// levelTrace is hclog's Trace level in slog terms (below Debug).
const levelTrace = slog.LevelDebug - 4

// hclogger is an hclog.Logger that forwards to a *slog.Logger, so that
// go-plugin's own messages and the log lines it parses from a plugin's stderr
// reach the host's slog handler with their level and attributes. Names
// (Named) become a "logger" attribute. hclog methods carry no ctx, so records
// are handled with context.Background().
type hclogger struct {
	l       *slog.Logger
	name    string
	implied []any
}

var _ hclog.Logger = (*hclogger)(nil)

// newHCLogger returns an hclog.Logger writing to l.
func newHCLogger(l *slog.Logger) hclog.Logger { return &hclogger{l: l} }

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return levelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Log writes msg at level with args as key/value pairs. go-plugin adds the
// plugin's own time as a "timestamp" pair; it becomes the record's time.
func (h *hclogger) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off {
		return
	}
	ctx := context.Background()
	lv := slogLevel(level)
	if lv == slog.LevelInfo && h.name == "" {
		// go-plugin's own lifecycle lines ("plugin process exited") are for
		// debugging; the plugin's lines come through a named logger.
		lv = slog.LevelDebug
	}
	handler := h.l.Handler()
	if !handler.Enabled(ctx, lv) {
		return
	}
	r := slog.NewRecord(time.Now(), lv, msg, 0)
	if h.name != "" {
		r.AddAttrs(slog.String("logger", h.name))
	}
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok && k == "timestamp" {
			if s, ok := args[i+1].(string); ok {
				if t, err := time.Parse(hclog.TimeFormat, s); err == nil {
					r.Time = t
					args = append(args[:i:i], args[i+2:]...)
					break
				}
			}
		}
	}
	r.Add(args...)
	_ = handler.Handle(ctx, r)
}

// Trace logs at hclog's Trace level.
func (h *hclogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }

// Debug logs at Debug level.
func (h *hclogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }

// Info logs at Info level.
func (h *hclogger) Info(msg string, args ...any) { h.Log(hclog.Info, msg, args...) }

// Warn logs at Warn level.
func (h *hclogger) Warn(msg string, args ...any) { h.Log(hclog.Warn, msg, args...) }

// Error logs at Error level.
func (h *hclogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hclogger) enabled(l hclog.Level) bool {
	return h.l.Enabled(context.Background(), slogLevel(l))
}

// IsTrace reports whether Trace is enabled.
func (h *hclogger) IsTrace() bool { return h.enabled(hclog.Trace) }

// IsDebug reports whether Debug is enabled.
func (h *hclogger) IsDebug() bool { return h.enabled(hclog.Debug) }

// IsInfo reports whether Info is enabled.
func (h *hclogger) IsInfo() bool { return h.enabled(hclog.Info) }

// IsWarn reports whether Warn is enabled.
func (h *hclogger) IsWarn() bool { return h.enabled(hclog.Warn) }

// IsError reports whether Error is enabled.
func (h *hclogger) IsError() bool { return h.enabled(hclog.Error) }

// ImpliedArgs returns the pairs added with With.
func (h *hclogger) ImpliedArgs() []any { return h.implied }

// With returns a logger that adds args to every record.
func (h *hclogger) With(args ...any) hclog.Logger {
	c := *h
	c.l = h.l.With(args...)
	c.implied = append(h.implied[:len(h.implied):len(h.implied)], args...)
	return &c
}

// Name returns the logger's name.
func (h *hclogger) Name() string { return h.name }

// Named returns a logger whose name has name appended.
func (h *hclogger) Named(name string) hclog.Logger {
	if h.name != "" {
		name = h.name + "." + name
	}
	return h.ResetNamed(name)
}

// ResetNamed returns a logger named name.
func (h *hclogger) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	return &c
}

// SetLevel does nothing: the slog handler decides what is logged.
func (h *hclogger) SetLevel(hclog.Level) {}

// GetLevel returns the lowest level the slog handler accepts, or Off.
func (h *hclogger) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if h.enabled(l) {
			return l
		}
	}
	return hclog.Off
}

// StandardLogger returns a *log.Logger writing at opts.ForceLevel (Info by
// default).
func (h *hclogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	level := slog.LevelInfo
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		level = slogLevel(opts.ForceLevel)
	}
	return slog.NewLogLogger(h.l.Handler(), level)
}

// StandardWriter returns the writer of StandardLogger(opts).
func (h *hclogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return h.StandardLogger(opts).Writer()
}

// pluginLevel returns the level Open tells the plugin in EnvLogLevel: the
// lowest that logger keeps, as the relay of the plugin's lines checks it,
// or one above Error when it keeps none.
func pluginLevel(logger *slog.Logger) slog.Level {
	if l := newHCLogger(logger).GetLevel(); l != hclog.Off {
		return slogLevel(l)
	}
	return slog.LevelError + 4
}
