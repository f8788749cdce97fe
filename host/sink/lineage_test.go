package sink

import (
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

func TestLineageSchema(t *testing.T) {
	s := LineageSchema(testSchema())
	n := s.NumFields()
	if got := s.Field(n - 2); got.Name != ExtractedAtColumn || got.Nullable ||
		!arrow.TypeEqual(got.Type, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}) {
		t.Errorf("field %d = %v, want %s timestamp[us, UTC] non-null", n-2, got, ExtractedAtColumn)
	}
	if got := s.Field(n - 1); got.Name != RunIDColumn || got.Nullable || got.Type.ID() != arrow.STRING {
		t.Errorf("field %d = %v, want %s string non-null", n-1, got, RunIDColumn)
	}
	if v, _ := s.Metadata().GetValue("quiver:stream"); v != "employees" {
		t.Errorf("schema metadata lost: %v", s.Metadata())
	}
	if testSchema().NumFields() != n-2 {
		t.Error("LineageSchema changed its argument")
	}
}

func TestAddLineage(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("EST", -5*3600))
	for _, tc := range []struct {
		name  string
		runID string
		rows  int64
	}{
		{"rows", "20260304T100607Z-3f2a", 4},
		{"no rows", "r1", 0},
		{"empty run id", "", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := newAllocator(t)
			full := testRecord(t, mem)
			rec := full.NewSlice(0, tc.rows)
			defer rec.Release()

			out := AddLineage(mem, rec, tc.runID, at)
			defer out.Release()
			if !out.Schema().Equal(LineageSchema(rec.Schema())) {
				t.Fatalf("schema = %s", out.Schema())
			}
			if out.NumRows() != tc.rows || rec.NumCols() != 8 || out.NumCols() != 10 {
				t.Fatalf("rows %d cols %d (input cols %d)", out.NumRows(), out.NumCols(), rec.NumCols())
			}
			for c := range int(rec.NumCols()) {
				if out.Column(c) != rec.Column(c) {
					t.Errorf("column %d is not the input's array", c)
				}
			}
			ts := out.Column(8).(*array.Timestamp)
			ids := out.Column(9).(*array.String)
			for i := range int(tc.rows) {
				if got := ts.Value(i).ToTime(arrow.Microsecond); !got.Equal(at.Truncate(time.Microsecond)) {
					t.Errorf("row %d extracted_at = %v, want %v", i, got, at)
				}
				if ids.Value(i) != tc.runID {
					t.Errorf("row %d run_id = %q, want %q", i, ids.Value(i), tc.runID)
				}
			}
			if ts.NullN() != 0 || ids.NullN() != 0 {
				t.Error("lineage columns have nulls")
			}
		})
	}
}

// The lineage columns go through every format.
func TestAddLineage_Formats(t *testing.T) {
	for _, format := range []Format{Parquet, Arrow, JSONL, CSV} {
		t.Run(string(format), func(t *testing.T) {
			mem := newAllocator(t)
			out := AddLineage(mem, testRecord(t, mem), "r1", time.Unix(1_700_000_000, 0))
			defer out.Release()
			writePart(t, t.TempDir(), Options{Format: format, Allocator: mem}, out)
		})
	}
}

func BenchmarkAddLineage(b *testing.B) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	b.Cleanup(func() { mem.AssertSize(b, 0) }) // after makeBatches' cleanup
	recs := makeBatches(b, mem, 1, 10_000, 8)
	at := time.Now()
	b.ResetTimer()
	for range b.N {
		AddLineage(mem, recs[0], "20260304T100607Z-3f2a9c", at).Release()
	}
}
