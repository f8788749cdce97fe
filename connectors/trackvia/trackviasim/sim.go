// Package trackviasim is a loopback simulator of the TrackVia REST API
// (docs/vendors/trackvia.md), in the style of net/http/httptest, for
// tests, benchmarks and `quiver demo`.
//
// It serves, under /openapi:
//
//	GET /openapi/apps                               [{"id":"1","name":"CRM"},...]
//	GET /openapi/views[?name=<exact>]               [{"id":"101","name":"All Contacts","applicationName":"CRM"},...]
//	GET /openapi/views/{viewId}?start=0&max=1000    {"structure":[...],"data":[...],"totalCount":N}
//	GET /openapi/views/{viewId}/records/{recordId}  {"structure":[...],"data":{...}}
//	GET /openapi/users?start=0&max=1000             {"structure":[...],"data":[...],"totalCount":N} (Super Admin only)
//
// Every request needs the account API key as the user_key query parameter
// and an auth token, either as "Authorization: Bearer <token>" or as the
// access_token query parameter. There is no token exchange.
//
// Records are generated one at a time from (Options.Seed, view, field, index),
// so a view can hold millions of records without memory; only mutations
// (Append, Update, Delete, structure changes) are stored.
//
// # Getting started
//
//	srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 1})
//	url := srv.URL + "/openapi/views/101?start=0&max=100&user_key=" +
//		trackviasim.DefaultUserKey + "&access_token=" + trackviasim.DefaultAccessToken
package trackviasim

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

// Default credentials, accepted unless Options say otherwise. They are
// simulator values, not secrets.
const (
	DefaultUserKey     = "trackviasim-user-key-0123456789abcdef"
	DefaultAccessToken = "trackviasim-auth-token-fedcba9876543210"
)

// Paging limits of GET /openapi/views/{viewId} and /openapi/users
// (docs/vendors/trackvia.md#paging).
const (
	// DefaultPageSize is the page size when max is absent.
	DefaultPageSize = 1000
	// MaxPageSize is the largest max accepted; more is a 400.
	MaxPageSize = 100000
)

// Options configure a Server. The zero value is a working simulator with
// the default catalog, counts and credentials.
type Options struct {
	// Seed makes the generated data repeatable; the same Seed gives the
	// same bytes.
	Seed uint64
	// Records overrides the record count of a view (key: view ID, or
	// UsersViewID for users). Views without an entry get their Default* count.
	Records map[int64]int

	// UserKey is the account API key; default DefaultUserKey.
	UserKey string
	// AccessToken is a Super Admin auth token; default DefaultAccessToken.
	AccessToken string
	// AccessTokenExpires is when AccessToken stops working (TrackVia tokens
	// expire at midnight UTC on a chosen date); zero means never.
	AccessTokenExpires time.Time
	// Tokens are further auth tokens the server accepts.
	Tokens []Token
	// ExpiredTokens are tokens that exist but have expired: 401
	// invalid_token "Access token expired: ...".
	ExpiredTokens []string
	// DeactivatedTokens are tokens a Super Admin turned off: 401
	// invalid_token "Invalid access token: ...".
	DeactivatedTokens []string

	// Shapes chooses between the two JSON shapes of ambiguous values; the
	// zero value mixes them.
	Shapes Shapes
	// Variant chooses the shapes served where the research gives none: ""
	// for the default ones, VariantAlt for the other plausible ones.
	Variant string
	// LongTextEvery makes every n-th record's paragraph fields longer than
	// 12 KB; default 40, negative means never.
	LongTextEvery int
	// MaxPageSize is the largest max accepted; default MaxPageSize.
	MaxPageSize int

	// Faults configures random faults on the record endpoints
	// (views/{id}, views/{id}/records/{id}, users); Server.Faults scripts more.
	Faults fault.Options
	// Now is the server's clock (token expiry, Update); default time.Now.
	Now func() time.Time
	// Logger receives a Debug line per request; default discards.
	Logger *slog.Logger
	// Days applies this many days of changes (ApplyDay) at start.
	Days int
}

