package trackviatest

import (
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/internal/arrowtest"
)

func TestExpectAndRow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	point := arrow.StructOf(arrow.Field{Name: "latitude", Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "Record ID", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "Amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "Due", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "At", Type: ts, Nullable: true},
		{Name: "Tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "Where", Type: point, Nullable: true},
		{Name: "_quiver_run_id", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	// Both shapes of docs/vendors/trackvia.md#field-types-and-values for
	// each value.
	recs := []map[string]any{
		{"id": 51.0, "Record ID": "51", "Amount": 10.5, "Due": "2024-03-05", "At": "2024-03-05T17:22:10-07:00", "Tags": []any{"CA"}, "Where": map[string]any{"latitude": 39.5}},
		{"id": "51", "Record ID": 51.0, "Amount": "10.5", "Due": "2024-03-05T00:00:00-07:00", "At": "2024-03-06T00:22:10.000Z", "Tags": []any{"CA"}, "Where": map[string]any{"latitude": 39.5}},
	}
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(51)
	b.Field(1).(*array.StringBuilder).Append("51")
	b.Field(2).(*array.Float64Builder).Append(10.5)
	b.Field(3).(*array.Date32Builder).Append(arrow.Date32FromTime(time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)))
	at, _ := arrow.TimestampFromTime(time.Date(2024, 3, 6, 0, 22, 10, 0, time.UTC), arrow.Microsecond)
	b.Field(4).(*array.TimestampBuilder).Append(at)
	lb := b.Field(5).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.StringBuilder).Append("CA")
	sb := b.Field(6).(*array.StructBuilder)
	sb.Append(true)
	sb.FieldBuilder(0).(*array.Float64Builder).Append(39.5)
	b.Field(7).(*array.StringBuilder).Append("run")
	rec := b.NewRecord()
	defer rec.Release()
	got := arrowtest.Row(rec, 0)
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
	if _, err := Expect(schema, map[string]any{"id": true}); err == nil {
		t.Error("Expect of a bool id: no error")
	}
}
