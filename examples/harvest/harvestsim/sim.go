// Package harvestsim is a loopback fake of the Harvest v2 REST API (time
// tracking), in the manner of net/http/httptest: NewServer starts it for a
// test, Start for a program.
//
// It serves GET /v2/clients, /v2/projects, /v2/tasks, /v2/time_entries and
// /v2/users, and /v2/users/me, as docs/vendors/harvest.md describes the
// real API: a personal access token in "Authorization: Bearer" plus the
// "Harvest-Account-Id" header (401 invalid_token without either), a JSON
// envelope with the records under the stream's plural key and paging
// fields beside them, links.next URLs to follow, an updated_since filter
// (inclusive), from/to on time entries' spent_date, per_page up to a
// maximum (422 above it), and, when asked, the 100-requests-per-15-seconds
// limit answered with 429 and Retry-After.
//
// Lists are in Harvest's order, newest first (time entries by spent_date,
// the others by creation), not by updated_at. Records are generated from
// Options.Seed, so the same seed gives the same bytes; ApplyDay edits and
// adds records as a day of work would.
//
// The two documented paging shapes are both served: page numbers (page,
// next_page, and links with page=N) by default, and with VariantAlt
// cursors (links with cursor=...&ref=next_cursor, and page, next_page and
// previous_page null on the pages between the first and the last).
//
// # Getting started
//
//	srv := harvestsim.NewServer(t, harvestsim.Options{Seed: 1})
//	// GET srv.URL + "/v2/time_entries" with
//	//   Authorization: Bearer harvestsim.Token
//	//   Harvest-Account-Id: harvestsim.AccountID
//	want, err := srv.Records("time_entries") // every record, as decoded JSON
package harvestsim

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
	"github.com/quiver-etl/quiver/sdk/connectortest/simhttp"
)

// The credentials a server accepts unless Options say otherwise. They are
// demo values for a loopback fake, not secrets.
const (
	Token     = "demo-personal-access-token"
	AccountID = "1121001"
)

// VariantAlt is the Options.Variant that pages with cursors, the newer of
// Harvest's two documented paging shapes, and caps per_page at 100, the
// older documented maximum.
const VariantAlt = "alt"

// The per_page maxima of the two documented shapes
// (docs/vendors/harvest.md#paging).
const (
	MaxPerPage    = 2000
	MaxPerPageAlt = 100
)

// RateWindow is the window of Options.RateLimit: Harvest allows 100
// requests per 15 seconds.
const RateWindow = 15 * time.Second

// Options configure a Server. The zero value is a valid configuration.
type Options struct {
	// Seed selects the generated data; the same seed gives the same bytes.
	Seed uint64
	// Counts are the records per stream at start, keyed by stream name.
	// Missing streams get their default: clients 20, projects 60, tasks 25,
	// time_entries 3000, users 30.
	Counts map[string]int
	// Token and AccountID are the accepted credentials; empty fields
	// default to the package constants.
	Token, AccountID string
	// Faults configure random faults on the list endpoints; Server.Faults
	// scripts more.
	Faults fault.Options
	// RateLimit, if positive, answers 429 with Retry-After to requests
	// beyond this many in RateWindow; Harvest's is 100.
	RateLimit int
	// Now is the clock of the rate limit; default time.Now.
	Now func() time.Time
	// Logger receives a Debug line per request; default discards. The
	// token is never logged.
	Logger *slog.Logger
	// Days applies this many days of changes (ApplyDay) at start.
	Days int
	// Variant chooses the paging shape: "" for page numbers, VariantAlt
	// for cursors.
	Variant string
}

// Stats count what the server has seen. Faults injected before a request
// reaches the simulator are not counted here; see Server.Faults.Counts.
type Stats struct {
	Requests     map[string]int // list requests per stream
	Unauthorized int            // requests refused with 401
	RateLimited  int            // requests refused with 429
}

