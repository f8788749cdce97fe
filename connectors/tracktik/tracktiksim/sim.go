// Package tracktiksim is a loopback fake of the TrackTik REST API, in the
// manner of net/http/httptest: NewServer starts it for a test, Start for the
// `quiver demo` command.
//
// It serves the OAuth2 token endpoint (POST /rest/oauth2/access_token, the
// password and rotating single-use refresh_token grants, with the vendor's
// 40-failures-in-2-minutes IP lockout) and six list endpoints under /rest/v1:
// employees, clients, positions, shifts, work-sessions and reports, with
// limit/offset paging, sort=id or -id, and key:function=value filters.
// Records are generated on demand from (Seed, stream, index), so a server
// with millions of records costs no memory; ids ascend with gaps and the
// time field of clients, shifts, work-sessions and reports grows with the id.
//
// The data endpoints are wrapped with the shared fault injector
// (Server.Faults) and can answer 401 to a freshly issued token for a while,
// which is the vendor's replication-lag quirk (Options.LagRequests,
// Options.LagFor).
//
// # Getting started
//
//	srv := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 1, LagRequests: 2})
//	// POST srv.TokenURL with grant_type=password, client_id=tracktiksim.ClientID, ...
//	// GET  srv.URL + "/rest/v1/employees?limit=1000&offset=0&sort=id"
//	want := srv.Record("employees", 0) // the first record, as decoded JSON
package tracktiksim

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
	"github.com/quiver-etl/quiver/sdk/connectortest/simhttp"
)

// The credentials a server accepts unless Options say otherwise. They are
// demo values for a loopback fake, not secrets.
const (
	ClientID     = "quiver-demo"
	ClientSecret = "demo-secret"
	Username     = "api-user"
	Password     = "demo-password"
)

// TokenPath is the token endpoint's path, relative to Server.URL.
const TokenPath = "/rest/oauth2/access_token"

// Options configure a Server. The zero value is a valid configuration.
type Options struct {
	// Seed selects the generated data; the same seed gives the same bytes.
	Seed uint64
	// Counts are the records per stream at start, keyed by stream name.
	// Missing streams get their default: employees 250, clients 40,
	// positions 120, shifts 1500, work-sessions 1200, reports 600.
	Counts map[string]int
	// ClientID, ClientSecret, Username and Password are the accepted
	// credentials; empty fields default to the package constants.
	ClientID, ClientSecret, Username, Password string
	// TokenTTL is the access-token lifetime; default 3600s, as the vendor's.
	TokenTTL time.Duration
	// RefreshTTL is the refresh-token lifetime; default 30 days (league/oauth2-server's is a month).
	RefreshTTL time.Duration
	// LagRequests makes the first N data requests made with each newly
	// issued access token fail with 401, as the vendor's read replica does.
	LagRequests int
	// LagFor makes data requests fail with 401 for this long after a token
	// is issued. Both lag settings are captured when a token is issued.
	LagFor time.Duration
	// Faults configure random faults on the data endpoints (not the token
	// endpoint); Server.Faults scripts more.
	Faults fault.Options
	// MaxLimit caps the limit parameter; larger limits are clamped and the
	// effective one is echoed in meta.limit. Default 1000, as the vendor's.
	MaxLimit int
	// Now is the clock for token expiry, lag and lockout; default time.Now.
	Now func() time.Time
	// Logger receives a Debug line per request; default discards. Tokens
	// and credentials are never logged.
	Logger *slog.Logger
	// Days applies this many days of changes (ApplyDay) at start.
	Days int
	// Span is the time the time fields of a stream's records at start
	// (shifts' and work sessions' startedOn, reports' reportDateTime,
	// clients' createdOn) spread over from 2024-01-01, in id order: a
	// benchmark sets it to give a stream's records a chosen number of
	// days. Default (0) two years, to 2026-01-01.
	Span time.Duration
	// Variant chooses the shapes served where the research gives none: ""
	// for the default ones, VariantAlt for the other plausible ones.
	Variant string
}

// VariantAlt is the Options.Variant of the other plausible shapes, where
// the research (docs/vendors/tracktik.md) gives none: every record carries
// keys no schema knows ("uri", "customFields"); list pages leave out
// meta.count (the total), so a client must page to a short page; and the
// related-entity ids "account" and "region" change their JSON type from
// page to page: in every other run of altBlock records they are expanded
// objects ({"id":N,"resource":"clients"}, as include= gives) instead of
// numbers.
const VariantAlt = "alt"

