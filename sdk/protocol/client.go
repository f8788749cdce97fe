package protocol

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-etl/quiver/sdk/protocol/internal/connectorpb"
)

// Options configures Open. The zero value is ready to use.
type Options struct {
	// Name names the plugin in errors and logs. The default is the base name
	// of the plugin's path, e.g. "quiver-tracktik".
	Name string
	// Logger receives go-plugin's messages and the plugin's log lines, with
	// their levels and attributes. Nil discards them. Open tells the plugin
	// the lowest level Logger keeps at the time (EnvLogLevel); a plugin
	// built on the SDK's Serve then sends nothing below it.
	Logger *slog.Logger
	// Allocator allocates the records of received batches. Nil means a Go
	// allocator.
	Allocator memory.Allocator
	// Checksum is the expected SHA-256 of the plugin binary. When set, Open
	// refuses to start a binary with another checksum, with an error
	// wrapping ErrChecksum.
	Checksum []byte
	// StartTimeout bounds the start of the plugin and its handshake. The
	// default is 10 seconds.
	StartTimeout time.Duration
	// Stderr, if set, receives a raw copy of the plugin's stderr.
	Stderr io.Writer
	// Env is the plugin's whole environment (KEY=value); nil gives it an
	// empty one, but for go-plugin's handshake variables and EnvLogLevel
	// (which Env may set itself). The host's own
	// environment is never passed on whole: configs and secrets travel over
	// RPC. Use it for settings such as HTTPS_PROXY or SSL_CERT_FILE; the
	// quiver host passes the allowlist of host.PluginEnvironment.
	Env []string
}

// EnvLogLevel is the variable in which the host tells a plugin the lowest
// level of log records it keeps, as slog.Level's text ("DEBUG", "INFO",
// "WARN", "ERROR", with an offset such as "ERROR+4"). A plugin that reads it
// does not encode and send records the host would parse and drop: in a
// profile of a TrackTik sync with pages of 100 records, the plugin's Debug
// lines (two a page) took 7% of the CPU of plugin and host together.
const EnvLogLevel = "QUIVER_LOG_LEVEL"

// pluginEnv returns the plugin's environment: opts.Env, and EnvLogLevel
// from opts.Logger unless opts.Env sets it or no Logger is given (a
// caller that reads the raw Stderr then gets every line).
func pluginEnv(opts Options) []string {
	env := slices.Clone(opts.Env)
	if opts.Logger == nil || slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, EnvLogLevel+"=") }) {
		return env
	}
	return append(env, EnvLogLevel+"="+pluginLevel(opts.Logger).String())
}

// defaultStartTimeout is Options.StartTimeout's default: a plugin starts in
// well under a second, and go-plugin's one-minute default leaves a hung
// plugin unnoticed for too long.
const defaultStartTimeout = 10 * time.Second

// closeGrace is how long Close lets go-plugin stop the plugin before it
// kills the plugin's process group: go-plugin waits two seconds for a
// graceful exit, then kills the plugin process alone.
const closeGrace = 3 * time.Second

// pipeGrace bounds the wait, after the process group is killed, for the
// plugin's stdout and stderr to close. A process that left the group
// (setsid) can keep them open for good; go-plugin would wait for it, and
// the host must not.
const pipeGrace = 2 * time.Second

// exitGrace is how long a failed call waits for go-plugin to notice that the
// plugin process exited: the connection breaks a moment before the process
// is reaped, and the error should say "exited" when that is what happened.
const exitGrace = 2 * time.Second

// A Client is the host's connection to one plugin process. Its methods are
// safe for concurrent use. Errors that a plugin returns keep their message
// and class (errors.Is with ErrConfig, ErrAuth, ErrTemporary, ErrCanceled);
// errors of the transport name the plugin, and a plugin that died reads
// "plugin NAME exited unexpectedly: ..." and has no class.
type Client struct {
	name   string
	mem    memory.Allocator
	stub   *stub
	pc     *plugin.Client // nil when not a subprocess (tests)
	cmd    *exec.Cmd      // the plugin process; nil when pc is
	log    *slog.Logger
	cancel context.CancelFunc
	once   sync.Once
}

