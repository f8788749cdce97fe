// Package trackunitsim is a loopback simulator of the Trackunit IRIS APIs, in
// the manner of net/http/httptest. It serves two hosts, as Trackunit does: an
// Okta-style authorization server (the OAuth2 password grant with the client
// credentials in HTTP Basic, scope "api", optional rotating refresh tokens
// with "offline_access") and the IRIS API host with four data streams:
//
//   - assets: GET /api/asset/v1/assets, page-number paging (page from 0,
//     size up to 1000, totalPages/content).
//   - locations: GET /public/api/location/v1/locations (also under
//     /api/location/v1/locations; only there in the alt variant), cursor
//     paging (limit/after, next cursor in "after"), GeoJSON points.
//   - fleet_snapshot: GET /public/api/aemp/v2/15143/-3/Fleet/{page}, the
//     ISO 15143-3 (AEMP 2.0) snapshot, pages from 1 with Links rel "next";
//     JSON only (Accept: application/json), per-URL rate limits.
//   - asset_events: POST /public/api/eventlog/v3/asset-event/log with a JSON
//     time window, page/size query paging.
//
// Data are generated from (Options.Seed, stream, index), so any page can be
// served without storing the data set; Record returns what a page carries.
//
// # Getting started
//
//	srv := trackunitsim.NewServer(t, trackunitsim.Options{Seed: 1})
//	conf := oauth2.Config{
//		ClientID:     trackunitsim.DefaultClientID,
//		ClientSecret: trackunitsim.DefaultClientSecret,
//		Endpoint:     oauth2.Endpoint{TokenURL: srv.TokenURL, AuthStyle: oauth2.AuthStyleInHeader},
//		Scopes:       []string{"api"},
//	}
//	tok, err := conf.PasswordCredentialsToken(ctx, trackunitsim.DefaultUsername, trackunitsim.DefaultPassword)
//	// GET srv.URL + trackunitsim.AssetsPath + "?page=0&size=100" with tok.AccessToken
package trackunitsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
	"github.com/quiver-etl/quiver/sdk/connectortest/simhttp"
)

// Stream names.
const (
	StreamAssets        = "assets"
	StreamLocations     = "locations"
	StreamFleetSnapshot = "fleet_snapshot"
	StreamAssetEvents   = "asset_events"
)

// Streams lists every stream the simulator serves.
var Streams = []string{StreamAssets, StreamLocations, StreamFleetSnapshot, StreamAssetEvents}

// Paths on the API host (Server.URL) and the auth host (Server.AuthURL).
const (
	TokenPath        = "/token"
	AssetsPath       = "/api/asset/v1/assets"
	LocationsPath    = "/public/api/location/v1/locations"
	LocationsAltPath = "/api/location/v1/locations"          // the same handler; the prefix is unsure (docs/vendors/trackunit.md#locations)
	FleetPath        = "/public/api/aemp/v2/15143/-3/Fleet/" // + page number, from 1
	EventLogPath     = "/public/api/eventlog/v3/asset-event/log"
)

// Default credentials, accepted when Options leaves them empty. They are
// exported so that `quiver demo` can configure a connector against the
// simulator; they are not secrets.
const (
	DefaultClientID     = "0oa-quiver-sim-client"
	DefaultClientSecret = "sim-client-secret"
	DefaultUsername     = "api-user@quiver.example"
	DefaultPassword     = "sim-password"
)

// Defaults for Options.
const (
	DefaultAssets        = 250
	DefaultLocations     = 250
	DefaultFleetSnapshot = 250
	DefaultAssetEvents   = 600
	DefaultTokenTTL      = time.Hour // Trackunit tokens: exp-iat = 3600
	DefaultAEMPPageSize  = 100       // AEMP: 100 equipment per page
)

// KeyCase selects the JSON key casing of the AEMP fleet snapshot, which is
// ambiguous (third-party code checks both;
// docs/vendors/trackunit.md#aemp-fleet-snapshot).
type KeyCase int

const (
	// PascalCase keys, as in the ISO XML: "Links", "Equipment", "EquipmentHeader".
	PascalCase KeyCase = iota
	// CamelCase keys: "links", "equipment", "equipmentHeader", "oemName".
	CamelCase
)

// CursorEnd selects how the locations stream shows that there is no next page;
// the end condition is inferred (docs/vendors/trackunit.md#cursor-paging), so
// a connector must handle all three.
type CursorEnd int

