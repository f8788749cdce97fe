// Package sdk is what a Quiver connector imports: the Connector contract,
// the error classes, logging, and Serve, which runs a connector as a plugin
// of the quiver host.
//
// A connector turns a vendor's REST API into Arrow record batches. The host
// starts its plugin binary (quiver-<name>), sends the config over RPC, and
// writes what Read produces to Parquet. The plugin plumbing (go-plugin, gRPC,
// Arrow IPC) is invisible here: a connector never imports it.
//
// # Getting started
//
// Most connectors declare their streams and let package sdk/stream
// implement Connector and Source for them (stream.Connector,
// stream.Source; docs/writing-a-connector.md, connectors/tracktik). A
// connector whose reads fit no declaration implements Connector (parse
// the config) and Source (talk to the vendor) itself, then serves it from
// a three-line main:
//
//	type connector struct{}
//
//	func (connector) Spec() sdk.Spec {
//		return sdk.Spec{Name: "acme", Version: "0.1.0", Streams: []string{"users"}}
//	}
//
//	func (connector) Open(ctx context.Context, config []byte) (sdk.Source, error) {
//		var cfg Config
//		if err := json.Unmarshal(config, &cfg); err != nil {
//			return nil, fmt.Errorf("acme: config: %w: %w", sdk.ErrConfig, err)
//		}
//		return &source{cfg: cfg}, nil
//	}
//
//	func (s *source) Read(ctx context.Context, req sdk.ReadRequest, w sdk.Writer) error {
//		log := sdk.Logger(ctx)
//		for _, st := range req.Streams {
//			log.Info("reading", "stream", st.Name)
//			// page through the API, build an arrow.Record per page or so:
//			//   err := w.WriteBatch(ctx, st.Name, rec); rec.Release()
//			//   err = w.Checkpoint(ctx, st.Name, state)
//		}
//		return nil
//	}
//
//	// cmd/quiver-acme/main.go
//	func main() { sdk.Serve(acme.New()) }
//
// Rules of the road:
//
//   - Wrap one of ErrConfig, ErrAuth, ErrTemporary or ErrCanceled in every
//     error the host should act on; the class survives the process boundary
//     and picks the exit code. An Open error without a class is ErrConfig.
//   - Log with Logger(ctx) and never write to stdout, which carries the
//     plugin handshake. Never log or return secrets.
//   - Whoever stores an Arrow record retains it; each holder releases its
//     own. Never change a record once written: Writer.WriteBatch retains
//     what it keeps, and the plugin's Writer joins a stream's batches into
//     ones of up to a MiB before it sends them (the first goes alone, the
//     next ones grow), with the stream's latest checkpoint after the
//     batches it covers.
//   - A failure of one stream is a Status{State: Failed} on the Writer; the
//     error Read returns is for failures of the whole read.
package sdk