// Open starts the plugin binary at path, verifies its checksum when one is
// given, performs the go-plugin handshake (gRPC only, automatic mutual TLS,
// protocol Version) and returns a Client. ctx bounds the start only: once
// Open returns, the process lives until Close. The caller must Close the
// Client.
func Open(ctx context.Context, path string, opts Options) (*Client, error) {
	name := opts.Name
	if name == "" {
		name = filepath.Base(path)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("plugin %s: start: %w", name, err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mem := opts.Allocator
	if mem == nil {
		mem = memory.NewGoAllocator()
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	var secure *plugin.SecureConfig
	if len(opts.Checksum) > 0 {
		secure = &plugin.SecureConfig{Checksum: opts.Checksum, Hash: sha256.New()}
	}

	// The process lives until Close, not until ctx is done; ctx may still
	// kill it while it starts (see the AfterFunc below).
	life, kill := context.WithCancel(context.WithoutCancel(ctx))
	cmd := exec.CommandContext(life, path)
	cmd.Env = pluginEnv(opts)
	ownGroup(cmd)
	cmd.Cancel = func() error { return killGroup(cmd) }
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: versionedPlugins(&grpcPlugin{}),
		Cmd:              cmd,
		SecureConfig:     secure,
		Managed:          false, // Close kills the process
		StartTimeout:     timeout,
		Stderr:           opts.Stderr,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLogger(logger),
		AutoMTLS:         true,
		SkipHostEnv:      true,
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithInitialWindowSize(readWindow),
			grpc.WithInitialConnWindowSize(readWindow),
		},
	})
	stopWatch := context.AfterFunc(ctx, kill)
	raw, err := dispense(pc)
	if !stopWatch() && err == nil {
		err = ctx.Err() // ctx ended while the plugin started
	}
	if err != nil {
		// A plugin that failed to start gets no graceful exit.
		if kerr := killGroup(cmd); kerr != nil {
			logger.Warn("protocol: kill plugin", "plugin", name, "error", kerr)
		}
		stop(pc, cmd, name, logger)
		kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			err = ErrChecksum
		}
		return nil, fmt.Errorf("plugin %s: start: %w", name, err)
	}
	c := newClient(name, mem, raw)
	c.pc, c.cmd, c.log, c.cancel = pc, cmd, logger, kill
	return c, nil
}

// stop has go-plugin stop the plugin (gracefully if it answers), kills
// the plugin's process group if that takes longer than closeGrace, and
// waits at most pipeGrace more for go-plugin to finish. Should a process
// outside the group still hold the plugin's pipes then, stop returns
// anyway and go-plugin's readers stay behind until that process exits.
func stop(pc *plugin.Client, cmd *exec.Cmd, name string, log *slog.Logger) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		pc.Kill()
	}()
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	// Also after a graceful exit: a process the plugin started and left
	// behind in its group dies with it.
	if err := killGroup(cmd); err != nil {
		log.Warn("protocol: kill plugin", "plugin", name, "error", err)
	}
	t.Reset(pipeGrace)
	select {
	case <-done:
	case <-t.C:
		log.Warn("protocol: a process the plugin started holds its output open; not waiting for it", "plugin", name)
	}
}

func dispense(pc *plugin.Client) (*stub, error) {
	rpc, err := pc.Client()
	if err != nil {
		return nil, err
	}
	raw, err := rpc.Dispense(pluginName)
	if err != nil {
		return nil, err
	}
	s, ok := raw.(*stub)
	if !ok {
		return nil, fmt.Errorf("dispensed %T, want a connector", raw)
	}
	return s, nil
}

func newClient(name string, mem memory.Allocator, s *stub) *Client {
	return &Client{name: name, mem: mem, stub: s}
}

// Name returns the plugin's name as used in errors.
func (c *Client) Name() string { return c.name }

// Exited reports whether the plugin process has exited.
func (c *Client) Exited() bool { return c.pc != nil && c.pc.Exited() }

// Close stops the plugin process, gracefully if it answers within a few
// seconds, then kills its process group (on Unix: the plugin and every
// process it started that stayed in its group), and waits for it to exit,
// a few seconds at most. Streams still open fail. Close is safe to call
// more than once.
func (c *Client) Close() error {
	c.once.Do(func() {
		if c.pc != nil {
			stop(c.pc, c.cmd, c.name, c.log)
		}
		if c.cancel != nil {
			c.cancel()
		}
	})
	return nil
}

// Spec asks the plugin to describe itself and checks that it speaks this
// package's protocol Version.
func (c *Client) Spec(ctx context.Context) (*Spec, error) {
	resp, err := c.stub.rpc.Spec(ctx, &connectorpb.Spec_Request{}, callOptions...)
	if err != nil {
		return nil, c.callError(ctx, err)
	}
	spec := fromProtoSpec(resp)
	if spec.ProtocolVersion != Version {
		return nil, fmt.Errorf("plugin %s speaks protocol version %d, this host speaks %d", c.name, spec.ProtocolVersion, Version)
	}
	return spec, nil
}

// Check asks the plugin to validate config (raw JSON), authenticate and make
// one cheap request. ctx bounds the call.
func (c *Client) Check(ctx context.Context, config []byte) error {
	if _, err := c.stub.rpc.Check(ctx, &connectorpb.Check_Request{Config: config}, callOptions...); err != nil {
		return c.callError(ctx, err)
	}
	return nil
}

// Discover asks the plugin for the streams config can read, with their
// schemas. ctx bounds the call.
func (c *Client) Discover(ctx context.Context, config []byte) (*Catalog, error) {
	resp, err := c.stub.rpc.Discover(ctx, &connectorpb.Discover_Request{Config: config}, callOptions...)
	if err != nil {
		return nil, c.callError(ctx, err)
	}
	cat, err := fromProtoCatalog(c.mem, resp.GetCatalog())
	if err != nil {
		return nil, fmt.Errorf("plugin %s: discover: %w", c.name, err)
	}
	return cat, nil
}

