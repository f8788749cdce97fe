package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// recordingWriter is an sdk.Writer that keeps what a read reports.
type recordingWriter struct {
	mu       sync.Mutex
	events   []string       // "batch ids", "checkpoint state", "status state"
	errs     []error        // Failed statuses' errors
	progress []sdk.Progress // every progress report
}

func (w *recordingWriter) add(e string) {
	w.mu.Lock()
	w.events = append(w.events, e)
	w.mu.Unlock()
}

func (w *recordingWriter) WriteBatch(_ context.Context, _ string, rec arrow.Record) error {
	ids := rec.Column(0).(*array.Int64)
	w.add(fmt.Sprintf("batch %v", ids.Int64Values()))
	return nil
}

func (w *recordingWriter) Checkpoint(_ context.Context, _ string, st json.RawMessage) error {
	w.add("checkpoint " + string(st))
	return nil
}

func (w *recordingWriter) Status(_ context.Context, _ string, st sdk.Status) error {
	w.add("status " + st.State.String())
	if st.Err != nil {
		w.mu.Lock()
		w.errs = append(w.errs, st.Err)
		w.mu.Unlock()
	}
	return nil
}

func (w *recordingWriter) Progress(_ context.Context, _ string, p sdk.Progress) error {
	w.mu.Lock()
	w.progress = append(w.progress, p)
	w.mu.Unlock()
	return nil
}

// TestReadStreamsContract: the read's contract reaches the decoder, what it
// rescues is reported with the stream's progress, and a contract that says
// fail fails the stream with the page, record and field.
func TestReadStreamsContract(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[{"id":1,"n":2},{"id":2,"n":"two","nick":"b"},{"id":3,"nick":{"x":1}}]`)
	}))
	t.Cleanup(srv.Close)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	st := &Stream{
		Name: "items", Schema: schema, Pager: rest.LimitOffset{Limit: 10},
		Request: func(json.RawMessage) (rest.Request, error) { return rest.Request{Path: "/items"}, nil },
	}
	c, err := rest.New(rest.Options{BaseURL: srv.URL, Policy: rest.Policy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	tests := []struct {
		name     string
		contract sdk.SchemaContract
		events   []string
		drift    []sdk.Drift
		err      string
	}{
		{"rescue", sdk.SchemaContract{}, []string{"status started", "batch [1 2 3]", "status complete"}, []sdk.Drift{
			{Key: "n", Column: "n", Shapes: []string{"string"}, Count: 1, RecordID: "2"},
			{Key: "nick", Shapes: []string{"object", "string"}, Count: 2, RecordID: "2"},
		}, ""},
		{"ignore unknown", sdk.SchemaContract{OnUnknown: sdk.Ignore}, []string{"status started", "batch [1 2 3]", "status complete"}, []sdk.Drift{
			{Key: "n", Column: "n", Shapes: []string{"string"}, Count: 1, RecordID: "2"},
		}, ""},
		{"fail", sdk.SchemaContract{OnMismatch: sdk.Fail}, []string{"status started", "status failed"}, []sdk.Drift{},
			`stream items page 1: records: stream items record id=2: field n: want int64, got "two"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			w := &recordingWriter{}
			req := sdk.ReadRequest{Contract: tt.contract, Streams: []sdk.StreamRequest{{Name: "items"}}}
			if err := ReadStreams(context.Background(), c, []*Stream{st}, req, w, ReadOptions{Allocator: mem}); err != nil {
				t.Fatalf("ReadStreams: %v", err)
			}
			if diff := cmp.Diff(tt.events, w.events); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
			if len(w.progress) == 0 {
				t.Fatal("no progress reported")
			}
			if diff := cmp.Diff(tt.drift, w.progress[len(w.progress)-1].Drift, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("drift mismatch (-want +got):\n%s", diff)
			}
			if tt.err != "" && (len(w.errs) != 1 || !strings.Contains(w.errs[0].Error(), tt.err)) {
				t.Errorf("errors = %v, want one containing %q", w.errs, tt.err)
			}
		})
	}
}

