package sink

import (
	"context"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
)

// TestCountRows counts the rows of a file of each format written twice
// with the test rows, whose CSV form has a quoted line break, and reads the
// Parquet and Arrow files back with OpenFile.
func TestCountRows(t *testing.T) {
	for _, format := range []Format{Parquet, Arrow, JSONL, CSV} {
		t.Run(string(format), func(t *testing.T) {
			mem := newAllocator(t)
			rec := testRecord(t, mem)
			f := writePart(t, t.TempDir(), Options{Format: format, Allocator: mem}, rec, rec)
			n, err := CountRows(f.Final)
			if err != nil || n != 2*rec.NumRows() {
				t.Errorf("CountRows(%s) = %d, %v; want %d", format, n, err, 2*rec.NumRows())
			}
			if !format.Readable() {
				if _, err := OpenFile(context.Background(), f.Final, mem); err == nil {
					t.Errorf("OpenFile(%s) succeeded; want it refused", format)
				}
				return
			}
			rd, err := OpenFile(context.Background(), f.Final, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			var rows int64
			for rd.Next() {
				got := rd.Record().Schema()
				if !got.Equal(rec.Schema()) || !arrow.TypeEqual(arrow.StructOf(got.Fields()...), arrow.StructOf(rec.Schema().Fields()...), arrow.CheckMetadata()) {
					t.Errorf("schema read back %s, want %s", rd.Record().Schema(), rec.Schema())
				}
				rows += rd.Record().NumRows()
			}
			if err := rd.Err(); err != nil || rows != n {
				t.Errorf("OpenFile read %d rows, %v; want %d", rows, err, n)
			}
		})
	}
}