// A Server is a running simulator. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:PORT, with no trailing
	// slash; the API is under URL + "/v2".
	URL string
	// Faults injects faults into the list endpoints.
	Faults *fault.Injector

	opts Options
	srv  *simhttp.Server

	mu      sync.Mutex // guards everything below
	d       *data
	stats   Stats
	revoked bool
	recent  []time.Time // request times within RateWindow
}

// Start starts a server listening on addr ("127.0.0.1:0" picks a port).
// Close stops it.
func Start(addr string, opts Options) (*Server, error) {
	if opts.Token == "" {
		opts.Token = Token
	}
	if opts.AccountID == "" {
		opts.AccountID = AccountID
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Variant != "" && opts.Variant != VariantAlt {
		return nil, fmt.Errorf("harvestsim: unknown variant %q", opts.Variant)
	}
	d, err := newData(opts.Seed, opts.Counts)
	if err != nil {
		return nil, err
	}
	for range opts.Days {
		d.applyDay()
	}
	s := &Server{opts: opts, Faults: fault.New(opts.Faults), d: d, stats: Stats{Requests: map[string]int{}}}
	mux := http.NewServeMux()
	mux.Handle("GET /v2/users/me", s.authed(http.HandlerFunc(s.me)))
	mux.Handle("GET /v2/{stream}", s.authed(s.Faults.Wrap(http.HandlerFunc(s.list))))
	s.srv, err = simhttp.Listen(addr, mux, opts.Logger)
	if err != nil {
		return nil, fmt.Errorf("harvestsim: %w", err)
	}
	s.URL = s.srv.URL
	return s, nil
}

// NewServer starts a server on 127.0.0.1 for a test and closes it when the
// test ends. It fails the test if the server cannot start.
func NewServer(t simhttp.TB, opts Options) *Server {
	t.Helper()
	return simhttp.StartForTest(t, "harvestsim.NewServer", func() (*Server, error) { return Start("127.0.0.1:0", opts) })
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = maps.Clone(s.stats.Requests)
	return st
}

// RevokeToken makes every later request fail with 401, as a personal
// access token revoked in Harvest ID does.
func (s *Server) RevokeToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = true
}

// ApplyDay applies one more day of changes and returns what it did. The
// changes depend only on Options.Seed and how many days were applied
// before.
func (s *Server) ApplyDay() DayChanges {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d.applyDay()
}

// Records returns every record of stream as encoding/json decodes it, in
// ascending id order. An unknown stream is an error.
func (s *Server) Records(stream string) ([]map[string]any, error) {
	if !slices.Contains(Streams(), stream) {
		return nil, fmt.Errorf("harvestsim: no stream %q", stream)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, 0, len(s.d.recs[stream]))
	for _, rec := range s.d.recs[stream] {
		out = append(out, s.decoded(stream, rec))
	}
	return out, nil
}

// decoded returns rec as encoding/json decodes it. s.mu is held.
func (s *Server) decoded(stream string, rec record) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(s.d.encoded(stream, rec), &m); err != nil {
		panic(err) // encoded JSON decodes
	}
	return m
}

// authed checks the User-Agent, the token, the account and the rate limit
// before h.
func (s *Server) authed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.opts.Logger.Debug("harvestsim: request", "method", r.Method, "path", r.URL.Path)
		if r.UserAgent() == "" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "A User-Agent header naming your application is required"})
			return
		}
		s.mu.Lock()
		ok := !s.revoked && r.Header.Get("Authorization") == "Bearer "+s.opts.Token && r.Header.Get("Harvest-Account-Id") == s.opts.AccountID
		var wait time.Duration
		if ok && s.opts.RateLimit > 0 {
			wait = s.limit()
		}
		switch {
		case !ok:
			s.stats.Unauthorized++
		case wait > 0:
			s.stats.RateLimited++
		}
		s.mu.Unlock()
		switch {
		case !ok:
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_token",
				"error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons."})
		case wait > 0:
			w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "Too many requests, please slow down"})
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// limit counts a request against the rate limit and returns how long the
// caller must wait, or 0 if it may go on. s.mu is held.
func (s *Server) limit() time.Duration {
	now := s.opts.Now()
	i := 0
	for i < len(s.recent) && now.Sub(s.recent[i]) >= RateWindow {
		i++
	}
	s.recent = s.recent[i:]
	if len(s.recent) >= s.opts.RateLimit {
		return RateWindow - now.Sub(s.recent[0])
	}
	s.recent = append(s.recent, now)
	return 0
}

