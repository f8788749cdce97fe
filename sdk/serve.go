package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

// A ServeOption configures Serve.
type ServeOption func(*serveConfig)

type serveConfig struct {
	level  slog.Leveler
	stderr io.Writer
}

// WithLogLevel sets the lowest level of the records a plugin sends to the
// host. The default is the lowest level the host keeps, which it passes
// in $QUIVER_LOG_LEVEL (protocol.EnvLogLevel), or slog.LevelDebug when
// that is unset or unreadable; the host filters again at its own level.
func WithLogLevel(level slog.Leveler) ServeOption {
	return func(c *serveConfig) { c.level = level }
}

// pluginGCPercent is the garbage collector's goal in a plugin process
// (GOGC) unless the environment sets GOGC (the host passes one with
// QUIVER_PLUGIN_ENV=GOGC) or the connector set its own before Serve (one
// other than Go's default of 100, which Serve cannot tell from none). A
// plugin keeps little (the pages in flight and the batch it joins) but
// allocates each byte of a stream several times over (the body, the Arrow
// arrays, the joined batch, its IPC encoding), so at Go's default of 100
// it collects often, for little. With 400 a TrackTik sync of 250,000
// records (`make bench`) used 6-15% less CPU, and took 17% less time with
// pages of 100 records. The heap may grow to about 5 times the plugin's
// live data instead of 2: the TrackTik plugin's peak RSS went from about
// 45 MiB to 70-80 MiB, still flat in the records.
const pluginGCPercent = 400

// Serve runs c as a Quiver plugin and returns when the host closes the
// connection. Call it from main:
//
//	func main() { sdk.Serve(tracktik.New()) }
//
// Serve takes over the process: stdout carries the go-plugin handshake, so
// the connector must never write to it; logs go to stderr as JSON lines
// (use Logger(ctx)); and the garbage collector runs at GOGC=400 unless the
// environment sets GOGC or the connector set another percent than 100
// with debug.SetGCPercent before Serve. Each call from the host opens a Source with the config it
// carries, runs one method and closes the Source. Panics in the
// connector's methods become errors; Serve exits the process if it was
// not started by a Quiver host or if the host goes away.
func Serve(c Connector, opts ...ServeOption) {
	if _, set := os.LookupEnv("GOGC"); !set {
		if prev := debug.SetGCPercent(pluginGCPercent); prev != 100 {
			debug.SetGCPercent(prev) // the connector's own
		}
	}
	// Keep the original stderr: protocol.Serve points os.Stderr at a pipe
	// whose output the host discards.
	cfg := serveConfig{level: hostLevel(os.Getenv(protocol.EnvLogLevel)), stderr: os.Stderr}
	for _, o := range opts {
		o(&cfg)
	}
	spec := c.Spec()
	logger := slog.New(newPluginHandler(cfg.stderr, cfg.level)).With("connector", spec.Name)
	protocol.Serve(NewPlugin(c, logger), protocol.ServeOptions{Logger: logger})
}

// hostLevel returns the level in v, the host's $QUIVER_LOG_LEVEL, or
// slog.LevelDebug when v is empty or not a level.
func hostLevel(v string) slog.Level {
	var l slog.Level
	if v == "" || l.UnmarshalText([]byte(v)) != nil {
		return slog.LevelDebug
	}
	return l
}

// NewPlugin returns c as the protocol.Plugin that Serve serves: each call
// opens a Source with the config it carries, with logger in its ctx (see
// Logger), runs one method and closes the Source. Serve uses it; tests use
// it to drive a connector in process exactly as the plugin process would
// (package sdk/connectortest). logger may be nil to discard the logs.
func NewPlugin(c Connector, logger *slog.Logger) protocol.Plugin {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &connectorPlugin{c: c, name: c.Spec().Name, logger: logger}
}

// connectorPlugin adapts a Connector to protocol.Plugin.
type connectorPlugin struct {
	c      Connector
	name   string
	logger *slog.Logger
}

var _ protocol.Plugin = (*connectorPlugin)(nil)

// Spec returns the connector's Spec with the protocol version.
func (p *connectorPlugin) Spec(context.Context) (*protocol.Spec, error) {
	s := p.c.Spec()
	return &protocol.Spec{
		Name:            s.Name,
		Version:         s.Version,
		ProtocolVersion: protocol.Version,
		Description:     s.Description,
		ConfigSchema:    s.ConfigSchema,
		Streams:         s.Streams,
	}, nil
}

// Check opens a Source for config and checks it.
func (p *connectorPlugin) Check(ctx context.Context, config []byte) error {
	return p.with(ctx, config, func(ctx context.Context, src Source) error {
		return src.Check(ctx)
	})
}

// Discover opens a Source for config and discovers its streams.
func (p *connectorPlugin) Discover(ctx context.Context, config []byte) (*protocol.Catalog, error) {
	var cat *Catalog
	err := p.with(ctx, config, func(ctx context.Context, src Source) error {
		var err error
		cat, err = src.Discover(ctx)
		return err
	})
	return cat, err
}

// Read opens a Source for req.Config and reads req.Streams into w.
func (p *connectorPlugin) Read(ctx context.Context, req *protocol.ReadRequest, w protocol.Writer) error {
	return p.with(ctx, req.Config, func(ctx context.Context, src Source) error {
		return src.Read(ctx, ReadRequest{Streams: req.Streams, Contract: req.Contract, Limit: req.Limit}, w)
	})
}

// with opens a Source for config, calls f with it and closes it. ctx carries
// the plugin's logger. An error of Open without a class is a config error.
func (p *connectorPlugin) with(ctx context.Context, config []byte, f func(context.Context, Source) error) (err error) {
	ctx = WithLogger(ctx, p.logger)
	src, err := p.c.Open(ctx, config)
	if err != nil {
		return asConfigError(err)
	}
	defer func() {
		if cerr := src.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("%s: close: %w", p.name, cerr)
		}
	}()
	return f(ctx, src)
}

// asConfigError returns err classed as ErrConfig unless it already has a
// class; its message is unchanged.
func asConfigError(err error) error {
	for _, class := range []error{ErrConfig, ErrAuth, ErrTemporary, ErrCanceled, context.Canceled} {
		if errors.Is(err, class) {
			return err
		}
	}
	return &configError{err}
}

// configError is an error of Connector.Open that did not say its class.
type configError struct{ err error }

func (e *configError) Error() string   { return e.err.Error() }
func (e *configError) Unwrap() []error { return []error{e.err, ErrConfig} }
