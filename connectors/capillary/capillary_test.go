package capillary

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/quiver-etl/quiver/connectors/capillary/capillarysim"
	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/auth"
	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
	"github.com/quiver-etl/quiver/sdk/stream"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// harness is a simulator and a connector that share a clock.
type harness struct {
	srv   *capillarysim.Server
	clk   *connectortest.Clock
	timer *connectortest.Timer
	conn  *stream.Connector[Config]
}

// simStart is the harness clock's start: the day after the simulator's
// generated data ends.
var simStart = time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, opts capillarysim.Options) *harness {
	t.Helper()
	clk := connectortest.NewClock(simStart)
	opts.Now = clk.Now
	if opts.RequestsPerMinute == 0 {
		opts.RequestsPerMinute = capillarysim.NoRateLimit
	}
	if opts.Seed == 0 {
		opts.Seed = 4
	}
	h := &harness{srv: capillarysim.NewServer(t, opts), clk: clk, timer: connectortest.NewTimer(clk)}
	h.conn = newConnector(clk.Now, h.timer)
	return h
}

// config returns a valid config for the simulator with extra keys set.
func (h *harness) config(extra map[string]any) []byte {
	c := map[string]any{
		"base_url":            h.srv.URL,
		"key":                 capillarysim.DefaultKey,
		"secret":              capillarysim.DefaultSecret,
		"start_date":          "2020-01-01",
		"page_size":           3,
		"requests_per_minute": 1_000_000,
		"settle_minutes":      0,
	}
	maps.Copy(c, extra)
	for k, v := range c {
		if v == nil {
			delete(c, k)
		}
	}
	b, _ := json.Marshal(c)
	return b
}

func (h *harness) open(t *testing.T, extra map[string]any) *stream.Source {
	t.Helper()
	src, err := h.conn.Open(context.Background(), h.config(extra))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src.(*stream.Source)
}

// dyn returns the connector's own part of src.
func dyn(src *stream.Source) *source { return src.Dynamic.(*source) }

// rowWriter is an sdk.Writer that keeps each stream's rows as JSON by id,
// its checkpoints and its status. It fails a record whose schema is not
// the stream's catalog schema, as the host does.
type rowWriter struct {
	t       *testing.T
	schemas map[string]*arrow.Schema

	mu          sync.Mutex
	rows        map[string]map[int64]string
	dups        []string
	checkpoints map[string][]json.RawMessage
	status      map[string]sdk.Status
	batches     int
	failAfter   int // WriteBatch fails once this many batches were written; 0 never
}

func newRowWriter(t *testing.T, src *stream.Source) *rowWriter {
	cat, err := src.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := &rowWriter{t: t, schemas: map[string]*arrow.Schema{}, rows: map[string]map[int64]string{},
		checkpoints: map[string][]json.RawMessage{}, status: map[string]sdk.Status{}}
	for _, s := range cat.Streams {
		w.schemas[s.Name] = s.Schema
		w.rows[s.Name] = map[int64]string{}
	}
	return w
}

func (w *rowWriter) WriteBatch(_ context.Context, stream string, rec arrow.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failAfter > 0 && w.batches >= w.failAfter {
		return errors.New("the host has gone")
	}
	w.batches++
	if !rec.Schema().Equal(w.schemas[stream]) {
		w.t.Errorf("stream %s: batch schema %v differs from the catalog's", stream, rec.Schema())
	}
	var buf bytes.Buffer
	if err := array.RecordToJSON(rec, &buf); err != nil {
		return err
	}
	ids := rec.Column(0).(*array.Int64)
	for i, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		id := ids.Value(i)
		if _, dup := w.rows[stream][id]; dup {
			w.dups = append(w.dups, fmt.Sprintf("%s %d", stream, id))
		}
		w.rows[stream][id] = line
	}
	return nil
}

func (w *rowWriter) Checkpoint(_ context.Context, stream string, st json.RawMessage) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.checkpoints[stream] = append(w.checkpoints[stream], slices.Clone(st))
	return nil
}

func (w *rowWriter) Status(_ context.Context, stream string, st sdk.Status) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status[stream] = st
	return nil
}

