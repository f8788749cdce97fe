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

// New returns the Capillary connector.
func New() *stream.Connector[Config] { return newConnector(nil, nil) }

// newConnector returns the connector with the clock of transaction windows
// and token times, and the timer of retry waits (tests; nil: real ones).
func newConnector(now func() time.Time, timer backoff.Timer) *stream.Connector[Config] {
	if now == nil {
		now = time.Now
	}
	return &stream.Connector[Config]{
		Name:         "capillary",
		Version:      Version,
		Description:  "Capillary loyalty and CRM API: customers, and each customer's transactions",
		ConfigSchema: configSchema,
		Streams:      []string{streamCustomers, streamTransactions},
		Source: func(ctx context.Context, cfg *Config) (*stream.Source, error) {
			return open(ctx, cfg, now, timer)
		},
	}
}

// open prepares the HTTP clients; it contacts nothing. Both streams are
// the source's stream.Dynamic's, since their requests depend on the
// customer search form a read finds first.
func open(ctx context.Context, cfg *Config, now func() time.Time, timer backoff.Timer) (*stream.Source, error) {
	log := sdk.Logger(ctx).With("connector", "capillary")
	// The token endpoint's own client: no token, no rate limit.
	tokenHTTP := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: auth.DefaultTokenTimeout}
	grant := newGrant(cfg, tokenHTTP, log, now, timer)
	tokens := auth.NewCache(grant, auth.CacheOptions{MaxLogins: maxLogins, Logger: log, Now: now})
	pol := rest.Policy{Timer: timer, Now: now}
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
	mem := memory.NewGoAllocator()
	return &stream.Source{
		Client: client,
		Dynamic: &source{
			cfg: cfg, client: client, grant: grant, now: now,
			customersSchema: customersSchema, transactionsSchema: transactionsSchema,
		},
		Options: stream.ReadOptions{Allocator: mem, PageConcurrency: cfg.Concurrency},
		// The transactions' v1.1 times are the org's wall-clock times
		// without an offset; the v2 customer times carry offsets and pass
		// unchanged.
		Writer:  func(w sdk.Writer) sdk.Writer { return records.WallClockWriter(w, mem, cfg.loc, streamTransactions) },
		OnClose: tokenHTTP.CloseIdleConnections,
	}, nil
}

// source declares the streams of one Capillary org: it is a
// stream.Dynamic and a stream.Checker.
type source struct {
	cfg                *Config
	client             *rest.Client
	grant              *auth.JSONGrant // the token endpoint
	now                func() time.Time
	customersSchema    *schemas.Stream
	transactionsSchema *schemas.Stream
	tune               func(*stream.Child) // tests: adjust the transactions stream
}

// streams declares the streams for a search query; log (nil in Discover)
// receives their warnings.
func (s *source) streams(query string, probed bool, log *slog.Logger) (*stream.Stream, *stream.Child, error) {
	customers, err := s.cfg.customers(s.customersSchema, query, log)
	if err != nil {
		return nil, nil, fmt.Errorf("capillary: %w", err)
	}
	transactions := s.cfg.transactions(s.transactionsSchema, customers, s.now)
	transactions.Empty = noCustomers(query, probed)
	if s.tune != nil {
		s.tune(transactions)
	}
	return customers, transactions, nil
}

// Check generates a token and finds the customer search form that lists
// every customer (one or two single-record searches).
func (s *source) Check(ctx context.Context) error {
	if _, _, err := s.customerQuery(ctx); err != nil {
		return fmt.Errorf("capillary: check: %w", err)
	}
	return nil
}

// Catalog implements stream.Dynamic: the two streams.
func (s *source) Catalog(context.Context) ([]sdk.Stream, error) {
	customers, transactions, err := s.streams("", false, nil)
	if err != nil {
		return nil, err
	}
	return []sdk.Stream{customers.Catalog(), transactions.Catalog()}, nil
}

// Declare implements stream.Dynamic: the streams, with the customer
// search form that lists every customer. When no form does, both streams
// fail, since both list the customers.
func (s *source) Declare(ctx context.Context, req sdk.ReadRequest) (*stream.Declared, error) {
	query, probed, err := s.customerQuery(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("capillary: read: %w", err)
		}
		d := &stream.Declared{Failed: map[string]error{}}
		for _, r := range req.Streams {
			d.Failed[r.Name] = err
		}
		return d, nil
	}
	customers, transactions, err := s.streams(query, probed, sdk.Logger(ctx).With("connector", "capillary"))
	if err != nil {
		return nil, err
	}
	return &stream.Declared{Streams: []*stream.Stream{customers}, Children: []*stream.Child{transactions}}, nil
}

var (
	_ stream.Dynamic = (*source)(nil)
	_ stream.Checker = (*source)(nil)
)