// Stats counts what the server saw. Stats are cumulative since Start.
type Stats struct {
	// Requests counts every request to a known endpoint, including rejected
	// ones but not those a fault answered before the handler.
	Requests int
	// AppLists and ViewLists count GET /openapi/apps and /openapi/views.
	AppLists, ViewLists int
	// Pages counts record pages served per view ID (UsersViewID: users).
	Pages map[int64]int
	// RecordGets counts single-record requests.
	RecordGets int
	// Records counts data rows served in pages.
	Records int
	// BearerAuth and QueryAuth count accepted requests by how the token came.
	BearerAuth, QueryAuth int
	// AuthFailures counts every 401 and 403; the fields after it split them.
	AuthFailures int
	// MissingUserKey (401) and BadUserKey (403) are gateway rejections.
	MissingUserKey, BadUserKey int
	// MissingToken, InvalidToken (unknown or deactivated), ExpiredToken and
	// NotSuperAdmin (users endpoint) are 401s.
	MissingToken, InvalidToken, ExpiredToken, NotSuperAdmin int
	// Faults is how many faults the injector produced.
	Faults int
}

// A Server is a running TrackVia simulator. Its methods are safe for
// concurrent use, also while requests are served.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234; the API is under
	// URL + "/openapi".
	URL string
	// Faults injects failures into the record endpoints.
	Faults *fault.Injector

	opts Options
	log  *slog.Logger
	srv  *simhttp.Server // nil until Start listens

	mu       sync.RWMutex // guards everything below
	apps     []App
	order    []int64 // view IDs in listing order
	views    map[int64]*viewState
	users    int // initial user count: the range of user field values
	nextMeta int64
	tokens   map[string]*tokenState
	days     int // days of changes applied (ApplyDay)

	statsMu sync.Mutex
	stats   Stats

	pool sync.Pool // *[]byte page buffers
}

// VariantAlt is the Options.Variant of the other plausible shapes, where
// the research (docs/vendors/trackvia.md) gives none: user, group,
// relationship, document and image fields hold display text (a user's
// name, a team, a related company's name, a file name) instead of ids;
// every record carries keys its structure does not list ("Record Owner",
// "Sync Token"); and currency fields change their JSON type from page to
// page: in every other run of altBlock records they are formatted text
// ("$1,234.56") instead of numbers.
const VariantAlt = "alt"

// altBlock is the run of records that share a field's type in VariantAlt.
const altBlock = 50

// Start listens on addr ("127.0.0.1:0" picks a port) and serves the
// simulator until Close.
func Start(addr string, opts Options) (*Server, error) {
	if opts.Variant != "" && opts.Variant != VariantAlt {
		return nil, fmt.Errorf("trackviasim: variant %q: want \"\" or %q", opts.Variant, VariantAlt)
	}
	s := newServer(opts)
	srv, err := simhttp.Listen(addr, s.handler(), s.log)
	if err != nil {
		return nil, fmt.Errorf("trackviasim: %w", err)
	}
	s.srv = srv
	s.URL = srv.URL
	return s, nil
}

// NewServer starts a Server on 127.0.0.1:0 and closes it when t ends.
func NewServer(t simhttp.TB, opts Options) *Server {
	t.Helper()
	return simhttp.StartForTest(t, "trackviasim.NewServer", func() (*Server, error) { return Start("127.0.0.1:0", opts) })
}

// Close stops the server, closes its connections and waits for it to exit.
// It may be called more than once.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.CloseNow()
	}
}

func newServer(opts Options) *Server {
	if opts.UserKey == "" {
		opts.UserKey = DefaultUserKey
	}
	if opts.AccessToken == "" {
		opts.AccessToken = DefaultAccessToken
	}
	if opts.LongTextEvery == 0 {
		opts.LongTextEvery = 40
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = MaxPageSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		Faults:   fault.New(opts.Faults),
		opts:     opts,
		log:      opts.Logger,
		views:    map[int64]*viewState{},
		nextMeta: 1001,
		tokens:   map[string]*tokenState{},
	}
	s.stats.Pages = map[int64]int{}
	apps, defs := catalog()
	s.apps = apps
	for _, d := range defs {
		n := d.count
		if c, ok := opts.Records[d.view.ID]; ok {
			n = max(c, 0)
		}
		v := &viewState{
			view: d.view, idBase: d.idBase, isUsers: d.isUsers,
			initial: n, count: n,
			overrides: map[int]map[int64][]byte{},
			touched:   map[int]time.Time{},
		}
		fields := make([]vfield, len(d.fields))
		for i, fd := range d.fields {
			fd.FieldMetaID = s.nextMeta
			s.nextMeta++
			fields[i] = vfield{field: fd}
		}
		v.setFields(fields)
		s.views[d.view.ID] = v
		if !d.isUsers {
			s.order = append(s.order, d.view.ID)
		}
	}
	s.users = s.views[UsersViewID].initial
	s.addToken(Token{Value: opts.AccessToken, Expires: opts.AccessTokenExpires})
	for _, t := range opts.Tokens {
		s.addToken(t)
	}
	for _, t := range opts.ExpiredTokens {
		s.tokenFor(t).expired = true
	}
	for _, t := range opts.DeactivatedTokens {
		s.tokenFor(t).deactivated = true
	}
	for range opts.Days {
		s.ApplyDay()
	}
	return s
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.statsMu.Lock()
	st := s.stats
	st.Pages = make(map[int64]int, len(s.stats.Pages))
	for k, v := range s.stats.Pages {
		st.Pages[k] = v
	}
	s.statsMu.Unlock()
	st.Faults = s.Faults.Total()
	return st
}