// TestReadStreamsSelectFinish: Select picks the records written (Info and
// Checkpoint still see the whole page), Finish checkpoints after the last
// page, and a Select error fails the stream before the page is written.
func TestReadStreamsSelectFinish(t *testing.T) {
	// Three pages of two ids each: 1 2 | 3 4 | 5 6.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		fmt.Fprintf(w, `{"data":[{"id":%d},{"id":%d}],"totalCount":6}`, start+1, start+2)
	}))
	defer srv.Close()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	evens := func(p *records.Page) (arrow.Record, error) {
		ids := p.Record.Column(0).(*array.Int64)
		if ids.Value(0) == 5 {
			return nil, errors.New("page 3 refused")
		}
		return p.Record.NewSlice(1, 2), nil // the second (even) id only
	}
	lastID := func(prev json.RawMessage, p *records.Page) (json.RawMessage, error) {
		ids := p.Record.Column(0).(*array.Int64)
		return json.RawMessage(strconv.FormatInt(ids.Value(ids.Len()-1), 10)), nil
	}
	finish := func(prev json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`"done after ` + string(prev) + `"`), nil
	}
	tests := []struct {
		name       string
		sel        func(*records.Page) (arrow.Record, error)
		checkpoint func(json.RawMessage, *records.Page) (json.RawMessage, error)
		finish     func(json.RawMessage) (json.RawMessage, error)
		max        int
		want       []string
	}{
		{
			name: "select and finish", sel: func(p *records.Page) (arrow.Record, error) {
				return p.Record.NewSlice(1, 2), nil
			},
			checkpoint: lastID, finish: finish, max: 2,
			want: []string{
				"status started",
				"batch [2]", "checkpoint 2", "batch [4]", "checkpoint 4", "batch [6]", "checkpoint 6",
				`checkpoint "done after 6"`, "status complete",
			},
		},
		{
			name: "finish without checkpoints", finish: finish, max: 3,
			want: []string{"status started", "batch [1 2]", "batch [3 4]", "batch [5 6]", `checkpoint "done after "`, "status complete"},
		},
		{
			name: "empty selection writes no batch", sel: func(p *records.Page) (arrow.Record, error) {
				return p.Record.NewSlice(0, 0), nil
			},
			checkpoint: lastID, max: 2,
			want: []string{"status started", "checkpoint 2", "checkpoint 4", "checkpoint 6", "status complete"},
		},
		{
			name: "select error fails the stream", sel: evens, checkpoint: lastID, finish: finish, max: 2,
			want: []string{"status started", "batch [2]", "checkpoint 2", "batch [4]", "checkpoint 4", "status failed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			c, err := rest.New(rest.Options{BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseIdleConnections()
			st := &Stream{
				Name: "s", Schema: schema, Records: []string{"data"},
				Pager:   rest.StartMax{Max: tt.max},
				Request: func(json.RawMessage) (rest.Request, error) { return rest.Request{Path: "/"}, nil },
				Info: func(p *records.Page) rest.PageInfo {
					total, _ := p.Envelope.Int("totalCount")
					return rest.PageInfo{Items: int(p.Record.NumRows()), Total: int(total)}
				},
				Select: tt.sel, Checkpoint: tt.checkpoint, Finish: tt.finish,
			}
			w := &recordingWriter{}
			req := sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "s", Mode: sdk.Incremental}}}
			if err := ReadStreams(context.Background(), c, []*Stream{st}, req, w, ReadOptions{Allocator: mem}); err != nil {
				t.Fatalf("ReadStreams: %v", err)
			}
			if diff := cmp.Diff(tt.want, w.events); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
			for _, err := range w.errs {
				if got := err.Error(); got != "stream s: page 3 refused" {
					t.Errorf("failure = %q, want the stream and Select's error", got)
				}
			}
		})
	}
}

