package sdk

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

// Tier 2: the test binary re-executes itself as a plugin
// (GO_WANT_HELPER_PROCESS=1) and the tests talk to it through protocol.Open,
// covering the real handshake, logging and crashes without a go build.

func TestMain(m *testing.M) {
	switch os.Getenv("GO_WANT_HELPER_PROCESS") {
	case "1": // a plugin
		if path := os.Getenv("QUIVER_TEST_PIDFILE"); path != "" {
			if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
				os.Exit(2)
			}
		}
		if n, err := strconv.Atoi(os.Getenv("QUIVER_TEST_GOGC")); err == nil {
			debug.SetGCPercent(n) // a connector's own setting
		}
		Serve(fakeConnector{})
		os.Exit(0)
	case "host": // a host that starts a plugin, then waits to be killed
		hostProcess()
	}
	goleak.VerifyTestMain(m)
}

func hostProcess() {
	exe, err := os.Executable()
	if err != nil {
		os.Exit(2)
	}
	_, err = protocol.Open(context.Background(), exe, protocol.Options{
		Env: []string{"GO_WANT_HELPER_PROCESS=1", "QUIVER_TEST_PIDFILE=" + os.Getenv("QUIVER_TEST_PIDFILE")},
	})
	if err != nil {
		os.Exit(2)
	}
	fmt.Println("ready")
	select {} // until killed
}

// fakeConfig is fakeConnector's config.
type fakeConfig struct {
	Rows      int    `json:"rows"`       // rows of the big batch
	CrashExit int    `json:"crash_exit"` // if set, exit with it after the first batch
	Pad       string `json:"pad"`        // makes the config big
}

// fakeConnector is the plugin the helper process serves.
type fakeConnector struct{}

var fakeSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func (fakeConnector) Spec() Spec {
	return Spec{
		Name:         "fake",
		Version:      "0.0.1",
		Description:  "A connector for tests.",
		ConfigSchema: json.RawMessage(`{"type":"object"}`),
		Streams:      []string{"employees"},
	}
}

func (fakeConnector) Open(_ context.Context, config []byte) (Source, error) {
	var cfg fakeConfig
	if err := json.Unmarshal(config, &cfg); err != nil {
		return nil, fmt.Errorf("fake: config: %v", err) // no class: Serve adds ErrConfig
	}
	return &fakeSource{cfg: cfg}, nil
}

type fakeSource struct{ cfg fakeConfig }

var _ Source = (*fakeSource)(nil)

func (s *fakeSource) Check(ctx context.Context) error {
	Logger(ctx).Debug("checking")
	gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(gogc)
	Logger(ctx).Info("checked", "pad_bytes", len(s.cfg.Pad), "gogc", gogc[0].Value.Uint64())
	return nil
}

func (s *fakeSource) Discover(context.Context) (*Catalog, error) {
	return &Catalog{Streams: []Stream{{
		Name: "employees", Schema: fakeSchema, PrimaryKey: []string{"id"}, SyncModes: []SyncMode{FullRefresh},
	}}}, nil
}

func (s *fakeSource) Read(ctx context.Context, req ReadRequest, w Writer) error {
	mem := memory.NewGoAllocator()
	log := Logger(ctx)
	for _, st := range req.Streams {
		if err := w.Status(ctx, st.Name, Status{State: Started}); err != nil {
			return err
		}
		log.Warn("page retried", "stream", st.Name, "attempt", 2)
		small, _, err := array.RecordFromJSON(mem, fakeSchema, strings.NewReader(`[{"id":1,"name":"Ada"},{"id":2,"name":null}]`))
		if err != nil {
			return err
		}
		err = w.WriteBatch(ctx, st.Name, small)
		small.Release()
		if err != nil {
			return err
		}
		if s.cfg.CrashExit != 0 {
			os.Exit(s.cfg.CrashExit)
		}
		big := bigRecord(mem, s.cfg.Rows)
		err = w.WriteBatch(ctx, st.Name, big)
		big.Release()
		if err != nil {
			return err
		}
		if err := w.Checkpoint(ctx, st.Name, json.RawMessage(`{"id":2}`)); err != nil {
			return err
		}
		if err := w.Status(ctx, st.Name, Status{State: Complete}); err != nil {
			return err
		}
	}
	return nil
}

