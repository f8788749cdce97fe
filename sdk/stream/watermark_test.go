package stream

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
)

func watermarkSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "code", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	}, nil)
}

// decodePage decodes a JSON array of records into a page of watermarkSchema.
func decodePage(t *testing.T, mem memory.Allocator, body string) *records.Page {
	t.Helper()
	dec := records.NewDecoder(mem, watermarkSchema(), records.Options{Stream: "s"})
	defer dec.Release()
	p, err := dec.Decode([]byte(body))
	if err != nil {
		t.Fatalf("Decode(%s): %v", body, err)
	}
	return p
}

// newTestWatermark returns the Watermark of decl over watermarkSchema.
func newTestWatermark(t *testing.T, decl schemas.Watermark) *Watermark {
	t.Helper()
	wm, err := NewWatermark(&decl, watermarkSchema())
	if err != nil {
		t.Fatal(err)
	}
	return wm
}

func TestWatermark(t *testing.T) {
	t.Parallel()
	const rows = `[{"id":5,"code":"b","day":"2024-03-01","at":"2024-03-01T10:00:00.5Z"},
		{"id":7,"code":null,"day":null,"at":null},
		{"id":9,"code":"d","day":"2024-03-04","at":"2024-03-04T08:30:00Z"}]`
	for _, tt := range []struct {
		name       string
		decl       schemas.Watermark
		prev       string
		body       string
		wantFilter url.Values
		wantState  string
	}{
		{"id first read", schemas.Watermark{Cursor: "id", Filter: "id:gt"}, "", rows,
			url.Values{}, `{"id":9}`},
		{"id resumed", schemas.Watermark{Cursor: "id", Filter: "id:gt"}, `{"id":3}`, rows,
			url.Values{"id:gt": {"3"}}, `{"id":9}`},
		{"string", schemas.Watermark{Cursor: "code", Filter: "after"}, `{"code":"a"}`, rows,
			url.Values{"after": {"a"}}, `{"code":"d"}`},
		{"date with lookback", schemas.Watermark{Cursor: "day", Filter: "from", Lookback: 48 * time.Hour}, `{"day":"2024-03-02"}`, rows,
			url.Values{"from": {"2024-02-29"}}, `{"day":"2024-03-04"}`},
		{"timestamp with layout", schemas.Watermark{Cursor: "at", Filter: "updatedOn:after", Lookback: time.Minute, Layout: "2006-01-02 15:04:05"},
			`{"at":"2024-03-01T10:00:00.5Z"}`, rows,
			url.Values{"updatedOn:after": {"2024-03-01 09:59:00"}}, `{"at":"2024-03-04T08:30:00Z"}`},
		{"lookback page below mark keeps the mark", schemas.Watermark{Cursor: "at", Filter: "since", Lookback: time.Hour},
			`{"at":"2024-03-05T00:00:00Z"}`, rows,
			url.Values{"since": {"2024-03-04T23:00:00Z"}}, `{"at":"2024-03-05T00:00:00Z"}`},
		{"null state", schemas.Watermark{Cursor: "id", Filter: "id:gt"}, `null`, rows, url.Values{}, `{"id":9}`},
		{"empty page", schemas.Watermark{Cursor: "id", Filter: "id:gt"}, `{"id":3}`, `[]`, url.Values{"id:gt": {"3"}}, ``},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			wm := newTestWatermark(t, tt.decl)
			q := url.Values{}
			if err := wm.Filter(q, json.RawMessage(tt.prev)); err != nil {
				t.Fatalf("Filter(%s): %v", tt.prev, err)
			}
			if diff := cmp.Diff(tt.wantFilter, q); diff != "" {
				t.Errorf("Filter(%s) mismatch (-want +got):\n%s", tt.prev, diff)
			}
			p := decodePage(t, mem, tt.body)
			defer p.Record.Release()
			got, err := wm.Checkpoint(json.RawMessage(tt.prev), p)
			if err != nil {
				t.Fatalf("Checkpoint: %v", err)
			}
			if string(got) != tt.wantState {
				t.Errorf("Checkpoint = %s, want %s", got, tt.wantState)
			}
			if got != nil { // the state reads back
				if err := wm.Filter(url.Values{}, got); err != nil {
					t.Errorf("Filter(%s) of its own checkpoint: %v", got, err)
				}
			}
		})
	}
}

