// Package capillarysim is a loopback simulator of the Capillary API, used
// like net/http/httptest by tests, benchmarks and `quiver demo`.
//
// It serves three endpoints:
//
//   - POST /v3/oauth/token/generate: JSON {"key","secret"} in, a JWT out
//     ({"data":{"accessToken","ttlSeconds"},"errors":null}); bad credentials
//     give {"data":null,"errors":[{"code":320001,...}]}.
//   - GET /v2/customers/search: limit/offset paging with pagination.total.
//   - GET /v1.1/customer/transactions: one customer's transactions, with
//     limit/offset paging (count, start, rows) and start_date/end_date.
//
// The data endpoints want the token in X-CAP-API-OAUTH-TOKEN, count
// requests per client key and minute, and are wrapped by the shared fault
// injector (sdk/connectortest/fault). The v1.1 quirks of the real API (numbers as strings,
// single-item lists as bare objects, token errors in the HTTP status line or
// only in the body, a "success" flag that disagrees with the status code) are
// produced on purpose; Quirks chooses each one's shape, and by default both
// shapes are mixed deterministically.
//
// Data is generated per record from (Seed, stream, index) and never stored,
// so large record counts cost little memory.
package capillarysim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
	"github.com/quiver-etl/quiver/sdk/connectortest/simhttp"
)

// Stream names, as used by Record, IDs, Count, Append, Update and Stats.
const (
	StreamCustomers    = "customers"    // GET /v2/customers/search
	StreamTransactions = "transactions" // GET /v1.1/customer/transactions
)

// Paths the simulator serves, relative to Server.URL.
const (
	TokenPath        = "/v3/oauth/token/generate"
	SearchPath       = "/v2/customers/search"
	TransactionsPath = "/v1.1/customer/transactions"
)

// TokenHeader is the request header that carries the access token.
const TokenHeader = "X-CAP-API-OAUTH-TOKEN"

// Defaults for Options. DefaultKey and DefaultSecret are the credentials
// `quiver demo` uses against a simulator started without any.
const (
	DefaultKey                     = "quiver-demo-key"
	DefaultSecret                  = "quiver-demo-secret"
	DefaultCustomers               = 200
	DefaultMaxTransactions         = 8
	DefaultTokenTTL                = time.Hour // Capillary's default cap on API client tokens
	DefaultRequestsPerMinute       = 100       // what Capillary's demo and test clusters allow per key
	DefaultSearchLimit             = 10        // v2 search when limit is absent
	MaxSearchLimit                 = 100       // larger v2 search limits get a 400
	DefaultTransactionsLimit       = 10        // v1.1 transactions when limit is absent; no upper bound
	NoRateLimit                    = -1        // Options.RequestsPerMinute value that turns the limit off
	FirstUserID              int64 = 10000001  // userId of customer index 0
	FirstTransactionID       int64 = 700000001 // id of transaction index 0
)

// Codes the simulator puts in bodies.
const (
	CodeBadCredentials = 320001 // token/generate with an unknown key or wrong secret
	CodeInvalidToken   = 401    // missing, unknown or revoked token
	CodeTokenExpired   = 498    // expired token: regenerate and retry
	CodeSearchBusy     = 461    // v2 "search engine busy, retry" (HTTP 461)
	CodeTxFetched      = 1052   // v1.1 item_status code for a transactions page
	CodeNotFound       = 1012   // v1.1 item_status code for an unknown customer
)

// Mode chooses which of a quirk's two shapes the simulator produces.
type Mode int

