package records_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
)

// recorder is an sdk.Writer that keeps what it is given, as strings.
type recorder struct {
	batches  map[string][][]string // stream: rows
	statuses []string
	states   []string
}

func (r *recorder) WriteBatch(_ context.Context, stream string, rec arrow.Record) error {
	if r.batches == nil {
		r.batches = map[string][][]string{}
	}
	r.batches[stream] = append(r.batches[stream], rows(rec)...)
	return nil
}

func (r *recorder) Checkpoint(_ context.Context, stream string, state json.RawMessage) error {
	r.states = append(r.states, stream+" "+string(state))
	return nil
}

func (r *recorder) Status(_ context.Context, stream string, st sdk.Status) error {
	s := stream + " " + st.State.String()
	if st.Err != nil {
		s += ": " + st.Err.Error()
	}
	r.statuses = append(r.statuses, s)
	return nil
}

func (r *recorder) Progress(context.Context, string, sdk.Progress) error { return nil }

// timeRecord returns a one-row record with a timestamp column at t.
func timeRecord(t *testing.T, mem memory.Allocator, at time.Time) arrow.Record {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}}}, nil)
	col, err := records.Constant(mem, schema.Field(0).Type, at, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer col.Release()
	return array.NewRecord(schema, []arrow.Array{col}, 1)
}

func TestMapWriter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var rec recorder
	w := &records.MapWriter{
		Writer: &rec,
		MapBatch: func(stream string, r arrow.Record) (arrow.Record, error) {
			if stream == "bad" {
				return nil, errors.New("no such column")
			}
			return records.Filter(mem, r, func(i int) bool { return i%2 == 1 })
		},
		MapStatus: func(stream string, st sdk.Status) sdk.Status {
			if st.Err != nil {
				st.Err = errors.New("explained: " + st.Err.Error())
			}
			return st
		},
	}
	in := idRecord(t, mem, 4)
	defer in.Release()
	if err := w.WriteBatch(ctx, "views", in); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBatch(ctx, "bad", in); err == nil || !strings.Contains(err.Error(), "stream bad: no such column") {
		t.Errorf("WriteBatch = %v, want the stream's error", err)
	}
	if err := w.Checkpoint(ctx, "views", json.RawMessage(`{"page":2}`)); err != nil {
		t.Fatal(err)
	}
	for _, st := range []sdk.Status{{State: sdk.Started}, {State: sdk.Failed, Err: errors.New("401")}} {
		if err := w.Status(ctx, "views", st); err != nil {
			t.Fatal(err)
		}
	}
	want := recorder{
		batches:  map[string][][]string{"views": {rows(in)[1], rows(in)[3]}},
		states:   []string{`views {"page":2}`},
		statuses: []string{"views " + sdk.Started.String(), "views " + sdk.Failed.String() + ": explained: 401"},
	}
	if diff := cmp.Diff(want, rec, cmp.AllowUnexported(recorder{})); diff != "" {
		t.Errorf("written mismatch (-want +got):\n%s", diff)
	}
}

func TestWallClockWriter(t *testing.T) {
	t.Parallel()
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	wall := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC) // 10:00 as written, without a zone
	tests := []struct {
		name    string
		loc     *time.Location
		streams []string
		same    bool              // the Writer itself comes back
		want    map[string]string // stream: the instant written
	}{
		{"utc: no wrapper", time.UTC, nil, true, map[string]string{"a": "2026-03-01 10:00:00Z", "b": "2026-03-01 10:00:00Z"}},
		{"nil: no wrapper", nil, []string{"a"}, true, map[string]string{"a": "2026-03-01 10:00:00Z", "b": "2026-03-01 10:00:00Z"}},
		{"every stream", kolkata, nil, false, map[string]string{"a": "2026-03-01 04:30:00Z", "b": "2026-03-01 04:30:00Z"}},
		{"one stream", kolkata, []string{"a"}, false, map[string]string{"a": "2026-03-01 04:30:00Z", "b": "2026-03-01 10:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			var rec recorder
			w := records.WallClockWriter(&rec, mem, tt.loc, tt.streams...)
			if (w == sdk.Writer(&rec)) != tt.same {
				t.Errorf("returned the Writer itself: %v, want %v", w == sdk.Writer(&rec), tt.same)
			}
			in := timeRecord(t, mem, wall)
			defer in.Release()
			got := map[string]string{}
			for _, s := range []string{"a", "b"} {
				if err := w.WriteBatch(context.Background(), s, in); err != nil {
					t.Fatal(err)
				}
				got[s] = rec.batches[s][0][0]
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("times mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseZone(t *testing.T) {
	t.Parallel()
	if _, err := time.LoadLocation("Asia/Kolkata"); err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	tests := []struct {
		name string
		want string // the zone's name; "" for an error
	}{
		{"", "UTC"},
		{"UTC", "UTC"},
		{"Asia/Kolkata", "Asia/Kolkata"},
		{"Local", ""},
		{"Mars/Olympus", ""},
		{"+05:30", ""},
	}
	for _, tt := range tests {
		loc, err := records.ParseZone(tt.name)
		switch {
		case tt.want == "" && (err == nil || !strings.Contains(err.Error(), "not an IANA time zone")):
			t.Errorf("ParseZone(%q) = %v, %v; want an error", tt.name, loc, err)
		case tt.want != "" && (err != nil || loc.String() != tt.want):
			t.Errorf("ParseZone(%q) = %v, %v; want %s", tt.name, loc, err, tt.want)
		}
	}
}
