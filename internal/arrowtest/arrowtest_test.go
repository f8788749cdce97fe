package arrowtest

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"
)

func TestRow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "pos", Type: arrow.StructOf(arrow.Field{Name: "lat", Type: arrow.PrimitiveTypes.Float64}), Nullable: true},
	}, nil)
	rec, _, err := array.RecordFromJSON(mem, schema, strings.NewReader(
		`[{"id":1,"ok":true,"at":"2025-01-02T03:04:05Z","day":"2025-01-02","tags":["a"],"pos":{"lat":1.5}},
		  {"id":2,"ok":null,"at":null,"day":null,"tags":[],"pos":null}]`))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	want := []map[string]any{
		{"id": int64(1), "ok": true, "at": time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
			"day": time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC), "tags": []any{"a"}, "pos": map[string]any{"lat": 1.5}},
		{"id": int64(2), "ok": nil, "at": nil, "day": nil, "tags": []any{}, "pos": nil},
	}
	for i, w := range want {
		if diff := cmp.Diff(w, Row(rec, i)); diff != "" {
			t.Errorf("Row(rec, %d) mismatch (-want +got):\n%s", i, diff)
		}
	}
}