// Read starts a read and returns its messages as a ReadStream. ctx governs
// the whole read: cancelling it stops the plugin's Read. The caller must
// Close the stream.
func (c *Client) Read(ctx context.Context, req *ReadRequest) (*ReadStream, error) {
	preq, err := toProtoReadRequest(req)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: read: %w", c.name, err)
	}
	rctx, cancel := context.WithCancel(ctx)
	stream, err := c.stub.rpc.Read(rctx, preq, callOptions...)
	if err != nil {
		cancel()
		return nil, c.callError(ctx, err)
	}
	return &ReadStream{c: c, ctx: rctx, cancel: cancel, stream: stream}, nil
}

// callError turns the error of a call into what the host sees: the plugin's
// own error (verbatim, with its class), a cancellation of ctx, an exited
// plugin, or a transport failure that names the plugin.
func (c *Client) callError(ctx context.Context, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("plugin %s: %w", c.name, err)
	}
	if d, ok := pluginDetail(st); ok {
		return newRemoteError(st.Message(), d.GetClass())
	}
	if cerr := ctx.Err(); cerr != nil {
		return &remoteError{
			msg:     fmt.Sprintf("plugin %s: %v", c.name, cerr),
			classes: []error{ErrCanceled, cerr},
		}
	}
	if c.exited(st.Code()) {
		return &remoteError{msg: fmt.Sprintf("plugin %s exited unexpectedly: %s", c.name, st.Message())}
	}
	msg := fmt.Sprintf("plugin %s: %s", c.name, st.Message())
	return &remoteError{msg: msg, classes: sentinels(classOfCode(st.Code()))}
}

// exited reports whether the plugin process exited, waiting up to exitGrace
// after errors that a dying process causes.
func (c *Client) exited(code codes.Code) bool {
	select {
	case <-c.stub.done.Done():
		return true
	default:
	}
	switch code {
	case codes.Unavailable, codes.Internal, codes.Unknown:
	default:
		return false
	}
	t := time.NewTimer(exitGrace)
	defer t.Stop()
	select {
	case <-c.stub.done.Done():
		return true
	case <-t.C:
		return false
	}
}

// A ReadStream is the host's side of one read, in the style of sql.Rows:
//
//	rs, err := client.Read(ctx, req)
//	if err != nil { ... }
//	defer rs.Close()
//	for rs.Next() {
//		switch m := rs.Message().(type) {
//		case *protocol.Batch: // m.Record is valid until the next call of Next
//		case *protocol.Checkpoint, *protocol.StreamStatus, *protocol.StreamProgress:
//		}
//	}
//	if err := rs.Err(); err != nil { ... }
//
// A ReadStream is not safe for concurrent use.
type ReadStream struct {
	c *Client
	// ctx is the read's context, kept (as sql.Rows keeps its query's) to tell
	// a cancelled read from a failed one when Recv fails.
	ctx    context.Context
	cancel context.CancelFunc
	stream grpc.ServerStreamingClient[connectorpb.Read_Response]

	msg  Message
	rec  arrow.Record // the record of msg, released by the next Next
	err  error
	done bool
}

// Next advances to the next message and reports whether there is one. It
// releases the record of the previous Batch, so Retain a record to keep it
// past the next call. Next returns false at the end of the read, after an
// error (see Err) and after Close.
func (rs *ReadStream) Next() bool {
	rs.releaseRecord()
	rs.msg = nil
	if rs.done {
		return false
	}
	resp, err := rs.stream.Recv()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			rs.err = rs.c.callError(rs.ctx, err)
		}
		rs.finish()
		return false
	}
	msg, err := fromProtoResponse(rs.c.mem, resp)
	if err != nil {
		rs.err = fmt.Errorf("plugin %s: read: %w", rs.c.name, err)
		rs.finish()
		return false
	}
	if b, ok := msg.(*Batch); ok {
		rs.rec = b.Record
	}
	rs.msg = msg
	return true
}

// Message returns the current message: a *Batch, *Checkpoint, *StreamStatus
// or *StreamProgress. It is nil before the first Next and after Next returned
// false. A Batch's Record belongs to the stream: it is valid until the next
// call of Next or Close, and must be Retained to be kept longer.
func (rs *ReadStream) Message() Message { return rs.msg }

// Err returns the error that ended the read, or nil if it ended normally or
// has not ended. A failure of one stream is a *StreamStatus message, not an
// error; Err is for failures of the whole read.
func (rs *ReadStream) Err() error { return rs.err }

// Close ends the read, cancelling the plugin's Read if it is still running,
// and releases the current record. It is safe to call more than once.
func (rs *ReadStream) Close() error {
	rs.releaseRecord()
	rs.msg = nil
	rs.finish()
	return nil
}

func (rs *ReadStream) finish() {
	rs.done = true
	rs.cancel()
}

func (rs *ReadStream) releaseRecord() {
	if rs.rec != nil {
		rs.rec.Release()
		rs.rec = nil
	}
}
