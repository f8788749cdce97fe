package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// widgetsAPI serves /widgets (two pages of two in {"result":{"items"},
// "meta":{"total"}}, filtered by id:gt), /gadgets (a bare array) and
// records the requests.
type widgetsAPI struct {
	mu   sync.Mutex
	reqs []string
}

func (a *widgetsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.reqs = append(a.reqs, r.URL.Path+"?"+r.URL.RawQuery)
	a.mu.Unlock()
	switch r.URL.Path {
	case "/widgets":
		var ids []string
		for id := 1; id <= 4; id++ {
			if gt := r.URL.Query().Get("id:gt"); gt == "" || fmt.Sprint(id) > gt {
				ids = append(ids, fmt.Sprintf(`{"id":%d}`, id))
			}
		}
		var off int
		fmt.Sscan(r.URL.Query().Get("offset"), &off)
		page := ids[min(off, len(ids)):min(off+2, len(ids))]
		fmt.Fprintf(w, `{"meta":{"total":%d},"result":{"items":[%s]}}`, len(ids), strings.Join(page, ","))
	case "/gadgets":
		fmt.Fprint(w, `[{"id":7}]`)
	case "/ping":
		fmt.Fprint(w, `{}`)
	default:
		http.NotFound(w, r)
	}
}

func (a *widgetsAPI) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.reqs)
}

// namedWriter records "stream event" lines.
type namedWriter struct {
	mu     sync.Mutex
	events []string
}

func (w *namedWriter) add(stream, e string) {
	w.mu.Lock()
	w.events = append(w.events, stream+" "+e)
	w.mu.Unlock()
}

func (w *namedWriter) WriteBatch(_ context.Context, stream string, rec arrow.Record) error {
	w.add(stream, fmt.Sprintf("batch %d", rec.NumRows()))
	return nil
}

func (w *namedWriter) Checkpoint(_ context.Context, stream string, st json.RawMessage) error {
	w.add(stream, "checkpoint "+string(st))
	return nil
}

func (w *namedWriter) Status(_ context.Context, stream string, st sdk.Status) error {
	e := "status " + st.State.String()
	if st.Err != nil {
		e += ": " + st.Err.Error()
	}
	w.add(stream, e)
	return nil
}

func (w *namedWriter) Progress(_ context.Context, stream string, p sdk.Progress) error {
	if p.Total > 0 {
		w.add(stream, fmt.Sprintf("total %d", p.Total))
	}
	return nil
}

func (w *namedWriter) of(stream string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, e := range w.events {
		if s, ok := strings.CutPrefix(e, stream+" "); ok {
			out = append(out, s)
		}
	}
	return out
}

// mustSchema parses a schema file.
func mustSchema(t *testing.T, file string) *schemas.Stream {
	t.Helper()
	sc, err := schemas.Parse([]byte(file))
	if err != nil {
		t.Fatalf("schemas.Parse: %v", err)
	}
	return sc
}

const widgetsFile = `{"name":"widgets","path":"/widgets","records":"result.items","total":"meta.total",
	"primary_key":["id"],"sync_modes":["incremental","full_refresh"],"updates":"cursor",
	"fields":[{"name":"id","type":"int64","nullable":false}],
	"incremental":{"cursor":"id","filter":"id:gt"}}`

// TestFromSchema: a schema file with records, total and a cursor
// declares a stream that needs only a pager: records come from the path,
// progress has the total, the filter is set from the saved mark and each
// page is checkpointed.
func TestFromSchema(t *testing.T) {
	t.Parallel()
	api := &widgetsAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	c, err := rest.New(rest.Options{BaseURL: srv.URL, Policy: rest.Policy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := FromSchema(mustSchema(t, widgetsFile))
	if err != nil {
		t.Fatalf("FromSchema: %v", err)
	}
	st.Pager = rest.LimitOffset{Limit: 2}
	if got := st.Catalog(); got.Name != "widgets" || got.CursorField != "id" || got.Updates != sdk.Cursor ||
		!slices.Equal(got.SyncModes, []sdk.SyncMode{sdk.Incremental, sdk.FullRefresh}) {
		t.Errorf("Catalog = %+v", got)
	}
	w := &namedWriter{}
	req := sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "widgets", Mode: sdk.Incremental, State: json.RawMessage(`{"id":1}`)}}}
	if err := ReadStreams(context.Background(), c, []*Stream{st}, req, w, ReadOptions{ProgressEvery: time.Hour}); err != nil {
		t.Fatal(err)
	}
	want := []string{"status started", "batch 2", `checkpoint {"id":3}`, "total 3", "batch 1", `checkpoint {"id":4}`, "total 3", "status complete"}
	if diff := cmp.Diff(want, w.of("widgets")); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if got := api.requests(); len(got) != 2 || !strings.Contains(got[0], "id%3Agt=1") {
		t.Errorf("requests = %q, want two with id:gt=1", got)
	}
}