func (s *fakeSource) Close() error { return nil }

// bigRecord returns rows rows of ids 0..rows-1 with 8-byte names.
func bigRecord(mem memory.Allocator, rows int) arrow.Record {
	b := array.NewRecordBuilder(mem, fakeSchema)
	defer b.Release()
	for i := range rows {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("n%07d", i%10_000_000))
	}
	return b.NewRecord()
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON log records written so far.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("host log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// openHelper starts the test binary as a plugin, with opts.Env added to its
// environment. The host's log goes to the returned buffer as JSON.
func openHelper(t *testing.T, mem memory.Allocator, opts protocol.Options) (*protocol.Client, *syncBuffer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	opts.Name = "quiver-fake"
	opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Allocator = mem
	opts.Env = append([]string{"GO_WANT_HELPER_PROCESS=1"}, opts.Env...)
	c, err := protocol.Open(context.Background(), exe, opts)
	if err != nil {
		t.Fatalf("Open(%s) = %v", exe, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, logs
}

func TestServeSubprocess(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c, logs := openHelper(t, mem, protocol.Options{})
	ctx := context.Background()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	spec, err := c.Spec(ctx)
	if err != nil {
		t.Fatalf("Spec() = %v", err)
	}
	wantSpec := &protocol.Spec{
		Name: "fake", Version: "0.0.1", ProtocolVersion: protocol.Version, Description: "A connector for tests.",
		ConfigSchema: json.RawMessage(`{"type":"object"}`), Streams: []string{"employees"},
	}
	if diff := cmp.Diff(wantSpec, spec); diff != "" {
		t.Errorf("Spec() mismatch (-want +got):\n%s", diff)
	}

	// A config over gRPC's default 4 MiB receive limit reaches the plugin.
	bigConfig, err := json.Marshal(fakeConfig{Pad: strings.Repeat("x", 5<<20)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(ctx, bigConfig); err != nil {
		t.Errorf("Check(5 MiB config) = %v", err)
	}

	err = c.Check(ctx, []byte(`{"rows": "many"}`))
	if !errors.Is(err, protocol.ErrConfig) || !strings.HasPrefix(err.Error(), "fake: config: ") {
		t.Errorf("Check(bad config) = %v, want an ErrConfig starting %q", err, "fake: config: ")
	}

	cat, err := c.Discover(ctx, []byte(`{}`))
	if err != nil {
		t.Fatalf("Discover() = %v", err)
	}
	if len(cat.Streams) != 1 || !cat.Streams[0].Schema.Equal(fakeSchema) {
		t.Errorf("Discover() = %+v, want one stream of schema %v", cat, fakeSchema)
	}

	// 300k rows encode to about 6.6 MB: over 4 MiB, under the batch limit.
	const rows = 300_000
	rs, err := c.Read(ctx, &protocol.ReadRequest{
		Config:  []byte(fmt.Sprintf(`{"rows": %d}`, rows)),
		Streams: []protocol.StreamRequest{{Name: "employees", Mode: protocol.FullRefresh}},
	})
	if err != nil {
		t.Fatalf("Read() = %v", err)
	}
	defer rs.Close()
	var got []string
	for rs.Next() {
		switch m := rs.Message().(type) {
		case *protocol.Batch:
			got = append(got, fmt.Sprintf("batch %s %d", m.Stream, m.Record.NumRows()))
		case *protocol.Checkpoint:
			got = append(got, fmt.Sprintf("checkpoint %s %s", m.Stream, m.State))
		case *protocol.StreamStatus:
			got = append(got, fmt.Sprintf("status %s %v", m.Stream, m.Status.State))
		default:
			got = append(got, fmt.Sprintf("%T", m))
		}
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("ReadStream.Err() = %v", err)
	}
	want := []string{
		"status employees started",
		"batch employees 2",
		fmt.Sprintf("batch employees %d", rows),
		`checkpoint employees {"id":2}`,
		"status employees complete",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages mismatch (-want +got):\n%s", diff)
	}
	if err := rs.Close(); err != nil {
		t.Errorf("ReadStream.Close() = %v", err)
	}

	// Close waits for go-plugin to finish relaying the plugin's stderr.
	if err := c.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	var found bool
	for _, l := range logs.lines(t) {
		if l["msg"] == "page retried" {
			found = true
			// go-plugin names the logger after the binary.
			wantAttrs := map[string]any{"level": "WARN", "stream": "employees", "attempt": float64(2), "connector": "fake", "logger": filepath.Base(exe)}
			for k, v := range wantAttrs {
				if l[k] != v {
					t.Errorf("plugin log line %v: %s = %v, want %v", l, k, l[k], v)
				}
			}
		}
	}
	if !found {
		t.Errorf("plugin log line %q not in the host log:\n%v", "page retried", logs.lines(t))
	}
}

// TestServeSubprocess_LogLevel: the plugin sends only the records at or
// above the lowest level the host's logger keeps; its raw stderr, which
// holds every line it wrote, shows what it sent.
func TestServeSubprocess_LogLevel(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host slog.Level
		want []string // the messages of Check in the plugin's stderr
	}{
		{slog.LevelDebug, []string{"checking", "checked"}},
		{slog.LevelInfo, []string{"checked"}},
		{slog.LevelError, nil},
	}
	for _, tt := range tests {
		t.Run(tt.host.String(), func(t *testing.T) {
			t.Parallel()
			stderr := &syncBuffer{}
			c, err := protocol.Open(context.Background(), exe, protocol.Options{
				Logger: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: tt.host})),
				Stderr: stderr,
				Env:    []string{"GO_WANT_HELPER_PROCESS=1"},
			})
			if err != nil {
				t.Fatalf("Open(%s) = %v", exe, err)
			}
			checkAndClose(t, c)
			var got []string
			for _, l := range stderr.lines(t) {
				if m, _ := l["@message"].(string); m == "checking" || m == "checked" {
					got = append(got, m)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check's records in the plugin's stderr (-want +got):\n%s", diff)
			}
		})
	}
}

// checkAndClose runs Check on the plugin of c, then closes c, which waits
// for go-plugin to finish relaying the plugin's stderr.
func checkAndClose(t *testing.T, c *protocol.Client) {
	t.Helper()
	if err := c.Check(context.Background(), []byte(`{}`)); err != nil {
		t.Errorf("Check() = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
}

// TestServeSubprocess_GCPercent: a plugin collects garbage at GOGC=400
// unless its environment sets GOGC or the connector set its own.
func TestServeSubprocess_GCPercent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env  []string
		want float64
	}{
		{nil, pluginGCPercent},
		{[]string{"GOGC=150"}, 150},
		{[]string{"QUIVER_TEST_GOGC=50"}, 50},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.want), func(t *testing.T) {
			t.Parallel()
			c, logs := openHelper(t, memory.NewGoAllocator(), protocol.Options{Env: tt.env})
			checkAndClose(t, c)
			var got []any
			for _, l := range logs.lines(t) {
				if l["msg"] == "checked" {
					got = append(got, l["gogc"])
				}
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("the plugin's GOGC = %v, want [%v]", got, tt.want)
			}
		})
	}
}

func TestHostLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env  string
		want slog.Level
	}{
		{"", slog.LevelDebug},
		{"DEBUG-4", slog.LevelDebug - 4},
		{"INFO", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"ERROR+4", slog.LevelError + 4},
		{"loud", slog.LevelDebug},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			if got := hostLevel(tt.env); got != tt.want {
				t.Errorf("hostLevel(%q) = %v, want %v", tt.env, got, tt.want)
			}
		})
	}
}

func TestServeSubprocessCrash(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c, _ := openHelper(t, mem, protocol.Options{})
	rs, err := c.Read(context.Background(), &protocol.ReadRequest{
		Config:  []byte(`{"crash_exit": 3}`),
		Streams: []protocol.StreamRequest{{Name: "employees"}},
	})
	if err != nil {
		t.Fatalf("Read() = %v", err)
	}
	defer rs.Close()
	for rs.Next() {
	}
	err = rs.Err()
	if err == nil || !strings.HasPrefix(err.Error(), "plugin quiver-fake exited unexpectedly: ") {
		t.Errorf("ReadStream.Err() = %v, want %q...", err, "plugin quiver-fake exited unexpectedly: ")
	}
	for _, class := range []error{protocol.ErrTemporary, protocol.ErrCanceled, protocol.ErrConfig, protocol.ErrAuth} {
		if errors.Is(err, class) {
			t.Errorf("errors.Is(%v, %v) = true, want no class", err, class)
		}
	}
	if !c.Exited() {
		t.Errorf("Exited() = false after the plugin exited")
	}
}