func (s *Server) count(fn func(*Stats)) {
	s.statsMu.Lock()
	fn(&s.stats)
	s.statsMu.Unlock()
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /openapi/apps", s.authed(s.handleApps))
	mux.Handle("GET /openapi/views", s.authed(s.handleViews))
	mux.Handle("GET /openapi/views/{viewId}", s.Faults.Wrap(s.authed(s.handlePage)))
	mux.Handle("GET /openapi/views/{viewId}/records/{recordId}", s.Faults.Wrap(s.authed(s.handleRecord)))
	mux.Handle("GET /openapi/users", s.Faults.Wrap(s.authed(s.handleUsers)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAppError(w, http.StatusNotFound, "NotFound", "No handler for "+r.Method+" "+r.URL.Path)
	})
	return mux
}

func (s *Server) handleApps(w http.ResponseWriter, r *http.Request, _ *tokenState) {
	s.count(func(st *Stats) { st.AppLists++ })
	s.mu.RLock()
	b := []byte{'['}
	for _, a := range s.apps {
		b = s.appendListEntry(b, a.ID, a.Name, nil)
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, append(b, ']'))
}

func (s *Server) handleViews(w http.ResponseWriter, r *http.Request, _ *tokenState) {
	s.count(func(st *Stats) { st.ViewLists++ })
	name, byName := r.URL.Query()["name"]
	s.mu.RLock()
	b := []byte{'['}
	for _, id := range s.order {
		v := s.views[id].view
		if !byName || v.Name == name[0] {
			b = s.appendListEntry(b, v.ID, v.Name, &v.AppName)
		}
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, append(b, ']'))
}

// appendListEntry appends {"id","name"[,"applicationName"]} to the JSON
// array b; ids are text unless Options.Shapes is ShapesAlternate.
func (s *Server) appendListEntry(b []byte, id int64, name string, appName *string) []byte {
	if b[len(b)-1] != '[' {
		b = append(b, ',')
	}
	b = append(b, `{"id":`...)
	b = appendID(b, id, s.opts.Shapes != ShapesAlternate)
	b = append(b, `,"name":`...)
	b = appendString(b, name)
	if appName != nil {
		b = append(b, `,"applicationName":`...)
		b = appendString(b, *appName)
	}
	return append(b, '}')
}

func (s *Server) handlePage(w http.ResponseWriter, r *http.Request, _ *tokenState) {
	id, err := strconv.ParseInt(r.PathValue("viewId"), 10, 64)
	if err != nil || id == UsersViewID {
		writeAppError(w, http.StatusNotFound, "NotFound", "View not found: "+r.PathValue("viewId"))
		return
	}
	s.servePage(w, r, id)
}

func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request, tok *tokenState) {
	if !tok.superAdmin {
		s.count(func(st *Stats) { st.AuthFailures++; st.NotSuperAdmin++ })
		writeOAuthError(w, http.StatusUnauthorized, "access_denied", "Access is denied")
		return
	}
	s.servePage(w, r, UsersViewID)
}

