package protocol

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/quiver-etl/quiver/sdk/protocol/internal/connectorpb"
)

// ServeOptions configures Serve. The zero value is ready to use.
type ServeOptions struct {
	// Logger receives the plugin's own messages (go-plugin's, recovered
	// panics). It must write to the process's original stderr, never stdout,
	// which carries the go-plugin handshake. Nil discards them.
	Logger *slog.Logger
	// Allocator is used to encode batches and schemas. Nil means a Go
	// allocator.
	Allocator memory.Allocator
}

// orphanCheckInterval is how often a plugin checks that its host is alive.
// One second bounds how long a plugin outlives a host that crashed (go-plugin
// does not kill plugins of a dead host), and os.Getppid is a cheap syscall.
const orphanCheckInterval = time.Second

// exitOrphaned is the exit code of a plugin whose host went away.
const exitOrphaned = 1

// Serve serves p over go-plugin's gRPC transport and returns when the host
// closes the connection. It is meant to be called from a plugin's main and
// takes over the process: stdout carries the handshake, os.Stdout and
// os.Stderr are redirected by go-plugin, and the process exits if it was not
// started by a Quiver host, if its host goes away (re-parenting), or if
// serving fails to start. Panics in p's methods become errors of the RPC
// that caused them.
func Serve(p Plugin, opts ServeOptions) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mem := opts.Allocator
	if mem == nil {
		mem = memory.NewGoAllocator()
	}
	defer func() {
		if r := recover(); r != nil {
			logger.Error("protocol: serve panicked", "panic", r, "stack", string(debug.Stack()))
			os.Exit(1)
		}
	}()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	ticker := time.NewTicker(orphanCheckInterval)
	defer ticker.Stop()
	parent := os.Getppid()
	wg.Add(1)
	go func() {
		defer wg.Done()
		watchParent(stop, ticker.C, parent, os.Getppid, func() {
			logger.Error("protocol: host process went away; exiting", "parent_pid", parent)
			os.Exit(exitOrphaned)
		})
	}()

	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: versionedPlugins(&grpcPlugin{impl: p, mem: mem, logger: logger}),
		GRPCServer:       newGRPCServer,
		Logger:           newHCLogger(logger),
	})
}

// watchParent calls orphaned, once, when ppid no longer returns parent, which
// means the host died and the plugin was re-parented. It checks at every
// tick and returns when stop is closed.
func watchParent(stop <-chan struct{}, tick <-chan time.Time, parent int, ppid func() int, orphaned func()) {
	for {
		select {
		case <-stop:
			return
		case <-tick:
			if ppid() != parent {
				orphaned()
				return
			}
		}
	}
}

// server is the plugin's implementation of the Connector service.
type server struct {
	connectorpb.UnimplementedConnectorServer
	impl     Plugin
	mem      memory.Allocator
	logger   *slog.Logger
	joinWait time.Duration // the longest a batch waits to be joined
}

// recoverRPC turns a panic in the RPC named rpc into its error.
func (s *server) recoverRPC(rpc string, err *error) {
	if r := recover(); r != nil {
		s.logger.Error("protocol: plugin panicked", "rpc", rpc, "panic", r, "stack", string(debug.Stack()))
		*err = toStatus(fmt.Errorf("%s panicked: %v", rpc, r))
	}
}

