package connectortest

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

// TestExpect: every plausible shape of a value gives the row Row reads
// from the batch a connector builds of it; columns are found by their
// JSON key at any depth.
func TestExpect(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	jsonKey := func(k string) arrow.Metadata { return arrow.NewMetadata([]string{metaJSON}, []string{k}) }
	point := arrow.StructOf(arrow.Field{Name: "latitude", Type: arrow.PrimitiveTypes.Float64, Nullable: true, Metadata: jsonKey("lat")})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "Record ID", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true, Metadata: jsonKey("Amount")},
		{Name: "Due", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "At", Type: ts, Nullable: true},
		{Name: "Tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "Where", Type: point, Nullable: true},
		{Name: "Paid", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "_quiver_run_id", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	at := time.Date(2024, 3, 6, 0, 22, 10, 0, time.UTC)
	recs := []map[string]any{
		{"id": 51.0, "Record ID": "51", "Amount": 10.5, "Due": "2024-03-05", "At": "2024-03-05T17:22:10-07:00", "Tags": []any{"CA"}, "Where": map[string]any{"lat": 39.5}, "Paid": true},
		{"id": "51", "Record ID": 51.0, "Amount": "10.5", "Due": "2024-03-05T00:00:00-07:00", "At": "2024-03-06T00:22:10.000Z", "Tags": []any{"CA"}, "Where": map[string]any{"lat": 39.5}, "Paid": true},
		{"id": int64(51), "Record ID": "51", "Amount": 10.5, "Due": time.Date(2024, 3, 5, 9, 0, 0, 0, time.UTC), "At": "2024-03-06 00:22:10", "Tags": []any{"CA"}, "Where": map[string]any{"lat": 39.5}, "Paid": true},
		{"id": 51, "Record ID": "51", "Amount": 10.5, "Due": "2024-03-05", "At": at.In(time.FixedZone("x", 3600)), "Tags": []any{"CA"}, "Where": map[string]any{"lat": 39.5}, "Paid": true},
	}
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(51)
	b.Field(1).(*array.StringBuilder).Append("51")
	b.Field(2).(*array.Float64Builder).Append(10.5)
	b.Field(3).(*array.Date32Builder).Append(arrow.Date32FromTime(time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)))
	ats, _ := arrow.TimestampFromTime(at, arrow.Microsecond)
	b.Field(4).(*array.TimestampBuilder).Append(ats)
	lb := b.Field(5).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.StringBuilder).Append("CA")
	sb := b.Field(6).(*array.StructBuilder)
	sb.Append(true)
	sb.FieldBuilder(0).(*array.Float64Builder).Append(39.5)
	b.Field(7).(*array.BooleanBuilder).Append(true)
	b.Field(8).(*array.StringBuilder).Append("run")
	rec := b.NewRecord()
	defer rec.Release()
	got := Row(rec, 0)
	delete(got, "_quiver_run_id")
	for i, r := range recs {
		want, err := Expect(schema, r)
		if err != nil {
			t.Fatalf("Expect(shape %d): %v", i, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("shape %d mismatch (-want +got):\n%s", i, diff)
		}
	}
	for _, bad := range []map[string]any{{"id": true}, {"Paid": "yes"}, {"At": "yesterday"}, {"Tags": "CA"}, {"Where": 1.0}} {
		if _, err := Expect(schema, bad); err == nil {
			t.Errorf("Expect(%v): no error", bad)
		}
	}
}