const (
	// CursorAlways follows the docs literally: "after" points at the last
	// element of every non-empty page, so the client learns of the end from a
	// short page or an empty page whose "after" is null.
	CursorAlways CursorEnd = iota
	// CursorNull sets "after" to null on the last page.
	CursorNull
	// CursorOmit leaves "after" out of the last page.
	CursorOmit
)

// Options configure a Server. The zero value is a working simulator with
// the defaults documented on each field.
type Options struct {
	// Seed makes the generated data repeatable.
	Seed uint64
	// Counts are the records per stream, keyed by stream name. A missing key
	// means the default (DefaultAssets, ...); a present 0 means an empty stream.
	Counts map[string]int

	// ClientID, ClientSecret, Username and Password are the valid
	// credentials; empty means the Default* constants.
	ClientID, ClientSecret, Username, Password string
	// TokenTTL is the lifetime of access tokens; zero means DefaultTokenTTL.
	// expires_in is the TTL in whole seconds, so a TTL under 1s announces 0.
	TokenTTL time.Duration

	// AuthAddr is the listen address of the auth host; empty means the host
	// of Start's addr with a random port.
	AuthAddr string

	// AEMPKeys is the key casing of the fleet snapshot.
	AEMPKeys KeyCase
	// AEMPPageSize is the equipment per fleet page; zero means 100.
	AEMPPageSize int
	// AEMPWindow is the documented "one request per URL every 15 minutes";
	// zero means 15m, negative turns the per-URL limit off.
	AEMPWindow time.Duration
	// AEMPPool is the pool of extra requests per URL; zero means 50,
	// negative means no pool.
	AEMPPool int
	// AEMPPoolRegen is how long a used pool request stays used; zero means
	// 30 days.
	AEMPPoolRegen time.Duration
	// AEMPPerSecond caps fleet snapshot requests per second for the whole
	// customer; zero means 50, negative turns it off.
	AEMPPerSecond int

	// LocationInterval is the documented "one request per second for a
	// specific page and user" of the locations list; zero means 1s, negative
	// turns it off.
	LocationInterval time.Duration
	// CursorEnd is how the locations stream ends.
	CursorEnd CursorEnd

	// EventLogLimit caps asset event requests per EventLogWindow. The docs
	// say 2 per 30 minutes per API user; zero (the default) turns the limit
	// off so that tests can page, and 2 reproduces the documented limit.
	EventLogLimit int
	// EventLogWindow is the window of EventLogLimit; zero means 30m.
	EventLogWindow time.Duration

	// Variant chooses the shapes served where the research gives none: ""
	// for the default ones, VariantAlt for the other plausible ones.
	Variant string

	// BareRateLimit leaves Retry-After out of the simulator's own 429s
	// (Trackunit documents no rate-limit headers, so both shapes occur).
	BareRateLimit bool

	// Faults configures the shared fault injector on the data endpoints.
	Faults fault.Options
	// Now is the clock for token expiry, rate limits and SnapshotTime;
	// nil means time.Now. Generated data do not depend on it.
	Now func() time.Time
	// Logger receives a Debug line per request; nil discards.
	Logger *slog.Logger
	// Days applies this many days of changes (ApplyDay) at start.
	Days int
}

// Stats counts what the simulator has seen. Maps are keyed by stream name.
type Stats struct {
	TokenRequests  int            // requests to the token URL
	PasswordGrants int            // access tokens issued by the password grant
	RefreshGrants  int            // access tokens issued by the refresh_token grant
	TokenFailures  int            // token requests answered with an OAuth2 error
	AuthFailures   int            // API requests answered 401
	Requests       map[string]int // API requests per stream, including faulted and rejected ones
	Pages          map[string]int // pages served with 200 per stream
	RateLimited    map[string]int // 429s from the simulated limits (not injected faults)
}

// A Server is a running simulator: an auth host and an API host on loopback.
// Its methods are safe for concurrent use.
type Server struct {
	// URL is the API host base URL, e.g. "http://127.0.0.1:41234".
	URL string
	// AuthURL is the auth host base URL.
	AuthURL string
	// TokenURL is AuthURL + TokenPath.
	TokenURL string
	// Faults injects failures into the data endpoints (not the token URL).
	Faults *fault.Injector

	opts Options
	log  *slog.Logger
	now  func() time.Time

	// eventAssets is the number of assets events refer to, fixed at Start so
	// that events stay the same when assets are appended.
	eventAssets int
	// initialEvents is the number of asset events at Start; later ones
	// are in eventRuns.
	initialEvents int

	api, auth *http.Server
	serving   sync.WaitGroup

	mu        sync.Mutex
	counts    map[string]int
	over      map[string]map[int]map[string]any // copy-on-write: stream -> index -> field path -> value
	days      int                               // days of changes applied (ApplyDay)
	tokenTTL  time.Duration
	tokens    map[string]accessToken
	refresh   map[string]refreshToken
	issued    uint64
	stats     Stats
	limits    limitState
	eventRuns []eventRun // appended asset events
}

