package sink

import (
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// benchSchema is a 15-column record shaped like a typical vendor entity
// (perf_rel.md §A3's fixture plus a few columns).
func benchSchema() *arrow.Schema {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	str := arrow.BinaryTypes.String
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: str},
		{Name: "email", Type: str},
		{Name: "status", Type: str},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
		{Name: "quantity", Type: arrow.PrimitiveTypes.Int64},
		{Name: "active", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "created_at", Type: ts},
		{Name: "updated_at", Type: ts},
		{Name: "notes", Type: str, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(str)},
		{Name: "address", Type: arrow.StructOf(
			arrow.Field{Name: "street", Type: str},
			arrow.Field{Name: "city", Type: str},
			arrow.Field{Name: "region", Type: str},
			arrow.Field{Name: "postal_code", Type: str},
		)},
		{Name: "hired_on", Type: arrow.FixedWidthTypes.Date32},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "site_id", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
}

// benchRecords builds total rows as records of batch rows.
func benchRecords(mem memory.Allocator, total, batch int) []arrow.Record {
	b := array.NewRecordBuilder(mem, benchSchema())
	defer b.Release()
	statuses := []string{"active", "inactive", "on_leave", "terminated"}
	cities := []string{"Montréal", "Toronto", "Calgary", "Vancouver", "Halifax"}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	var recs []arrow.Record
	for i := range total {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("Employee %d Lastname%d", i, i*7919%100003))
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("employee.%d@example-%d.com", i, i%97))
		b.Field(3).(*array.StringBuilder).Append(statuses[i%len(statuses)])
		b.Field(4).(*array.Float64Builder).Append(float64(i%100000) / 100)
		b.Field(5).(*array.Int64Builder).Append(int64(i % 1000))
		b.Field(6).(*array.BooleanBuilder).Append(i%3 != 0)
		b.Field(7).(*array.TimestampBuilder).Append(arrow.Timestamp(base + int64(i)*1_234_567))
		b.Field(8).(*array.TimestampBuilder).Append(arrow.Timestamp(base + int64(i)*2_345_678))
		if i%3 == 0 {
			b.Field(9).(*array.StringBuilder).Append(fmt.Sprintf("Note %d: called \"back\"\nsee ticket #%d — ok", i, i*31))
		} else {
			b.Field(9).AppendNull()
		}
		lb := b.Field(10).(*array.ListBuilder)
		lb.Append(true)
		for j := range i % 4 {
			lb.ValueBuilder().(*array.StringBuilder).Append(fmt.Sprintf("tag%d", (i+j)%50))
		}
		sb := b.Field(11).(*array.StructBuilder)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.StringBuilder).Append(fmt.Sprintf("%d Rue Principale", i%5000))
		sb.FieldBuilder(1).(*array.StringBuilder).Append(cities[i%len(cities)])
		sb.FieldBuilder(2).(*array.StringBuilder).Append("QC")
		sb.FieldBuilder(3).(*array.StringBuilder).Append(fmt.Sprintf("H%dA %dB%d", i%10, i%10, i%7))
		b.Field(12).(*array.Date32Builder).Append(arrow.Date32(18000 + i%3000))
		if i%5 == 0 {
			b.Field(13).AppendNull()
		} else {
			b.Field(13).(*array.Float64Builder).Append(float64(i%1000) / 10)
		}
		b.Field(14).(*array.Int64Builder).Append(int64(i % 250))
		if (i+1)%batch == 0 || i == total-1 {
			recs = append(recs, b.NewRecord())
		}
	}
	return recs
}

// BenchmarkParquet writes 200k rows of a 15-column record to a Parquet
// part, including Finish's fsync, in records of an API page's size (1,000
// rows) and of ten pages. SetBytes is the size of the same rows as JSON
// Lines, so MB/s compares with perf_rel.md §A3.3.
func BenchmarkParquet(b *testing.B) {
	for _, batch := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchParquet(b, batch) })
	}
}

func benchParquet(b *testing.B, batch int) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(b, 0)
	recs := benchRecords(mem, 200_000, batch)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	b.SetBytes(jsonSize(b, recs))
	dir := b.TempDir()
	b.ResetTimer()
	var size int64
	for i := range b.N {
		p, err := Create(dir, fmt.Sprintf("part-%d", i), recs[0].Schema(), Options{Format: Parquet, Allocator: mem})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			if err := p.Write(r); err != nil {
				b.Fatal(err)
			}
		}
		f, err := p.Finish()
		if err != nil {
			b.Fatal(err)
		}
		size = f.Bytes
		os.Remove(f.Temp)
	}
	b.ReportMetric(float64(size)/float64(jsonSize(b, recs)), "size/json")
}

// jsonSize returns the size of recs rendered as JSON Lines.
func jsonSize(tb testing.TB, recs []arrow.Record) int64 {
	tb.Helper()
	w := &countingWriter{w: io.Discard}
	enc, err := newJSONLEncoder(w, recs[0].Schema())
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range recs {
		if err := enc.write(r); err != nil {
			tb.Fatal(err)
		}
	}
	return w.n
}
