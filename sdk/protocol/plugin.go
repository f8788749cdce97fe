package protocol

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/quiver-etl/quiver/internal/batch"
	"github.com/quiver-etl/quiver/sdk/protocol/internal/connectorpb"
)

// pluginName is the one plugin a connector binary serves.
const pluginName = "connector"

// maxMessageSize bounds every gRPC message in both directions. gRPC's default
// receive limit is 4 MiB, which one Arrow batch of a few thousand wide rows
// already exceeds (and a big config or state sent to the plugin could too);
// 64 MiB is far above a sensible batch (1-16 MiB) yet small enough that a
// runaway plugin cannot make the host buffer gigabytes.
const maxMessageSize = 64 << 20

// readWindow is the host's gRPC flow-control window for the plugin's
// messages, per stream and per connection. gRPC starts at 64 KiB and grows
// the window as it estimates the bandwidth-delay product, so the first
// batches of a read, a few hundred KiB each, waited for window updates:
// the first took 6-9 ms from the plugin's encoder to the host's decoder,
// and 3 ms with this window (the bench's sync, 7 runs each, timed in both
// processes). The window is fixed (gRPC then stops estimating), so what
// is in flight stays at 4 MiB or one message, whichever is larger, where
// the estimate may grow to 16 MiB.
const readWindow = 4 << 20

// maxBatchBytes bounds one encoded batch on the plugin side. It leaves 1 MiB
// of maxMessageSize for the envelope (stream name, field tags), so a batch
// that passes this check always fits in a message.
const maxBatchBytes = maxMessageSize - 1<<20

// handshake is shared by host and plugin. The cookie only stops a plugin
// binary from being run by hand (go-plugin prints a friendly message then);
// it is not a security measure. The protocol version is negotiated through
// versionedPlugins.
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  Version,
	MagicCookieKey:   "QUIVER_PLUGIN",
	MagicCookieValue: "6f1d0b6c-quiver-connector",
}

// versionedPlugins is the plugin set for each protocol version this package
// speaks. impl is nil on the host side.
func versionedPlugins(p *grpcPlugin) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{Version: {pluginName: p}}
}

// callOptions raise the host's per-call message limits to maxMessageSize.
var callOptions = []grpc.CallOption{
	grpc.MaxCallRecvMsgSize(maxMessageSize),
	grpc.MaxCallSendMsgSize(maxMessageSize),
}

// newGRPCServer is the plugin's gRPC server with the limits raised (go-plugin's
// default server keeps gRPC's 4 MiB receive limit).
func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts,
		grpc.MaxRecvMsgSize(maxMessageSize),
		grpc.MaxSendMsgSize(maxMessageSize),
	)
	return grpc.NewServer(opts...)
}

// grpcPlugin connects a Plugin to go-plugin's gRPC transport.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl   Plugin           // plugin side only
	mem    memory.Allocator // plugin side: encodes batches and schemas
	logger *slog.Logger     // plugin side: reports recovered panics
	// joinWait is the longest a batch waits to be joined; 0 means
	// batch.JoinWait.
	joinWait time.Duration
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)

// GRPCServer registers the Connector service on s.
func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	connectorpb.RegisterConnectorServer(s, &server{impl: p.impl, mem: p.mem, logger: p.logger, joinWait: cmp.Or(p.joinWait, batch.JoinWait)})
	return nil
}

// GRPCClient returns the host's stub. done is cancelled when the plugin
// process exits; the stub keeps it only to tell a crash from other errors.
func (p *grpcPlugin) GRPCClient(done context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &stub{rpc: connectorpb.NewConnectorClient(c), done: done}, nil
}

// stub is the host's end of one plugin connection.
type stub struct {
	rpc connectorpb.ConnectorClient
	// done is go-plugin's process context, cancelled when the plugin exits.
	// It is never used to make calls.
	done context.Context
}
