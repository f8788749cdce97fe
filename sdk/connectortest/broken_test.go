package connectortest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/quiver-etl/quiver/connectors/tracktik"
	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/connectors/trackunit"
	"github.com/quiver-etl/quiver/connectors/trackunit/trackunitsim"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// The tests here run the kit, on a recording fakeT, on the TrackTik
// connector broken on purpose in one way each, and check that the kit
// fails it, where it should and for the right reason. Each runs only the
// checks it needs (in process), to keep the package's tests short.

// tiktok starts a small TrackTik simulator for the kit.
func tiktok(t TB, o SimOptions) *Sim {
	srv := tracktiksim.NewServer(t, tracktiksim.Options{
		Seed:     3,
		Counts:   map[string]int{"employees": 12, "clients": 5, "positions": 6, "shifts": 20, "work-sessions": 9, "reports": 7},
		TokenTTL: o.TokenTTL,
	})
	cfg, err := json.Marshal(map[string]any{
		"base_url": srv.URL, "client_id": tracktiksim.ClientID, "client_secret": tracktiksim.ClientSecret,
		"username": tracktiksim.Username, "password": tracktiksim.Password, "start_date": "2021-06-01", "page_size": 4,
	})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return &Sim{
		Config:  cfg,
		Secrets: []string{tracktiksim.ClientSecret, tracktiksim.Password},
		Records: func(stream string) ([]map[string]any, error) {
			var out []map[string]any
			for i := range srv.Count(stream) {
				out = append(out, srv.Record(stream, i))
			}
			return out, nil
		},
		Faults: srv.Faults,
		Logins: func() int { return srv.Stats().TokenRequests },
		SetLag: srv.SetLag,
	}
}

// broken is a working connector with one defect.
type broken struct {
	sdk.Connector
	// writer wraps the Writer of each Read; nil keeps it.
	writer func(sdk.Writer) sdk.Writer
	// read changes the request of each Read; nil keeps it.
	read func(sdk.ReadRequest) sdk.ReadRequest
	// open runs before the inner Open and may change its ctx and config.
	open func(ctx context.Context, config []byte) (context.Context, []byte, func(), error)
}

func (b *broken) Open(ctx context.Context, config []byte) (sdk.Source, error) {
	done := func() {}
	if b.open != nil {
		var err error
		if ctx, config, done, err = b.open(ctx, config); err != nil {
			return nil, err
		}
	}
	src, err := b.Connector.Open(ctx, config)
	if err != nil {
		done()
		return nil, err
	}
	return &brokenSource{Source: src, b: b, done: done}, nil
}

type brokenSource struct {
	sdk.Source
	b    *broken
	done func()
}

func (s *brokenSource) Read(ctx context.Context, req sdk.ReadRequest, w sdk.Writer) error {
	if s.b.writer != nil {
		w = s.b.writer(w)
	}
	if s.b.read != nil {
		req = s.b.read(req)
	}
	return s.Source.Read(ctx, req, w)
}

func (s *brokenSource) Close() error {
	defer s.done()
	return s.Source.Close()
}

// onceWriter changes the first batch of stream that has at least two rows,
// once per read, with edit.
type onceWriter struct {
	sdk.Writer
	stream string
	edit   func(ctx context.Context, w sdk.Writer, rec arrow.Record) error
	once   sync.Once
}

func (w *onceWriter) WriteBatch(ctx context.Context, stream string, rec arrow.Record) error {
	var err error
	edited := false
	if stream == w.stream && rec.NumRows() >= 2 {
		w.once.Do(func() { edited, err = true, w.edit(ctx, w.Writer, rec) })
	}
	if edited {
		return err
	}
	return w.Writer.WriteBatch(ctx, stream, rec)
}

// TestRun_DroppedRecord: a connector that loses one employee fails the
// full read, which names the missing key.
func TestRun_DroppedRecord(t *testing.T) {
	t.Parallel()
	c := &broken{Connector: tracktik.New(), writer: func(w sdk.Writer) sdk.Writer {
		return &onceWriter{Writer: w, stream: "employees", edit: func(ctx context.Context, w sdk.Writer, rec arrow.Record) error {
			cut := rec.NewSlice(1, rec.NumRows())
			defer cut.Release()
			return w.WriteBatch(ctx, "employees", cut)
		}}
	}}
	got := runFake([]string{"fake/inprocess/read", "fake/inprocess/resume"}, func(t tb) { run(t, Suite{Connector: c, Start: tiktok}) })
	wantFailure(t, got, "fake/inprocess/read", "stream employees: key", "is missing")
	wantFailure(t, got, "fake/inprocess/resume", "stream employees: key", "is missing")
}

