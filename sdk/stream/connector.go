package stream

import (
	"context"
	"fmt"
	"slices"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// A Connector is an sdk.Connector declared as a value: the fields of its
// Spec, and Source, which returns the Source of one account given its
// config decoded into a C. A connector's New returns one:
//
//	func New() *stream.Connector[Config] {
//		return &stream.Connector[Config]{
//			Name: "acme", Version: "0.1.0", Description: "Acme REST API: widgets",
//			ConfigSchema: configSchema, Streams: []string{"widgets"},
//			Source: func(ctx context.Context, cfg *Config) (*stream.Source, error) {
//				client, err := rest.New(rest.Options{BaseURL: cfg.BaseURL, Name: "acme"})
//				...
//				return &stream.Source{Client: client, Ping: rest.Request{Path: "/widgets"}, Streams: streams}, nil
//			},
//		}
//	}
type Connector[C any] struct {
	Name        string // e.g. "tracktik"; the plugin binary is quiver-<Name>
	Version     string // connector release
	Description string // one line
	// ConfigSchema is the JSON Schema of the config object; C's fields
	// decode its keys with encoding/json.
	ConfigSchema []byte
	// Streams are the names of the static streams, for the Spec.
	Streams []string
	// Source returns the Source of the account cfg configures: a config
	// that passed ConfigSchema, with its defaults applied, and C's
	// Validate if *C is a Validator. It must not contact the vendor (Check
	// does). An error without a class is a config error.
	Source func(ctx context.Context, cfg *C) (*Source, error)
}

// A Validator is a config type with checks its JSON Schema cannot express
// (a date that must parse, say). Validate may also normalise fields (trim
// what users paste after a URL). Its errors wrap sdk.ErrConfig and never
// quote a secret; Connector.Config prefixes them with "<name>: config: ".
type Validator interface {
	Validate() error
}

// Spec describes the connector.
func (c *Connector[C]) Spec() sdk.Spec {
	return sdk.Spec{
		Name: c.Name, Version: c.Version, Description: c.Description,
		ConfigSchema: c.ConfigSchema, Streams: slices.Clone(c.Streams),
	}
}

// Config decodes raw, a config as JSON, with sdk.DecodeConfig against
// ConfigSchema and then validates it if *C is a Validator. Errors wrap
// sdk.ErrConfig and never quote a value of raw.
func (c *Connector[C]) Config(raw []byte) (*C, error) {
	var cfg C
	if err := sdk.DecodeConfig(raw, &cfg, c.ConfigSchema); err != nil {
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	if v, ok := any(&cfg).(Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, fmt.Errorf("%s: config: %w", c.Name, err)
		}
	}
	return &cfg, nil
}

// Open decodes config (see Config) and returns the Source that Source
// makes of it; it contacts nothing.
func (c *Connector[C]) Open(ctx context.Context, config []byte) (sdk.Source, error) {
	cfg, err := c.Config(config)
	if err != nil {
		return nil, err
	}
	return c.Source(ctx, cfg)
}

// A Source is an sdk.Source over declared streams: the static Streams and
// Children, and, when set, the streams a Dynamic declares at run time. Its
// fields must not change once it is in use.
type Source struct {
	// Client makes every request of the Source's streams.
	Client *rest.Client
	// Ping is the cheap request Check makes (the Client logs in first),
	// e.g. one record of a listing; its Label defaults to "check". Unused
	// when Dynamic is a Checker.
	Ping rest.Request
	// Streams and Children are the static streams, in catalog order.
	Streams  []*Stream
	Children []*Child
	// Dynamic, if set, declares the streams that are not static: found by
	// asking the vendor, or declared anew for each read. Its catalog
	// entries follow the static ones.
	Dynamic Dynamic
	// Options configure every read.
	Options ReadOptions
	// Writer, if set, wraps the Writer of every read: to turn a vendor's
	// local times into instants, or to explain a stream's error, say.
	Writer func(sdk.Writer) sdk.Writer
	// OnClose, if set, is called by Close, after the Client's idle
	// connections are closed.
	OnClose func()
}

// A Dynamic declares streams at run time, for the streams a schema file
// and a static declaration cannot describe: streams found by asking the
// vendor (one per view of an account, say), streams whose declaration
// holds the state of one read, or streams whose requests depend on a
// request made before the read. Its methods may be called concurrently.
type Dynamic interface {
	// Catalog returns the catalog entries of the streams it declares.
	Catalog(ctx context.Context) ([]sdk.Stream, error)
	// Declare returns the declarations of req's streams for one read (the
	// streams of req are those that are not static). A stream it cannot
	// read this time (a view deleted since discover, say) goes in
	// Declared.Failed, and the read goes on with the others; a stream it
	// does not know it leaves out, and the read fails as for any unknown
	// stream. An error fails the whole read.
	Declare(ctx context.Context, req sdk.ReadRequest) (*Declared, error)
}

// A Checker is a Dynamic with its own check, which Source.Check calls
// instead of making the Ping request.
type Checker interface {
	Check(ctx context.Context) error
}

// Declared is what a Dynamic declares for one read.
type Declared struct {
	Streams  []*Stream
	Children []*Child
	// Failed holds, by stream name, why a stream cannot be read: it is
	// reported Started, then Failed with the error.
	Failed map[string]error
}

// Check authenticates and makes one cheap request: Dynamic's Check if it
// is a Checker, else Ping.
func (s *Source) Check(ctx context.Context) error {
	if c, ok := s.Dynamic.(Checker); ok {
		return c.Check(ctx)
	}
	req := s.Ping
	if req.Label == "" {
		req.Label = "check"
	}
	return s.Client.Do(ctx, req, nil) // the client's errors name the connector and the request
}

// Discover returns the catalog entries of the static streams, then those
// of Dynamic.
func (s *Source) Discover(ctx context.Context) (*sdk.Catalog, error) {
	cat := &sdk.Catalog{}
	for _, st := range s.Streams {
		cat.Streams = append(cat.Streams, st.Catalog())
	}
	for _, ch := range s.Children {
		cat.Streams = append(cat.Streams, ch.Catalog())
	}
	if s.Dynamic != nil {
		more, err := s.Dynamic.Catalog(ctx)
		if err != nil {
			return nil, err
		}
		cat.Streams = append(cat.Streams, more...)
	}
	return cat, nil
}

// Read reads req's streams with ReadAll: the static ones as declared, the
// others as Dynamic declares them for this read.
func (s *Source) Read(ctx context.Context, req sdk.ReadRequest, w sdk.Writer) error {
	streams, children := s.Streams, s.Children
	static := make(map[string]bool, len(streams)+len(children))
	for _, st := range streams {
		static[st.Name] = true
	}
	for _, ch := range children {
		static[ch.Name] = true
	}
	if s.Writer != nil {
		w = s.Writer(w)
	}
	var other []sdk.StreamRequest
	for _, r := range req.Streams {
		if !static[r.Name] {
			other = append(other, r)
		}
	}
	if len(other) == 0 || s.Dynamic == nil {
		return ReadAll(ctx, s.Client, streams, children, req, w, s.Options)
	}
	d, err := s.Dynamic.Declare(ctx, sdk.ReadRequest{Streams: other, Contract: req.Contract, Limit: req.Limit})
	if err != nil {
		return err
	}
	streams = append(slices.Clone(streams), d.Streams...)
	children = append(slices.Clone(children), d.Children...)
	read := sdk.ReadRequest{Contract: req.Contract, Limit: req.Limit}
	for _, r := range req.Streams {
		ferr, failed := d.Failed[r.Name]
		if !failed {
			read.Streams = append(read.Streams, r)
			continue
		}
		if err := w.Status(ctx, r.Name, sdk.Status{State: sdk.Started}); err != nil {
			return err
		}
		if err := w.Status(ctx, r.Name, sdk.Status{State: sdk.Failed, Err: ferr}); err != nil {
			return err
		}
	}
	return ReadAll(ctx, s.Client, streams, children, read, w, s.Options)
}

// Close closes the Client's idle connections and calls OnClose.
func (s *Source) Close() error {
	s.Client.CloseIdleConnections()
	if s.OnClose != nil {
		s.OnClose()
	}
	return nil
}

var (
	_ sdk.Connector = (*Connector[struct{}])(nil)
	_ sdk.Source    = (*Source)(nil)
)