// VariantAlt is the Options.Variant of the other plausible shapes, where
// the research (docs/vendors/trackunit.md) gives none: an asset event's
// time comes under "timestamp" (every seventh under "occurredAt") instead
// of "eventTime", and every tenth event has no time at all; every record
// carries keys no schema knows ("etag", "tenantRef"); and fields change
// their JSON type from page to page: in every other run of altBlock
// records, an asset's productionYear is text ("2019 (est.)") and an
// event's timeOff an object instead of a time.
const VariantAlt = "alt"

// altBlock is the run of records that share a field's type in VariantAlt.
const altBlock = 50

// Start runs a simulator with its API host on addr ("127.0.0.1:0" picks a
// port) and its auth host on opts.AuthAddr. Close stops it.
func Start(addr string, opts Options) (*Server, error) {
	if opts.Variant != "" && opts.Variant != VariantAlt {
		return nil, fmt.Errorf("trackunitsim: variant %q: want \"\" or %q", opts.Variant, VariantAlt)
	}
	apiLn, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("trackunitsim: listen api %s: %w", addr, err)
	}
	authAddr := opts.AuthAddr
	if authAddr == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			apiLn.Close()
			return nil, fmt.Errorf("trackunitsim: address %q: %w", addr, err)
		}
		authAddr = net.JoinHostPort(host, "0")
	}
	authLn, err := net.Listen("tcp", authAddr)
	if err != nil {
		apiLn.Close()
		return nil, fmt.Errorf("trackunitsim: listen auth %s: %w", authAddr, err)
	}
	s := newServer(opts)
	s.URL = baseURL(apiLn.Addr())
	s.AuthURL = baseURL(authLn.Addr())
	s.TokenURL = s.AuthURL + TokenPath
	s.api = &http.Server{Handler: s.apiHandler(), ReadHeaderTimeout: 10 * time.Second}
	s.auth = &http.Server{Handler: s.authHandler(), ReadHeaderTimeout: 10 * time.Second}
	s.serving.Add(2)
	go func() { defer s.serving.Done(); _ = s.api.Serve(apiLn) }()
	go func() { defer s.serving.Done(); _ = s.auth.Serve(authLn) }()
	return s, nil
}

// NewServer starts a simulator on 127.0.0.1 with random ports and closes it
// when the test ends. It fails the test if the simulator cannot start.
func NewServer(t simhttp.TB, opts Options) *Server {
	t.Helper()
	return simhttp.StartForTest(t, "trackunitsim.NewServer", func() (*Server, error) { return Start("127.0.0.1:0", opts) })
}

// Close stops both hosts, closes open connections and waits for the serving
// goroutines to return.
func (s *Server) Close() {
	_ = s.api.Close()
	_ = s.auth.Close()
	s.serving.Wait()
}