// TestFromSchema_Lookback: a lookback file declares Lookback and the
// checkpoint; a snapshot file neither.
func TestFromSchema_Lookback(t *testing.T) {
	t.Parallel()
	const fields = `"fields":[{"name":"id","type":"int64","nullable":false},{"name":"day","type":"date32"}]`
	lb, err := FromSchema(mustSchema(t, `{"name":"s","path":"/s","cursor_field":"day","sync_modes":["incremental"],"updates":"lookback",`+
		fields+`,"incremental":{"cursor":"day","filter":"day:after","lookback":"72h"}}`))
	if err != nil || lb.Lookback == nil || lb.Checkpoint == nil {
		t.Errorf("lookback FromSchema = %+v, %v; want Lookback and Checkpoint", lb, err)
	}
	snap, err := FromSchema(mustSchema(t, `{"name":"s","path":"/s","sync_modes":["full_refresh"],"updates":"snapshot",`+fields+`}`))
	if err != nil || snap.Lookback != nil || snap.Checkpoint != nil || snap.Records != nil {
		t.Errorf("snapshot FromSchema = %+v, %v; want no Lookback, Checkpoint or Records", snap, err)
	}
}

// widgetConfig is a test connector's config.
type widgetConfig struct {
	BaseURL  string `json:"base_url"`
	PageSize int    `json:"page_size"`
}

// Validate trims base_url and refuses a page size of 3.
func (c *widgetConfig) Validate() error {
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.PageSize == 3 {
		return fmt.Errorf("page_size 3 is unlucky: %w", sdk.ErrConfig)
	}
	return nil
}

const widgetSchema = `{"type":"object","additionalProperties":false,"required":["base_url"],
	"properties":{"base_url":{"type":"string"},"page_size":{"type":"integer","default":2}}}`

// gadgets is a Dynamic declaring "gadgets" per read, "gone" as failed,
// and checking with its own request.
type gadgets struct{ checked bool }

func (g *gadgets) Catalog(context.Context) ([]sdk.Stream, error) {
	return []sdk.Stream{{Name: "gadgets"}, {Name: "gone"}}, nil
}

func (g *gadgets) Declare(_ context.Context, req sdk.ReadRequest) (*Declared, error) {
	d := &Declared{Failed: map[string]error{}}
	for _, r := range req.Streams {
		switch r.Name {
		case "gadgets":
			d.Streams = append(d.Streams, &Stream{Name: "gadgets", Schema: arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil),
				Pager: onePageForTest{}, Request: Get("/gadgets", nil)})
		case "gone":
			d.Failed["gone"] = errors.New("the view is gone")
		}
	}
	return d, nil
}

func (g *gadgets) Check(context.Context) error {
	g.checked = true
	return nil
}

// widgetConnector declares a connector with the widgets stream from its
// schema file, and dyn as its Dynamic.
func widgetConnector(t *testing.T, dyn Dynamic, closed *bool) *Connector[widgetConfig] {
	t.Helper()
	return &Connector[widgetConfig]{
		Name: "widgets", Version: "1.0", Description: "test", ConfigSchema: []byte(widgetSchema), Streams: []string{"widgets"},
		Source: func(_ context.Context, cfg *widgetConfig) (*Source, error) {
			c, err := rest.New(rest.Options{BaseURL: cfg.BaseURL, Name: "widgets", Policy: rest.Policy{MaxAttempts: 1}})
			if err != nil {
				return nil, err
			}
			st, err := FromSchema(mustSchema(t, widgetsFile))
			if err != nil {
				return nil, err
			}
			st.Pager = rest.LimitOffset{Limit: cfg.PageSize}
			return &Source{
				Client: c, Ping: rest.Request{Path: "/ping", Query: url.Values{"limit": {"1"}}}, Streams: []*Stream{st}, Dynamic: dyn,
				Options: ReadOptions{ProgressEvery: time.Hour},
				Writer:  func(w sdk.Writer) sdk.Writer { w.(*namedWriter).add("read", "wrapped"); return w },
				OnClose: func() { *closed = true },
			}, nil
		},
	}
}