// me answers /v2/users/me with the first user.
func (s *Server) me(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	var me any = map[string]any{"id": 1, "first_name": "API", "last_name": "User"}
	if users := s.d.recs[StreamUsers]; len(users) > 0 {
		me = s.decoded(StreamUsers, users[0])
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, me)
}

// list answers a list endpoint: filter, order, page.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	stream := r.PathValue("stream")
	if !slices.Contains(Streams(), stream) {
		writeJSON(w, http.StatusNotFound, map[string]any{"status": 404, "error": "Not Found"})
		return
	}
	q := r.URL.Query()
	f, err := parseFilter(stream, q)
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": err.Error()})
		return
	}
	maxPer := MaxPerPage
	if s.opts.Variant == VariantAlt {
		maxPer = MaxPerPageAlt
	}
	per := maxPer
	if v := q.Get("per_page"); v != "" {
		per, err = strconv.Atoi(v)
		if err != nil || per < 1 || per > maxPer {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": fmt.Sprintf("per_page must be between 1 and %d", maxPer)})
			return
		}
	}

	s.mu.Lock()
	s.stats.Requests[stream]++
	var list []record
	for _, rec := range s.d.recs[stream] {
		if f.match(rec) {
			list = append(list, rec)
		}
	}
	order(stream, list)
	start, page, err := s.position(q, list, per)
	var body []byte
	if err == nil {
		body, err = json.Marshal(s.envelope(r, stream, list, start, page, per))
	}
	s.mu.Unlock()
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(body)
}

// filter is a list request's filters.
type filter struct {
	since    string // updated_since, normalised to stamp's format; "" for none
	from, to string // spent_date bounds of time entries, YYYY-MM-DD
	active   string // is_active: "true", "false" or ""
}

func parseFilter(stream string, q url.Values) (filter, error) {
	var f filter
	if v := q.Get("updated_since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return f, fmt.Errorf("updated_since %q is not an ISO 8601 date and time", v)
		}
		f.since = stamp(t)
	}
	for _, p := range []struct {
		name string
		v    *string
	}{{"from", &f.from}, {"to", &f.to}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		if stream != StreamTimeEntries {
			continue // other lists ignore it, as unknown parameters are
		}
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return f, fmt.Errorf("%s %q is not a date like 2024-01-31", p.name, v)
		}
		*p.v = v
	}
	switch v := q.Get("is_active"); v {
	case "", "true", "false":
		if stream != StreamTimeEntries {
			f.active = v
		}
	default:
		return f, fmt.Errorf("is_active %q: want true or false", v)
	}
	return f, nil
}

// match reports whether rec passes the filter. Harvest's updated_since
// is taken as inclusive: a record updated at that very second is listed.
func (f filter) match(rec record) bool {
	switch {
	case f.since != "" && rec["updated_at"].(string) < f.since:
		return false
	case f.from != "" && rec["spent_date"].(string) < f.from:
		return false
	case f.to != "" && rec["spent_date"].(string) > f.to:
		return false
	case f.active != "" && strconv.FormatBool(rec["is_active"].(bool)) != f.active:
		return false
	}
	return true
}