// servePage answers one page of view id: structure, data, totalCount.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request, id int64) {
	start, size, err := parsePage(r, s.opts.MaxPageSize)
	if err != nil {
		writeAppError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	bp, _ := s.pool.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	defer s.pool.Put(bp)
	s.mu.RLock()
	v := s.views[id]
	if v == nil {
		s.mu.RUnlock()
		writeAppError(w, http.StatusNotFound, "NotFound", "View not found: "+strconv.FormatInt(id, 10))
		return
	}
	var n int
	*bp, n = s.appendPage((*bp)[:0], v, start, size)
	s.mu.RUnlock()
	s.count(func(st *Stats) { st.Pages[id]++; st.Records += n })
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "trackviasim: page",
		slog.Int64("view", id), slog.Int("start", start), slog.Int("max", size), slog.Int("rows", n))
	writeJSON(w, http.StatusOK, *bp)
}

// appendPage appends the envelope of rows [start, start+size) of v and
// returns how many rows it holds. The caller holds s.mu for reading.
func (s *Server) appendPage(b []byte, v *viewState, start, size int) ([]byte, int) {
	b = append(b, `{"structure":`...)
	b = append(b, v.structure...)
	b = append(b, `,"data":[`...)
	n := 0
	total := v.live()
	if start < total {
		idx, del := v.seek(start)
		for ; n < size && idx < v.count; idx++ {
			if del < len(v.deleted) && v.deleted[del] == idx {
				del++
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			b = s.appendRecord(b, v, idx)
			n++
		}
	}
	b = append(b, `],"totalCount":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	return append(b, '}'), n
}

func (s *Server) handleRecord(w http.ResponseWriter, r *http.Request, _ *tokenState) {
	s.count(func(st *Stats) { st.RecordGets++ })
	vid, err1 := strconv.ParseInt(r.PathValue("viewId"), 10, 64)
	rid, err2 := strconv.ParseInt(r.PathValue("recordId"), 10, 64)
	if err1 != nil || err2 != nil || vid == UsersViewID {
		writeAppError(w, http.StatusNotFound, "NotFound", "Record not found")
		return
	}
	s.mu.RLock()
	v := s.views[vid]
	var b []byte
	if v != nil {
		if idx, ok := v.indexOf(rid); ok {
			b = append(b, `{"structure":`...)
			b = append(b, v.structure...)
			b = append(b, `,"data":`...)
			b = s.appendRecord(b, v, idx)
			b = append(b, '}')
		}
	}
	s.mu.RUnlock()
	if b == nil {
		writeAppError(w, http.StatusNotFound, "NotFound", "Record not found")
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// parsePage reads start (default 0) and max (default DefaultPageSize).
func parsePage(r *http.Request, maxCap int) (start, size int, err error) {
	q := r.URL.Query()
	start, size = 0, DefaultPageSize
	if v := q.Get("start"); v != "" {
		start, err = strconv.Atoi(v)
		if err != nil || start < 0 {
			return 0, 0, errors.New("start must be a non-negative integer")
		}
	}
	if v := q.Get("max"); v != "" {
		size, err = strconv.Atoi(v)
		if err != nil || size < 0 || size > maxCap {
			return 0, 0, fmt.Errorf("max must be between 0 and %d", maxCap)
		}
	}
	return start, size, nil
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// writeOAuthError writes docs/vendors/trackvia.md#errors type A: Spring
// Security OAuth's {"error","error_description"}, with the matching
// WWW-Authenticate header.
func writeOAuthError(w http.ResponseWriter, code int, name, desc string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="oauth", error="`+name+`", error_description="`+desc+`"`)
	b := append([]byte(`{"error":`), appendString(nil, name)...)
	b = append(b, `,"error_description":`...)
	b = appendString(b, desc)
	writeJSON(w, code, append(b, '}'))
}

// writeAppError writes docs/vendors/trackvia.md#errors type B:
// {"errors":[...],"message","name","code","stackTrace"}.
func writeAppError(w http.ResponseWriter, code int, name, msg string) {
	b := append([]byte(`{"errors":[`), appendString(nil, msg)...)
	b = append(b, `],"message":`...)
	b = appendString(b, msg)
	b = append(b, `,"name":`...)
	b = appendString(b, name)
	b = append(b, `,"code":"`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `","stackTrace":""}`...)
	writeJSON(w, code, b)
}

// writeGatewayError writes what the API gateway (3scale, which fronts
// /openapi) answers for a missing or wrong user_key: plain text.
func writeGatewayError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=us-ascii")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg))
}
