package records_test

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/sdk/records"
)

func TestConstant(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		dt   arrow.DataType
		v    any
		want string // ValueStr of every row; "" for an error
	}{
		{"int64 parent id", arrow.PrimitiveTypes.Int64, int64(4711), "4711"},
		{"int view id", arrow.PrimitiveTypes.Int64, 42, "42"},
		{"int32", arrow.PrimitiveTypes.Int32, 7, "7"},
		{"float64 from an int", arrow.PrimitiveTypes.Float64, int64(3), "3"},
		{"float64", arrow.PrimitiveTypes.Float64, 2.5, "2.5"},
		{"bool", arrow.FixedWidthTypes.Boolean, true, "true"},
		{"string", arrow.BinaryTypes.String, "user-9", "user-9"},
		{"timestamp in microseconds", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, at, "2026-03-01 12:30:00Z"},
		{"timestamp in seconds", &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}, at, "2026-03-01 12:30:00Z"},
		{"date32", arrow.FixedWidthTypes.Date32, at, "2026-03-01"},
		{"nulls", arrow.PrimitiveTypes.Int64, nil, "(null)"},
		{"null timestamps", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil, "(null)"},
		{"a string for an int64", arrow.PrimitiveTypes.Int64, "4711", ""},
		{"too big for int32", arrow.PrimitiveTypes.Int32, int64(1) << 40, ""},
		{"an int for a timestamp", &arrow.TimestampType{Unit: arrow.Microsecond}, int64(5), ""},
		{"a type it has no builder case for", arrow.PrimitiveTypes.Uint8, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			for _, n := range []int{0, 1, 5} {
				got, err := records.Constant(mem, tt.dt, tt.v, n)
				if tt.want == "" {
					if err == nil || !strings.Contains(err.Error(), "does not fit") {
						t.Fatalf("Constant = %v, want a does-not-fit error", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got.Len() != n || !arrow.TypeEqual(got.DataType(), tt.dt) {
					t.Errorf("%d rows of %s, want %d of %s", got.Len(), got.DataType(), n, tt.dt)
				}
				for i := range got.Len() {
					if s := got.ValueStr(i); s != tt.want {
						t.Errorf("row %d = %s, want %s", i, s, tt.want)
					}
				}
				got.Release()
			}
		})
	}
}
