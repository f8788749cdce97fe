package sdk

import (
	"context"
	"io"
	"log/slog"
)

type loggerKey struct{}

// WithLogger returns a copy of ctx that carries l, for Logger to return.
// Serve does this for every call into a Connector; tests of a connector use
// it to see what the connector logs.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger returns the logger carried by ctx (see WithLogger), or a logger that
// discards everything. Inside a plugin its records reach the host's log with
// their level and attributes. Log at Debug per page or request, Info per
// stream milestone, Warn for a retry beyond the first; never log secrets.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// hclogTimeFormat is the @timestamp layout go-plugin's host parses; a line
// whose timestamp does not parse is logged as a plain Debug string.
const hclogTimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// newPluginHandler returns the plugin side's slog.Handler: one JSON object
// per line on w, with the keys go-plugin's host parses (@timestamp, @level in
// lower case, @message) and every other attribute as a key of its own, which
// the host re-logs at the same level. JSON escapes newlines, so one record
// is always one line.
func newPluginHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: hclogKeys})
}

// hclogKeys renames slog's built-in keys to hclog's.
func hclogKeys(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		return slog.String("@timestamp", a.Value.Time().UTC().Format(hclogTimeFormat))
	case slog.LevelKey:
		level, _ := a.Value.Any().(slog.Level)
		return slog.String("@level", levelName(level))
	case slog.MessageKey:
		return slog.Attr{Key: "@message", Value: a.Value}
	}
	return a
}

// levelName is hclog's name for l; levels below Debug are "trace".
func levelName(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	}
	return "error"
}
