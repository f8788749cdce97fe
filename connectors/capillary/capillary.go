// Package capillary is the Quiver connector for Capillary Technologies, the
// loyalty and CRM platform: customers from the v2 customer search and, for
// each customer, transactions from the v1.1 transaction history.
//
// Authentication is an API client's key and secret, exchanged at
// /v3/oauth/token/generate for a JWT that goes in the X-CAP-API-OAUTH-TOKEN
// header. A token that has expired is answered with code 498, in the HTTP
// status line or only in a 200 body, as a number or a string; the connector
// then generates a new token and retries the request once
// (docs/vendors/capillary.md#auth, docs/vendors/capillary.md#token-errors).
// Requests are spaced to stay under the key's per-minute limit
// (requests_per_minute), which the customers and transactions streams share.
//
// transactions is a child stream of customers (stream.Child): every run lists
// the customers and reads each one's transactions billed in the run's
// window, several customers at a time. Its state is that window plus, while
// a run is in progress, the customers done; see stream.Child.
package capillary

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"net/http"
	"time"
	_ "time/tzdata" // IANA zones for the timezone setting, wherever the plugin runs

	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/cenkalti/backoff/v4"
	"golang.org/x/time/rate"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/auth"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
	"github.com/quiver-etl/quiver/sdk/stream"
)

// Version is the connector's release.
const Version = "0.1.0"

// Stream names.
const (
	streamCustomers    = "customers"
	streamTransactions = "transactions"
)

// rateLimitFloor is the least wait after a 429 without Retry-After.
// Capillary counts requests per clock minute and documents no header, so
// a retry must be able to outlast a minute: seven retries of 20 s do,
// without idling a whole minute on each 429.
const rateLimitFloor = 20 * time.Second

//go:embed config.schema.json
var configSchema []byte

// Connector is the Capillary connector. The zero value is ready to use.
type Connector struct {
	// For tests: the clock of transaction windows and token times, and the
	// timer of retry waits (nil: real ones).
	now   func() time.Time
	timer backoff.Timer
}

// New returns the Capillary connector.
func New() *Connector { return &Connector{} }

// Spec describes the connector.
func (*Connector) Spec() sdk.Spec {
	return sdk.Spec{
		Name:         "capillary",
		Version:      Version,
		Description:  "Capillary loyalty and CRM API: customers, and each customer's transactions",
		ConfigSchema: configSchema,
		Streams:      []string{streamCustomers, streamTransactions},
	}
}

// Open parses config and prepares the HTTP clients; it contacts nothing.
func (cn *Connector) Open(ctx context.Context, config []byte) (sdk.Source, error) {
	cfg, err := ParseConfig(config)
	if err != nil {
		return nil, err
	}
	now := cn.now
	if now == nil {
		now = time.Now
	}
	log := sdk.Logger(ctx).With("connector", "capillary")
	// The token endpoint's own client: no token, no rate limit.
	tokenHTTP := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: auth.DefaultTokenTimeout}
	grant := newGrant(cfg, tokenHTTP, log, now, cn.timer)
	tokens := auth.NewCache(grant, auth.CacheOptions{MaxLogins: maxLogins, Logger: log, Now: now})
	pol := rest.Policy{Timer: cn.timer, Now: now}
	pol.Classify = classify
	pol.RateLimitFloor = rateLimitFloor
	client, err := rest.New(rest.Options{
		BaseURL: cfg.BaseURL,
		Auth:    tokens,
		Apply:   cfg.apply,
		Policy:  pol,
		// One request every 60/N seconds, no bursts: Capillary counts per
		// clock minute, and a burst at a minute's end plus a full minute's
		// rate would exceed it.
		Limiter: rate.NewLimiter(rate.Limit(float64(cfg.RequestsPerMinute)/60), 1),
		Logger:  log,
		Name:    "capillary",
	})
	if err != nil {
		tokenHTTP.CloseIdleConnections()
		return nil, err
	}
	customersSchema, err := schemas.Load("capillary", streamCustomers)
	if err != nil {
		return nil, fmt.Errorf("capillary: %w", err)
	}
	transactionsSchema, err := schemas.Load("capillary", streamTransactions)
	if err != nil {
		return nil, fmt.Errorf("capillary: %w", err)
	}
	return &source{
		cfg: cfg, client: client, grant: grant, tokenHTTP: tokenHTTP, now: now,
		customersSchema: customersSchema, transactionsSchema: transactionsSchema,
	}, nil
}

