package sink

import (
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Names of the lineage columns that AddLineage appends to every record.
const (
	ExtractedAtColumn = "_quiver_extracted_at" // timestamp[us, UTC]: when the run extracted the row
	RunIDColumn       = "_quiver_run_id"       // string: the run that extracted the row
)

var (
	extractedAtType  = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	extractedAtField = arrow.Field{Name: ExtractedAtColumn, Type: extractedAtType}
	runIDField       = arrow.Field{Name: RunIDColumn, Type: arrow.BinaryTypes.String}
)

// LineageSchema returns s with the two lineage columns appended:
// _quiver_extracted_at (timestamp[us, UTC], non-null) and _quiver_run_id
// (string, non-null). The schema metadata is kept. s should not already
// have them.
func LineageSchema(s *arrow.Schema) *arrow.Schema {
	fields := make([]arrow.Field, 0, s.NumFields()+2)
	fields = append(fields, s.Fields()...)
	fields = append(fields, extractedAtField, runIDField)
	md := s.Metadata()
	return arrow.NewSchema(fields, &md)
}

// AddLineage returns a new record: rec's columns followed by the lineage
// columns, every row holding at (truncated to microseconds) and runID. Its
// schema is LineageSchema(rec.Schema()). rec is untouched; the caller
// releases both records. The lineage columns are built directly from
// buffers filled with the constant, without builders. The run ID column
// holds len(runID)*rows bytes, which must stay below 2 GiB (a 36-byte run
// ID allows 59 million rows per record; batches are far smaller).
func AddLineage(mem memory.Allocator, rec arrow.Record, runID string, at time.Time) arrow.Record {
	n := int(rec.NumRows())
	ts := constantTimestamps(mem, n, at.UnixMicro())
	defer ts.Release()
	ids := constantStrings(mem, n, runID)
	defer ids.Release()
	cols := make([]arrow.Array, 0, rec.NumCols()+2)
	cols = append(cols, rec.Columns()...)
	cols = append(cols, ts, ids)
	return array.NewRecord(LineageSchema(rec.Schema()), cols, int64(n))
}

// constantTimestamps returns a timestamp[us, UTC] array of n copies of v.
func constantTimestamps(mem memory.Allocator, n int, v int64) arrow.Array {
	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(n * arrow.Int64SizeBytes)
	vals := arrow.Int64Traits.CastFromBytes(buf.Bytes())
	for i := range vals {
		vals[i] = v
	}
	data := array.NewData(extractedAtType, n, []*memory.Buffer{nil, buf}, nil, 0, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

// constantStrings returns a string array of n copies of s.
func constantStrings(mem memory.Allocator, n int, s string) arrow.Array {
	offsets := memory.NewResizableBuffer(mem)
	defer offsets.Release()
	offsets.Resize((n + 1) * arrow.Int32SizeBytes)
	offs := arrow.Int32Traits.CastFromBytes(offsets.Bytes())
	for i := range offs {
		offs[i] = int32(i * len(s))
	}
	values := memory.NewResizableBuffer(mem)
	defer values.Release()
	values.Resize(n * len(s))
	b := values.Bytes()
	if len(b) > 0 {
		// Fill by doubling: log2(n) copies instead of n.
		filled := copy(b, s)
		for filled < len(b) {
			filled += copy(b[filled:], b[:filled])
		}
	}
	data := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{nil, offsets, values}, nil, 0, 0)
	defer data.Release()
	return array.MakeFromData(data)
}