// TestConnectorConfig: Config applies the schema's defaults, validates,
// and names the connector in errors wrapping sdk.ErrConfig.
func TestConnectorConfig(t *testing.T) {
	t.Parallel()
	var closed bool
	c := widgetConnector(t, nil, &closed)
	tests := []struct {
		name, raw string
		want      *widgetConfig
		err       string
	}{
		{"defaults and Validate", `{"base_url":"https://x.example/"}`, &widgetConfig{BaseURL: "https://x.example", PageSize: 2}, ""},
		{"schema", `{"page_size":2}`, nil, "widgets: config: base_url is required"},
		{"Validate", `{"base_url":"https://x.example","page_size":3}`, nil, "widgets: config: page_size 3 is unlucky"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.Config([]byte(tt.raw))
			if tt.err != "" {
				if err == nil || !errors.Is(err, sdk.ErrConfig) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Config = %v, want ErrConfig with %q", err, tt.err)
				}
				return
			}
			if err != nil || *got != *tt.want {
				t.Fatalf("Config = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if spec := c.Spec(); spec.Name != "widgets" || spec.Version != "1.0" || !slices.Equal(spec.Streams, []string{"widgets"}) || string(spec.ConfigSchema) != widgetSchema {
		t.Errorf("Spec = %+v", spec)
	}
}

// TestSource: Check makes the Ping request or the Dynamic's check;
// Discover lists the static then the dynamic streams; Read reads static and
// dynamic streams through the wrapped Writer, reports the streams the
// Dynamic cannot read as failed, and fails on an unknown stream; Close calls
// OnClose.
func TestSource(t *testing.T) {
	t.Parallel()
	api := &widgetsAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	ctx := context.Background()
	var closed bool
	dyn := &gadgets{}
	open := func(dyn Dynamic) sdk.Source {
		t.Helper()
		src, err := widgetConnector(t, dyn, &closed).Open(ctx, []byte(`{"base_url":"`+srv.URL+`"}`))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return src
	}

	plain := open(nil)
	if err := plain.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got := api.requests(); !slices.Equal(got, []string{"/ping?limit=1"}) {
		t.Errorf("Check requests = %q, want the Ping", got)
	}
	if err := plain.Close(); err != nil {
		t.Fatal(err)
	}
	src := open(dyn)
	if err := src.Check(ctx); err != nil || !dyn.checked {
		t.Errorf("Check = %v, checked %v; want the Dynamic's check", err, dyn.checked)
	}
	if got := api.requests(); len(got) != 1 {
		t.Errorf("the Dynamic's check made requests %q", got[1:])
	}

	cat, err := src.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range cat.Streams {
		names = append(names, s.Name)
	}
	if want := []string{"widgets", "gadgets", "gone"}; !slices.Equal(names, want) {
		t.Errorf("Discover = %q, want %q", names, want)
	}

	w := &namedWriter{}
	req := sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "gone"}, {Name: "widgets", Mode: sdk.FullRefresh}, {Name: "gadgets", Mode: sdk.FullRefresh}}}
	if err := src.Read(ctx, req, w); err != nil {
		t.Fatalf("Read: %v", err)
	}
	checks := map[string][]string{
		"read":    {"wrapped"},
		"gone":    {"status started", "status failed: the view is gone"},
		"widgets": {"status started", "batch 2", `checkpoint {"id":2}`, "total 4", "batch 2", `checkpoint {"id":4}`, "total 4", "status complete"},
		"gadgets": {"status started", "batch 1", "status complete"},
	}
	for stream, want := range checks {
		if diff := cmp.Diff(want, w.of(stream)); diff != "" {
			t.Errorf("%s events (-want +got):\n%s", stream, diff)
		}
	}
	err = src.Read(ctx, sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "nope"}}}, &namedWriter{})
	if !errors.Is(err, sdk.ErrConfig) || !strings.Contains(err.Error(), `no stream "nope"`) {
		t.Errorf("Read of an unknown stream = %v, want ErrConfig naming it", err)
	}
	if err := src.Close(); err != nil || !closed {
		t.Errorf("Close = %v, OnClose called %v", err, closed)
	}
}

// TestChildFromSchema: a child stream's file gives its catalog fields,
// records path and total; the parent is the one given.
func TestChildFromSchema(t *testing.T) {
	t.Parallel()
	parent := &Stream{Name: "parents"}
	ch := ChildFromSchema(mustSchema(t, `{"name":"kids","path":"/kids","records":"response.kids","total":"response.count",
		"primary_key":["id"],"sync_modes":["full_refresh"],"updates":"snapshot","fields":[{"name":"id","type":"int64","nullable":false}]}`), parent)
	cat := ch.Catalog()
	if ch.Parent != parent || !slices.Equal(ch.Records, []string{"response", "kids"}) || ch.Info == nil ||
		cat.Name != "kids" || !slices.Equal(cat.PrimaryKey, []string{"id"}) || cat.Updates != sdk.Snapshot {
		t.Errorf("ChildFromSchema = %+v, catalog %+v", ch, cat)
	}
}