// source reads one Capillary org.
type source struct {
	cfg                *Config
	client             *rest.Client
	grant              *auth.JSONGrant // the token endpoint
	tokenHTTP          *http.Client    // the grant's client
	now                func() time.Time
	customersSchema    *schemas.Stream
	transactionsSchema *schemas.Stream
	tune               func(*stream.Child) // tests: adjust the transactions stream
}

// streams declares the streams for a search query; log (nil in Discover)
// receives their warnings.
func (s *source) streams(query string, probed bool, log *slog.Logger) (*stream.Stream, *stream.Child) {
	customers := s.cfg.customers(s.customersSchema, query, log)
	transactions := s.cfg.transactions(s.transactionsSchema, customers, s.now)
	transactions.Empty = noCustomers(query, probed)
	if s.tune != nil {
		s.tune(transactions)
	}
	return customers, transactions
}

// Check generates a token and finds the customer search form that lists
// every customer (one or two single-record searches).
func (s *source) Check(ctx context.Context) error {
	if _, _, err := s.customerQuery(ctx); err != nil {
		return fmt.Errorf("capillary: check: %w", err)
	}
	return nil
}

// Discover returns the static streams.
func (s *source) Discover(context.Context) (*sdk.Catalog, error) {
	customers, transactions := s.streams("", false, nil)
	return &sdk.Catalog{Streams: []sdk.Stream{customers.Catalog(), transactions.Catalog()}}, nil
}

// Read reads the requested streams, with the customer search form that
// lists every customer.
func (s *source) Read(ctx context.Context, req sdk.ReadRequest, w sdk.Writer) error {
	query, probed, err := s.customerQuery(ctx)
	if err != nil {
		// Both streams list the customers: neither can be read.
		if ctx.Err() != nil {
			return fmt.Errorf("capillary: read: %w", err)
		}
		return failAll(ctx, w, req, err)
	}
	customers, transactions := s.streams(query, probed, sdk.Logger(ctx).With("connector", "capillary"))
	mem := memory.NewGoAllocator()
	// The transactions' v1.1 times are the org's wall-clock times without
	// an offset; the v2 customer times carry offsets and pass unchanged.
	w = records.WallClockWriter(w, mem, s.cfg.loc, streamTransactions)
	return stream.ReadAll(ctx, s.client, []*stream.Stream{customers}, []*stream.Child{transactions}, req, w, stream.ReadOptions{Allocator: mem})
}

// failAll reports every requested stream as started, then failed with err.
func failAll(ctx context.Context, w sdk.Writer, req sdk.ReadRequest, err error) error {
	for _, r := range req.Streams {
		if werr := w.Status(ctx, r.Name, sdk.Status{State: sdk.Started}); werr != nil {
			return werr
		}
		if werr := w.Status(ctx, r.Name, sdk.Status{State: sdk.Failed, Err: err}); werr != nil {
			return werr
		}
	}
	return nil
}

// Close releases nothing but idle connections.
func (s *source) Close() error {
	s.client.CloseIdleConnections()
	s.tokenHTTP.CloseIdleConnections()
	return nil
}

// syncModes converts a schema file's sync modes.
func syncModes(sc *schemas.Stream) []sdk.SyncMode {
	modes := make([]sdk.SyncMode, 0, len(sc.SyncModes))
	for _, m := range sc.SyncModes {
		modes = append(modes, sdk.SyncMode(m))
	}
	return modes
}

var (
	_ sdk.Connector = (*Connector)(nil)
	_ sdk.Source    = (*source)(nil)
)
