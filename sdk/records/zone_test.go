package records

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"
)

func TestWallClock(t *testing.T) {
	t.Parallel()
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "at", Type: ts, Nullable: true},
		{Name: "points", Type: arrow.StructOf(arrow.Field{Name: "expiry", Type: ts, Nullable: true}), Nullable: true},
		{Name: "log", Type: arrow.ListOf(arrow.StructOf(arrow.Field{Name: "at", Type: ts, Nullable: true})), Nullable: true},
	}, nil)
	body := `[
		{"id":1,"at":"2020-04-01 10:00:00","points":{"expiry":"2021-04-01 00:00:00"},"log":[{"at":"2020-04-01 10:00:01"},{"at":null}]},
		{"id":2,"at":null,"points":null,"log":{"at":"2024-07-01 23:59:59"}},
		{"id":3,"at":"2024-01-15 12:00:00","points":{"expiry":null},"log":[]}
	]`
	tests := []struct {
		name  string
		loc   *time.Location
		slice [2]int64 // rows kept, to test offsets
		want  []string
	}{
		{"utc keeps the values", time.UTC, [2]int64{0, 3}, []string{
			"1 2020-04-01T10:00:00Z 2021-04-01T00:00:00Z [2020-04-01T10:00:01Z null]",
			"2 null null [2024-07-01T23:59:59Z]",
			"3 2024-01-15T12:00:00Z null []",
		}},
		{"kolkata is 5:30 ahead", kolkata, [2]int64{0, 3}, []string{
			"1 2020-04-01T04:30:00Z 2021-03-31T18:30:00Z [2020-04-01T04:30:01Z null]",
			"2 null null [2024-07-01T18:29:59Z]",
			"3 2024-01-15T06:30:00Z null []",
		}},
		{"new york with daylight saving, sliced", newYork, [2]int64{1, 3}, []string{
			"2 null null [2024-07-02T03:59:59Z]",
			"3 2024-01-15T17:00:00Z null []",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			dec := NewDecoder(mem, schema, Options{})
			defer dec.Release()
			p, err := dec.Decode([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Record.Release()
			in := p.Record.NewSlice(tt.slice[0], tt.slice[1])
			defer in.Release()
			out, err := WallClock(mem, in, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Release()
			if !out.Schema().Equal(dec.Schema()) {
				t.Errorf("schema changed: %v", out.Schema())
			}
			if diff := cmp.Diff(tt.want, rowsText(out)); diff != "" {
				t.Errorf("WallClock mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// rowsText renders the rows of a record of TestWallClock's schema.
func rowsText(rec arrow.Record) []string {
	ts := func(a *array.Timestamp, i int) string {
		if a.IsNull(i) {
			return "null"
		}
		return a.Value(i).ToTime(arrow.Microsecond).UTC().Format(time.RFC3339)
	}
	ids := rec.Column(0).(*array.Int64)
	at := rec.Column(1).(*array.Timestamp)
	points := rec.Column(2).(*array.Struct)
	expiry := points.Field(0).(*array.Timestamp)
	log := rec.Column(3).(*array.List)
	logAt := log.ListValues().(*array.Struct).Field(0).(*array.Timestamp)
	var out []string
	for i := range int(rec.NumRows()) {
		var entries []string
		start, end := log.ValueOffsets(i)
		for j := start; j < end; j++ {
			entries = append(entries, ts(logAt, int(j)))
		}
		exp := "null"
		if points.IsValid(i) {
			exp = ts(expiry, i)
		}
		out = append(out, fmt.Sprintf("%d %s %s %v", ids.Value(i), ts(at, i), exp, entries))
	}
	return out
}
