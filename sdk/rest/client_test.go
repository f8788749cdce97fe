package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"golang.org/x/time/rate"

	"github.com/quiver-etl/quiver/sdk/auth"
	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newClock returns a test clock at this file's start time.
func newClock() *connectortest.Clock {
	return connectortest.NewClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
}

// seen is what the scripted server recorded of one request.
type seen struct {
	Authorization string
	Path, Query   string
}

// script is a test server that answers the n-th request with steps[n] (the
// last step repeats).
type script struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []seen
	steps []http.HandlerFunc
}

func newScript(t *testing.T, steps ...http.HandlerFunc) *script {
	t.Helper()
	s := &script{steps: steps}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, seen{Authorization: r.Header.Get("Authorization"), Path: r.URL.Path, Query: r.URL.RawQuery})
		step := s.steps[min(len(s.reqs), len(s.steps))-1]
		s.mu.Unlock()
		step(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *script) Requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

func status(code int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

func ok(body string) http.HandlerFunc { return status(200, body) }

// hijack answers with raw bytes (possibly none) and closes the connection.
func hijack(raw string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		buf.WriteString(raw)
		buf.Flush()
		conn.Close()
	}
}

// recorder collects OnRetry reasons.
type recorder struct {
	mu      sync.Mutex
	reasons []string
}

func (r *recorder) OnRetry(_ context.Context, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reasons = append(r.reasons, reason)
}

func (r *recorder) Reasons() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reasons...)
}

// harness is a client under test with its fakes.
type harness struct {
	srv    *script
	client *Client
	timer  *connectortest.Timer
	clock  *connectortest.Clock
	rec    *recorder
	logs   *bytes.Buffer
}

