package host

import (
	"context"
	"log/slog"
)

// dedupeLogger returns l with a handler that drops repeated attribute keys
// (see dedupeHandler); a logger that has one already is returned as is.
func dedupeLogger(l *slog.Logger) *slog.Logger {
	if _, ok := l.Handler().(*dedupeHandler); ok {
		return l
	}
	return slog.New(&dedupeHandler{h: l.Handler()})
}

// dedupeHandler drops a record's attributes whose key the logger already
// carries (from With) or that the record repeats, keeping the first. A
// plugin's lines reach the host's log through a logger that says which
// connector, source and run they belong to; a plugin that adds its own
// "connector" would otherwise print it twice.
type dedupeHandler struct {
	h     slog.Handler
	keys  map[string]bool // top-level keys added by WithAttrs
	group bool            // inside WithGroup: keys cannot clash with the outer ones
}

// Enabled reports whether the wrapped handler handles level.
func (d *dedupeHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return d.h.Enabled(ctx, level)
}

// WithAttrs returns a handler that also drops the keys of attrs.
func (d *dedupeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := &dedupeHandler{h: d.h.WithAttrs(attrs), group: d.group, keys: make(map[string]bool, len(d.keys)+len(attrs))}
	for k := range d.keys {
		c.keys[k] = true
	}
	if !d.group {
		for _, a := range attrs {
			c.keys[a.Key] = true
		}
	}
	return c
}

// WithGroup returns a handler that puts later attributes in group name.
func (d *dedupeHandler) WithGroup(name string) slog.Handler {
	return &dedupeHandler{h: d.h.WithGroup(name), keys: d.keys, group: true}
}

// Handle passes r on without the attributes it repeats.
func (d *dedupeHandler) Handle(ctx context.Context, r slog.Record) error {
	seen := make(map[string]bool, r.NumAttrs())
	dup := false
	r.Attrs(func(a slog.Attr) bool {
		if (!d.group && d.keys[a.Key]) || seen[a.Key] {
			dup = true
			return false
		}
		seen[a.Key] = true
		return true
	})
	if !dup {
		return d.h.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	clear(seen)
	r.Attrs(func(a slog.Attr) bool {
		if (d.group || !d.keys[a.Key]) && !seen[a.Key] {
			seen[a.Key] = true
			out.AddAttrs(a)
		}
		return true
	})
	return d.h.Handle(ctx, out)
}
