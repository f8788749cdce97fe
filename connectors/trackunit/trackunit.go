// Package trackunit is the Quiver connector for Trackunit IRIS, the
// construction telematics platform: assets, their latest locations, the
// ISO 15143-3 (AEMP 2.0) fleet snapshot and the asset event log.
//
// Authentication is the OAuth2 password grant of an API user at a token
// host separate from the API host (auth.trackunit.com), with the client id
// and secret in HTTP Basic and scope "api". Tokens last an hour; they are
// renewed a minute before they expire, and once more when the API answers
// 401: with "offline_access" in the scope by the rotating refresh token,
// otherwise by logging in again (docs/vendors/trackunit.md#auth).
//
// Each stream pages the way its API does
// (docs/vendors/trackunit.md#endpoints, docs/vendors/trackunit.md#paging):
// assets by page number (page from 0, size, totalPages), locations by
// cursor (limit/after), the fleet snapshot by following its "next" links
// (pages from 1), and asset events by page number over a POSTed time
// window. Requests share a rate limiter per account; the locations list is
// held to one request per second, and the AEMP export's per-URL limits are
// kept by reading each page once. A 429 is retried after the wait it asks
// for, and a wait long enough to slow the sync is logged at Warn.
package trackunit

import (
	"context"
	_ "embed"
	"fmt"
	"net/url"
	"time"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"golang.org/x/time/rate"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/auth"
	"github.com/quiver-etl/quiver/sdk/rest"
	"github.com/quiver-etl/quiver/sdk/stream"
)

// Version is the connector's release.
const Version = "0.1.0"

// API paths on the API host (docs/vendors/trackunit.md#endpoints).
const (
	AssetsPath    = "/api/asset/v1/assets"
	LocationsPath = "/public/api/location/v1/locations"
	// LocationsAltPath is the other plausible path of the locations list,
	// tried when LocationsPath answers 404.
	LocationsAltPath = "/api/location/v1/locations"
	FleetPath        = "/public/api/aemp/v2/15143/-3/Fleet/" // + page number, from 1
	EventLogPath     = "/public/api/eventlog/v3/asset-event/log"
)

// Stream names.
const (
	StreamAssets        = "assets"
	StreamLocations     = "locations"
	StreamFleetSnapshot = "fleet_snapshot"
	StreamAssetEvents   = "asset_events"
)

// Limits and tuning.
const (
	// accountRate is the shared limit of one account's requests. The
	// highest documented customer-wide limit is the AEMP export's 50
	// requests per second; staying well under it leaves room for the
	// customer's other integrations (Trackunit's fair-use policy).
	accountRate  = 20
	accountBurst = 5
	// locationInterval keeps the locations list under its documented "1
	// request per second per page per user", retries of a page included;
	// the extra tenth of a second absorbs latency jitter, so that two
	// requests never reach the server less than a second apart.
	locationInterval = 1100 * time.Millisecond
	// warnWait: a retry or limiter wait this long is a rate limit slowing
	// the sync (a 429 waits at least rest.DefaultRateLimitFloor), not a
	// blip, and is logged at Warn.
	warnWait = rest.DefaultRateLimitFloor
	// maxLogins caps token requests per run. Tokens last an hour, so a
	// healthy run needs one per hour (plus one per rejected token); a cap
	// this high still stops a loop of logins long before it can lock the
	// API user, since a request gets a fresh token only once.
	maxLogins = 200
)

//go:embed config.schema.json
var configSchema []byte

// tuning holds what tests change; zero fields mean the production values.
type tuning struct {
	policy           rest.Policy
	accountRate      rate.Limit
	locationInterval time.Duration
	mem              memory.Allocator
}

// New returns the Trackunit IRIS connector.
func New() *stream.Connector[Config] { return newConnector(tuning{}) }

// newConnector returns the connector with tune (tests speed it up).
func newConnector(tune tuning) *stream.Connector[Config] {
	return &stream.Connector[Config]{
		Name:         "trackunit",
		Version:      Version,
		Description:  "Trackunit IRIS: assets, locations, the AEMP 2.0 fleet snapshot, the asset event log",
		ConfigSchema: configSchema,
		Streams:      streamNames,
		Source:       tune.open,
	}
}