// altBlock is the run of records that share a field's type in VariantAlt.
const altBlock = 100

// Stats count what the server has seen. Faults injected before a request
// reaches the simulator are not counted here; see Server.Faults.Counts.
type Stats struct {
	// TokenRequests counts every request to the token endpoint.
	TokenRequests int
	// PasswordGrants and RefreshGrants count tokens issued by each grant.
	PasswordGrants, RefreshGrants int
	// FailedLogins counts token requests rejected for a bad client, bad
	// user credentials or a bad refresh token: the failures that count
	// toward the IP lockout.
	FailedLogins int
	// RefreshTokensReused counts attempts to use a consumed refresh token.
	RefreshTokensReused int
	// LockedOut counts token requests refused because the IP was locked.
	LockedOut int
	// DataRequests counts requests to the data endpoints.
	DataRequests int
	// Unauthorized counts data requests refused for a missing, unknown or
	// expired token (not lag).
	Unauthorized int
	// Lag401s counts data requests refused because of replication lag.
	Lag401s int
	// Requests counts data requests per stream name.
	Requests map[string]int
}

// A Server is a running simulator. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:PORT, with no trailing slash.
	URL string
	// TokenURL is URL + TokenPath.
	TokenURL string
	// Faults injects faults into the data endpoints.
	Faults *fault.Injector

	opts Options
	now  func() time.Time
	log  *slog.Logger
	w    *world
	srv  *simhttp.Server // nil until Start listens

	mu     sync.Mutex // guards the auth state and stats below
	access map[string]*accessToken
	rtoks  map[string]*refreshToken
	fails  map[string][]time.Time // failed token requests per IP, within the window
	locked map[string]time.Time   // IP -> locked until
	stats  Stats
	reqs   [numStreams]int
	ttl    time.Duration
	lag    int
	lagFor time.Duration

	dmu      sync.RWMutex // guards the data state below
	count    [numStreams]int
	overlay  [numStreams]map[int][]overlayField // record index -> changed fields
	overlaid [numStreams]map[int]bool           // field indexes with any overlay
	version  [numStreams]uint64                 // bumped by Append and Update
	days     int                                // days of changes applied (ApplyDay)
	pages    pageCache
	gone     [numStreams][]int // indexes of deleted records, ascending

	cmu        sync.Mutex
	cache      map[string][]int32 // materialized filter results
	cacheOrder []string

	bufs sync.Pool // *[]byte page buffers
}

// overlayField is one field changed by Update; fi is -1 for a field the
// stream does not have, which is then appended to the record.
type overlayField struct {
	name string
	fi   int
	v    value
}

// Start starts a server listening on addr ("127.0.0.1:0" picks a port).
// Close stops it.
func Start(addr string, opts Options) (*Server, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	s.srv, err = simhttp.Listen(addr, s.handler(), s.log)
	if err != nil {
		return nil, fmt.Errorf("tracktiksim: %w", err)
	}
	s.URL = s.srv.URL
	s.TokenURL = s.URL + TokenPath
	return s, nil
}

// NewServer starts a server on 127.0.0.1 for a test and closes it when the
// test ends. It fails the test if the server cannot start.
func NewServer(t simhttp.TB, opts Options) *Server {
	t.Helper()
	return simhttp.StartForTest(t, "tracktiksim.NewServer", func() (*Server, error) { return Start("127.0.0.1:0", opts) })
}

// Close stops the server: it waits up to a few seconds for requests in
// flight, then closes every connection. It is safe to call more than once.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