// order sorts a list as Harvest does, newest first: time entries by
// spent_date, the others by creation; ties by id, descending.
func order(stream string, list []record) {
	key := "created_at"
	if stream == StreamTimeEntries {
		key = "spent_date"
	}
	slices.SortStableFunc(list, func(a, b record) int {
		if c := strings.Compare(b[key].(string), a[key].(string)); c != 0 {
			return c
		}
		return cmp.Compare(b["id"].(int64), a["id"].(int64))
	})
}

// cursor is what a cursor in a next link holds: the id of the last record
// of the page before, as Harvest's {"after":{"id":N}} does.
type cursor struct {
	After struct {
		ID int64 `json:"id"`
	} `json:"after"`
}

// position returns the index of the page's first record in list and the
// page number (0 when a cursor gives the position).
func (s *Server) position(q url.Values, list []record, per int) (start, page int, err error) {
	if c := q.Get("cursor"); c != "" { // cursor wins over page, as Harvest says
		raw, err := base64.RawURLEncoding.DecodeString(c)
		var cur cursor
		if err == nil {
			err = json.Unmarshal(raw, &cur)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("cursor %q is invalid", c)
		}
		i := slices.IndexFunc(list, func(rec record) bool { return rec["id"].(int64) == cur.After.ID })
		if i < 0 {
			return 0, 0, fmt.Errorf("cursor %q is invalid", c)
		}
		return i + 1, 0, nil
	}
	page = 1
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return 0, 0, fmt.Errorf("page %q: want 1 or more", v)
		}
	}
	return (page - 1) * per, page, nil
}

// envelope builds a page: the records under the stream's key, the paging
// fields and the links.
func (s *Server) envelope(r *http.Request, stream string, list []record, start, page, per int) map[string]any {
	end := min(start+per, len(list))
	start = min(start, end)
	pages := (len(list) + per - 1) / per
	last := max(pages, 1)
	link := func(set map[string]string) string {
		q := r.URL.Query()
		for _, k := range []string{"page", "cursor", "ref"} {
			q.Del(k)
		}
		q.Set("per_page", strconv.Itoa(per))
		for k, v := range set {
			q.Set(k, v)
		}
		return s.URL + r.URL.Path + "?" + q.Encode()
	}
	num := func(n int) any {
		if n < 1 || n > last {
			return nil
		}
		return n
	}
	recs := make([]json.RawMessage, 0, end-start)
	for _, rec := range list[start:end] {
		recs = append(recs, s.d.encoded(stream, rec))
	}
	env := map[string]any{
		stream: recs, "per_page": per, "total_pages": pages, "total_entries": len(list),
		"page": num(page), "next_page": nil, "previous_page": nil,
	}
	links := map[string]any{"first": link(map[string]string{"page": "1"}), "last": link(map[string]string{"page": strconv.Itoa(last)}), "next": nil, "previous": nil}
	more := end < len(list)
	if s.opts.Variant != VariantAlt {
		if page == 0 { // a cursor sent to a page-numbered server: say where it is
			page = start/per + 1
			env["page"] = num(page)
		}
		if more {
			env["next_page"], links["next"] = page+1, link(map[string]string{"page": strconv.Itoa(page + 1)})
		}
		if page > 1 {
			env["previous_page"], links["previous"] = page-1, link(map[string]string{"page": strconv.Itoa(page - 1)})
		}
	} else {
		// Cursor paging: page numbers only on the first and last pages.
		first := start == 0
		switch {
		case first:
			env["page"] = 1
			if more {
				env["next_page"] = 2
			}
		case !more:
			env["page"], env["previous_page"] = last, num(last-1)
		default:
			env["page"] = nil
		}
		if more {
			var c cursor
			c.After.ID = list[end-1]["id"].(int64)
			b, _ := json.Marshal(c)
			links["next"] = link(map[string]string{"cursor": base64.RawURLEncoding.EncodeToString(b), "ref": "next_cursor"})
		}
		if !first {
			links["previous"] = link(map[string]string{"page": strconv.Itoa(max(1, start/per)), "ref": "previous"})
		}
	}
	env["links"] = links
	return env
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
