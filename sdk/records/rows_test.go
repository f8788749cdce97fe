package records_test

import (
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/sdk/records"
)

// idRecord returns a record of n rows: id 0..n-1, name "r<id>" (null for
// every third row), and a list column, so that filtering copes with
// validity bitmaps and nested offsets.
func idRecord(t *testing.T, mem memory.Allocator, n int) arrow.Record {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	tags := b.Field(2).(*array.ListBuilder)
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%3 == 2 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append("r" + strings.Repeat("x", i))
		}
		tags.Append(true)
		for range i % 2 {
			tags.ValueBuilder().(*array.StringBuilder).Append("t")
		}
	}
	return b.NewRecord()
}

// TestFilterGather: Filter keeps the rows asked for, returning the record
// itself when it keeps all; Gather returns runs in the order given, a
// single run as a slice sharing rec's buffers.
func TestFilterGather(t *testing.T) {
	t.Parallel()
	filter := func(keep func(i int) bool) func(memory.Allocator, arrow.Record) (arrow.Record, error) {
		return func(mem memory.Allocator, rec arrow.Record) (arrow.Record, error) {
			return records.Filter(mem, rec, keep)
		}
	}
	gather := func(runs ...records.Run) func(memory.Allocator, arrow.Record) (arrow.Record, error) {
		return func(mem memory.Allocator, rec arrow.Record) (arrow.Record, error) {
			return records.Gather(mem, rec, runs)
		}
	}
	tests := []struct {
		name  string
		op    func(memory.Allocator, arrow.Record) (arrow.Record, error)
		want  []int
		whole bool // the record itself comes back
	}{
		{"filter all", filter(func(int) bool { return true }), []int{0, 1, 2, 3, 4, 5, 6}, true},
		{"filter none", filter(func(int) bool { return false }), nil, false},
		{"filter one run at the start", filter(func(i int) bool { return i < 3 }), []int{0, 1, 2}, false},
		{"filter one run at the end", filter(func(i int) bool { return i >= 5 }), []int{5, 6}, false},
		{"filter every other row", filter(func(i int) bool { return i%2 == 0 }), []int{0, 2, 4, 6}, false},
		{"filter two runs", filter(func(i int) bool { return i < 2 || i > 4 }), []int{0, 1, 5, 6}, false},
		{"gather no runs", gather(), nil, false},
		{"gather one run", gather(records.Run{Start: 2, End: 5}), []int{2, 3, 4}, false},
		{"gather out of order", gather(records.Run{Start: 4, End: 6}, records.Run{Start: 0, End: 1}, records.Run{Start: 2, End: 3}), []int{4, 5, 0, 2}, false},
		{"gather an empty run among others", gather(records.Run{Start: 1, End: 1}, records.Run{Start: 3, End: 4}, records.Run{Start: 6, End: 7}), []int{3, 6}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rec := idRecord(t, mem, 7)
			defer rec.Release()
			got, err := tt.op(mem, rec)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Release()
			if (got == rec) != tt.whole {
				t.Errorf("returned the record itself: %v, want %v", got == rec, tt.whole)
			}
			if !got.Schema().Equal(rec.Schema()) {
				t.Errorf("schema %s, want %s", got.Schema(), rec.Schema())
			}
			want := [][]string{}
			for _, i := range tt.want {
				want = append(want, rows(rec)[i])
			}
			if diff := cmp.Diff(want, rows(got)); diff != "" {
				t.Errorf("rows mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