// TestRun_DoubledRecord: a connector that sends one employee twice fails
// the full read.
func TestRun_DoubledRecord(t *testing.T) {
	t.Parallel()
	c := &broken{Connector: tracktik.New(), writer: func(w sdk.Writer) sdk.Writer {
		return &onceWriter{Writer: w, stream: "employees", edit: func(ctx context.Context, w sdk.Writer, rec arrow.Record) error {
			if err := w.WriteBatch(ctx, "employees", rec); err != nil {
				return err
			}
			again := rec.NewSlice(0, 1)
			defer again.Release()
			return w.WriteBatch(ctx, "employees", again)
		}}
	}}
	got := runFake([]string{"fake/inprocess/read"}, func(t tb) { run(t, Suite{Connector: c, Start: tiktok}) })
	wantFailure(t, got, "fake/inprocess/read", "stream employees: key", "landed more than once in one read")
}

// TestRun_NewLoginOnLag401: a connector that answers a 401 on a fresh
// token with a new login, inside the replication-lag grace window, fails
// the lag_401 case, and only it. The defect sits in front of the
// connector's HTTP client: a proxy that logs in again whenever the API
// answers 401, as a client without the grace would, and passes the 401 on.
func TestRun_NewLoginOnLag401(t *testing.T) {
	t.Parallel()
	c := &broken{Connector: tracktik.New(), open: reloginProxy}
	got := runFake([]string{"fake/inprocess/read", "fake/inprocess/faults/lag_401"}, func(t tb) { run(t, Suite{Connector: c, Start: tiktok}) })
	wantFailure(t, got, "fake/inprocess/faults/lag_401", "logged in", "must be retried with the same token")
	if f := got.failures("fake/inprocess/read"); len(f) > 0 {
		t.Errorf("the full read without lag failed too:\n%s", strings.Join(f, "\n"))
	}
	// The control: the connector itself passes the same case.
	ok := runFake([]string{"fake/inprocess/faults/lag_401"}, func(t tb) { run(t, Suite{Connector: tracktik.New(), Start: tiktok}) })
	if f := ok.failures("fake"); len(f) > 0 {
		t.Errorf("the TrackTik connector fails the lag_401 case:\n%s", strings.Join(f, "\n"))
	}
}

