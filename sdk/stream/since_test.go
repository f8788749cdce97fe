package stream

import (
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
)

// sinceStream is a stream keyed by id with an updated_at cursor, read in
// the year after the records' changes.
func sinceStream(t *testing.T) *Stream {
	t.Helper()
	return sinceStreamAt(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
}

// sinceStreamAt is sinceStream read at now.
func sinceStreamAt(t *testing.T, now time.Time) *Stream {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "updated_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	}, nil)
	st := &Stream{Name: "entries", Schema: schema, PrimaryKey: []string{"id"}, CursorField: "updated_at",
		Request: Get("/v2/entries", url.Values{"is_active": {"true"}})}
	if err := UpdatedSince(st, "updated_since", SinceOptions{Now: func() time.Time { return now }}); err != nil {
		t.Fatal(err)
	}
	return st
}

// keepIDs decodes body as a page of st and returns the ids st.Select keeps.
func keepIDs(t *testing.T, st *Stream, body string) []int64 {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dec := records.NewDecoder(mem, st.Schema, records.Options{Records: []string{"data"}})
	defer dec.Release()
	p, err := dec.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Record.Release()
	rec, err := st.Select(p)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	return slices.Clone(rec.Column(0).(*array.Int64).Int64Values())
}

// TestUpdatedSince reads a listing twice, newest first, and checks that
// the second read asks from the first's mark and drops only the records
// the first read at it, with a filter that includes its bound.
func TestUpdatedSince(t *testing.T) {
	t.Parallel()
	st := sinceStream(t)
	req, err := st.Request(nil)
	if err != nil || req.Query.Get("updated_since") != "" || req.Query.Get("is_active") != "true" {
		t.Fatalf("first request %+v, %v: want no filter, and the stream's own query", req, err)
	}
	if st.Checkpoint != nil {
		t.Error("Checkpoint is set: the mark must only move at the end")
	}
	for _, page := range []string{
		`{"data":[{"id":5,"updated_at":"2024-03-01T10:00:00Z"},{"id":4,"updated_at":"2024-03-02T09:00:00Z"}]}`,
		`{"data":[{"id":3,"updated_at":"2024-03-02T09:00:00Z"},{"id":2,"updated_at":null},{"id":1,"updated_at":"2024-01-01T00:00:00Z"}]}`,
	} {
		if got := keepIDs(t, st, page); len(got) == 0 {
			t.Fatalf("first read dropped records of %s", page)
		}
	}
	state, err := st.Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	var saved struct {
		Mark string   `json:"mark"`
		Keys []string `json:"keys"`
	}
	if err := json.Unmarshal(state, &saved); err != nil || saved.Mark != "2024-03-02T09:00:00Z" || !slices.Equal(saved.Keys, []string{"4", "3"}) {
		t.Fatalf("state %s (%v): want the latest updated_at and ids 4 and 3", state, err)
	}

	next := sinceStream(t) // declared anew for the next read
	req, err = next.Request(state)
	if err != nil || req.Query.Get("updated_since") != "2024-03-02T09:00:00Z" || req.Query.Get("is_active") != "true" {
		t.Fatalf("next request %+v, %v: want updated_since from the mark, and the stream's own query", req, err)
	}
	got := keepIDs(t, next, `{"data":[{"id":6,"updated_at":"2024-03-02T09:00:00Z"},{"id":4,"updated_at":"2024-03-02T09:00:00Z"},{"id":3,"updated_at":"2024-03-03T00:00:00Z"}]}`)
	if want := []int64{6, 3}; !slices.Equal(got, want) {
		t.Errorf("next read kept %v, want %v: 4 was read at the mark, 6 is new at it, 3 changed since", got, want)
	}
	if state, _ := next.Finish(nil); string(state) != `{"mark":"2024-03-03T00:00:00Z","keys":["3"]}` {
		t.Errorf("next state %s", state)
	}
	if again, _ := sinceStream(t).Finish(nil); again != nil {
		t.Errorf("a read of nothing checkpoints %s, want none", again)
	}
}

// TestUpdatedSince_ChangedDuringRead: a record changed while the read goes
// on (after its own page was read, say, while another changed later shows
// up on a later page) must not be hidden by the later change: the mark
// stays a margin before the read's start, and the next read lists both.
func TestUpdatedSince_ChangedDuringRead(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, 3, 2, 9, 0, 30, 0, time.UTC) // the margin is a minute
	st := sinceStreamAt(t, start)
	if _, err := st.Request(nil); err != nil {
		t.Fatal(err)
	}
	got := keepIDs(t, st, `{"data":[{"id":7,"updated_at":"2024-03-02T09:00:20Z"},{"id":5,"updated_at":"2024-03-02T08:59:30Z"},{"id":4,"updated_at":"2024-03-01T10:00:00Z"}]}`)
	if len(got) != 3 {
		t.Fatalf("kept %v, want every record", got)
	}
	state, err := st.Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"mark":"2024-03-02T08:59:30Z","keys":["5"]}`; string(state) != want {
		t.Errorf("state %s, want %s: not past the read's start less the margin", state, want)
	}
	next := sinceStream(t)
	if req, _ := next.Request(state); req.Query.Get("updated_since") != "2024-03-02T08:59:30Z" {
		t.Errorf("next request asks from %q", req.Query.Get("updated_since"))
	}
	// Record 6 changed at 09:00:10, after its page was read: the next read
	// lists it, with 7 again.
	if got := keepIDs(t, next, `{"data":[{"id":7,"updated_at":"2024-03-02T09:00:20Z"},{"id":6,"updated_at":"2024-03-02T09:00:10Z"},{"id":5,"updated_at":"2024-03-02T08:59:30Z"}]}`); !slices.Equal(got, []int64{7, 6}) {
		t.Errorf("next read kept %v, want 7 and 6", got)
	}
}

func TestUpdatedSince_Errors(t *testing.T) {
	t.Parallel()
	st := sinceStream(t)
	for _, bad := range []string{`[1]`, `{"mark":"yesterday"}`, `{"keys":["1"]}`} {
		if _, err := st.Request(json.RawMessage(bad)); !errors.Is(err, sdk.ErrConfig) {
			t.Errorf("state %s: error %v, want sdk.ErrConfig", bad, err)
		}
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "day", Type: arrow.FixedWidthTypes.Date32}}, nil)
	for _, st := range []*Stream{
		{Name: "a", Schema: schema, PrimaryKey: []string{"id"}, CursorField: "day"},
		{Name: "b", Schema: schema, PrimaryKey: []string{"id"}, CursorField: "missing"},
		{Name: "c", Schema: sinceStream(t).Schema, PrimaryKey: []string{"id", "updated_at"}, CursorField: "updated_at"},
	} {
		if err := UpdatedSince(st, "since", SinceOptions{}); !errors.Is(err, sdk.ErrConfig) {
			t.Errorf("stream %s: error %v, want sdk.ErrConfig", st.Name, err)
		}
	}
}

// TestPerRead checks that every Declare, and the catalog, get streams of
// their own.
func TestPerRead(t *testing.T) {
	t.Parallel()
	calls := 0
	d := PerRead(func() ([]*Stream, error) { calls++; return []*Stream{sinceStream(t)}, nil })
	a, err := d.Declare(t.Context(), sdk.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := d.Declare(t.Context(), sdk.ReadRequest{})
	if a.Streams[0] == b.Streams[0] {
		t.Error("two reads share a declaration")
	}
	cat, err := d.Catalog(t.Context())
	if err != nil || len(cat) != 1 || cat[0].Name != "entries" || calls != 3 {
		t.Errorf("Catalog = %v, %v after %d calls", cat, err, calls)
	}
	failing := PerRead(func() ([]*Stream, error) { return nil, sdk.ErrConfig })
	if _, err := failing.Catalog(t.Context()); !errors.Is(err, sdk.ErrConfig) {
		t.Errorf("Catalog error %v, want the declaration's", err)
	}
	if _, err := failing.Declare(t.Context(), sdk.ReadRequest{}); !errors.Is(err, sdk.ErrConfig) {
		t.Errorf("Declare error %v, want the declaration's", err)
	}
}