// newHarness builds a client for srv; edit may change the options first.
func newHarness(t *testing.T, srv *script, edit func(*Options)) *harness {
	t.Helper()
	h := &harness{srv: srv, timer: connectortest.NewTimer(nil), clock: newClock(), rec: &recorder{}, logs: &bytes.Buffer{}}
	opts := Options{
		BaseURL: srv.URL + "/api/v1",
		Name:    "acme",
		Policy: Policy{
			InitialInterval: time.Millisecond,
			MaxInterval:     time.Millisecond,
			Timer:           h.timer,
			Now:             h.clock.Now,
		},
		Logger:  slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnRetry: h.rec.OnRetry,
	}
	if edit != nil {
		edit(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	h.client = c
	return h
}

// get fetches /things into v.
func (h *harness) get(ctx context.Context, v any) error {
	return h.client.Do(ctx, Request{Path: "/things", Label: "stream things page 1"}, DecodeJSON(v))
}

type things struct {
	Data []int `json:"data"`
}

func TestRetryTransient(t *testing.T) {
	t.Parallel()
	const good = `{"data":[1,2]}`
	tests := []struct {
		name        string
		steps       []http.HandlerFunc
		wantReasons []string
	}{
		{"5xx three times", []http.HandlerFunc{status(503, ""), status(500, "oops"), status(502, ""), ok(good)}, []string{"5xx", "5xx", "5xx"}},
		{"408", []http.HandlerFunc{status(408, ""), ok(good)}, []string{"network"}},
		{"connection reset", []http.HandlerFunc{hijack(""), ok(good)}, []string{"network"}},
		{"truncated body", []http.HandlerFunc{hijack("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"data\":[1,"), ok(good)}, []string{"truncated"}},
		{"malformed once", []http.HandlerFunc{ok(`{"data":[1,`), ok(good)}, []string{"malformed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, newScript(t, tt.steps...), nil)
			var got things
			if err := h.get(context.Background(), &got); err != nil {
				t.Fatalf("Do() = %v", err)
			}
			if diff := cmp.Diff(things{Data: []int{1, 2}}, got); diff != "" {
				t.Errorf("decoded mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantReasons, h.rec.Reasons()); diff != "" {
				t.Errorf("retry reasons mismatch (-want +got):\n%s", diff)
			}
			if n := len(h.srv.Requests()); n != len(tt.steps) {
				t.Errorf("%d requests, want %d", n, len(tt.steps))
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := newClock().Now()
	tests := []struct {
		name     string
		first    http.HandlerFunc
		wantWait time.Duration
		reason   string
	}{
		{"429 seconds", status(429, "", "Retry-After", "7"), 7 * time.Second, "429"},
		{"429 seconds below the floor", status(429, "", "Retry-After", "1"), time.Second, "429"},
		{"429 HTTP-date", status(429, "", "Retry-After", now.Add(30*time.Second).Format(http.TimeFormat)), 30 * time.Second, "429"},
		{"429 date in the past", status(429, "", "Retry-After", now.Add(-time.Hour).Format(http.TimeFormat)), DefaultRateLimitFloor, "429"},
		{"429 without Retry-After uses the floor", status(429, ""), DefaultRateLimitFloor, "429"},
		{"429 invalid Retry-After uses the floor", status(429, "", "Retry-After", "soon"), DefaultRateLimitFloor, "429"},
		{"503 seconds", status(503, "", "Retry-After", "12"), 12 * time.Second, "5xx"},
		{"503 at the cap", status(503, "", "Retry-After", "120"), 120 * time.Second, "5xx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, newScript(t, tt.first, ok(`{}`)), nil)
			if err := h.get(context.Background(), &things{}); err != nil {
				t.Fatalf("Do() = %v", err)
			}
			if diff := cmp.Diff([]time.Duration{tt.wantWait}, h.timer.Waits()); diff != "" {
				t.Errorf("waits mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{tt.reason}, h.rec.Reasons()); diff != "" {
				t.Errorf("reasons mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetryAfterAboveCap(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newScript(t, status(429, "slow down", "Retry-After", "3600")), nil)
	err := h.get(context.Background(), &things{})
	if !errors.Is(err, protocol.ErrTemporary) {
		t.Fatalf("Do() = %v, want ErrTemporary", err)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 429 || se.RetryAfter != time.Hour {
		t.Errorf("StatusError = %+v, want 429 asking for 1h", se)
	}
	if !strings.Contains(err.Error(), "asked to wait 1h0m0s") || !strings.Contains(err.Error(), "2m0s cap") {
		t.Errorf("error does not explain the cap: %v", err)
	}
	if n := len(h.srv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if w := h.timer.Waits(); len(w) != 0 {
		t.Errorf("waited %v; want no wait", w)
	}
}

func TestGiveUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		step      http.HandlerFunc
		class     error
		wantReqs  int
		wantInErr string
	}{
		{"5xx forever", status(500, "down"), protocol.ErrTemporary, DefaultMaxAttempts, "gave up after 8 attempts"},
		{"malformed forever", ok(`{"data":`), ErrMalformed, 1 + DefaultMalformedRetries, "malformed 3 times"},
		{"404 at once", status(404, `{"message":"no such thing"}`), nil, 1, `404 Not Found: {"message":"no such thing"}`},
		{"501 at once", status(501, ""), nil, 1, "501 Not Implemented"},
		{"400 at once", status(400, "bad filter"), nil, 1, "bad filter"},
		{"wrong JSON shape at once", ok(`{"data":"x"}`), nil, 1, "decoding JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, newScript(t, tt.step), nil)
			err := h.get(context.Background(), &things{})
			if err == nil {
				t.Fatal("Do() = nil, want an error")
			}
			if tt.class != nil && !errors.Is(err, tt.class) {
				t.Errorf("Do() = %v, want it to wrap %v", err, tt.class)
			}
			if errors.Is(err, protocol.ErrAuth) {
				t.Errorf("Do() = %v wraps ErrAuth", err)
			}
			if !strings.HasPrefix(err.Error(), "rest: acme: stream things page 1: ") || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("Do() = %q, want prefix and %q", err, tt.wantInErr)
			}
			if n := len(h.srv.Requests()); n != tt.wantReqs {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
		})
	}
}

func TestStatusErrorBody(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("é", 1000)
	h := newHarness(t, newScript(t, status(422, big)), nil)
	err := h.get(context.Background(), &things{})
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("Do() = %v, want a StatusError", err)
	}
	if len(se.Body) > 512 || !strings.HasPrefix(big, string(se.Body)) {
		t.Errorf("Body is %d bytes, want a prefix of at most 512 at a rune boundary", len(se.Body))
	}
	if want := h.srv.URL + "/api/v1/things"; se.URL != want || se.Method != "GET" || se.StatusCode != 422 {
		t.Errorf("StatusError = %s %s %d, want GET %s 422", se.Method, se.URL, se.StatusCode, want)
	}
	if len(err.Error()) > 400 {
		t.Errorf("error text is %d bytes; the body should be cut", len(err.Error()))
	}
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newScript(t, ok(strings.Repeat(" ", 2000))), func(o *Options) { o.MaxBodyBytes = 1000 })
	err := h.get(context.Background(), &things{})
	if !errors.Is(err, errBodyTooLarge) {
		t.Fatalf("Do() = %v, want body too large", err)
	}
	if n := len(h.srv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// countingGrant is an auth.Grant issuing numbered tokens at a clock's time.
type countingGrant struct {
	mu    sync.Mutex
	n     int
	clock *connectortest.Clock
}

func (g *countingGrant) Fetch(context.Context, *auth.Token) (*auth.Token, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	now := g.clock.Now()
	return &auth.Token{Value: auth.Secret(fmt.Sprintf("token-%d", g.n)), Issued: now, Expiry: now.Add(time.Hour)}, nil
}

func (g *countingGrant) Calls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// authHarness is a harness whose client gets tokens from an auth.Cache
// over a countingGrant, on the harness clock, with the default backoff
// intervals; the harness timer moves that clock by every wait.
func authHarness(t *testing.T, srv *script, edit func(*Options)) (*harness, *countingGrant) {
	t.Helper()
	var g *countingGrant
	var timer *connectortest.Timer
	h := newHarness(t, srv, func(o *Options) {
		clk := newClock()
		g = &countingGrant{clock: clk}
		timer = connectortest.NewTimer(clk)
		o.Auth = auth.NewCache(g, auth.CacheOptions{Now: clk.Now})
		o.Policy.Now = clk.Now
		o.Policy.Timer = timer
		o.Policy.InitialInterval, o.Policy.MaxInterval = 0, 0 // the defaults
		if edit != nil {
			edit(o)
		}
	})
	h.clock, h.timer = g.clock, timer
	return h, g
}

func TestLag401(t *testing.T) {
	t.Parallel()
	unauthorized := status(401, `{"code":401,"message":"Unauthorized"}`)
	srv := newScript(t, unauthorized, unauthorized, unauthorized, ok(`{"data":[1,2]}`))
	h, g := authHarness(t, srv, nil)
	var got things
	if err := h.get(context.Background(), &got); err != nil {
		t.Fatalf("Do() = %v", err)
	}
	if n := g.Calls(); n != 1 {
		t.Errorf("%d token requests, want 1: a 401 on a young token must not log in again", n)
	}
	for i, r := range srv.Requests() {
		if r.Authorization != "Bearer token-1" {
			t.Errorf("request %d: Authorization %q, want the same token", i, r.Authorization)
		}
	}
	if diff := cmp.Diff([]string{"lag_401", "lag_401", "lag_401"}, h.rec.Reasons()); diff != "" {
		t.Errorf("reasons mismatch (-want +got):\n%s", diff)
	}
	want := []time.Duration{500 * time.Millisecond, 750 * time.Millisecond, 1125 * time.Millisecond}
	if diff := cmp.Diff(want, h.timer.Waits()); diff != "" {
		t.Errorf("waits mismatch (-want +got):\n%s", diff)
	}
}

// lagging answers 401 to every token younger than lag on clk, as a vendor
// whose read replicas are lag behind; issued maps each token (its
// Authorization header) to the time the harness grant issued it.
type lagging struct {
	clk *connectortest.Clock
	lag time.Duration

	mu     sync.Mutex
	issued map[string]time.Time // first seen, which is when it was issued: the clock moves only in waits
	ages   map[string][]time.Duration
}

func (l *lagging) serve(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	now, a := l.clk.Now(), r.Header.Get("Authorization")
	if _, ok := l.issued[a]; !ok {
		l.issued[a] = now
	}
	age := now.Sub(l.issued[a])
	l.ages[a] = append(l.ages[a], age)
	l.mu.Unlock()
	if age < l.lag {
		status(401, `{"code":401,"message":"Unauthorized"}`)(w, r)
		return
	}
	ok(`{"data":[1]}`)(w, r)
}

func (l *lagging) Ages() map[string][]time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.ages)
}

// TestLag401_WholeGrace: a vendor 10 s behind is waited out with the
// same token, however many tries that takes, within the 60 s grace.
func TestLag401_WholeGrace(t *testing.T) {
	t.Parallel()
	l := &lagging{lag: 10 * time.Second, issued: map[string]time.Time{}, ages: map[string][]time.Duration{}}
	srv := newScript(t, l.serve)
	h, g := authHarness(t, srv, nil)
	l.clk = h.clock
	if err := h.get(context.Background(), &things{}); err != nil {
		t.Fatalf("Do() = %v, want success once the replica catches up", err)
	}
	if n := g.Calls(); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
	ages := l.Ages()["Bearer token-1"]
	if last := ages[len(ages)-1]; last < 10*time.Second || last > 15*time.Second {
		t.Errorf("the request succeeded at token age %v, want soon after the 10s lag", last)
	}
}

// TestLag401_BeyondGrace: a vendor that refuses every token for longer
// than the grace gets each of two tokens retried for its whole grace, and
// the request fails as temporary (exit 75), not as an auth failure: the
// login accepted the credentials.
func TestLag401_BeyondGrace(t *testing.T) {
	t.Parallel()
	l := &lagging{lag: time.Hour, issued: map[string]time.Time{}, ages: map[string][]time.Duration{}}
	srv := newScript(t, l.serve)
	h, g := authHarness(t, srv, nil)
	l.clk = h.clock
	err := h.get(context.Background(), &things{})
	if !errors.Is(err, protocol.ErrTemporary) || errors.Is(err, protocol.ErrAuth) {
		t.Fatalf("Do() = %v, want ErrTemporary and not ErrAuth", err)
	}
	for _, want := range []string{"401 Unauthorized through the 1m0s replication-lag grace", "try again later"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Do() = %q, want it to contain %q", err, want)
		}
	}
	if n := g.Calls(); n != 2 {
		t.Errorf("%d logins, want 2: the first and one refresh", n)
	}
	ages := l.Ages()
	if n := len(srv.Requests()); n <= DefaultMaxAttempts {
		t.Errorf("%d requests, want more than DefaultMaxAttempts (%d): lag retries are bounded by the grace, not the attempts", n, DefaultMaxAttempts)
	}
	for _, tok := range []string{"Bearer token-1", "Bearer token-2"} {
		a := ages[tok]
		if len(a) == 0 || a[len(a)-1] < DefaultLagGrace {
			t.Errorf("%s: last try at age %v, want the whole %v grace used", tok, a, DefaultLagGrace)
		}
		if len(a) > 1 && a[len(a)-2] >= DefaultLagGrace {
			t.Errorf("%s: tried at ages %v, want no retry after the grace", tok, a)
		}
	}
}

func TestLagWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n                           int
		initial, maxWait, remaining time.Duration
		want                        time.Duration
	}{
		{0, time.Second, time.Minute, time.Hour, time.Second},
		{2, time.Second, time.Minute, time.Hour, 2250 * time.Millisecond},
		{40, time.Second, 30 * time.Second, time.Hour, 30 * time.Second},
		{1000, time.Second, 30 * time.Second, time.Hour, 30 * time.Second},
		{3, time.Second, time.Minute, 2 * time.Second, 2 * time.Second},
		{3, time.Second, time.Minute, -time.Second, 0},
	}
	for _, tt := range tests {
		if got := lagWait(tt.n, tt.initial, tt.maxWait, tt.remaining); got != tt.want {
			t.Errorf("lagWait(%d, %v, %v, %v) = %v, want %v", tt.n, tt.initial, tt.maxWait, tt.remaining, got, tt.want)
		}
	}
}

// TestLag401_MaxElapsed: the request's MaxElapsed still bounds lag
// retries; running out during them is temporary.
func TestLag401_MaxElapsed(t *testing.T) {
	t.Parallel()
	srv := newScript(t, status(401, ""))
	h, g := authHarness(t, srv, func(o *Options) { o.Policy.LagGrace, o.Policy.MaxElapsed = time.Hour, 20*time.Second })
	err := h.get(context.Background(), &things{})
	if !errors.Is(err, protocol.ErrTemporary) || errors.Is(err, protocol.ErrAuth) {
		t.Fatalf("Do() = %v, want ErrTemporary and not ErrAuth", err)
	}
	if !strings.Contains(err.Error(), "replication lag?") {
		t.Errorf("Do() = %q, want it to say what it was retrying", err)
	}
	if n := g.Calls(); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
	if el := h.clock.Now().Sub(newClock().Now()); el > 20*time.Second {
		t.Errorf("gave up after %v, want within MaxElapsed", el)
	}
}

func TestOld401RefreshesOnce(t *testing.T) {
	t.Parallel()
	srv := newScript(t, ok(`{}`), status(401, "no"), status(401, "no"), ok(`{}`))
	h, g := authHarness(t, srv, nil)
	ctx := context.Background()
	if err := h.get(ctx, &things{}); err != nil { // the token is now cached
		t.Fatal(err)
	}
	h.clock.Advance(10 * time.Minute) // past LagGrace, well before expiry
	if err := h.get(ctx, &things{}); err != nil {
		t.Fatalf("Do() = %v", err)
	}
	if n := g.Calls(); n != 2 {
		t.Errorf("%d token requests, want 2 (the first login and exactly one refresh)", n)
	}
	var auths []string
	for _, r := range srv.Requests()[1:] {
		auths = append(auths, r.Authorization)
	}
	// The old token once; then the fresh, young token through its lag grace.
	want := []string{"Bearer token-1", "Bearer token-2", "Bearer token-2"}
	if diff := cmp.Diff(want, auths); diff != "" {
		t.Errorf("tokens sent mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"refresh_401", "lag_401"}, h.rec.Reasons()); diff != "" {
		t.Errorf("reasons mismatch (-want +got):\n%s", diff)
	}
}

func TestOld401WithoutLagRetries(t *testing.T) {
	t.Parallel()
	srv := newScript(t, status(401, ""))
	h, g := authHarness(t, srv, func(o *Options) { o.Policy.LagRetries = -1 })
	err := h.get(context.Background(), &things{})
	if !errors.Is(err, protocol.ErrAuth) {
		t.Fatalf("Do() = %v, want ErrAuth", err)
	}
	if want := "rest: acme: stream things page 1: 401 Unauthorized after a token refresh; check the API user's permissions"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Do() = %q, want prefix %q", err, want)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 401 {
		t.Errorf("errors.As StatusError = %+v", se)
	}
	if n, r := g.Calls(), len(srv.Requests()); n != 2 || r != 2 {
		t.Errorf("%d logins and %d requests, want 2 and 2", n, r)
	}
}

// TestLag401_Capped: a positive LagRetries bounds the same-token retries.
func TestLag401_Capped(t *testing.T) {
	t.Parallel()
	srv := newScript(t, status(401, ""))
	h, g := authHarness(t, srv, func(o *Options) { o.Policy.LagRetries = 2 })
	err := h.get(context.Background(), &things{})
	if !errors.Is(err, protocol.ErrTemporary) {
		t.Fatalf("Do() = %v, want ErrTemporary: the fresh token was refused while young", err)
	}
	if diff := cmp.Diff([]string{"lag_401", "lag_401", "refresh_401", "lag_401", "lag_401"}, h.rec.Reasons()); diff != "" {
		t.Errorf("reasons mismatch (-want +got):\n%s", diff)
	}
	if n := g.Calls(); n != 2 {
		t.Errorf("%d logins, want 2", n)
	}
}

func TestStatic401(t *testing.T) {
	t.Parallel()
	srv := newScript(t, status(401, ""))
	h := newHarness(t, srv, func(o *Options) { o.Auth = auth.Static{Value: "key"} })
	err := h.get(context.Background(), &things{})
	if !errors.Is(err, protocol.ErrAuth) || !strings.Contains(err.Error(), "cannot be renewed") {
		t.Fatalf("Do() = %v, want ErrAuth saying the key cannot be renewed", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestNoAuth401(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newScript(t, status(401, "")), nil)
	if err := h.get(context.Background(), &things{}); !errors.Is(err, protocol.ErrAuth) {
		t.Fatalf("Do() = %v, want ErrAuth", err)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	// A vendor that says "token expired" with code 498 in a 200 body, and
	// "invalid_token" for a dead long-lived token.
	classify := func(resp *Response) Verdict {
		switch {
		case bytes.Contains(resp.Body, []byte(`"code":"498"`)):
			return RefreshToken
		case bytes.Contains(resp.Body, []byte("invalid_token")):
			return AuthFailed
		case bytes.Contains(resp.Body, []byte("busy")):
			return Retry
		case resp.StatusCode == 418:
			return OK
		}
		return Default
	}
	expired := ok(`{"status":{"code":"498","message":"Token expired"}}`)
	tests := []struct {
		name      string
		steps     []http.HandlerFunc
		wantErr   error
		wantCalls int // token requests
		wantReqs  int
	}{
		{"498 then ok", []http.HandlerFunc{expired, ok(`{}`)}, nil, 2, 2},
		// A token may lapse between its login and its use; a vendor that
		// keeps saying so is believed three times, then the request fails.
		{"498 three times then ok", []http.HandlerFunc{expired, expired, expired, ok(`{}`)}, nil, 4, 4},
		{"498 always", []http.HandlerFunc{expired}, protocol.ErrAuth, 4, 4},
		{"invalid_token", []http.HandlerFunc{status(401, `{"error":"invalid_token"}`)}, protocol.ErrAuth, 1, 1},
		{"vendor retry", []http.HandlerFunc{ok(`{"busy":true}`), ok(`{}`)}, nil, 1, 2},
		{"override status", []http.HandlerFunc{status(418, `{}`)}, nil, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newScript(t, tt.steps...)
			h, g := authHarness(t, srv, func(o *Options) { o.Policy.Classify = classify })
			err := h.get(context.Background(), &things{})
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Do() = %v, want %v", err, tt.wantErr)
			}
			if n := g.Calls(); n != tt.wantCalls {
				t.Errorf("%d token requests, want %d", n, tt.wantCalls)
			}
			if n := len(srv.Requests()); n != tt.wantReqs {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
		})
	}
}

func TestCancelDuringWait(t *testing.T) {
	t.Parallel()
	srv := newScript(t, status(503, "", "Retry-After", "100"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := newHarness(t, srv, func(o *Options) {
		o.Policy.Timer = nil // the real timer: a 100 s wait
		o.OnRetry = func(context.Context, string) { cancel() }
	})
	err := h.get(ctx, &things{})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, protocol.ErrCanceled) {
		t.Fatalf("Do() = %v, want context.Canceled and ErrCanceled", err)
	}
	if !strings.Contains(err.Error(), "503") {
		t.Errorf("Do() = %q, want it to say what it was waiting for", err)
	}
}

func TestCancelDuringRequest(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	srv := newScript(t, func(w http.ResponseWriter, r *http.Request) {
		cancel()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	h := newHarness(t, srv, nil)
	if err := h.get(ctx, &things{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do() = %v, want context.Canceled", err)
	}
	if n := len(h.rec.Reasons()); n != 0 {
		t.Errorf("%d retries after cancellation, want 0", n)
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	srv := newScript(t, ok(`{}`))
	lim := rate.NewLimiter(rate.Every(time.Hour), 1)
	h := newHarness(t, srv, func(o *Options) { o.Limiter = lim })
	if err := h.get(context.Background(), &things{}); err != nil {
		t.Fatal(err)
	}
	// The burst is spent: the next request would wait an hour.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.get(ctx, &things{}); err == nil {
		t.Fatal("Do() = nil, want a limiter error")
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const (
		access  = "at-SECRET-0123456789"
		refresh = "rt-SECRET-abcdef"
		apiKey  = "uk-SECRET-key-42"
	)
	echo := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"message":"bad %s","query":%q,"access_token":"x"}`, r.Header.Get("Authorization"), r.URL.RawQuery)
		}
	}
	srv := newScript(t, echo(500), echo(401), echo(429), echo(404))
	clk := newClock()
	src := &fixedSource{tok: &auth.Token{Value: access, Refresh: refresh, Issued: clk.Now().Add(-time.Hour)}}
	h := newHarness(t, srv, func(o *Options) {
		o.Auth = src
		o.Policy.Now = clk.Now
		o.Apply = func(req *http.Request, t *auth.Token) {
			q := req.URL.Query()
			q.Set("user_key", apiKey)
			q.Set("access_token", t.Value.Reveal())
			req.URL.RawQuery = q.Encode()
			req.Header.Set("Authorization", "Bearer "+t.Value.Reveal())
		}
	})
	err := h.client.Do(context.Background(), Request{Path: "/things", Query: map[string][]string{"page": {"1"}}}, nil)
	if err == nil {
		t.Fatal("Do() = nil, want an error")
	}
	var se *StatusError
	if errors.As(err, &se) && strings.Contains(se.URL, "?") {
		t.Errorf("StatusError.URL has a query: %s", se.URL)
	}
	for _, text := range []string{err.Error(), h.logs.String(), fmt.Sprintf("%+v", se), string(se.Body)} {
		for _, s := range []string{access, refresh, apiKey} {
			if strings.Contains(text, s) {
				t.Errorf("secret %q leaked into:\n%s", s, text)
			}
		}
	}
	// The retries were logged, at Debug then Warn.
	if !strings.Contains(h.logs.String(), `"level":"WARN"`) || !strings.Contains(h.logs.String(), `"reason":"5xx"`) {
		t.Errorf("retries not logged as expected:\n%s", h.logs.String())
	}
}

// fixedSource always returns tok; Invalidate swaps in a renamed copy.
type fixedSource struct {
	mu  sync.Mutex
	tok *auth.Token
	n   int
}

func (f *fixedSource) Token(context.Context) (*auth.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tok, nil
}

func (f *fixedSource) Invalidate(t *auth.Token) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tok == t {
		f.n++
		nt := *t
		nt.Value = auth.Secret(t.Value.Reveal() + strconv.Itoa(f.n))
		f.tok = &nt
	}
}

func TestNetworkErrorHasNoQuery(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	base := dead.URL
	dead.Close()
	c, err := New(Options{BaseURL: base, Policy: Policy{MaxAttempts: 2, InitialInterval: time.Millisecond, Timer: connectortest.NewTimer(nil)}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Do(context.Background(), Request{Path: "/x", Query: map[string][]string{"user_key": {"SECRET-1"}}}, nil)
	if !errors.Is(err, protocol.ErrTemporary) || strings.Contains(err.Error(), "SECRET-1") || strings.Contains(err.Error(), "user_key") {
		t.Errorf("Do() = %v, want ErrTemporary without the query", err)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: newInsecureTLS()}}
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{"https", Options{BaseURL: "https://acme.staffr.net/rest/v1"}, false},
		{"http loopback ip", Options{BaseURL: "http://127.0.0.1:8080"}, false},
		{"http localhost", Options{BaseURL: "http://localhost:8080"}, false},
		{"http ipv6 loopback", Options{BaseURL: "http://[::1]:8080"}, false},
		{"http remote", Options{BaseURL: "http://acme.staffr.net"}, true},
		{"http remote allowed", Options{BaseURL: "http://acme.staffr.net", AllowHTTP: true}, false},
		{"relative", Options{BaseURL: "/rest/v1"}, true},
		{"ftp", Options{BaseURL: "ftp://acme.staffr.net"}, true},
		{"insecure TLS", Options{BaseURL: "https://acme.staffr.net", HTTPClient: insecure}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if (err != nil) != tt.wantErr || err != nil && !errors.Is(err, protocol.ErrConfig) {
				t.Errorf("New(%q) = %v, want error: %v (ErrConfig)", tt.opts.BaseURL, err, tt.wantErr)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	c, err := New(Options{BaseURL: "https://acme.staffr.net/rest/v1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  Request
		want string // "" for an error
	}{
		{"path", Request{Path: "/employees"}, "https://acme.staffr.net/rest/v1/employees"},
		{"path without slash", Request{Path: "employees"}, "https://acme.staffr.net/rest/v1/employees"},
		{"query", Request{Path: "/employees", Query: map[string][]string{"limit": {"10"}, "sort": {"id"}}}, "https://acme.staffr.net/rest/v1/employees?limit=10&sort=id"},
		{"path query kept raw", Request{Path: "/employees?after=a%2Bb"}, "https://acme.staffr.net/rest/v1/employees?after=a%2Bb"},
		{"path query merged", Request{Path: "/e?a=1&b=2", Query: map[string][]string{"b": {"3"}}}, "https://acme.staffr.net/rest/v1/e?a=1&b=3"},
		{"absolute same host", Request{Path: "https://acme.staffr.net/rest/v1/employees?page=2"}, "https://acme.staffr.net/rest/v1/employees?page=2"},
		{"absolute other host", Request{Path: "https://evil.example/steal"}, ""},
		{"absolute downgrade", Request{Path: "http://acme.staffr.net/rest/v1/employees"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := c.resolve(tt.req)
			switch {
			case tt.want == "" && !errors.Is(err, protocol.ErrConfig):
				t.Errorf("resolve(%q) = %v, %v; want ErrConfig", tt.req.Path, u, err)
			case tt.want != "" && (err != nil || u.String() != tt.want):
				t.Errorf("resolve(%q) = %v, %v; want %s", tt.req.Path, u, err, tt.want)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{}`) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	defer srv.Client().CloseIdleConnections()
	// The test server's own client trusts its certificate: fine.
	c, err := New(Options{BaseURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Do(context.Background(), Request{Path: "/"}, nil); err != nil {
		t.Errorf("Do() with the server's trusted client = %v", err)
	}
	// The default client does not trust it: a permanent failure, no retries.
	rec := &recorder{}
	c, err = New(Options{BaseURL: srv.URL, OnRetry: rec.OnRetry})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	if err := c.Do(context.Background(), Request{Path: "/"}, nil); err == nil || errors.Is(err, protocol.ErrTemporary) {
		t.Errorf("Do() with an untrusted certificate = %v, want a permanent error", err)
	}
	if n := len(rec.Reasons()); n != 0 {
		t.Errorf("%d retries of a certificate error, want 0", n)
	}
}

func TestCrossHostRedirectRefused(t *testing.T) {
	t.Parallel()
	other := newScript(t, ok(`{}`))
	target := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	srv := newScript(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, http.StatusFound) })
	h := newHarness(t, srv, func(o *Options) { o.Auth = auth.Static{Value: "k"} })
	err := h.client.Do(context.Background(), Request{Path: "/x"}, nil)
	if !errors.Is(err, auth.ErrRedirect) {
		t.Errorf("Do() = %v, want ErrRedirect", err)
	}
	if n := len(other.Requests()); n != 0 {
		t.Errorf("the redirect was followed to another host")
	}
}

func TestRequestDetails(t *testing.T) {
	t.Parallel()
	var got *http.Request
	var body []byte
	srv := newScript(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		body, _ = io.ReadAll(r.Body)
		io.WriteString(w, `{}`)
	})
	h := newHarness(t, srv, func(o *Options) {
		o.Auth = auth.Static{Value: "k"}
		o.UserAgent = "quiver-test/1"
	})
	err := h.client.Do(context.Background(), Request{Method: "POST", Path: "/search", Body: []byte(`{"q":1}`), Header: http.Header{"X-Extra": {"1"}}}, func(resp *Response) error {
		if resp.Token == nil || resp.Token.Value != "k" || resp.URL == nil || resp.URL.Path != "/api/v1/search" {
			t.Errorf("Response = %+v", resp)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantHeaders := map[string]string{"Authorization": "Bearer k", "User-Agent": "quiver-test/1", "Accept": "application/json", "Content-Type": "application/json", "X-Extra": "1"}
	for k, v := range wantHeaders {
		if got.Header.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, got.Header.Get(k), v)
		}
	}
	if got.Method != "POST" || string(body) != `{"q":1}` {
		t.Errorf("request = %s %s, want POST with the body", got.Method, body)
	}
}

func TestVerdictString(t *testing.T) {
	t.Parallel()
	for v, want := range map[Verdict]string{Default: "Default", OK: "OK", Retry: "Retry", RefreshToken: "RefreshToken", Permanent: "Permanent", AuthFailed: "AuthFailed", RateLimited: "RateLimited", 42: "Verdict(42)"} {
		if got := v.String(); got != want {
			t.Errorf("Verdict(%d).String() = %q, want %q", int(v), got, want)
		}
	}
}

// TestStatusErrorHidesPassword: a password in the base URL's user
// information never appears in an error.
func TestStatusErrorHidesPassword(t *testing.T) {
	t.Parallel()
	srv := newScript(t, status(500, "down"), status(404, "gone"))
	h := newHarness(t, srv, func(o *Options) {
		o.BaseURL = strings.Replace(srv.URL, "://", "://api:Hunter2Secret@", 1) + "/api/v1"
		o.Policy.MaxAttempts = 1
	})
	err := h.get(context.Background(), &things{})
	if err == nil || strings.Contains(err.Error(), "Hunter2Secret") || strings.Contains(h.logs.String(), "Hunter2Secret") {
		t.Errorf("Do() = %v; the password must not appear in the error or the logs:\n%s", err, h.logs)
	}
	if err != nil && !strings.Contains(err.Error(), "api:***@") {
		t.Errorf("Do() = %v, want the URL with its password redacted", err)
	}
}