// reloginProxy points the config's base_url at a proxy to the real one
// that, on every 401 of a data request, asks the token endpoint for a new
// token with the config's credentials.
func reloginProxy(ctx context.Context, config []byte) (context.Context, []byte, func(), error) {
	var cfg map[string]any
	if err := json.Unmarshal(config, &cfg); err != nil {
		return nil, nil, nil, err
	}
	base, err := url.Parse(fmt.Sprint(cfg["base_url"]))
	if err != nil {
		return nil, nil, nil, err
	}
	login := url.Values{
		"grant_type": {"password"}, "client_id": {fmt.Sprint(cfg["client_id"])}, "client_secret": {fmt.Sprint(cfg["client_secret"])},
		"username": {fmt.Sprint(cfg["username"])}, "password": {fmt.Sprint(cfg["password"])},
	}
	proxy := httputil.NewSingleHostReverseProxy(base)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.StatusCode == http.StatusUnauthorized && resp.Request.URL.Path != tracktiksim.TokenPath {
			r, err := http.PostForm(base.String()+tracktiksim.TokenPath, login)
			if err != nil {
				return err
			}
			_ = r.Body.Close()
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	cfg["base_url"] = srv.URL
	config, err = json.Marshal(cfg)
	if err != nil {
		srv.Close()
		return nil, nil, nil, err
	}
	return ctx, config, srv.Close, nil
}

// TestRun_LeakedSecret: a connector that logs its config at Debug level
// leaks the password and client secret; every check that reads fails.
func TestRun_LeakedSecret(t *testing.T) {
	t.Parallel()
	c := &broken{Connector: tracktik.New(), open: func(ctx context.Context, config []byte) (context.Context, []byte, func(), error) {
		sdk.Logger(ctx).Debug("open", "config", string(config))
		return ctx, config, func() {}, nil
	}}
	got := runFake([]string{"fake/inprocess/check", "fake/inprocess/read"}, func(t tb) { run(t, Suite{Connector: c, Start: tiktok}) })
	wantFailure(t, got, "fake/inprocess/check", "secret 0 of Sim.Secrets", "appears in the logs")
	wantFailure(t, got, "fake/inprocess/read", "secret 1 of Sim.Secrets", "appears in the logs")
}

// TestRun_SecretInState: a connector that puts a secret into its
// checkpoints fails the resume check.
func TestRun_SecretInState(t *testing.T) {
	t.Parallel()
	c := &broken{Connector: tracktik.New(), writer: func(w sdk.Writer) sdk.Writer { return stateLeak{w} }}
	got := runFake([]string{"fake/inprocess/resume"}, func(t tb) { run(t, Suite{Connector: c, Start: tiktok}) })
	wantFailure(t, got, "fake/inprocess/resume", "secret 1 of Sim.Secrets", "appears in the state")
}

// TestRun_ResumeOnePageEarly: a connector that resumes from the
// checkpoint before the one it is given sends the page between them again
// and fails the resume check, which wants no key in both reads.
func TestRun_ResumeOnePageEarly(t *testing.T) {
	t.Parallel()
	early := &pageBack{prev: map[string]map[string]json.RawMessage{}}
	c := &broken{Connector: trackunit.New(), writer: early.writer, read: early.read}
	only := []string{"fake/inprocess/resume"}
	got := runFake(only, func(t tb) { run(t, Suite{Connector: c, Start: unitSim}) })
	wantFailure(t, got, "fake/inprocess/resume", "stream asset_events:", "landed in both the interrupted read and its resumption", "want at most 0")
	ok := runFake(only, func(t tb) { run(t, Suite{Connector: trackunit.New(), Start: unitSim}) })
	if f := ok.failures("fake"); len(f) > 0 {
		t.Errorf("the Trackunit connector fails the resume check:\n%s", strings.Join(f, "\n"))
	}
}

// unitSim starts a Trackunit simulator whose asset_events, a stream
// incremental on a cursor with a checkpoint after every page, take five
// pages; the kit checks the values of that stream only.
func unitSim(t TB, _ SimOptions) *Sim {
	srv := trackunitsim.NewServer(t, trackunitsim.Options{
		Seed: 4, Counts: map[string]int{"assets": 3, "locations": 3, "fleet_snapshot": 3, "asset_events": 40},
	})
	cfg, err := json.Marshal(map[string]any{
		"api_url": srv.URL, "token_url": srv.TokenURL, "client_id": trackunitsim.DefaultClientID,
		"client_secret": trackunitsim.DefaultClientSecret, "username": trackunitsim.DefaultUsername,
		"password": trackunitsim.DefaultPassword, "start_date": "2020-01-01", "page_size": 8,
	})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return &Sim{
		Config:  cfg,
		Secrets: []string{trackunitsim.DefaultClientSecret, trackunitsim.DefaultPassword},
		Records: func(stream string) ([]map[string]any, error) {
			if stream != trackunitsim.StreamAssetEvents {
				return nil, ErrNotHeld
			}
			out := make([]map[string]any, len(srv.IDs(stream)))
			for i := range out {
				out[i] = srv.Record(stream, i)
			}
			return out, nil
		},
	}
}

// pageBack remembers, for every checkpoint a stream sends, the one it sent
// before, and turns each state a read is given into that earlier one.
type pageBack struct {
	mu   sync.Mutex
	prev map[string]map[string]json.RawMessage // stream -> state -> the state before it
}

func (p *pageBack) writer(w sdk.Writer) sdk.Writer {
	return &pageBackWriter{Writer: w, p: p, last: map[string]json.RawMessage{}}
}

func (p *pageBack) read(req sdk.ReadRequest) sdk.ReadRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range req.Streams {
		if r.State != nil {
			req.Streams[i].State = p.prev[r.Name][string(r.State)]
		}
	}
	return req
}

type pageBackWriter struct {
	sdk.Writer
	p    *pageBack
	last map[string]json.RawMessage // this read's last checkpoint by stream
}

func (w *pageBackWriter) Checkpoint(ctx context.Context, stream string, state json.RawMessage) error {
	w.p.mu.Lock()
	if w.p.prev[stream] == nil {
		w.p.prev[stream] = map[string]json.RawMessage{}
	}
	w.p.prev[stream][string(state)] = w.last[stream]
	w.last[stream] = slices.Clone(state)
	w.p.mu.Unlock()
	return w.Writer.Checkpoint(ctx, stream, state)
}

