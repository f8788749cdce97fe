package trackunitsim

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newClock returns a test clock at this file's start time.
func newClock() *connectortest.Clock {
	return connectortest.NewClock(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))
}

// client is a plain HTTP client for one simulator.
type client struct {
	t     *testing.T
	srv   *Server
	hc    *http.Client
	token string
}

func newClient(t *testing.T, srv *Server) *client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, srv: srv, hc: &http.Client{Transport: tr}}
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return m
}

// do sends a request; hdr values override the defaults (bearer token,
// Accept: application/json).
func (c *client) do(method, u string, body string, hdr map[string]string) response {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, u, err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func (c *client) get(path string) response {
	c.t.Helper()
	return c.do(http.MethodGet, c.srv.URL+path, "", nil)
}

// tokenRequest posts a token request with client credentials in Basic.
func (c *client) tokenRequest(form url.Values) response {
	c.t.Helper()
	return c.do(http.MethodPost, c.srv.TokenURL, form.Encode(), map[string]string{
		"Authorization": basic(c.srv.opts.ClientID, c.srv.opts.ClientSecret),
		"Content-Type":  "application/x-www-form-urlencoded",
		"Accept":        "",
	})
}

func basic(id, secret string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	req.SetBasicAuth(id, secret)
	return req.Header.Get("Authorization")
}

func passwordForm(scope string) url.Values {
	return url.Values{"grant_type": {"password"}, "username": {DefaultUsername}, "password": {DefaultPassword}, "scope": {scope}}
}

// login gets an access token with the password grant and keeps it.
func (c *client) login() map[string]any {
	c.t.Helper()
	r := c.tokenRequest(passwordForm("api offline_access"))
	if r.status != http.StatusOK {
		c.t.Fatalf("login: status %d: %s", r.status, r.body)
	}
	m := r.json(c.t)
	c.token = m["access_token"].(string)
	return m
}

func newLoggedIn(t *testing.T, opts Options) (*Server, *client) {
	t.Helper()
	srv := NewServer(t, opts)
	c := newClient(t, srv)
	c.login()
	return srv, c
}

func TestDeterminism(t *testing.T) {
	a := NewServer(t, Options{Seed: 7})
	b := NewServer(t, Options{Seed: 7})
	other := NewServer(t, Options{Seed: 8})
	for _, st := range Streams {
		t.Run(st, func(t *testing.T) {
			if diff := cmp.Diff(a.IDs(st), b.IDs(st)); diff != "" {
				t.Errorf("IDs(%q) differ for the same seed (-a +b):\n%s", st, diff)
			}
			for _, i := range []int{0, 1, 99, 249} {
				if diff := cmp.Diff(a.Record(st, i), b.Record(st, i)); diff != "" {
					t.Errorf("Record(%q, %d) differs for the same seed (-a +b):\n%s", st, i, diff)
				}
			}
			if cmp.Equal(a.Record(st, 3), other.Record(st, 3)) {
				t.Errorf("Record(%q, 3) is the same for seeds 7 and 8", st)
			}
			ids := a.IDs(st)
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("IDs(%q) has duplicate %q", st, id)
				}
				seen[id] = true
			}
		})
	}
}

func TestCounts(t *testing.T) {
	srv := NewServer(t, Options{Counts: map[string]int{StreamAssets: 0, StreamAssetEvents: 5}})
	want := map[string]int{StreamAssets: 0, StreamLocations: DefaultLocations, StreamFleetSnapshot: DefaultFleetSnapshot, StreamAssetEvents: 5}
	for st, n := range want {
		if got := srv.Count(st); got != n {
			t.Errorf("Count(%q) = %d, want %d", st, got, n)
		}
	}
	if got := srv.Record(StreamAssets, 0); got != nil {
		t.Errorf("Record(assets, 0) on an empty stream = %v, want nil", got)
	}
}

