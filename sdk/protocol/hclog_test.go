package protocol

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
)

// entry is a record as a capture handler saw it.
type entry struct {
	Level slog.Level
	Msg   string
	Attrs map[string]any
	Time  time.Time
}

// capture is a slog.Handler that keeps what it handles.
type capture struct {
	level slog.Level
	attrs []slog.Attr
	mu    *sync.Mutex
	out   *[]entry
}

func newCapture(level slog.Level) *capture {
	return &capture{level: level, mu: new(sync.Mutex), out: new([]entry)}
}

func (c *capture) Enabled(_ context.Context, l slog.Level) bool { return l >= c.level }

func (c *capture) Handle(_ context.Context, r slog.Record) error {
	e := entry{Level: r.Level, Msg: r.Message, Attrs: map[string]any{}, Time: r.Time}
	for _, a := range c.attrs {
		e.Attrs[a.Key] = a.Value.Any()
	}
	r.Attrs(func(a slog.Attr) bool {
		e.Attrs[a.Key] = a.Value.Any()
		return true
	})
	c.mu.Lock()
	*c.out = append(*c.out, e)
	c.mu.Unlock()
	return nil
}

func (c *capture) WithAttrs(attrs []slog.Attr) slog.Handler {
	d := *c
	d.attrs = append(c.attrs[:len(c.attrs):len(c.attrs)], attrs...)
	return &d
}

func (c *capture) WithGroup(string) slog.Handler { return c }

func (c *capture) entries() []entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]entry(nil), *c.out...)
}

func TestHCLogger(t *testing.T) {
	t.Parallel()
	h := newCapture(levelTrace)
	l := newHCLogger(slog.New(h)).Named("plugin").With("run_id", "r1")
	l = l.Named("quiver-fake")
	l.Trace("t")
	l.Debug("d", "page", 2)
	l.Info("i")
	l.Warn("w", "retry_after", "2s", "timestamp", "2026-01-02T03:04:05.678Z")
	l.Error("e")
	l.Log(hclog.Off, "never")

	got := h.entries()
	want := []entry{
		{Level: levelTrace, Msg: "t", Attrs: map[string]any{"logger": "plugin.quiver-fake", "run_id": "r1"}},
		{Level: slog.LevelDebug, Msg: "d", Attrs: map[string]any{"logger": "plugin.quiver-fake", "run_id": "r1", "page": int64(2)}},
		{Level: slog.LevelInfo, Msg: "i", Attrs: map[string]any{"logger": "plugin.quiver-fake", "run_id": "r1"}},
		{Level: slog.LevelWarn, Msg: "w", Attrs: map[string]any{"logger": "plugin.quiver-fake", "run_id": "r1", "retry_after": "2s"}},
		{Level: slog.LevelError, Msg: "e", Attrs: map[string]any{"logger": "plugin.quiver-fake", "run_id": "r1"}},
	}
	if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Time" }, cmp.Ignore())); diff != "" {
		t.Errorf("records mismatch (-want +got):\n%s", diff)
	}
	if wantTime := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC); !got[3].Time.Equal(wantTime) {
		t.Errorf("record time = %v, want the plugin's timestamp %v", got[3].Time, wantTime)
	}
	if diff := cmp.Diff([]any{"run_id", "r1"}, l.ImpliedArgs()); diff != "" {
		t.Errorf("ImpliedArgs() mismatch (-want +got):\n%s", diff)
	}
	if got := l.Name(); got != "plugin.quiver-fake" {
		t.Errorf("Name() = %q, want %q", got, "plugin.quiver-fake")
	}
}

func TestHCLoggerLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level slog.Level
		want  hclog.Level
	}{
		{levelTrace, hclog.Trace},
		{slog.LevelDebug, hclog.Debug},
		{slog.LevelInfo, hclog.Info},
		{slog.LevelWarn, hclog.Warn},
		{slog.LevelError, hclog.Error},
		{slog.LevelError + 1, hclog.Off},
	}
	for _, tt := range tests {
		l := newHCLogger(slog.New(newCapture(tt.level)))
		if got := l.GetLevel(); got != tt.want {
			t.Errorf("GetLevel() with handler at %v = %v, want %v", tt.level, got, tt.want)
		}
		if got, want := l.IsDebug(), tt.want <= hclog.Debug; got != want {
			t.Errorf("IsDebug() with handler at %v = %v, want %v", tt.level, got, want)
		}
	}
}

func TestHCLoggerStandardLogger(t *testing.T) {
	t.Parallel()
	h := newCapture(slog.LevelDebug)
	l := newHCLogger(slog.New(h))
	l.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn}).Print("from log")
	got := h.entries()
	if len(got) != 1 || got[0].Level != slog.LevelWarn || got[0].Msg != "from log" {
		t.Errorf("StandardLogger wrote %+v, want one Warn record %q", got, "from log")
	}
}

func TestWatchParent(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	defer close(stop)
	tick := make(chan time.Time)
	answers := make(chan int) // what each ppid call returns
	orphaned := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchParent(stop, tick, 100, func() int { return <-answers }, func() { close(orphaned) })
	}()
	for range 2 {
		tick <- time.Time{}
		answers <- 100
	}
	select {
	case <-orphaned:
		t.Fatal("orphaned while the parent is alive")
	default:
	}
	tick <- time.Time{}
	answers <- 1 // re-parented to init
	<-orphaned
	<-done
}

func TestWatchParentStop(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchParent(stop, nil, 1, func() int { return 1 }, func() { t.Error("orphaned") })
	}()
	close(stop)
	<-done
}

func TestPluginLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		h    slog.Handler
		want string // what a plugin gets in EnvLogLevel
	}{
		{"trace", slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug - 8}), "DEBUG-4"},
		{"debug", slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}), "DEBUG"},
		{"info", slog.NewTextHandler(io.Discard, nil), "INFO"},
		{"between levels", slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo + 2}), "WARN"},
		{"error", slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}), "ERROR"},
		{"nothing", slog.DiscardHandler, "ERROR+4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pluginLevel(slog.New(tt.h)).String(); got != tt.want {
				t.Errorf("pluginLevel() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPluginEnv(t *testing.T) {
	t.Parallel()
	info := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"the logger's level", Options{Logger: info, Env: []string{"TZ=UTC"}}, []string{"TZ=UTC", "QUIVER_LOG_LEVEL=INFO"}},
		{"the caller's level", Options{Logger: info, Env: []string{"QUIVER_LOG_LEVEL=DEBUG"}}, []string{"QUIVER_LOG_LEVEL=DEBUG"}},
		// Without a Logger the raw Stderr keeps every line.
		{"no logger", Options{Env: []string{"TZ=UTC"}}, []string{"TZ=UTC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pluginEnv(tt.opts); !slices.Equal(got, tt.want) {
				t.Errorf("pluginEnv() = %q, want %q", got, tt.want)
			}
		})
	}
}