func newServer(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.Username == "" {
		opts.Username = DefaultUsername
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.AEMPPageSize <= 0 {
		opts.AEMPPageSize = DefaultAEMPPageSize
	}
	s := &Server{
		opts:     opts,
		log:      opts.Logger,
		now:      opts.Now,
		Faults:   fault.New(opts.Faults),
		counts:   map[string]int{},
		over:     map[string]map[int]map[string]any{},
		tokenTTL: opts.TokenTTL,
		tokens:   map[string]accessToken{},
		refresh:  map[string]refreshToken{},
		stats:    Stats{Requests: map[string]int{}, Pages: map[string]int{}, RateLimited: map[string]int{}},
		limits:   newLimitState(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	defaults := map[string]int{
		StreamAssets: DefaultAssets, StreamLocations: DefaultLocations,
		StreamFleetSnapshot: DefaultFleetSnapshot, StreamAssetEvents: DefaultAssetEvents,
	}
	for _, st := range Streams {
		n, ok := opts.Counts[st]
		if !ok {
			n = defaults[st]
		}
		s.counts[st] = max(n, 0)
	}
	s.eventAssets = s.counts[StreamAssets]
	s.initialEvents = s.counts[StreamAssetEvents]
	if s.eventAssets == 0 {
		s.eventAssets = DefaultAssets
	}
	for range opts.Days {
		s.ApplyDay()
	}
	return s
}

// baseURL turns a listener address into an http URL; an unspecified IP
// (0.0.0.0, ::) becomes loopback so that the URL is dialable.
func baseURL(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String()
	}
	ip := ta.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return "http://" + net.JoinHostPort(ip.String(), fmt.Sprint(ta.Port))
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = copyCounts(s.stats.Requests)
	st.Pages = copyCounts(s.stats.Pages)
	st.RateLimited = copyCounts(s.stats.RateLimited)
	return st
}

func copyCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Count returns the number of records of stream, or 0 for an unknown stream.
func (s *Server) Count(stream string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[stream]
}

// snapshot returns the count and the override map of stream. The map is
// never written after it is published (Update copies it), so it may be read
// without the lock.
func (s *Server) snapshot(stream string) (int, map[int]map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[stream], s.over[stream]
}

// Append adds n records to the end of stream, as if the vendor created them.
// New asset events happened just now: a microsecond apart, the last a
// microsecond before the call (or later, to stay after every existing one).
func (s *Server) Append(stream string, n int) error {
	if n < 0 {
		return fmt.Errorf("trackunitsim: append %d records to %s: negative count", n, stream)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.counts[stream]; !ok {
		return fmt.Errorf("trackunitsim: append to %q: %w", stream, errUnknownStream)
	}
	if stream == StreamAssetEvents && n > 0 {
		// The new events happened just before now, after every existing
		// one: a client's window that ends now or later holds them.
		first := s.counts[stream]
		end := s.now().UTC().Truncate(time.Microsecond).Add(-time.Microsecond)
		if first > 0 {
			last := s.eventTimeLocked(first - 1)
			end = maxTime(end, last.Add(time.Duration(n)*time.Microsecond))
		}
		s.eventRuns = append(s.eventRuns, eventRun{first: first, n: n, end: end})
	}
	s.counts[stream] += n
	return nil
}

// eventTimeLocked is eventTime for a caller that holds s.mu.
func (s *Server) eventTimeLocked(i int) time.Time {
	if i >= s.initialEvents {
		return s.appendedTimeLocked(i)
	}
	return s.initialEventTime(i)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

var errUnknownStream = errors.New("unknown stream")

// Update sets field of the record with id in stream to value, which must
// encode to JSON. field is a key of the record as served, with dots for
// nested keys ("properties.updatedAt", "CumulativeOperatingHours.Hour").
// The asset event field "eventTime" orders and filters events and cannot be
// changed.
func (s *Server) Update(stream, id, field string, value any) error {
	if field == "" {
		return fmt.Errorf("trackunitsim: update %s %s: empty field", stream, id)
	}
	if stream == StreamAssetEvents && field == "eventTime" {
		return fmt.Errorf("trackunitsim: update %s %s: eventTime cannot be changed", stream, id)
	}
	if _, err := json.Marshal(value); err != nil {
		return fmt.Errorf("trackunitsim: update %s %s field %s: %w", stream, id, field, err)
	}
	i := s.index(stream, id)
	if i < 0 {
		return fmt.Errorf("trackunitsim: update %s: record %q not found", stream, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.over[stream]
	next := make(map[int]map[string]any, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	fields := make(map[string]any, len(old[i])+1)
	for k, v := range old[i] {
		fields[k] = v
	}
	fields[field] = value
	next[i] = fields
	s.over[stream] = next
	return nil
}

// index finds the record with id by generating ids in order; -1 if absent.
func (s *Server) index(stream, id string) int {
	n := s.Count(stream)
	var b []byte
	for i := range n {
		b = s.appendID(b[:0], stream, i)
		if string(b) == id {
			return i
		}
	}
	return -1
}

// IDs returns the primary keys of stream in the order the API serves them:
// asset ids (assets), the assetId of each location (locations), the PIN of
// each equipment (fleet_snapshot) and event ids (asset_events).
func (s *Server) IDs(stream string) []string {
	n := s.Count(stream)
	out := make([]string, 0, n)
	var b []byte
	for i := range n {
		b = s.appendID(b[:0], stream, i)
		out = append(out, string(b))
	}
	return out
}

// Record returns the i-th record of stream decoded from the JSON the API
// serves, with Update overrides applied; nil if there is no such record.
// Fleet equipment is returned as served with addMetadata=true.
func (s *Server) Record(stream string, i int) map[string]any {
	b := s.RecordJSON(stream, i)
	if b == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil
	}
	return m
}

// RecordJSON returns the i-th record of stream as the API serves it (Fleet
// equipment with addMetadata=true), or nil if there is no such record: the
// raw JSON, for tests that compare values kept as the vendor sent them.
func (s *Server) RecordJSON(stream string, i int) []byte {
	n, over := s.snapshot(stream)
	if i < 0 || i >= n {
		return nil
	}
	b, err := s.appendRecord(nil, stream, i, over[i], true)
	if err != nil {
		return nil
	}
	return b
}

// appendRecord appends the JSON of record i, applying overrides if any.
func (s *Server) appendRecord(b []byte, stream string, i int, over map[string]any, meta bool) ([]byte, error) {
	if len(over) == 0 {
		return s.appendBase(b, stream, i, meta), nil
	}
	var m map[string]any
	if err := json.Unmarshal(s.appendBase(nil, stream, i, meta), &m); err != nil {
		return b, fmt.Errorf("trackunitsim: %s record %d: %w", stream, i, err)
	}
	paths := make([]string, 0, len(over))
	for p := range over {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := setPath(m, p, over[p]); err != nil {
			return b, fmt.Errorf("trackunitsim: %s record %d: %w", stream, i, err)
		}
	}
	enc, err := json.Marshal(m)
	if err != nil {
		return b, fmt.Errorf("trackunitsim: %s record %d: %w", stream, i, err)
	}
	return append(b, enc...), nil
}

// setPath sets a dotted key path in m, creating objects on the way.
func setPath(m map[string]any, path string, v any) error {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k]
		if !ok || next == nil {
			child := map[string]any{}
			m[k] = child
			m = child
			continue
		}
		child, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("field %s: %q is not an object", path, k)
		}
		m = child
	}
	m[keys[len(keys)-1]] = v
	return nil
}

func (s *Server) appendBase(b []byte, stream string, i int, meta bool) []byte {
	start := len(b)
	switch stream {
	case StreamAssets:
		b = s.appendAsset(b, i)
	case StreamLocations:
		b = s.appendLocation(b, i)
	case StreamFleetSnapshot:
		b = s.appendEquipment(b, i, meta)
	case StreamAssetEvents:
		b = s.appendEvent(b, i)
	default:
		return append(b, "null"...)
	}
	if s.alt() && len(b) > start && b[len(b)-1] == '}' {
		// Keys no schema knows, on every record.
		b = append(b[:len(b)-1], `,"etag":"W/\"`...)
		b = strconv.AppendUint(b, mix(s.opts.Seed^uint64(i)<<8^uint64(len(stream)))%1e9, 36)
		b = append(b, `\"","tenantRef":`...)
		b = strconv.AppendInt(b, int64(4000+i%17), 10)
		b = append(b, '}')
	}
	return b
}

// alt reports whether the server serves VariantAlt.
func (s *Server) alt() bool { return s.opts.Variant == VariantAlt }

func (s *Server) appendID(b []byte, stream string, i int) []byte {
	switch stream {
	case StreamAssets, StreamLocations:
		return appendUUID(b, s.opts.Seed, saltAssetID, i)
	case StreamFleetSnapshot:
		return s.appendSerial(b, i)
	case StreamAssetEvents:
		return appendUUID(b, s.opts.Seed, saltEventID, i)
	}
	return b
}

// ExpireTokens makes every access token issued so far expired, so the next
// API request with one of them gets 401. Refresh tokens stay valid.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Second)
	for k, t := range s.tokens {
		t.expiry = past
		s.tokens[k] = t
	}
}

// SetTokenTTL sets the lifetime of access tokens issued from now on; with
// d <= 0 they are expired when issued (and announce expires_in 0).
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenTTL = d
}

// RevokeRefreshTokens invalidates every refresh token, as an admin resetting
// the API user would; the client must fall back to the password grant.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.refresh {
		t.used = true
		s.refresh[k] = t
	}
}

// logRequest writes the Debug line for one answered request.
func (s *Server) logRequest(ctx context.Context, r *http.Request, stream string, status int) {
	s.log.LogAttrs(ctx, slog.LevelDebug, "trackunitsim request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.String("stream", stream), slog.Int("status", status))
}