// TestOrphanedPluginExits kills a host with SIGKILL: its plugin, re-parented,
// must notice and exit by itself.
func TestOrphanedPluginExits(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("takes a second or two")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pidfile := filepath.Join(t.TempDir(), "plugin.pid")
	host := exec.Command(exe)
	host.Env = append(os.Environ(), "GO_WANT_HELPER_PROCESS=host", "QUIVER_TEST_PIDFILE="+pidfile)
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		_ = host.Process.Kill()
		_ = host.Wait()
		t.Fatalf("host helper said %q, %v; want ready", line, err)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()

	// Poll: the plugin checks its parent every orphanCheckInterval (1s).
	deadline := time.Now().Add(10 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
			t.Fatalf("plugin %d still running 10s after its host was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processAlive reports whether pid runs (a zombie does not count).
func processAlive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses: "pid (comm) S ...".
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}

func TestServeChecksumMismatch(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("some other binary"))
	c, err := protocol.Open(context.Background(), exe, protocol.Options{
		Name:     "quiver-fake",
		Checksum: sum[:],
		Env:      []string{"GO_WANT_HELPER_PROCESS=1"},
	})
	if err == nil {
		_ = c.Close()
		t.Fatal("Open(wrong checksum) = nil error")
	}
	if want := "plugin quiver-fake: start: "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("Open(wrong checksum) = %v, want %q... about the checksum", err, want)
	}
}

func TestOpenCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := protocol.Open(ctx, "/nonexistent/quiver-fake", protocol.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Open(canceled ctx) = %v, want context.Canceled", err)
	}
}

func TestPluginHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level slog.Level
		want  string
	}{
		{slog.LevelDebug - 4, "trace"},
		{slog.LevelDebug, "debug"},
		{slog.LevelInfo, "info"},
		{slog.LevelWarn, "warn"},
		{slog.LevelError, "error"},
		{slog.LevelError + 4, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			l := slog.New(newPluginHandler(&buf, slog.LevelDebug-4)).With("connector", "fake")
			l.Log(context.Background(), tt.level, "two\nlines", "stream", "employees", "secret", Secretish("hunter2"))
			if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 {
				t.Fatalf("handler wrote %d lines, want 1: %q", n, buf.String())
			}
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("handler output %q: %v", buf.String(), err)
			}
			ts, _ := got["@timestamp"].(string)
			if _, err := time.Parse(hclogTimeFormat, ts); err != nil {
				t.Errorf("@timestamp %q does not parse with go-plugin's layout: %v", ts, err)
			}
			delete(got, "@timestamp")
			want := map[string]any{
				"@level":    tt.want,
				"@message":  "two\nlines",
				"connector": "fake",
				"stream":    "employees",
				"secret":    "REDACTED",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("handler output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// Secretish is a value that redacts itself in logs, as secrets must.
type Secretish string

func (Secretish) LogValue() slog.Value { return slog.StringValue("REDACTED") }

func TestLoggerDefault(t *testing.T) {
	t.Parallel()
	if l := Logger(context.Background()); l == nil || l.Enabled(context.Background(), slog.LevelError) {
		t.Errorf("Logger(empty ctx) = %v, want a discarding logger", l)
	}
	l := slog.New(slog.DiscardHandler)
	if got := Logger(WithLogger(context.Background(), l)); got != l {
		t.Errorf("Logger(WithLogger(ctx, l)) = %p, want %p", got, l)
	}
}

func TestOpenErrorClass(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"unclassed", errors.New("fake: base_url: missing"), ErrConfig},
		{"auth kept", fmt.Errorf("fake: %w", ErrAuth), ErrAuth},
	}
	for _, tt := range tests {
		got := asConfigError(tt.err)
		if !errors.Is(got, tt.want) || got.Error() != tt.err.Error() {
			t.Errorf("asConfigError(%v) = %v, want the same message classed %v", tt.err, got, tt.want)
		}
	}
	if errors.Is(asConfigError(fmt.Errorf("fake: %w", ErrAuth)), ErrConfig) {
		t.Errorf("asConfigError(auth error) is also ErrConfig")
	}
}