func (w *rowWriter) Progress(context.Context, string, sdk.Progress) error { return nil }

func (w *rowWriter) last(stream string) json.RawMessage {
	cps := w.checkpoints[stream]
	if len(cps) == 0 {
		return nil
	}
	return cps[len(cps)-1]
}

// read reads streams (incrementally, from states) and checks that each
// requested stream completed.
func read(t *testing.T, src *stream.Source, w *rowWriter, states map[string]json.RawMessage, streams ...string) {
	t.Helper()
	var req sdk.ReadRequest
	for _, s := range streams {
		req.Streams = append(req.Streams, sdk.StreamRequest{Name: s, Mode: sdk.Incremental, State: states[s]})
	}
	if err := src.Read(context.Background(), req, w); err != nil {
		t.Fatalf("Read: %v", err)
	}
	for _, s := range streams {
		if st := w.status[s]; st.State != sdk.Complete {
			t.Fatalf("stream %s ended %v: %v", s, st.State, st.Err)
		}
	}
	if len(w.dups) > 0 {
		t.Errorf("records written twice: %v", w.dups)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	base := `"base_url":"https://eu.api.capillarytech.com/v2/","key":"k","secret":"s3cr3t-value","start_date":"2024-01-01"`
	tests := []struct {
		name string
		json string
		want string // error text; "" for success
	}{
		{"minimal", `{` + base + `}`, ""},
		{"everything", `{` + base + `,"page_size":100,"till":"t1","requests_per_minute":600,"timezone":"Asia/Kolkata","settle_minutes":0}`, ""},
		{"missing key", `{"base_url":"https://x.example","secret":"s","start_date":"2024-01-01"}`, "key is required"},
		{"missing secret", `{"base_url":"https://x.example","key":"k","start_date":"2024-01-01"}`, "secret is required"},
		{"missing start date", `{"base_url":"https://x.example","key":"k","secret":"s"}`, "start_date is required"},
		{"missing base url", `{"key":"k","secret":"s","start_date":"2024-01-01"}`, "base_url is required"},
		{"bad base url", `{"base_url":"eu.api.capillarytech.com","key":"k","secret":"s","start_date":"2024-01-01"}`, "base_url does not match the pattern"},
		{"bad date", `{` + base[:len(base)-len(`"2024-01-01"`)] + `"2024-13-01"}`, "not a date"},
		{"page size", `{` + base + `,"page_size":101}`, "page_size is above its maximum 100"},
		{"concurrency", `{` + base + `,"concurrency":5}`, "concurrency is above its maximum 4"},
		{"rate", `{` + base + `,"requests_per_minute":-5}`, "requests_per_minute is below its minimum 1"},
		{"zone", `{` + base + `,"timezone":"Mars/Olympus"}`, "not an IANA time zone"},
		{"settle", `{` + base + `,"settle_minutes":-1}`, "settle_minutes is below its minimum 0"},
		{"unknown key", `{` + base + `,"password":"x"}`, `unknown key "password"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := New().Config([]byte(tt.json))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Config = %v", err)
				}
				if cfg.BaseURL != "https://eu.api.capillarytech.com" || cfg.PageSize == 0 || cfg.RequestsPerMinute == 0 || cfg.loc == nil {
					t.Errorf("Config = %+v: defaults or cleaning missing", cfg)
				}
				return
			}
			if err == nil || !errors.Is(err, sdk.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Config = %v, want ErrConfig with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t-value") {
				t.Errorf("the error quotes the secret: %v", err)
			}
		})
	}
	cfg, err := New().Config([]byte(`{` + base + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PageSize != MaxPageSize || cfg.RequestsPerMinute != DefaultRequestsPerMinute || cfg.settle() != time.Hour || cfg.loc != time.UTC {
		t.Errorf("defaults: page %d, rpm %d, settle %v, zone %v", cfg.PageSize, cfg.RequestsPerMinute, cfg.settle(), cfg.loc)
	}
}

func TestSpecAndDiscover(t *testing.T) {
	t.Parallel()
	h := newHarness(t, capillarysim.Options{})
	spec := h.conn.Spec()
	if diff := cmp.Diff([]string{"customers", "transactions"}, spec.Streams); diff != "" {
		t.Errorf("Spec streams mismatch (-want +got):\n%s", diff)
	}
	var schema map[string]any
	if err := json.Unmarshal(spec.ConfigSchema, &schema); err != nil {
		t.Fatalf("config schema: %v", err)
	}
	cat, err := h.open(t, nil).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cat.Streams {
		want, err := schemas.Load("capillary", s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Schema.Equal(records.WithRescue(want.Schema)) {
			t.Errorf("stream %s: discovered schema differs from schemas/capillary/%s.json", s.Name, s.Name)
		}
	}
	if modes := cat.Streams[1].SyncModes; len(modes) == 0 || modes[0] != sdk.Incremental {
		t.Errorf("transactions sync modes = %v, want incremental first", modes)
	}
}

// TestBothShapes reads the simulator with each quirk in its plain shape,
// its odd shape, and mixed: v1.1 numbers as strings, one-item lists as
// bare objects, token errors in the status line or the body. Every shape
// must give the same records, each once.
func TestBothShapes(t *testing.T) {
	t.Parallel()
	modes := []capillarysim.Mode{capillarysim.Plain, capillarysim.Quirky, capillarysim.Mixed}
	results := make([]map[string]map[int64]string, len(modes))
	for i, m := range modes {
		t.Run(m.String(), func(t *testing.T) {
			h := newHarness(t, capillarysim.Options{Customers: 60, Quirks: capillarysim.Quirks{
				StringNumbers: m, BareObjects: m, TokenErrorsInBody: m, OmitTTLSeconds: m,
			}})
			src := h.open(t, nil)
			w := newRowWriter(t, src)
			read(t, src, w, nil, "customers", "transactions")
			for _, s := range []string{"customers", "transactions"} {
				if got, want := len(w.rows[s]), h.srv.Count(s); got != want {
					t.Errorf("%s: %d records, want %d", s, got, want)
				}
			}
			results[i] = w.rows
		})
	}
	for i := 1; i < len(modes); i++ {
		if results[0] == nil || results[i] == nil {
			t.Fatal("a mode failed")
		}
		if diff := cmp.Diff(results[0], results[i]); diff != "" {
			t.Errorf("%s shapes decode differently from plain ones (-plain +%s):\n%s", modes[i], modes[i], diff)
		}
	}
}

// TestTypes checks a transaction's values against the simulator's record:
// numbers from strings, a bare object as a one-item list, the user id.
func TestTypes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, capillarysim.Options{Customers: 30, Quirks: capillarysim.Quirks{
		StringNumbers: capillarysim.Quirky, BareObjects: capillarysim.Quirky,
	}})
	src := h.open(t, nil)
	w := newRowWriter(t, src)
	read(t, src, w, nil, "transactions")
	found := 0
	for i := range h.srv.Count("transactions") {
		rec := h.srv.Record("transactions", i)
		id := int64(rec["id"].(float64))
		lines := rec["line_items"].(map[string]any)["line_item"].([]any)
		if len(lines) != 1 {
			continue
		}
		found++
		var got struct {
			ID        int64
			UserID    int64   `json:"user_id"`
			Amount    float64 `json:"amount"`
			Points    struct{ Issued int64 }
			LineItems struct {
				LineItem []struct{ Qty int64 } `json:"line_item"`
			} `json:"line_items"`
			BillingRaw string `json:"billing_time"`
		}
		if err := json.Unmarshal([]byte(w.rows["transactions"][id]), &got); err != nil {
			t.Fatalf("transaction %d: %v", id, err)
		}
		user, _ := h.srv.TransactionUser(id)
		want := lines[0].(map[string]any)
		if got.UserID != user || got.Amount != rec["amount"].(float64) ||
			got.Points.Issued != int64(rec["points"].(map[string]any)["issued"].(float64)) ||
			len(got.LineItems.LineItem) != 1 || got.LineItems.LineItem[0].Qty != int64(want["qty"].(float64)) {
			t.Errorf("transaction %d = %+v, want user %d and the simulator's values %v", id, got, user, rec)
		}
	}
	if found == 0 {
		t.Fatal("no transaction with a single line item to check")
	}
}

// TestPaging: page_size 3 makes customers with none, one and many
// transactions; no listing asks for a page past its end.
func TestPaging(t *testing.T) {
	t.Parallel()
	h := newHarness(t, capillarysim.Options{Customers: 40, MaxTransactions: 8})
	src := h.open(t, nil)
	w := newRowWriter(t, src)
	read(t, src, w, nil, "transactions")
	pages := 0
	for _, id := range h.srv.IDs("customers") {
		pages += max(1, (len(h.srv.CustomerTransactions(id))+2)/3)
	}
	st := h.srv.Stats()
	if st.Pages["transactions"] != pages {
		t.Errorf("%d transactions pages read, want %d (one per 3, at least one per customer)", st.Pages["transactions"], pages)
	}
	if want := (40+2)/3 + 1; st.Pages["customers"] != want {
		t.Errorf("%d customer pages listed, want %d (and one to find the search form)", st.Pages["customers"], want)
	}
	if len(w.rows["transactions"]) != h.srv.Count("transactions") {
		t.Errorf("%d transactions, want %d", len(w.rows["transactions"]), h.srv.Count("transactions"))
	}
}

// TestTokenErrors: a token that expires (498) or is revoked (401) between
// requests, in the status line or a 200 body, with the code as a number or
// a string, is replaced once and the read goes on.
func TestTokenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		quirks capillarysim.Quirks
		revoke bool
	}{
		{"498 status, number", capillarysim.Quirks{TokenErrorsInBody: capillarysim.Plain, StringNumbers: capillarysim.Plain}, false},
		{"498 status, string", capillarysim.Quirks{TokenErrorsInBody: capillarysim.Plain, StringNumbers: capillarysim.Quirky}, false},
		{"498 in body, number", capillarysim.Quirks{TokenErrorsInBody: capillarysim.Quirky, StringNumbers: capillarysim.Plain}, false},
		{"498 in body, string", capillarysim.Quirks{TokenErrorsInBody: capillarysim.Quirky, StringNumbers: capillarysim.Quirky}, false},
		{"401 status", capillarysim.Quirks{TokenErrorsInBody: capillarysim.Plain}, true},
		{"401 in body", capillarysim.Quirks{TokenErrorsInBody: capillarysim.Quirky}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, capillarysim.Options{Customers: 12, Quirks: tt.quirks})
			src := h.open(t, nil)
			if err := src.Check(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tt.revoke {
				h.srv.RevokeTokens()
			} else {
				h.srv.ExpireTokens()
			}
			w := newRowWriter(t, src)
			read(t, src, w, nil, "customers", "transactions")
			st := h.srv.Stats()
			if st.ExpiredTokens+st.InvalidTokens == 0 || st.TokensIssued != 2 {
				t.Errorf("expired %d, invalid %d, tokens issued %d; want one refusal (or a few, concurrently) and one new token",
					st.ExpiredTokens, st.InvalidTokens, st.TokensIssued)
			}
			if len(w.rows["transactions"]) != h.srv.Count("transactions") {
				t.Errorf("%d transactions, want %d", len(w.rows["transactions"]), h.srv.Count("transactions"))
			}
		})
	}
}

// TestTokenLifetime: the token's expiry comes from ttlSeconds, or else from
// the JWT's exp claim.
func TestTokenLifetime(t *testing.T) {
	t.Parallel()
	for _, m := range []capillarysim.Mode{capillarysim.Plain, capillarysim.Quirky} {
		t.Run("omit ttlSeconds "+m.String(), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, capillarysim.Options{TokenTTL: 5 * time.Minute, Quirks: capillarysim.Quirks{OmitTTLSeconds: m}})
			src := h.open(t, nil)
			tok, err := dyn(src).grant.Fetch(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := simStart.Add(5 * time.Minute); !tok.Expiry.Equal(want) {
				t.Errorf("token expiry = %v, want %v", tok.Expiry, want)
			}
		})
	}
}

// TestBadCredentials: a refused key or secret fails Check with ErrAuth
// after exactly one token request, whatever the HTTP status of the
// refusal, and the error does not hold the secret.
func TestBadCredentials(t *testing.T) {
	t.Parallel()
	for _, m := range []capillarysim.Mode{capillarysim.Plain, capillarysim.Quirky} {
		t.Run("errors with HTTP 200 "+m.String(), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, capillarysim.Options{Quirks: capillarysim.Quirks{BadCredentialsOK: m}})
			src := h.open(t, map[string]any{"secret": "wrong-secret-4711"})
			err := src.Check(context.Background())
			if !errors.Is(err, sdk.ErrAuth) || !strings.Contains(err.Error(), "320001") {
				t.Fatalf("Check = %v, want ErrAuth naming code 320001", err)
			}
			if strings.Contains(err.Error(), "wrong-secret-4711") {
				t.Errorf("the error holds the secret: %v", err)
			}
			// Reading after the refusal asks no more.
			w := newRowWriter(t, src)
			if err := src.Read(context.Background(), sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "customers"}}}, w); err != nil {
				t.Fatal(err)
			}
			if st := w.status["customers"]; st.State != sdk.Failed || !errors.Is(st.Err, sdk.ErrAuth) {
				t.Errorf("customers ended %v (%v), want Failed with ErrAuth", st.State, st.Err)
			}
			if n := h.srv.Stats().TokenRequests; n != 1 {
				t.Errorf("%d token requests, want 1", n)
			}
		})
	}
}

// TestRateLimit: the simulator's per-key limit answers 429 with
// Retry-After; the connector waits as asked (on the test clock) and
// finishes. Faults add 429s without Retry-After and 5xx.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, capillarysim.Options{Customers: 20, RequestsPerMinute: 15})
	h.srv.Faults.FailNext(1, fault.RateLimitBare)
	h.srv.Faults.FailNext(1, fault.ServerError)
	src := h.open(t, nil)
	w := newRowWriter(t, src)
	read(t, src, w, nil, "customers", "transactions")
	if got := h.srv.Stats().RateLimited; got == 0 {
		t.Error("the simulator's rate limit was never hit")
	}
	waits := h.timer.Waits()
	if !slices.ContainsFunc(waits, func(d time.Duration) bool { return d >= rateLimitFloor }) {
		t.Errorf("waits %v: none honoured the 429 floor of %v", waits, rateLimitFloor)
	}
	if len(w.rows["transactions"]) != h.srv.Count("transactions") {
		t.Errorf("%d transactions, want %d", len(w.rows["transactions"]), h.srv.Count("transactions"))
	}
}

// TestIncremental: a complete run stores its window; the next reads only
// the transactions billed after it, and start_date bounds the first.
func TestIncremental(t *testing.T) {
	t.Parallel()
	h := newHarness(t, capillarysim.Options{Customers: 25})
	src := h.open(t, map[string]any{"start_date": "2024-01-01"})
	w := newRowWriter(t, src)
	read(t, src, w, nil, "transactions")
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	want := 0
	for i := range h.srv.Count("transactions") {
		billed, err := time.Parse(v11Time, h.srv.Record("transactions", i)["billing_time"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if !billed.Before(from) {
			want++
		}
	}
	if len(w.rows["transactions"]) != want || want == 0 {
		t.Errorf("first run: %d transactions, want the %d billed since start_date", len(w.rows["transactions"]), want)
	}
	state := w.last("transactions")
	if got := string(state); got != `{"window":{"since":"2024-01-01 00:00:00","until":"2025-07-01 11:59:59"},"complete":true}` {
		t.Errorf("state after the first run = %s", got)
	}

	ids, err := h.srv.Append("transactions", 5)
	if err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(10 * time.Second)
	w2 := newRowWriter(t, src)
	read(t, src, w2, map[string]json.RawMessage{"transactions": state}, "transactions")
	got := slices.Sorted(maps.Keys(w2.rows["transactions"]))
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("second run mismatch (-appended +read):\n%s", diff)
	}
	if s := string(w2.last("transactions")); !strings.Contains(s, `"since":"2025-07-01 12:00:00","until":"2025-07-01 12:00:09"`) {
		t.Errorf("state after the second run = %s", s)
	}
}

// TestResume: a read cut off by the host resumes from its last checkpoint;
// together the runs write every transaction exactly once.
func TestResume(t *testing.T) {
	t.Parallel()
	h := newHarness(t, capillarysim.Options{Customers: 50})
	src := h.open(t, nil)
	dyn(src).tune = func(c *stream.Child) {
		c.BatchRows = 10 // checkpoints every few customers
		c.Concurrency = 2
	}
	w := newRowWriter(t, src)
	w.failAfter = 4
	req := sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "transactions", Mode: sdk.Incremental}}}
	if err := src.Read(context.Background(), req, w); err == nil {
		t.Fatal("Read with a failing writer succeeded")
	}
	state := w.last("transactions")
	var st struct {
		Done []int64
	}
	if err := json.Unmarshal(state, &st); err != nil || len(st.Done) == 0 {
		t.Fatalf("checkpoint %s: no customers done (%v)", state, err)
	}
	// What the host keeps: the rows of the batches before the checkpoint.
	kept := map[int64]bool{}
	for id := range w.rows["transactions"] {
		user, _ := h.srv.TransactionUser(id)
		if slices.Contains(st.Done, user) {
			kept[id] = true
		}
	}
	w2 := newRowWriter(t, src)
	read(t, src, w2, map[string]json.RawMessage{"transactions": state}, "transactions")
	for id := range w2.rows["transactions"] {
		if kept[id] {
			t.Errorf("transaction %d read again after its customer was checkpointed", id)
		}
		kept[id] = true
	}
	if len(kept) != h.srv.Count("transactions") {
		t.Errorf("the two runs wrote %d transactions, want %d", len(kept), h.srv.Count("transactions"))
	}
}

// TestTimezone: v1.1 wall-clock times are read in the org's time zone.
func TestTimezone(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, capillarysim.Options{Customers: 5, Location: loc})
	src := h.open(t, map[string]any{"timezone": "Asia/Kolkata"})
	w := newRowWriter(t, src)
	read(t, src, w, nil, "transactions")
	rec := h.srv.Record("transactions", 0)
	want, err := time.ParseInLocation(v11Time, rec["billing_time"].(string), loc)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		BillingTime string `json:"billing_time"`
	}
	if err := json.Unmarshal([]byte(w.rows["transactions"][int64(rec["id"].(float64))]), &got); err != nil {
		t.Fatal(err)
	}
	if wantText := want.UTC().Format("2006-01-02 15:04:05Z"); got.BillingTime != wantText {
		t.Errorf("billing_time = %s, want %s (%s in Asia/Kolkata)", got.BillingTime, wantText, rec["billing_time"])
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   string
		gone   bool
	}{
		{"v1.1 success", 200, `{"response":{"status":{"success":"true","code":"200"},"customer":{}}}`, "Default", false},
		{"v2 page", 200, `{"pagination":{"total":3},"data":[{"userId":1}],"warnings":[],"errors":[]}`, "Default", false},
		{"498 status", 498, `{"response":{"status":{"code":"498"}}}`, "RefreshToken", false},
		{"498 in body, string", 200, `{"response":{"status":{"success":"true","code":"498","message":"Token expired"},"customers":null}}`, "RefreshToken", false},
		{"498 in body, number", 200, `{"response":{"status":{"success":true,"code":498}}}`, "RefreshToken", false},
		{"401 status", 401, `{}`, "RefreshToken", false},
		{"401 in body", 200, `{"response":{"status":{"success":"true","code":"401","message":"Unauthorized"}}}`, "RefreshToken", false},
		{"403 in body", 200, `{"response":{"status":{"code":403,"success":false}}}`, "AuthFailed", false},
		{"search busy", 461, `{"errors":[{"code":461}]}`, "Retry", false},
		{"429 status", 429, `{"response":{"status":{"success":false,"code":429}}}`, "Default", false},
		{"429 in body", 200, `{"response":{"status":{"success":false,"code":"429","message":"Too many requests"}}}`, "RateLimited", false},
		{"customer not found", 200, `{"response":{"status":{"success":false,"code":500},"customer":{"id":"9","item_status":{"success":false,"code":1012}}}}`, "OK", true},
		{"all failed otherwise", 200, `{"response":{"status":{"code":500},"customer":{"item_status":{"code":1001}}}}`, "Permanent", false},
		{"v2 errors on 200", 200, `{"data":[],"errors":[{"status":false,"code":8015,"message":"Customer not found"}]}`, "Permanent", false},
		{"5xx", 503, `oops`, "Default", false},
		{"not JSON", 200, `<html>`, "Default", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := &rest.Response{StatusCode: tt.status, Body: []byte(tt.body)}
			if got := classify(resp).String(); got != tt.want {
				t.Errorf("classify(%d %s) = %s, want %s", tt.status, tt.body, got, tt.want)
			}
			if got := gone(resp); got != tt.gone {
				t.Errorf("gone(%s) = %v, want %v", tt.body, got, tt.gone)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	cfg := &Config{Till: "blr.till01"}
	req, err := http.NewRequest(http.MethodGet, "https://eu.api.capillarytech.com/v2/customers/search", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.apply(req, &auth.Token{Value: "jwt-value"})
	want := http.Header{
		"X-Cap-Api-Oauth-Token":             {"jwt-value"},
		"Content-Type":                      {"application/json"},
		"Accept":                            {"application/json"},
		"X-Cap-Api-Attribution-Entity-Type": {"TILL"},
		"X-Cap-Api-Attribution-Entity-Code": {"blr.till01"},
	}
	if diff := cmp.Diff(want, req.Header); diff != "" {
		t.Errorf("headers mismatch (-want +got):\n%s", diff)
	}
}

func TestTokenResponses(t *testing.T) {
	t.Parallel()
	g := newGrant(&Config{BaseURL: "https://eu.api.capillarytech.com", Key: "k", Secret: "the-secret-value"}, nil, nil, func() time.Time { return simStart }, nil)
	tests := []struct {
		name   string
		status int
		body   string
		class  error         // nil: a token
		expiry time.Duration // after simStart, for a token
	}{
		{"ttlSeconds", 200, `{"data":{"accessToken":"abc","ttlSeconds":300},"errors":null}`, nil, 5 * time.Minute},
		{"ttlSeconds as a string", 200, `{"data":{"accessToken":"abc","ttlSeconds":"60"},"errors":[]}`, nil, time.Minute},
		{"no lifetime: the default", 200, `{"data":{"accessToken":"abc"}}`, nil, 0},
		{"bad credentials, 401", 401, `{"data":null,"errors":[{"code":320001,"message":"Invalid client key and secret"}]}`, sdk.ErrAuth, 0},
		{"bad credentials, 200, string code", 200, `{"data":null,"errors":[{"code":"320001","message":"Invalid client key and secret"}]}`, sdk.ErrAuth, 0},
		{"another refusal as a bare object", 400, `{"data":null,"errors":{"code":400,"message":"Invalid request body"}}`, sdk.ErrAuth, 0},
		{"no token", 200, `{"data":{},"errors":null}`, sdk.ErrConfig, 0},
		{"not a token endpoint", 404, `<html>Not Found</html>`, sdk.ErrConfig, 0},
		{"gateway refusal", 403, `Forbidden`, sdk.ErrAuth, 0},
		{"cut off: asked again", 200, `{"data":{"accessTok`, sdk.ErrTemporary, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok, err := g.ParseResponse(tt.status, []byte(tt.body))
			if tt.class != nil {
				if !errors.Is(err, tt.class) {
					t.Fatalf("ParseResponse = %v, want %v", err, tt.class)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseResponse = %v", err)
			}
			var want time.Time
			if tt.expiry > 0 {
				want = simStart.Add(tt.expiry)
			}
			if tok.Value.Reveal() != "abc" || !tok.Expiry.Equal(want) {
				t.Errorf("token expires %v, want %v", tok.Expiry, want)
			}
		})
	}
}

// FuzzReadStatus: any body is classified without a panic.
func FuzzReadStatus(f *testing.F) {
	for _, s := range []string{
		`{"response":{"status":{"success":"true","code":"498"}}}`,
		`{"response":{"status":{"code":500},"customer":{"item_status":{"code":"1012"}}}}`,
		`{"pagination":{"total":3},"data":[],"errors":[{"code":8015}]}`,
		`{"response":[1,2],"errors":{}}`,
		`[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		resp := &rest.Response{StatusCode: 200, Body: body}
		_ = classify(resp)
		_ = gone(resp)
	})
}

// TestCustomerQuery: with customer_query unset, the search form that lists
// every customer is found whether the API takes an empty q, "*", or both,
// and the choice is logged; customer_query set is used as it is. Every
// customer and their transactions are read.
func TestCustomerQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    capillarysim.Options
		query   any // customer_query; nil leaves it unset
		wantQ   string
		wantLog string
	}{
		{"both forms", capillarysim.Options{}, nil, "", `"q":""`},
		{"only an empty q (the alt variant)", capillarysim.Options{Variant: capillarysim.VariantAlt}, nil, "", `"q":""`},
		{"only a star; an empty q is refused", capillarysim.Options{SearchAll: []string{"*"}}, nil, "*", `"q":"*"`},
		{"set to a star", capillarysim.Options{}, "*", "*", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Customers = 12
			h := newHarness(t, tt.opts)
			src := h.open(t, map[string]any{"customer_query": tt.query})
			var logs bytes.Buffer
			ctx := sdk.WithLogger(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)))
			q, probed, err := dyn(src).customerQuery(ctx)
			if err != nil || q != tt.wantQ || probed != (tt.query == nil) {
				t.Fatalf("customerQuery() = %q, %v, %v; want %q, %v", q, probed, err, tt.wantQ, tt.query == nil)
			}
			if tt.wantLog != "" && (!strings.Contains(logs.String(), "lists every customer with this form") || !strings.Contains(logs.String(), tt.wantLog)) {
				t.Errorf("logs do not say which form worked (%s):\n%s", tt.wantLog, logs.String())
			}
			w := newRowWriter(t, src)
			read(t, src, w, nil, "customers", "transactions")
			if got, want := len(w.rows["customers"]), h.srv.Count("customers"); got != want {
				t.Errorf("%d customers read, want %d", got, want)
			}
			if got, want := len(w.rows["transactions"]), h.srv.Count("transactions"); got != want {
				t.Errorf("%d transactions read, want %d", got, want)
			}
		})
	}
}

// TestNoCustomers: a search that lists no one (a customer_query the API
// does not take as "everyone", or no form that does) is not an "ok, 0
// records" run: it is logged at Warn, and transactions, which depend on
// it, fail and keep their window for the next run.
func TestNoCustomers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    capillarysim.Options
		query   any
		wantErr string
	}{
		{"a star the API searches for as text", capillarysim.Options{Variant: capillarysim.VariantAlt}, "*", `customer_query "*"`},
		{"an org without customers", capillarysim.Options{Customers: -1}, nil, `q="" and q="*"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.opts)
			src := h.open(t, map[string]any{"customer_query": tt.query})
			var logs bytes.Buffer
			ctx := sdk.WithLogger(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)))
			w := newRowWriter(t, src)
			req := sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "customers", Mode: sdk.FullRefresh}, {Name: "transactions", Mode: sdk.Incremental}}}
			if err := src.Read(ctx, req, w); err != nil {
				t.Fatal(err)
			}
			if st := w.status["customers"]; st.State != sdk.Complete || len(w.rows["customers"]) != 0 {
				t.Errorf("customers ended %v (%v) with %d rows, want complete with none", st.State, st.Err, len(w.rows["customers"]))
			}
			if !strings.Contains(logs.String(), `"level":"WARN","msg":"the customer search listed no customers`) {
				t.Errorf("no warning about the empty customer search:\n%s", logs.String())
			}
			st := w.status["transactions"]
			if st.State != sdk.Failed || st.Err == nil || !strings.Contains(st.Err.Error(), tt.wantErr) || !strings.Contains(st.Err.Error(), "set customer_query") {
				t.Errorf("transactions ended %v (%v), want Failed naming %s and customer_query", st.State, st.Err, tt.wantErr)
			}
			if last := string(w.last("transactions")); strings.Contains(last, "complete") {
				t.Errorf("transactions checkpoint %s completes a window no customer was read in", last)
			}
		})
	}
}
