package host

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestDedupeLogger(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		log  func(l *slog.Logger)
		want string
	}{
		{"plugin repeats the host's attribute", func(l *slog.Logger) {
			l.With("source", "acme").With("connector", "tracktik").Info("page", "connector", "tracktik", "stream", "employees")
		}, "level=INFO msg=page source=acme connector=tracktik stream=employees\n"},
		{"record repeats a key", func(l *slog.Logger) {
			l.Info("page", "stream", "a", "stream", "b")
		}, "level=INFO msg=page stream=a\n"},
		{"groups keep their keys", func(l *slog.Logger) {
			l.With("stream", "a").WithGroup("http").Info("retry", "stream", "b")
		}, "level=INFO msg=retry stream=a http.stream=b\n"},
		{"nothing repeated", func(l *slog.Logger) {
			l.With("source", "acme").Info("done", "records", 3)
		}, "level=INFO msg=done source=acme records=3\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey && len(groups) == 0 {
					return slog.Attr{}
				}
				return a
			}}))
			l := dedupeLogger(base)
			if dedupeLogger(l) != l {
				t.Error("dedupeLogger wrapped a deduplicating logger again")
			}
			tt.log(l)
			if got := buf.String(); got != tt.want {
				t.Errorf("logged %q, want %q", got, tt.want)
			}
			if strings.Count(buf.String(), "\n") != 1 {
				t.Errorf("want one line, got %q", buf.String())
			}
		})
	}
}
