// Package trackvia is the Quiver connector for TrackVia, the low-code
// database: the records of its views, plus the apps, views and users of the
// account, from the REST API at https://go.trackvia.com/openapi.
//
// Every request carries the account's API key as the user_key query
// parameter and a long-lived auth token as "Authorization: Bearer". There
// is no token exchange and no refresh: a token that expired or was
// deactivated fails the source with an auth error (exit code 4), and a
// Super Admin must issue a new one (docs/vendors/trackvia.md#auth).
//
// Each selected view is a stream, named from the view, whose schema is
// discovered at run time from the view's structure
// (docs/vendors/trackvia.md#envelopes): one column per field, named as
// TrackVia shows it, after the record id. Views with a "Last Updated"
// datetime field can be read incrementally; the listing has no filter
// or sort parameter (docs/vendors/trackvia.md#paging), so every run
// pages through the whole view and keeps the records changed since the
// last one.
package trackvia

import (
	"context"
	_ "embed"
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/cenkalti/backoff/v4"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/auth"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
	"github.com/quiver-etl/quiver/sdk/stream"
)

// Version is the connector's release.
const Version = "0.1.0"

//go:embed config.schema.json
var configSchema []byte

// New returns the TrackVia connector.
func New() *stream.Connector[Config] { return newConnector(&conn{}) }

// newConnector returns the connector whose sources share c.
func newConnector(c *conn) *stream.Connector[Config] {
	return &stream.Connector[Config]{
		Name:         "trackvia",
		Version:      Version,
		Description:  "TrackVia REST API: the records of each view (schemas from the view structures), apps, views, users",
		ConfigSchema: configSchema,
		// apps, views and users are static; each view of the account is a
		// stream of its own, found by Discover.
		Streams: []string{streamApps, streamViews, streamUsers},
		Source:  c.open,
	}
}

// conn is what the connector's sources share. It remembers the schemas
// its last Discover returned for each config, so that a Read in the same
// plugin process can tell a view whose structure changed in between (and
// fail that stream) instead of sending batches of a schema the host did
// not expect. The zero value is ready to use.
type conn struct {
	mu         sync.Mutex
	discovered map[string]*arrow.Schema // configKey + "\x00" + stream

	now   func() time.Time // the clock for token_expires; default time.Now
	alloc memory.Allocator // backs the records; default the Go allocator
	timer backoff.Timer    // times the client's waits (tests); nil: a real one
}

// open prepares the HTTP client; it contacts nothing. Every stream is
// the source's stream.Dynamic's, so that each read warns of an expiring
// token and reads the structures of the views of now.
func (c *conn) open(ctx context.Context, cfg *Config) (*stream.Source, error) {
	client, err := rest.New(rest.Options{
		BaseURL: cfg.BaseURL,
		Auth:    auth.Static{Value: cfg.AccessToken},
		Apply:   applier(cfg.UserKey),
		Policy:  rest.Policy{Classify: classify, Timer: c.timer, Now: c.now},
		Logger:  sdk.Logger(ctx),
		Name:    "trackvia",
	})
	if err != nil {
		return nil, err
	}
	return &stream.Source{
		Client:  client,
		Dynamic: &source{conn: c, cfg: cfg, client: client, key: cfg.key()},
		Options: stream.ReadOptions{Allocator: c.allocator()},
		Writer:  func(w sdk.Writer) sdk.Writer { return &records.MapWriter{Writer: w, MapStatus: explainStatus} },
	}, nil
}

// clock returns the time now.
func (c *conn) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// allocator returns the allocator of records.
func (c *conn) allocator() memory.Allocator {
	if c.alloc != nil {
		return c.alloc
	}
	return memory.NewGoAllocator()
}

// remember keeps the schemas a Discover of config key returned.
func (c *conn) remember(key string, streams []sdk.Stream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// One config per plugin process is the rule; never grow without bound.
	if len(c.discovered) > 10000 {
		c.discovered = nil
	}
	if c.discovered == nil {
		c.discovered = map[string]*arrow.Schema{}
	}
	for _, s := range streams {
		c.discovered[key+"\x00"+s.Name] = s.Schema
	}
}

// discoveredSchema returns the schema the last Discover of config key
// returned for stream, or nil.
func (c *conn) discoveredSchema(key, stream string) *arrow.Schema {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.discovered[key+"\x00"+stream]
}

// source declares the streams of one TrackVia account: it is a
// stream.Dynamic and a stream.Checker.
type source struct {
	conn   *conn
	cfg    *Config
	client *rest.Client
	key    string // identifies the config, for conn's memory
}

// Check reads the list of views: it proves the API key and the token.
func (s *source) Check(ctx context.Context) error {
	s.warnExpiry(ctx)
	if _, err := s.listViews(ctx); err != nil {
		return fmt.Errorf("trackvia: check: %w", err)
	}
	return nil
}

// warnExpiry logs a warning when token_expires is near or past.
func (s *source) warnExpiry(ctx context.Context) {
	if msg := s.cfg.expiryWarning(s.conn.clock()); msg != "" {
		sdk.Logger(ctx).Warn(msg, "token_expires", s.cfg.TokenExpires)
	}
}

var (
	_ stream.Dynamic = (*source)(nil)
	_ stream.Checker = (*source)(nil)
)