func newServer(opts Options) (*Server, error) {
	if opts.Variant != "" && opts.Variant != VariantAlt {
		return nil, fmt.Errorf("tracktiksim: variant %q: want \"\" or %q", opts.Variant, VariantAlt)
	}
	if opts.ClientID == "" {
		opts.ClientID = ClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = ClientSecret
	}
	if opts.Username == "" {
		opts.Username = Username
	}
	if opts.Password == "" {
		opts.Password = Password
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 3600 * time.Second
	}
	if opts.RefreshTTL <= 0 {
		opts.RefreshTTL = 30 * 24 * time.Hour
	}
	if opts.MaxLimit <= 0 {
		opts.MaxLimit = 1000
	}
	if opts.LagRequests < 0 {
		return nil, fmt.Errorf("tracktiksim: LagRequests %d is negative", opts.LagRequests)
	}
	s := &Server{
		opts:   opts,
		now:    opts.Now,
		log:    opts.Logger,
		access: map[string]*accessToken{},
		rtoks:  map[string]*refreshToken{},
		fails:  map[string][]time.Time{},
		locked: map[string]time.Time{},
		ttl:    opts.TokenTTL,
		lag:    opts.LagRequests,
		lagFor: opts.LagFor,
		cache:  map[string][]int32{},
		Faults: fault.New(opts.Faults),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var counts [numStreams]int
	ds := defs()
	for i, d := range ds {
		counts[i] = d.defCount
	}
	for name, n := range opts.Counts {
		i := streamIndex(name)
		if i < 0 {
			return nil, fmt.Errorf("tracktiksim: Counts: unknown stream %q", name)
		}
		if n < 0 {
			return nil, fmt.Errorf("tracktiksim: Counts[%q] = %d is negative", name, n)
		}
		counts[i] = n
	}
	s.w = newWorld(opts.Seed, counts, opts.Span)
	s.count = counts
	for range opts.Days {
		s.ApplyDay()
	}
	return s, nil
}

var streamNames = [numStreams]string{"employees", "clients", "positions", "shifts", "work-sessions", "reports"}

// Streams returns the names of the simulated streams, in a fixed order.
func Streams() []string { return slices.Clone(streamNames[:]) }

func streamIndex(name string) int {
	for i, n := range streamNames {
		if n == name {
			return i
		}
	}
	return -1
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = make(map[string]int, numStreams)
	for i, n := range s.reqs {
		if n > 0 {
			st.Requests[streamNames[i]] = n
		}
	}
	return st
}

// SetLag changes Options.LagRequests for tokens issued from now on.
func (s *Server) SetLag(requests int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lag = max(requests, 0)
}

// SetLagFor changes Options.LagFor for tokens issued from now on.
func (s *Server) SetLagFor(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lagFor = d
}

// SetTokenTTL changes the lifetime of access tokens issued from now on.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d > 0 {
		s.ttl = d
	}
}

// ExpireTokens invalidates every access token issued so far; refresh
// tokens stay valid.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.access)
}

// Count returns the number of records in stream, or -1 for an unknown stream.
func (s *Server) Count(stream string) int {
	si := streamIndex(stream)
	if si < 0 {
		return -1
	}
	s.dmu.RLock()
	defer s.dmu.RUnlock()
	return s.count[si] - len(s.gone[si])
}

// IDs returns the ids of stream's records in ascending order, or nil for
// an unknown stream.
func (s *Server) IDs(stream string) []int64 {
	si := streamIndex(stream)
	if si < 0 {
		return nil
	}
	s.dmu.RLock()
	defer s.dmu.RUnlock()
	ids := make([]int64, 0, s.count[si]-len(s.gone[si]))
	for i := range s.count[si] {
		if !s.isGone(si, i) {
			ids = append(ids, s.w.id(si, i))
		}
	}
	return ids
}

// isGone reports whether record index i of stream si was deleted. The
// caller holds s.dmu.
func (s *Server) isGone(si, i int) bool {
	_, found := slices.BinarySearch(s.gone[si], i)
	return found
}

// find returns the index of the record of stream si with id; ok is false
// when there is none (or it was deleted). The caller holds s.dmu.
func (s *Server) find(si int, id int64) (i int, ok bool) {
	n := s.count[si]
	i = sort.Search(n, func(i int) bool { return s.w.id(si, i) >= id })
	return i, i < n && s.w.id(si, i) == id && !s.isGone(si, i)
}

// index returns the index of the i-th record of stream si that is not
// deleted. The caller holds s.dmu.
func (s *Server) index(si, i int) int {
	for _, g := range s.gone[si] {
		if g > i {
			break
		}
		i++
	}
	return i
}