// stateLeak adds the simulator's password to every checkpoint.
type stateLeak struct{ sdk.Writer }

func (w stateLeak) Checkpoint(ctx context.Context, stream string, state json.RawMessage) error {
	leaky, err := json.Marshal(map[string]any{"state": state, "password": tracktiksim.Password})
	if err != nil {
		return err
	}
	return w.Writer.Checkpoint(ctx, stream, leaky)
}

// wantFailure fails t unless the kit reported, under the test called
// name, a line holding every one of parts.
func wantFailure(t *testing.T, r *record, name string, parts ...string) {
	t.Helper()
	lines := r.failures(name)
	for _, l := range lines {
		if containsAll(l, parts) {
			return
		}
	}
	r.mu.Lock()
	ran := strings.Join(r.ran, "\n")
	r.mu.Unlock()
	t.Errorf("the kit reported no failure holding %q under %s; it reported:\n%s\n(tests run:\n%s)", parts, name, strings.Join(r.failures("fake"), "\n"), ran)
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestRun_LeakedSecretThroughPlugin: the same leak in a plugin binary
// (testdata/quiver-tracktik) reaches the host's log of the plugin, and the
// plugin mode fails it as the in-process mode does.
func TestRun_LeakedSecretThroughPlugin(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds a plugin binary")
	}
	s := Suite{
		Connector: tracktik.New(),
		Plugin:    "github.com/quiver-etl/quiver/sdk/connectortest/testdata/quiver-tracktik",
		Start:     tiktok,
	}
	got := runFake([]string{"fake/plugin/check"}, func(t tb) { run(t, s) })
	wantFailure(t, got, "fake/plugin/check", "secret 1 of Sim.Secrets", "appears in the logs")
}

// TestRun_Clocked: with Suite.Clocked, the in-process rate_limit_bare
// case builds its connector there and starts the simulator on the same
// Clock; the plugin mode and the other cases do not.
func TestRun_Clocked(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	clocked, simClocks := 0, 0
	s := Suite{
		Connector: tracktik.New(),
		Clocked: func(clk *Clock, timer *Timer) sdk.Connector {
			mu.Lock()
			defer mu.Unlock()
			clocked++
			return tracktik.New()
		},
		Start: func(t TB, o SimOptions) *Sim {
			if o.Now != nil {
				mu.Lock()
				simClocks++
				mu.Unlock()
			}
			return tiktok(t, o)
		},
	}
	got := runFake([]string{"fake/inprocess/faults/rate_limit_bare", "fake/inprocess/read"}, func(t tb) { run(t, s) })
	if f := got.failures("fake"); len(f) > 0 {
		t.Errorf("the kit failed TrackTik:\n%s", strings.Join(f, "\n"))
	}
	if clocked != 1 || simClocks != 1 {
		t.Errorf("Suite.Clocked called %d times, simulators started on a clock %d times; want 1 each (rate_limit_bare only)", clocked, simClocks)
	}
}

// TestRun_TokenExpiry: the token_expiry case passes a connector that
// renews its token only when the read has really outlived one. A
// simulator that leaves its tokens an hour's life (the read needs no new
// token) and one whose Sim.Faults wraps none of its endpoints (the kit
// cannot hold the read past a token's life) both fail it, saying why;
// before the case held the read, both passed, having tested no renewal.
func TestRun_TokenExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		start func(TB, SimOptions) *Sim
		want  []string // parts of the failure; nil: the case passes
	}{
		{"renewed", tiktok, nil},
		{"token outlives the read", func(t TB, o SimOptions) *Sim {
			o.TokenTTL = 0 // the simulator's default: an hour
			return tiktok(t, o)
		}, []string{"asked for 1 token(s)", "never renewed its token"}},
		{"requests not held", func(t TB, o SimOptions) *Sim {
			s := tiktok(t, o)
			s.Faults = fault.New(fault.Options{}) // wraps nothing
			return s
		}, []string{"made 0 data request(s) through Sim.Faults", "needs two or more"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const name = "fake/inprocess/faults/token_expiry"
			got := runFake([]string{name}, func(t tb) { run(t, Suite{Connector: tracktik.New(), Start: tt.start}) })
			if tt.want == nil {
				if f := got.failures("fake"); len(f) > 0 {
					t.Errorf("the kit failed TrackTik:\n%s", strings.Join(f, "\n"))
				}
				return
			}
			wantFailure(t, got, name, tt.want...)
		})
	}
}