func TestWatermark_Errors(t *testing.T) {
	t.Parallel()
	id := schemas.Watermark{Cursor: "id", Filter: "id:gt"}
	for _, tt := range []struct {
		name string
		decl schemas.Watermark
		prev string
		body string
		want string
	}{
		{"not sorted", id, ``, `[{"id":5},{"id":4}]`, "not sorted"},
		{"filter ignored", id, `{"id":10}`, `[{"id":5},{"id":6}]`, "ignored the id:gt filter"},
		{"bad state", id, `{"id":"x"}`, `[{"id":5}]`, "reset it with quiver state reset"},
		{"other cursor", id, `{"offset":3}`, `[{"id":5}]`, "no id"},
		{"not an object", id, `[1]`, `[{"id":5}]`, "is not"},
		{"bad time", schemas.Watermark{Cursor: "at", Filter: "since"}, `{"at":"yesterday"}`, `[]`, "RFC 3339"},
		{"bad date", schemas.Watermark{Cursor: "day", Filter: "from"}, `{"day":"2024-13-01"}`, `[]`, "YYYY-MM-DD"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			wm := newTestWatermark(t, tt.decl)
			p := decodePage(t, mem, tt.body)
			defer p.Record.Release()
			_, err := wm.Checkpoint(json.RawMessage(tt.prev), p)
			if err == nil {
				err = wm.Filter(url.Values{}, json.RawMessage(tt.prev))
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	for _, decl := range []*schemas.Watermark{nil, {Cursor: "nope", Filter: "x"}} {
		if _, err := NewWatermark(decl, watermarkSchema()); !errors.Is(err, sdk.ErrConfig) {
			t.Errorf("NewWatermark(%+v) = %v, want ErrConfig", decl, err)
		}
	}
	bad := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64}}, nil)
	if _, err := NewWatermark(&schemas.Watermark{Cursor: "x", Filter: "x"}, bad); !errors.Is(err, sdk.ErrConfig) {
		t.Errorf("NewWatermark(float cursor) = %v, want ErrConfig", err)
	}
}

// TestWatermark_Since: a lookback read starts at the earlier of the mark
// and now, less the window (the declared default unless one is asked for),
// so a mark in the future never narrows the window.
func TestWatermark_Since(t *testing.T) {
	t.Parallel()
	decl := schemas.Watermark{Cursor: "at", Filter: "startedOn:after", Lookback: 7 * 24 * time.Hour, Layout: "2006-01-02 15:04:05"}
	now := time.Date(2025, 9, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		state  string
		window time.Duration
		want   string // the filter value; "" for none
	}{
		{"first read", "", 0, ""},
		{"mark in the past", `{"at":"2025-08-20T06:00:00Z"}`, 0, "2025-08-13 06:00:00"},
		{"mark in the future", `{"at":"2025-12-31T22:00:00Z"}`, 0, "2025-08-25 12:00:00"},
		{"window asked for", `{"at":"2025-12-31T22:00:00Z"}`, 72 * time.Hour, "2025-08-29 12:00:00"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wm := newTestWatermark(t, decl)
			since, ok, err := wm.Since(json.RawMessage(tt.state), now, tt.window)
			if err != nil {
				t.Fatalf("Since(%s): %v", tt.state, err)
			}
			got := ""
			if ok {
				q := url.Values{}
				wm.SetSince(q, since)
				got = q.Get("startedOn:after")
			}
			if got != tt.want {
				t.Errorf("Since(%s, window %v) sets %q, want %q", tt.state, tt.window, got, tt.want)
			}
		})
	}
	if _, _, err := newTestWatermark(t, schemas.Watermark{Cursor: "id", Filter: "id:gt"}).Since(json.RawMessage(`{"id":3}`), now, time.Hour); !errors.Is(err, sdk.ErrConfig) {
		t.Errorf("Since on an id cursor = %v, want an ErrConfig", err)
	}
}
