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
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/auth"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// Version is the connector's release.
const Version = "0.1.0"

//go:embed config.schema.json
var configSchema []byte

// Connector is the TrackVia connector. The zero value is ready to use.
//
// It remembers the schemas its last Discover returned for each config, so
// that a Read in the same plugin process can tell a view whose structure
// changed in between (and fail that stream) instead of sending batches of a
// schema the host did not expect.
type Connector struct {
	mu         sync.Mutex
	discovered map[string]*arrow.Schema // configKey + "\x00" + stream

	now   func() time.Time // the clock for token_expires; default time.Now
	alloc memory.Allocator // backs the records; default the Go allocator
}

// New returns the TrackVia connector.
func New() *Connector { return &Connector{} }

// Spec describes the connector. Its static streams are apps, views and
// users; each view of the account is a stream of its own, found by
// Discover.
func (*Connector) Spec() sdk.Spec {
	return sdk.Spec{
		Name:         "trackvia",
		Version:      Version,
		Description:  "TrackVia REST API: the records of each view (schemas from the view structures), apps, views, users",
		ConfigSchema: configSchema,
		Streams:      []string{streamApps, streamViews, streamUsers},
	}
}

// Open parses config and prepares the HTTP client; it contacts nothing.
func (c *Connector) Open(ctx context.Context, config []byte) (sdk.Source, error) {
	cfg, err := ParseConfig(config)
	if err != nil {
		return nil, err
	}
	log := sdk.Logger(ctx)
	client, err := rest.New(rest.Options{
		BaseURL: cfg.BaseURL,
		Auth:    auth.Static{Value: cfg.AccessToken},
		Apply:   applier(cfg.UserKey),
		Policy:  rest.Policy{Classify: classify},
		Logger:  log,
		Name:    "trackvia",
	})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(config)
	return &source{conn: c, cfg: cfg, client: client, key: hex.EncodeToString(sum[:])}, nil
}

// clock returns the time now.
func (c *Connector) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// allocator returns the allocator of records.
func (c *Connector) allocator() memory.Allocator {
	if c.alloc != nil {
		return c.alloc
	}
	return memory.NewGoAllocator()
}

// remember keeps the schemas a Discover of config key returned.
func (c *Connector) remember(key string, streams []sdk.Stream) {
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
func (c *Connector) discoveredSchema(key, stream string) *arrow.Schema {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.discovered[key+"\x00"+stream]
}

// source reads one TrackVia account.
type source struct {
	conn   *Connector
	cfg    *Config
	client *rest.Client
	key    string // identifies the config, for the Connector's memory
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

// Close closes idle connections.
func (s *source) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

var (
	_ sdk.Connector = (*Connector)(nil)
	_ sdk.Source    = (*source)(nil)
)