// TestReadStreamsLookback: a lookback stream's incremental read sets the
// window filter from the saved mark, the clock and the window the host
// asked for, never before the floor; a full refresh, a first read and a
// mark it cannot read (a state of the stream's earlier cursor) read from
// the floor as Request set it.
func TestReadStreamsLookback(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Query().Get("startedOn:after"))
		mu.Unlock()
		fmt.Fprint(w, `{"data":[{"id":1,"at":"2025-08-31T10:00:00Z"}]}`)
	}))
	defer srv.Close()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	}, nil)
	wm, err := NewWatermark(&schemas.Watermark{Cursor: "at", Filter: "startedOn:after", Lookback: 7 * 24 * time.Hour, Layout: time.DateTime}, schema)
	if err != nil {
		t.Fatal(err)
	}
	floor := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := time.Date(2025, 9, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name     string
		mode     sdk.SyncMode
		state    string
		lookback time.Duration
		want     string
	}{
		{"mark in the past", sdk.Incremental, `{"at":"2025-08-20T06:00:00Z"}`, 0, "2025-08-13 06:00:00"},
		{"scheduled shifts ahead: now, not the mark", sdk.Incremental, `{"at":"2026-01-01T00:00:00Z"}`, 0, "2025-08-25 12:00:00"},
		{"window from the host", sdk.Incremental, `{"at":"2026-01-01T00:00:00Z"}`, 72 * time.Hour, "2025-08-29 12:00:00"},
		{"never before the floor", sdk.Incremental, `{"at":"2025-01-03T00:00:00Z"}`, 0, "2025-01-01 00:00:00"},
		{"first read", sdk.Incremental, "", 0, "2025-01-01 00:00:00"},
		{"full refresh", sdk.FullRefresh, `{"at":"2025-08-20T06:00:00Z"}`, 0, "2025-01-01 00:00:00"},
		{"an id mark of the old cursor", sdk.Incremental, `{"id":3072}`, 0, "2025-01-01 00:00:00"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			c, err := rest.New(rest.Options{BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseIdleConnections()
			st := &Stream{
				Name: "s", Schema: schema, Records: []string{"data"}, Pager: onePageForTest{},
				Request: func(json.RawMessage) (rest.Request, error) {
					return rest.Request{Path: "/", Query: map[string][]string{"startedOn:after": {floor.Format(time.DateTime)}}}, nil
				},
				Lookback: wm, LookbackFloor: floor, Checkpoint: wm.Checkpoint,
			}
			w := &recordingWriter{}
			req := sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "s", Mode: tt.mode, State: json.RawMessage(tt.state), Lookback: tt.lookback}}}
			if err := ReadStreams(context.Background(), c, []*Stream{st}, req, w, ReadOptions{Now: func() time.Time { return now }}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("startedOn:after = %q, want %q (events %v)", got, tt.want, w.events)
			}
			if last := w.events[len(w.events)-1]; last != "status complete" {
				t.Errorf("the stream ended with %q: %v", last, w.events)
			}
		})
	}
}

// onePageForTest pages a listing that comes in one response.
type onePageForTest struct{}

func (onePageForTest) Start() rest.Paging               { return onePageForTest{} }
func (onePageForTest) Apply(*rest.Request)              {}
func (onePageForTest) Next(rest.PageInfo) (bool, error) { return false, nil }

// TestReadStreamsAltPaths: a listing whose first page answers 404 is asked
// again under each of its AltPaths in turn; the path that answers serves
// the rest of the listing, and a 404 on every path (or on a later page)
// fails the stream.
func TestReadStreamsAltPaths(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/items" && r.URL.Query().Get("offset") == "0":
			fmt.Fprint(w, `[{"id":1},{"id":2}]`)
		case r.URL.Path == "/api/items":
			fmt.Fprint(w, `[{"id":3}]`)
		case r.URL.Path == "/gone/items" && r.URL.Query().Get("offset") == "0":
			fmt.Fprint(w, `[{"id":1},{"id":2}]`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	c, err := rest.New(rest.Options{BaseURL: srv.URL, Policy: rest.Policy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	tests := []struct {
		name   string
		path   string
		alts   []string
		events []string
		err    string
	}{
		{"first path answers", "/api/items", []string{"/public/items"}, []string{"status started", "batch [1 2]", "batch [3]", "status complete"}, ""},
		{"second path answers", "/public/api/items", []string{"/other/items", "/api/items"}, []string{"status started", "batch [1 2]", "batch [3]", "status complete"}, ""},
		{"no path answers", "/public/api/items", []string{"/other/items"}, []string{"status started", "status failed"}, "404"},
		{"no alternatives", "/public/api/items", nil, []string{"status started", "status failed"}, "404"},
		{"a later page's 404 is an error", "/public/api/items", []string{"/gone/items"}, []string{"status started", "batch [1 2]", "status failed"}, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			st := &Stream{
				Name: "items", Schema: schema, Pager: rest.LimitOffset{Limit: 2}, AltPaths: tt.alts,
				Request: func(json.RawMessage) (rest.Request, error) { return rest.Request{Path: tt.path}, nil },
			}
			w := &recordingWriter{}
			req := sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "items", Mode: sdk.FullRefresh}}}
			if err := ReadStreams(context.Background(), c, []*Stream{st}, req, w, ReadOptions{Allocator: mem}); err != nil {
				t.Fatalf("ReadStreams: %v", err)
			}
			if diff := cmp.Diff(tt.events, w.events); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
			if tt.err != "" && (len(w.errs) != 1 || !strings.Contains(w.errs[0].Error(), tt.err)) {
				t.Errorf("errors = %v, want one containing %q", w.errs, tt.err)
			}
		})
	}
}
