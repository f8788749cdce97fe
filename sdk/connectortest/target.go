package connectortest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// A target is the connector as one mode of Run reaches it: the plugin
// protocol's calls, each of which opens a Source for its config and closes
// it again.
type target interface {
	spec(ctx context.Context) (*protocol.Spec, error)
	check(ctx context.Context, config []byte) error
	discover(ctx context.Context, config []byte) (*protocol.Catalog, error)
	read(ctx context.Context, config []byte, req sdk.ReadRequest, w sdk.Writer) error
	// logs returns everything the connector logged so far.
	logs() string
}

// A mode is one way of running the connector: in process or as a plugin.
type mode struct {
	// open returns a target whose logs are its own; it stops what it
	// started when t's test ends.
	open func(t TB) target
	// clocked, when not nil, returns a target whose connector runs on clk
	// and waits on timer (Suite.Clocked, in process only).
	clocked func(clk *Clock, timer *Timer) target
}

// logBuffer is a bytes.Buffer safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// inProcess runs the connector in the test's process through the same
// adapter as sdk.Serve, logging at Debug level into a buffer.
type inProcess struct {
	p   protocol.Plugin
	buf logBuffer
}

func newInProcess(c sdk.Connector) *inProcess {
	ip := &inProcess{}
	ip.p = sdk.NewPlugin(c, slog.New(slog.NewJSONHandler(&ip.buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	return ip
}

func (ip *inProcess) logs() string { return ip.buf.String() }

func (ip *inProcess) spec(ctx context.Context) (*protocol.Spec, error) { return ip.p.Spec(ctx) }

func (ip *inProcess) check(ctx context.Context, config []byte) error { return ip.p.Check(ctx, config) }

func (ip *inProcess) discover(ctx context.Context, config []byte) (*protocol.Catalog, error) {
	return ip.p.Discover(ctx, config)
}

func (ip *inProcess) read(ctx context.Context, config []byte, req sdk.ReadRequest, w sdk.Writer) error {
	return ip.p.Read(ctx, &protocol.ReadRequest{Config: config, Streams: req.Streams, Contract: req.Contract, Limit: req.Limit}, w)
}

// plugin runs the connector's plugin binary through the host's side of the
// plugin protocol, one process per target.
type plugin struct {
	c   *protocol.Client
	buf logBuffer // the plugin's log lines as the host logs them, and its raw stderr
}

// openPlugin starts the plugin binary at bin for t's test.
func openPlugin(t TB, bin string) target {
	t.Helper()
	p := &plugin{}
	logger := slog.New(slog.NewJSONHandler(&p.buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := protocol.Open(context.Background(), bin, protocol.Options{Logger: logger, Stderr: &p.buf})
	if err != nil {
		t.Fatalf("start plugin: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	p.c = c
	return p
}

func (p *plugin) logs() string { return p.buf.String() }

func (p *plugin) spec(ctx context.Context) (*protocol.Spec, error) { return p.c.Spec(ctx) }

func (p *plugin) check(ctx context.Context, config []byte) error { return p.c.Check(ctx, config) }

func (p *plugin) discover(ctx context.Context, config []byte) (*protocol.Catalog, error) {
	return p.c.Discover(ctx, config)
}

// read relays the plugin's messages to w as the host's read loop does,
// and stops at w's first error.
func (p *plugin) read(ctx context.Context, config []byte, req sdk.ReadRequest, w sdk.Writer) error {
	rs, err := p.c.Read(ctx, &protocol.ReadRequest{Config: config, Streams: req.Streams, Contract: req.Contract, Limit: req.Limit})
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var err error
		switch m := rs.Message().(type) {
		case *protocol.Batch:
			err = w.WriteBatch(ctx, m.Stream, m.Record)
		case *protocol.Checkpoint:
			err = w.Checkpoint(ctx, m.Stream, m.State)
		case *protocol.StreamStatus:
			err = w.Status(ctx, m.Stream, m.Status)
		case *protocol.StreamProgress:
			err = w.Progress(ctx, m.Stream, m.Progress)
		}
		if err != nil {
			return err
		}
	}
	return rs.Err()
}

// builds holds the plugin binaries built by this test binary, by import
// path: Run builds each once, however many tests run it.
var builds struct {
	mu   sync.Mutex
	bins map[string]string
}

// buildPlugin builds the main package pkg into a temporary directory of
// t's test, once per test binary, and returns the binary's path.
func buildPlugin(t tb, pkg string) string {
	t.Helper()
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if bin, ok := builds.bins[pkg]; ok {
		if _, err := os.Stat(bin); err == nil {
			return bin
		}
	}
	bin := filepath.Join(t.TempDir(), path.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, tail(out.Bytes(), 2000))
	}
	if builds.bins == nil {
		builds.bins = map[string]string{}
	}
	builds.bins[pkg] = bin
	return bin
}

// tail returns at most the last n bytes of b.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

var _ io.Writer = (*logBuffer)(nil)