// Record returns record i (0-based, in id order, deleted records left out) of stream as
// encoding/json decodes the page JSON: numbers are float64, lists []any,
// null is nil. It returns nil for an unknown stream or index.
func (s *Server) Record(stream string, i int) map[string]any {
	si := streamIndex(stream)
	if si < 0 {
		return nil
	}
	s.dmu.RLock()
	if i < 0 || i >= s.count[si]-len(s.gone[si]) {
		s.dmu.RUnlock()
		return nil
	}
	var rw row
	b := s.appendRecord(nil, &rw, si, s.index(si, i))
	s.dmu.RUnlock()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil // cannot happen: appendRecord writes valid JSON
	}
	return m
}

// RecordJSON returns the i-th record of stream as the API serves it, or
// nil if there is none: the raw JSON, for tests that compare values kept as
// the vendor sent them.
func (s *Server) RecordJSON(stream string, i int) []byte {
	si := streamIndex(stream)
	if si < 0 {
		return nil
	}
	s.dmu.RLock()
	defer s.dmu.RUnlock()
	if i < 0 || i >= s.count[si]-len(s.gone[si]) {
		return nil
	}
	var rw row
	return s.appendRecord(nil, &rw, si, s.index(si, i))
}

// Append adds n records to stream, with ids above every existing one and
// time fields continuing after the last. Unknown streams are ignored.
func (s *Server) Append(stream string, n int) {
	si := streamIndex(stream)
	if si < 0 || n <= 0 {
		s.log.Warn("tracktiksim: Append ignored", "stream", stream, "n", n)
		return
	}
	s.dmu.Lock()
	defer s.dmu.Unlock()
	s.count[si] += n
	s.version[si]++
}

// ErrNotFound is returned by Update for an unknown stream or id.
var ErrNotFound = errors.New("tracktiksim: not found")

// Update overlays field of the record with id in stream with value, which
// may be nil, a string, an int, int64, float64, bool, time.Time (written in
// UTC), []string, or anything encoding/json can marshal. A field the stream
// does not have is appended to the record, which simulates a schema
// change. The id field cannot be changed. Update reports ErrNotFound for an
// unknown stream or id.
func (s *Server) Update(stream string, id int64, field string, value any) error {
	si := streamIndex(stream)
	if si < 0 {
		return fmt.Errorf("tracktiksim: update stream %q: %w", stream, ErrNotFound)
	}
	if field == "id" {
		return fmt.Errorf("tracktiksim: update %s %d: the id field cannot be changed", stream, id)
	}
	v, err := overlayValue(value)
	if err != nil {
		return fmt.Errorf("tracktiksim: update %s %d field %s: %w", stream, id, field, err)
	}
	s.dmu.Lock()
	defer s.dmu.Unlock()
	i, ok := s.find(si, id)
	if !ok {
		return fmt.Errorf("tracktiksim: update %s id %d: %w", stream, id, ErrNotFound)
	}
	fi, ok := s.w.defs[si].fieldIdx[field]
	if !ok {
		fi = -1
	}
	if s.overlay[si] == nil {
		s.overlay[si] = map[int][]overlayField{}
		s.overlaid[si] = map[int]bool{}
	}
	ov := s.overlay[si][i]
	j := slices.IndexFunc(ov, func(o overlayField) bool { return o.name == field })
	if j < 0 {
		ov = append(ov, overlayField{name: field, fi: fi, v: v})
	} else {
		ov[j].v = v
	}
	s.overlay[si][i] = ov
	if fi >= 0 {
		s.overlaid[si][fi] = true
	}
	s.version[si]++
	return nil
}

// Delete removes the record with id from stream: listings, counts and
// single-record requests no longer show it. It reports ErrNotFound for an
// unknown stream or id.
func (s *Server) Delete(stream string, id int64) error {
	si := streamIndex(stream)
	if si < 0 {
		return fmt.Errorf("tracktiksim: delete stream %q: %w", stream, ErrNotFound)
	}
	s.dmu.Lock()
	defer s.dmu.Unlock()
	i, ok := s.find(si, id)
	if !ok {
		return fmt.Errorf("tracktiksim: delete %s id %d: %w", stream, id, ErrNotFound)
	}
	k, _ := slices.BinarySearch(s.gone[si], i)
	s.gone[si] = slices.Insert(s.gone[si], k, i)
	delete(s.overlay[si], i)
	s.version[si]++
	return nil
}