func (s *server) Spec(ctx context.Context, _ *connectorpb.Spec_Request) (resp *connectorpb.Spec_Response, err error) {
	defer s.recoverRPC("Spec", &err)
	spec, err := s.impl.Spec(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return toProtoSpec(spec), nil
}

func (s *server) Check(ctx context.Context, req *connectorpb.Check_Request) (resp *connectorpb.Check_Response, err error) {
	defer s.recoverRPC("Check", &err)
	if err := s.impl.Check(ctx, req.GetConfig()); err != nil {
		return nil, toStatus(err)
	}
	return &connectorpb.Check_Response{}, nil
}

func (s *server) Discover(ctx context.Context, req *connectorpb.Discover_Request) (resp *connectorpb.Discover_Response, err error) {
	defer s.recoverRPC("Discover", &err)
	cat, err := s.impl.Discover(ctx, req.GetConfig())
	if err != nil {
		return nil, toStatus(err)
	}
	if cat == nil {
		return nil, toStatus(errors.New("protocol: discover: plugin returned no catalog"))
	}
	pc, err := toProtoCatalog(s.mem, cat)
	if err != nil {
		return nil, toStatus(fmt.Errorf("protocol: discover: %w", err))
	}
	return &connectorpb.Discover_Response{Catalog: pc}, nil
}

func (s *server) Read(req *connectorpb.Read_Request, stream grpc.ServerStreamingServer[connectorpb.Read_Response]) (err error) {
	defer s.recoverRPC("Read", &err)
	r, err := fromProtoReadRequest(req)
	if err != nil {
		return toStatus(fmt.Errorf("protocol: read: %w: %w", ErrConfig, err))
	}
	w := &streamWriter{stream: stream, mem: s.mem, limit: maxBatchBytes, wait: s.joinWait}
	defer w.close()
	defer func() {
		// What the streams wrote last may still wait to be joined: it goes
		// out before the read ends, as it would have unjoined, also when
		// Read panicked.
		w.ending.Store(true)
		if ferr := w.flushAll(); err == nil && ferr != nil {
			err = toStatus(ferr)
		}
	}()
	return toStatus(s.impl.Read(stream.Context(), r, w))
}

// errWriterClosed is returned by a Writer used after its Read returned.
var errWriterClosed = errors.New("protocol: Writer used after Read returned")

// streamWriter implements Writer over a Read stream. A stream's batches are
// gathered into batches of up to batch.JoinBytes before they are sent (see
// WriteBatch), and its checkpoints, statuses and progress follow them in the
// order written. Streams are encoded concurrently; sends are serialized
// because a gRPC stream allows one sender at a time.
type streamWriter struct {
	stream grpc.ServerStreamingServer[connectorpb.Read_Response]
	mem    memory.Allocator
	limit  int           // bytes per encoded batch
	wait   time.Duration // the longest a batch waits to be joined

	pmu     sync.Mutex
	pending map[string]*pending // by stream

	ending atomic.Bool // Read returned: nothing more is accepted, what waits goes out
	closed atomic.Bool // the read ended: nothing more is sent

	mu sync.Mutex // one sender at a time
}

var _ Writer = (*streamWriter)(nil)

func (w *streamWriter) close() { w.closed.Store(true) }

// send sends resp, blocking while gRPC flow control holds it back.
func (w *streamWriter) send(ctx context.Context, resp *connectorpb.Read_Response) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Load() {
		return errWriterClosed
	}
	if err := w.stream.Send(resp); err != nil {
		if cerr := w.stream.Context().Err(); cerr != nil {
			return fmt.Errorf("protocol: send: %w", cerr)
		}
		return fmt.Errorf("protocol: send: %w", err)
	}
	return nil
}

// sendBatch encodes rec and sends it.
func (w *streamWriter) sendBatch(ctx context.Context, stream string, rec arrow.Record) error {
	payload, err := encodeBatch(w.mem, rec, w.limit)
	if err != nil {
		return err // flush names the stream
	}
	return w.send(ctx, &connectorpb.Read_Response{Message: &connectorpb.Read_Response_Batch{
		Batch: &connectorpb.Batch{Stream: stream, Record: payload, Rows: rec.NumRows()},
	}})
}

// sendCheckpoint sends state for stream.
func (w *streamWriter) sendCheckpoint(ctx context.Context, stream string, state json.RawMessage) error {
	return w.send(ctx, &connectorpb.Read_Response{Message: &connectorpb.Read_Response_Checkpoint{
		Checkpoint: &connectorpb.Checkpoint{Stream: stream, State: state},
	}})
}

// Status sends a life-cycle event of stream.
func (w *streamWriter) Status(ctx context.Context, stream string, st Status) error {
	ps, err := toProtoStatus(stream, st)
	if err != nil {
		return fmt.Errorf("protocol: stream %s: %w", stream, err)
	}
	// After lost batches the stream cannot be complete; a failure or an
	// interruption still goes out.
	if err := w.flushStream(stream); err != nil && st.State == Complete {
		return err
	}
	return w.send(ctx, &connectorpb.Read_Response{Message: &connectorpb.Read_Response_Status{Status: ps}})
}

// Progress sends a progress report of stream, after the stream's batches
// written before it.
func (w *streamWriter) Progress(ctx context.Context, stream string, p Progress) error {
	if err := w.flushStream(stream); err != nil {
		return err
	}
	return w.send(ctx, &connectorpb.Read_Response{Message: &connectorpb.Read_Response_Progress{
		Progress: toProtoProgress(stream, p),
	}})
}