func TestAppendUpdate(t *testing.T) {
	srv, c := newLoggedIn(t, Options{Seed: 3, Counts: map[string]int{StreamAssets: 2, StreamLocations: 3, StreamAssetEvents: 10}, LocationInterval: -1})
	if err := srv.Append(StreamAssets, 3); err != nil {
		t.Fatalf("Append: %v", err)
	}
	page := c.get(AssetsPath + "?size=100").json(t)
	if got := page["totalElements"]; got != 5.0 {
		t.Errorf("totalElements after Append = %v, want 5", got)
	}
	if err := srv.Append("nope", 1); err == nil {
		t.Error("Append(nope) = nil, want error")
	}

	loc := srv.IDs(StreamLocations)[1]
	if err := srv.Update(StreamLocations, loc, "properties.updatedAt", "2026-01-02T03:04:05Z"); err != nil {
		t.Fatalf("Update: %v", err)
	}
	rec := srv.Record(StreamLocations, 1)
	if got := rec["properties"].(map[string]any)["updatedAt"]; got != "2026-01-02T03:04:05Z" {
		t.Errorf("Record updatedAt = %v, want the update", got)
	}
	content := c.get(LocationsPath + "?limit=10").json(t)["content"].([]any)
	if diff := cmp.Diff(rec, content[1]); diff != "" {
		t.Errorf("served location differs from Record (-record +served):\n%s", diff)
	}

	ev := srv.IDs(StreamAssetEvents)[4]
	if err := srv.Update(StreamAssetEvents, ev, "status", "DISMISSED"); err != nil {
		t.Fatalf("Update: %v", err)
	}
	body := `{"fromTime":"2020-01-01T00:00:00Z","toTime":"2030-01-01T00:00:00Z","status":["DISMISSED"]}`
	r := c.do(http.MethodPost, srv.URL+EventLogPath+"?size=100", body, nil)
	found := false
	for _, e := range r.json(t)["content"].([]any) {
		m := e.(map[string]any)
		if m["status"] != "DISMISSED" {
			t.Errorf("status filter returned %v", m["status"])
		}
		found = found || m["id"] == ev
	}
	if !found {
		t.Errorf("updated event %s not returned by the status filter", ev)
	}

	for _, tt := range []struct{ name, stream, id, field string }{
		{"unknown id", StreamAssets, "no-such-id", "name"},
		{"unknown stream", "nope", "x", "name"},
		{"event time", StreamAssetEvents, ev, "eventTime"},
		{"empty field", StreamAssets, srv.IDs(StreamAssets)[0], ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := srv.Update(tt.stream, tt.id, tt.field, "x"); err == nil {
				t.Errorf("Update(%q, %q, %q) = nil, want error", tt.stream, tt.id, tt.field)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	srv, c := newLoggedIn(t, Options{Counts: map[string]int{StreamAssets: 5}})
	srv.Faults.FailNext(1, fault.ServerError)
	if r := c.get(AssetsPath); r.status < 500 {
		t.Fatalf("first request after FailNext: status %d, want 5xx", r.status)
	}
	if r := c.get(AssetsPath); r.status != http.StatusOK {
		t.Fatalf("second request: status %d, want 200", r.status)
	}
	srv.Faults.FailNext(1, fault.RateLimit)
	if r := c.get(AssetsPath); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("rate limit fault: status %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	// The token URL is not wrapped.
	srv.Faults.FailNext(1, fault.ServerError)
	c.login()
	if got := srv.Faults.Total(); got != 2 {
		t.Errorf("Faults.Total() = %d, want 2 (the token URL must not be faulted)", got)
	}
	st := srv.Stats()
	if st.Requests[StreamAssets] != 3 || st.Pages[StreamAssets] != 1 {
		t.Errorf("Stats assets: requests %d pages %d, want 3 and 1", st.Requests[StreamAssets], st.Pages[StreamAssets])
	}

	t.Run("random", func(t *testing.T) {
		srv, c := newLoggedIn(t, Options{Faults: fault.Options{Rate: 1, Kinds: []fault.Kind{fault.ServerError}, Seed: 1}})
		if r := c.get(AssetsPath); r.status < 500 {
			t.Errorf("status %d with Rate 1, want 5xx", r.status)
		}
		if srv.Faults.Total() != 1 {
			t.Errorf("Faults.Total() = %d, want 1", srv.Faults.Total())
		}
	})
}

func TestStart(t *testing.T) {
	srv, err := Start("127.0.0.1:0", Options{})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if srv.URL == srv.AuthURL || !strings.HasPrefix(srv.TokenURL, srv.AuthURL) {
		t.Errorf("URL %q AuthURL %q TokenURL %q: want two hosts with the token URL on the auth host", srv.URL, srv.AuthURL, srv.TokenURL)
	}
	c := newClient(t, srv)
	// The API host has no token URL and the auth host has no data.
	if r := c.do(http.MethodPost, srv.URL+TokenPath, "", nil); r.status != http.StatusNotFound {
		t.Errorf("POST %s on the API host: status %d, want 404", TokenPath, r.status)
	}
	if r := c.do(http.MethodGet, srv.AuthURL+AssetsPath, "", nil); r.status != http.StatusNotFound {
		t.Errorf("GET %s on the auth host: status %d, want 404", AssetsPath, r.status)
	}
	srv.Close()
	if _, err := Start("256.0.0.1:0", Options{}); err == nil {
		t.Error("Start on a bad address = nil error")
	}
}

func BenchmarkPage(b *testing.B) {
	srv := NewServer(b, Options{Seed: 1, Counts: map[string]int{StreamAssets: 1000, StreamLocations: 1000, StreamFleetSnapshot: 1000, StreamAssetEvents: 1000}})
	for _, st := range Streams {
		b.Run(st, func(b *testing.B) {
			var buf []byte
			for i := range 1000 {
				buf = srv.appendBase(buf, st, i, true)
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = buf[:0]
				for i := range 1000 {
					buf = srv.appendBase(buf, st, i, true)
				}
			}
		})
	}
	b.Run("http/assets", func(b *testing.B) {
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr}
		c := &client{srv: srv, hc: hc}
		form := passwordForm("api")
		req, _ := http.NewRequest(http.MethodPost, srv.TokenURL, strings.NewReader(form.Encode()))
		req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		c.token = tok.AccessToken
		get, _ := http.NewRequest(http.MethodGet, srv.URL+AssetsPath+"?size=1000", nil)
		get.Header.Set("Authorization", "Bearer "+c.token)
		var n int64
		for b.Loop() {
			resp, err := hc.Do(get)
			if err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			n, _ = buf.ReadFrom(resp.Body)
			resp.Body.Close()
		}
		b.SetBytes(n)
	})
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	h := slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, &slog.HandlerOptions{Level: slog.LevelDebug})
	_, c := newLoggedIn(t, Options{Logger: slog.New(h)})
	c.get(AssetsPath + "?size=1")
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "stream=assets") || !strings.Contains(out, "status=200") || !strings.Contains(out, "stream=token") {
		t.Errorf("log lacks the request lines:\n%s", out)
	}
	for _, secret := range []string{c.token, DefaultPassword, DefaultClientSecret} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains a secret:\n%s", out)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// TestApplyDay: a day of changes is the same for the same seed (Options.Days
// at start or ApplyDay later) and touches every stream.
func TestApplyDay(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) }
	opts := Options{Seed: 6, Counts: map[string]int{"assets": 60, "locations": 40, "fleet_snapshot": 50, "asset_events": 100}, Now: now}
	b := NewServer(t, opts)
	c := b.ApplyDay()
	opts.Days = 1
	a := NewServer(t, opts)
	for _, stream := range Streams {
		if c.Updated[stream]+c.Inserted[stream] == 0 {
			t.Errorf("%s: the day changed nothing (%+v)", stream, c)
		}
		if diff := cmp.Diff(a.IDs(stream), b.IDs(stream)); diff != "" {
			t.Fatalf("%s ids differ between Days: 1 and ApplyDay (-a +b):\n%s", stream, diff)
		}
		for i := range a.Count(stream) {
			if diff := cmp.Diff(a.Record(stream, i), b.Record(stream, i)); diff != "" {
				t.Fatalf("%s record %d differs (-a +b):\n%s", stream, i, diff)
			}
		}
	}
}