// The modes. The zero value mixes both shapes, deterministically: the same
// request against the same data always gets the same shape.
const (
	Mixed  Mode = iota // both shapes, deterministically mixed
	Plain              // only the well-behaved shape
	Quirky             // only the odd shape
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case Mixed:
		return "mixed"
	case Plain:
		return "plain"
	case Quirky:
		return "quirky"
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// pick reports whether the odd shape is used; under Mixed, bit 0 of h decides.
func (m Mode) pick(h uint64) bool {
	switch m {
	case Plain:
		return false
	case Quirky:
		return true
	}
	return h&1 == 1
}

// Quirks chooses the shape of each vendor quirk. The zero value mixes both
// shapes of every quirk and sends Retry-After on 429s.
type Quirks struct {
	// StringNumbers: v1.1 numbers (ids, amounts, counts, status codes) and
	// booleans as JSON strings ("51", "true") instead of numbers (Quirky),
	// or as JSON numbers and booleans (Plain). Mixed decides per envelope
	// field and page (so "count" may be a number while "rows" is a string)
	// and per transaction for all its fields. It also decides whether the
	// code in a 401/498 body is "498" or 498.
	StringNumbers Mode
	// BareObjects: a v1.1 list with exactly one item written as the bare
	// item ({"transaction":{...}}) instead of a one-item array. Mixed
	// decides per list. Empty lists are always [].
	BareObjects Mode
	// TokenErrorsInBody: a 401 or 498 token error answered with HTTP 200
	// and the code only in the body (Quirky), or with the HTTP status 401
	// or 498 and the same body (Plain). Mixed alternates with each token
	// error the server gives.
	TokenErrorsInBody Mode
	// BadCredentialsOK: token/generate with bad credentials answered with
	// HTTP 200 and a non-null errors list (Quirky) or HTTP 401 and the same
	// body (Plain). Mixed alternates with each refusal.
	BadCredentialsOK Mode
	// OmitTTLSeconds: token/generate answers without data.ttlSeconds
	// (Quirky), so that clients must read the JWT exp claim, or with it
	// (Plain). Mixed alternates with each token issued.
	OmitTTLSeconds Mode
	// OmitRetryAfter drops the Retry-After header from the simulator's own
	// per-key 429s (faults keep their own behaviour).
	OmitRetryAfter bool
}

// Options configure a Server. The zero value is a small, valid org.
type Options struct {
	// Seed makes the data, the mixed quirk shapes and the JWTs repeatable.
	Seed uint64
	// Customers is the number of customers; 0 means DefaultCustomers and
	// a negative value means none.
	Customers int
	// MaxTransactions is the most transactions a customer has; each has
	// 0..MaxTransactions (customers whose index ends in 3 have none, those
	// ending in 7 have exactly one). 0 means DefaultMaxTransactions and a
	// negative value means none.
	MaxTransactions int
	// Key and Secret are the valid API client credentials; empty means
	// DefaultKey and DefaultSecret.
	Key, Secret string
	// TokenTTL is the lifetime of issued tokens, rounded up to whole
	// seconds; 0 means DefaultTokenTTL.
	TokenTTL time.Duration
	// RequestsPerMinute is the per-key limit on data requests in each clock
	// minute; 0 means DefaultRequestsPerMinute and NoRateLimit (any
	// negative value) turns it off.
	RequestsPerMinute int
	// Location is the org time zone: v1.1 times ("2006-01-02 15:04:05")
	// are wall-clock times in it, and start_date/end_date are read in it.
	// nil means UTC.
	Location *time.Location
	// Quirks chooses the shapes of the vendor's quirks.
	Quirks Quirks
	// Variant chooses the shapes served where the research gives none: ""
	// for the default ones, VariantAlt for the other plausible ones.
	Variant string
	// SearchAll lists the q values that list every customer; nil means ""
	// and "*" (VariantAlt: "" only). Any other q is searched for as text,
	// except an empty q, which is refused with 400.
	SearchAll []string
	// Faults configure the random faults of Server.Faults, which wraps the
	// data endpoints (not the token endpoint).
	Faults fault.Options
	// Now is the clock for token expiry, the rate limit and appended
	// records; nil means time.Now.
	Now func() time.Time
	// Logger receives a Debug line per request; nil discards.
	Logger *slog.Logger
	// Days applies this many days of changes (ApplyDay) at start.
	Days int
}

// Stats counts what the server has seen. Requests and Pages are keyed by
// stream name.
type Stats struct {
	TokenRequests int            // calls to the token endpoint
	TokensIssued  int            // tokens handed out
	AuthFailures  int            // token requests refused (bad credentials or body)
	InvalidTokens int            // data requests refused with code 401
	ExpiredTokens int            // data requests refused with code 498, in either form
	RateLimited   int            // data requests refused with 429 by the per-key limit
	Busy          int            // search requests refused with 461 (BusyNext)
	Requests      map[string]int // data requests that got past the fault injector
	Pages         map[string]int // data pages served successfully
}

// Server is a running simulator. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:34567, without a slash.
	URL string
	// TokenURL is URL + TokenPath.
	TokenURL string
	// Faults wraps the data endpoints; script faults with FailNext.
	Faults *fault.Injector

	key, secret string
	now         func() time.Time
	log         *slog.Logger
	loc         *time.Location

	mu        sync.Mutex // guards the fields below
	quirks    Quirks
	all       []string // Options.SearchAll; read only
	ttl       time.Duration
	rpm       int
	tokens    map[string]*token
	tokenSeq  uint64 // sequence number of the next token
	expiredLT uint64 // tokens with seq < expiredLT are expired
	expiredAt time.Time
	revokedLT uint64 // tokens with seq < revokedLT are unknown
	windows   map[string]*window
	tokenErrs uint64 // token errors given so far (drives Mixed)
	badCreds  uint64 // credential refusals so far (drives Mixed)
	busy      int    // search requests still to refuse with 461
	reqID     uint64
	stats     Stats

	data *store

	http *simhttp.Server
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves the
// simulated API until Close.
func Start(addr string, opts Options) (*Server, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	s.http, err = simhttp.Listen(addr, s.routes(), s.log)
	if err != nil {
		return nil, fmt.Errorf("capillarysim: %w", err)
	}
	s.URL = s.http.URL
	s.TokenURL = s.URL + TokenPath
	return s, nil
}

// NewServer starts a Server on 127.0.0.1:0 and closes it when t's test ends.
func NewServer(t simhttp.TB, opts Options) *Server {
	t.Helper()
	return simhttp.StartForTest(t, "capillarysim.NewServer", func() (*Server, error) { return Start("127.0.0.1:0", opts) })
}

// Close stops the server and waits for requests in flight to finish, like
// httptest.Server.Close. It may be called more than once.
func (s *Server) Close() {
	s.http.Close()
}

func newServer(opts Options) (*Server, error) {
	switch {
	case opts.Customers == 0:
		opts.Customers = DefaultCustomers
	case opts.Customers < 0:
		opts.Customers = 0
	}
	switch {
	case opts.MaxTransactions == 0:
		opts.MaxTransactions = DefaultMaxTransactions
	case opts.MaxTransactions < 0:
		opts.MaxTransactions = 0
	}
	if opts.Customers > maxCustomers {
		return nil, fmt.Errorf("capillarysim: %d customers, at most %d fit the mobile numbers: %w",
			opts.Customers, maxCustomers, errBadOption)
	}
	switch opts.Variant {
	case "":
	case VariantAlt:
		if opts.SearchAll == nil {
			opts.SearchAll = []string{""}
		}
	default:
		return nil, fmt.Errorf("capillarysim: variant %q: want \"\" or %q: %w", opts.Variant, VariantAlt, errBadOption)
	}
	if opts.SearchAll == nil {
		opts.SearchAll = []string{"", "*"}
	}
	if opts.Key == "" {
		opts.Key = DefaultKey
	}
	if opts.Secret == "" {
		opts.Secret = DefaultSecret
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.RequestsPerMinute == 0 {
		opts.RequestsPerMinute = DefaultRequestsPerMinute
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		Faults:  fault.New(opts.Faults),
		key:     opts.Key,
		secret:  opts.Secret,
		now:     opts.Now,
		log:     opts.Logger,
		loc:     opts.Location,
		quirks:  opts.Quirks,
		ttl:     opts.TokenTTL,
		rpm:     opts.RequestsPerMinute,
		tokens:  map[string]*token{},
		windows: map[string]*window{},
		stats:   Stats{Requests: map[string]int{}, Pages: map[string]int{}},
		data:    newStore(opts.Seed, opts.Customers, opts.MaxTransactions, opts.Location),
		all:     opts.SearchAll,
	}
	s.data.alt = opts.Variant == VariantAlt
	for range opts.Days {
		s.ApplyDay()
	}
	return s, nil
}

var errBadOption = errors.New("invalid option")

// VariantAlt is the Options.Variant of the other plausible shapes, where
// the research (docs/vendors/capillary.md) gives none: the customer search lists everyone only for an
// empty q ("*" is searched for as text, and finds no one); envelopes leave
// out their totals (pagination.total, count); every customer
// and transaction carries keys no schema knows ("tier", "channel", ...);
// and a field changes its JSON type from page to page: in every other run
// of altBlock records, a customer's loyaltyInfo is a one-item array
// instead of an object, and a transaction's amount an object
// {"value","currency"} instead of a number.
const VariantAlt = "alt"

// altBlock is the run of records that share a field's type in VariantAlt.
const altBlock = 50

// routes builds the handler tree: request id, then per endpoint the fault
// injector, the token check and the rate limit.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(TokenPath, s.handleToken)
	mux.Handle("GET "+SearchPath, s.Faults.Wrap(s.guard(StreamCustomers, s.handleSearch)))
	mux.Handle("GET "+TransactionsPath, s.Faults.Wrap(s.guard(StreamTransactions, s.handleTransactions)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqID++
		id := s.reqID
		s.mu.Unlock()
		// Every Capillary response carries a request id for support tickets.
		w.Header().Set("X-Cap-Requestid", "capsim-"+strconv.FormatUint(id, 10))
		mux.ServeHTTP(w, r)
	})
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = make(map[string]int, len(s.stats.Requests))
	for k, v := range s.stats.Requests {
		st.Requests[k] = v
	}
	st.Pages = make(map[string]int, len(s.stats.Pages))
	for k, v := range s.stats.Pages {
		st.Pages[k] = v
	}
	return st
}

// SetQuirks replaces the quirk shapes for requests from now on.
func (s *Server) SetQuirks(q Quirks) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quirks = q
}

// SetTokenTTL sets the lifetime of tokens issued from now on (rounded up to
// whole seconds, at least one); tokens already issued keep theirs.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttl = d
}

// ExpireTokens makes every token issued so far expired: data requests with
// one get code 498 until the client generates a new token.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expiredLT = s.tokenSeq
	s.expiredAt = s.now()
}

// RevokeTokens forgets every token issued so far: data requests with one get
// code 401 (invalid token), as after the API client's secret is rotated.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokedLT = s.tokenSeq
}

// SetRequestsPerMinute sets the per-key limit on data requests per clock
// minute; n <= 0 turns the limit off.
func (s *Server) SetRequestsPerMinute(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rpm = n
}

// BusyNext makes the next n customer searches that pass the token check and
// the rate limit fail with HTTP 461 ("search engine busy; retry").
func (s *Server) BusyNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy += n
}