// open prepares the HTTP client and declares the streams; it contacts
// nothing. Check logs in and reads one asset; it does not touch the AEMP
// export, whose per-URL limits the sync needs.
func (t tuning) open(ctx context.Context, cfg *Config) (*stream.Source, error) {
	log := sdk.Logger(ctx).With("connector", "trackunit")
	tokens := auth.NewCache(&auth.PasswordGrant{
		TokenURL:     cfg.TokenURL,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Username:     cfg.Username,
		Password:     cfg.Password,
		Scope:        cfg.Scope,
		// "Applications has to supply client_id and client_secret through
		// basic authentication" (seed 003).
		Style:  auth.InHeader,
		Body:   auth.Form,
		Logger: log,
	}, auth.CacheOptions{MaxLogins: maxLogins, Logger: log, Now: t.policy.Now})
	pol := t.policy
	// IRIS has no replication lag after a login: a 401 means the token
	// expired or was revoked, so it is replaced at once.
	pol.LagRetries = -1
	if pol.WarnWait == 0 {
		pol.WarnWait = warnWait
	}
	lim := t.accountRate
	if lim == 0 {
		lim = accountRate
	}
	client, err := rest.New(rest.Options{
		BaseURL: cfg.APIURL,
		Auth:    tokens,
		Policy:  pol,
		Limiter: rate.NewLimiter(lim, accountBurst),
		Logger:  log,
		Name:    "trackunit",
	})
	if err != nil {
		return nil, err
	}
	sc, err := loadSchemas()
	if err != nil {
		return nil, err
	}
	every := t.locationInterval
	if every == 0 {
		every = locationInterval
	}
	s := &source{cfg: cfg, schemas: sc, locations: rate.NewLimiter(rate.Every(every), 1), mem: t.mem}
	if s.mem == nil {
		s.mem = memory.NewGoAllocator()
	}
	var static []*stream.Stream
	for _, name := range []string{StreamAssets, StreamLocations, StreamFleetSnapshot} {
		st, err := s.stream(name, nil)
		if err != nil {
			return nil, err
		}
		static = append(static, st)
	}
	return &stream.Source{
		Client:  client,
		Ping:    rest.Request{Path: AssetsPath, Query: url.Values{"page": {"0"}, "size": {"1"}}},
		Streams: static,
		Dynamic: s,
		Options: stream.ReadOptions{Allocator: s.mem, PageConcurrency: s.cfg.Concurrency},
	}, nil
}

// source declares the streams of one Trackunit account. It is the
// stream.Dynamic of asset_events, whose declaration holds the state of one
// read.
type source struct {
	cfg       *Config
	schemas   map[string]*schemas.Stream
	locations *rate.Limiter // the locations list's own limit
	mem       memory.Allocator
}

// Catalog implements stream.Dynamic: the asset_events stream.
func (s *source) Catalog(context.Context) ([]sdk.Stream, error) {
	st, err := s.stream(StreamAssetEvents, nil)
	if err != nil {
		return nil, err
	}
	return []sdk.Stream{st.Catalog()}, nil
}

// Declare implements stream.Dynamic: asset_events, for a read that starts
// from its saved state (none for a full refresh).
func (s *source) Declare(_ context.Context, req sdk.ReadRequest) (*stream.Declared, error) {
	d := &stream.Declared{}
	for _, r := range req.Streams {
		if r.Name != StreamAssetEvents {
			continue // unknown: the read fails on it
		}
		start := r.State
		if r.Mode == sdk.FullRefresh {
			start = nil
		}
		st, err := s.stream(r.Name, start)
		if err != nil {
			return nil, err
		}
		d.Streams = append(d.Streams, st)
	}
	return d, nil
}

var _ stream.Dynamic = (*source)(nil)

// streamNames lists the streams in catalog order.
var streamNames = []string{StreamAssets, StreamLocations, StreamFleetSnapshot, StreamAssetEvents}

// stream declares the named stream for a read that starts from state (nil:
// from the beginning). Errors wrap sdk.ErrConfig.
func (s *source) stream(name string, start []byte) (*stream.Stream, error) {
	sc := s.schemas[name]
	if sc == nil {
		return nil, fmt.Errorf("trackunit: no stream %q: %w", name, sdk.ErrConfig)
	}
	st, err := stream.FromSchema(sc)
	if err != nil {
		return nil, fmt.Errorf("trackunit: %w", err)
	}
	switch name {
	case StreamAssets:
		s.assets(st)
	case StreamLocations:
		err = s.locationsStream(st)
	case StreamFleetSnapshot:
		err = s.fleet(st)
	case StreamAssetEvents:
		err = s.events(st, start)
	}
	if err != nil {
		return nil, fmt.Errorf("trackunit: stream %s: %w", name, err)
	}
	return st, nil
}

// loadSchemas loads the embedded stream schemas by name.
func loadSchemas() (map[string]*schemas.Stream, error) {
	all, err := schemas.Vendor("trackunit")
	if err != nil {
		return nil, fmt.Errorf("trackunit: %w", err)
	}
	m := make(map[string]*schemas.Stream, len(all))
	for _, sc := range all {
		m[sc.Name] = sc
	}
	for _, n := range streamNames {
		if m[n] == nil {
			return nil, fmt.Errorf("trackunit: no schema for stream %s", n)
		}
	}
	return m, nil
}
