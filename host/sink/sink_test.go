package sink

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"
)

// testSchema covers the types the connectors emit.
func testSchema() *arrow.Schema {
	md := arrow.NewMetadata([]string{"quiver:stream"}, []string{"employees"})
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "location", Type: arrow.StructOf(
			arrow.Field{Name: "latitude", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
			arrow.Field{Name: "longitude", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		), Nullable: true},
	}, &md)
}

const testRows = `[
{"id":1,"amount":12.5,"active":true,"name":"Alice, \"A\"\nline2","day":"2024-02-29","at":"2024-03-01T12:34:56.789012Z","tags":["a","b"],"location":{"latitude":45.5,"longitude":-73.6}},
{"id":2,"amount":null,"active":null,"name":null,"day":null,"at":null,"tags":null,"location":null},
{"id":3,"amount":-0.001,"active":false,"name":"","day":"1969-12-31","at":"1969-12-31T23:59:59.999999Z","tags":[],"location":{"latitude":null,"longitude":1}},
{"id":4,"amount":1e21,"active":true,"name":"héllo ✓","day":"2000-01-01","at":"2000-01-01T00:00:00Z","tags":["x",null],"location":{"latitude":0,"longitude":0}}
]`

// wantJSONL is testRows as the JSONL writer renders them.
var wantJSONL = []string{
	`{"id":1,"amount":12.5,"active":true,"name":"Alice, \"A\"\nline2","day":"2024-02-29","at":"2024-03-01T12:34:56.789012Z","tags":["a","b"],"location":{"latitude":45.5,"longitude":-73.6}}`,
	`{"id":2,"amount":null,"active":null,"name":null,"day":null,"at":null,"tags":null,"location":null}`,
	`{"id":3,"amount":-0.001,"active":false,"name":"","day":"1969-12-31","at":"1969-12-31T23:59:59.999999Z","tags":[],"location":{"latitude":null,"longitude":1}}`,
	`{"id":4,"amount":1e+21,"active":true,"name":"héllo ✓","day":"2000-01-01","at":"2000-01-01T00:00:00.000000Z","tags":["x",null],"location":{"latitude":0,"longitude":0}}`,
}

// wantCSV is testRows as the CSV writer renders them, parsed back.
var wantCSV = [][]string{
	{"id", "amount", "active", "name", "day", "at", "tags", "location"},
	{"1", "12.5", "true", "Alice, \"A\"\nline2", "2024-02-29", "2024-03-01T12:34:56.789012Z", `["a","b"]`, `{"latitude":45.5,"longitude":-73.6}`},
	{"2", "", "", "", "", "", "", ""},
	{"3", "-0.001", "false", "", "1969-12-31", "1969-12-31T23:59:59.999999Z", "[]", `{"latitude":null,"longitude":1}`},
	{"4", "1e+21", "true", "héllo ✓", "2000-01-01", "2000-01-01T00:00:00.000000Z", `["x",null]`, `{"latitude":0,"longitude":0}`},
}

func newAllocator(t *testing.T) *memory.CheckedAllocator {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func testRecord(t *testing.T, mem memory.Allocator) arrow.Record {
	t.Helper()
	rec, _, err := array.RecordFromJSON(mem, testSchema(), strings.NewReader(testRows))
	if err != nil {
		t.Fatalf("RecordFromJSON: %v", err)
	}
	t.Cleanup(rec.Release)
	return rec
}

// writePart writes recs to a new part of format in dir and publishes it.
func writePart(t *testing.T, dir string, opts Options, recs ...arrow.Record) *File {
	t.Helper()
	p, err := Create(dir, "part-r1-0001", recs[0].Schema(), opts)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer p.Abort()
	var rows int64
	for _, rec := range recs {
		if err := p.Write(rec); err != nil {
			t.Fatalf("Write: %v", err)
		}
		rows += rec.NumRows()
	}
	if p.Rows() != rows {
		t.Errorf("Rows() = %d, want %d", p.Rows(), rows)
	}
	f, err := p.Finish()
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if err := Publish(f); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return f
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Format
		ext     string
		wantErr bool
	}{
		{in: "parquet", want: Parquet, ext: ".parquet"},
		{in: "Arrow", want: Arrow, ext: ".arrow"},
		{in: " jsonl", want: JSONL, ext: ".jsonl"},
		{in: "csv", want: CSV, ext: ".csv"},
		{in: "xlsx", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFormat(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseFormat(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want || got.Ext() != tc.ext {
				t.Errorf("ParseFormat(%q) = %q (ext %q), want %q (ext %q)", tc.in, got, got.Ext(), tc.want, tc.ext)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		format Format
		check  func(t *testing.T, mem memory.Allocator, path string, want arrow.Record)
	}{
		{Parquet, checkParquet},
		{Arrow, checkArrow},
		{JSONL, checkJSONL},
		{CSV, checkCSV},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			mem := newAllocator(t)
			rec := testRecord(t, mem)
			dir := filepath.Join(t.TempDir(), "acme", "employees")
			f := writePart(t, dir, Options{Format: tc.format, Allocator: mem, Metadata: map[string]string{"quiver:run_id": "r1"}}, rec)

			if want := filepath.Join(dir, "part-r1-0001"+tc.format.Ext()); f.Final != want {
				t.Errorf("Final = %s, want %s", f.Final, want)
			}
			if f.Rows != rec.NumRows() {
				t.Errorf("File.Rows = %d, want %d", f.Rows, rec.NumRows())
			}
			fi, err := os.Stat(f.Final)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() != f.Bytes {
				t.Errorf("File.Bytes = %d, file size %d", f.Bytes, fi.Size())
			}
			if fi.Mode().Perm() != 0o644 {
				t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
			}
			assertNoTemp(t, dir)
			tc.check(t, mem, f.Final, rec)
		})
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if IsTemp(e.Name()) {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func checkParquet(t *testing.T, mem memory.Allocator, path string, want arrow.Record) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tbl, err := pqarrow.ReadTable(context.Background(), f, parquet.NewReaderProperties(mem), pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatalf("ReadTable: %v", err)
	}
	defer tbl.Release()
	// Parquet names list elements "element"; pqarrow reads them back as
	// "list". Everything else must survive.
	if !sameFields(tbl.Schema().Fields(), want.Schema().Fields()) {
		t.Fatalf("schema read back:\n%s\nwant:\n%s", tbl.Schema(), want.Schema())
	}
	ts := tbl.Schema().Field(5).Type.(*arrow.TimestampType)
	if ts.Unit != arrow.Microsecond || ts.TimeZone != "UTC" {
		t.Errorf("timestamp type = %s, want timestamp[us, tz=UTC]", ts)
	}
	compareTable(t, tbl, want)

	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	md := pf.MetaData()
	if got := md.GetCreatedBy(); got != DefaultCreatedBy {
		t.Errorf("created_by = %q, want %q", got, DefaultCreatedBy)
	}
	for _, key := range []string{"quiver:run_id", "quiver:stream", "ARROW:schema"} {
		if md.KeyValueMetadata().FindValue(key) == nil {
			t.Errorf("key-value metadata lacks %q", key)
		}
	}
	rg := md.RowGroup(0)
	for c := range rg.NumColumns() {
		cc, err := rg.ColumnChunk(c)
		if err != nil {
			t.Fatal(err)
		}
		if cc.Compression() != compress.Codecs.Zstd {
			t.Errorf("column %d codec = %v, want zstd", c, cc.Compression())
		}
		if ok, err := cc.StatsSet(); err != nil || !ok {
			t.Errorf("column %d has no statistics (err %v)", c, err)
		}
	}
}

// sameFields reports whether a and b have the same names, nullability and
// types, ignoring the names of list element fields.
func sameFields(a, b []arrow.Field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Nullable != b[i].Nullable || !sameType(a[i].Type, b[i].Type) {
			return false
		}
	}
	return true
}

func sameType(a, b arrow.DataType) bool {
	switch a := a.(type) {
	case *arrow.ListType:
		b, ok := b.(*arrow.ListType)
		return ok && a.ElemField().Nullable == b.ElemField().Nullable && sameType(a.Elem(), b.Elem())
	case *arrow.StructType:
		b, ok := b.(*arrow.StructType)
		return ok && sameFields(a.Fields(), b.Fields())
	}
	return arrow.TypeEqual(a, b)
}

// compareTable checks that tbl holds exactly the rows of want, comparing
// the columns' JSON renderings (which do not depend on field names).
func compareTable(t *testing.T, tbl arrow.Table, want arrow.Record) {
	t.Helper()
	if tbl.NumRows() != want.NumRows() {
		t.Fatalf("rows = %d, want %d", tbl.NumRows(), want.NumRows())
	}
	for c := range int(want.NumCols()) {
		chunks := tbl.Column(c).Data().Chunks()
		if len(chunks) != 1 {
			t.Fatalf("column %s has %d chunks, want 1", want.ColumnName(c), len(chunks))
		}
		got, err := chunks[0].MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		exp, err := want.Column(c).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, exp) {
			t.Errorf("column %s:\n got %s\nwant %s", want.ColumnName(c), got, exp)
		}
	}
}

func checkArrow(t *testing.T, mem memory.Allocator, path string, want arrow.Record) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
	if err != nil {
		t.Fatalf("NewFileReader: %v", err)
	}
	defer r.Close()
	if r.NumRecords() != 1 {
		t.Fatalf("NumRecords = %d, want 1", r.NumRecords())
	}
	if v, ok := r.Schema().Metadata().GetValue("quiver:run_id"); !ok || v != "r1" {
		t.Errorf("schema metadata quiver:run_id = %q, %v; want r1", v, ok)
	}
	if v, _ := r.Schema().Metadata().GetValue("quiver:stream"); v != "employees" {
		t.Errorf("schema metadata quiver:stream = %q, want employees (kept from the schema)", v)
	}
	got, err := r.Record(0)
	if err != nil {
		t.Fatal(err)
	}
	if !array.RecordEqual(got, want) {
		t.Errorf("record read back:\n%v\nwant:\n%v", got, want)
	}
}

func checkJSONL(t *testing.T, _ memory.Allocator, path string, _ arrow.Record) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if diff := cmp.Diff(wantJSONL, lines); diff != "" {
		t.Errorf("JSONL lines (-want +got):\n%s", diff)
	}
	for i, line := range lines {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Errorf("line %d is not valid JSON: %v", i+1, err)
		}
	}
}

func checkCSV(t *testing.T, _ memory.Allocator, path string, _ arrow.Record) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("parse CSV: %v", err)
	}
	if diff := cmp.Diff(wantCSV, rows); diff != "" {
		t.Errorf("CSV rows (-want +got):\n%s", diff)
	}
	// A null is an empty field; an empty string is "".
	if !bytes.Contains(data, []byte("\r\n2,,,,,,,\r\n")) || !bytes.Contains(data, []byte(`false,"",1969`)) {
		t.Errorf("CSV does not tell nulls from empty strings:\n%s", data)
	}
}

// TestTextTypes covers the rendering of types the round trip does not use.
func TestTextTypes(t *testing.T) {
	mem := newAllocator(t)
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8},
		{Name: "u64", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32},
		{Name: "nan", Type: arrow.PrimitiveTypes.Float64},
		{Name: "bin", Type: arrow.BinaryTypes.Binary},
		{Name: "ts_s", Type: &arrow.TimestampType{Unit: arrow.Second}},
		{Name: "ts_ns", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "America/Toronto"}},
		{Name: "t64", Type: arrow.FixedWidthTypes.Time64us},
		{Name: "d64", Type: arrow.FixedWidthTypes.Date64},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}},
		{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64)},
		{Name: "mi", Type: arrow.MapOf(arrow.PrimitiveTypes.Int32, arrow.BinaryTypes.String)},
		{Name: "dict", Type: dictType},
		{Name: "fsl", Type: arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Int32)},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int8Builder).Append(-8)
	b.Field(1).(*array.Uint64Builder).Append(18446744073709551615)
	b.Field(2).(*array.Float32Builder).Append(0.1)
	b.Field(3).(*array.Float64Builder).Append(math.NaN())
	b.Field(4).(*array.BinaryBuilder).Append([]byte("hi\x00"))
	b.Field(5).(*array.TimestampBuilder).Append(-1)
	b.Field(6).(*array.TimestampBuilder).Append(1_700_000_000_123_456_789)
	b.Field(7).(*array.Time64Builder).Append(arrow.Time64((13*3600 + 5*60 + 7) * 1e6))
	b.Field(8).(*array.Date64Builder).Append(arrow.Date64(19_000 * 86_400_000))
	if err := b.Field(9).(*array.Decimal128Builder).AppendValueFromString("-123.45"); err != nil {
		t.Fatal(err)
	}
	mb := b.Field(10).(*array.MapBuilder)
	mb.Append(true)
	mb.KeyBuilder().(*array.StringBuilder).Append("k")
	mb.ItemBuilder().(*array.Int64Builder).Append(1)
	mib := b.Field(11).(*array.MapBuilder)
	mib.Append(true)
	mib.KeyBuilder().(*array.Int32Builder).Append(7)
	mib.ItemBuilder().(*array.StringBuilder).AppendNull()
	if err := b.Field(12).(*array.BinaryDictionaryBuilder).AppendString("enum"); err != nil {
		t.Fatal(err)
	}
	fb := b.Field(13).(*array.FixedSizeListBuilder)
	fb.Append(true)
	fb.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{1, 2}, nil)
	rec := b.NewRecord()
	defer rec.Release()
	dir := t.TempDir()
	f := writePart(t, dir, Options{Format: JSONL}, rec)
	got, err := os.ReadFile(f.Final)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"i8":-8,"u64":18446744073709551615,"f32":0.1,"nan":"NaN","bin":"aGkA",` +
		`"ts_s":"1969-12-31T23:59:59","ts_ns":"2023-11-14T22:13:20.123456789Z","t64":"13:05:07.000000",` +
		`"d64":"2022-01-08","dec":-123.45,"m":{"k":1},"mi":[{"key":7,"value":null}],"dict":"enum","fsl":[1,2]}` + "\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("JSONL (-want +got):\n%s", diff)
	}

	f = writePart(t, filepath.Join(dir, "csv"), Options{Format: CSV}, rec)
	got, err = os.ReadFile(f.Final)
	if err != nil {
		t.Fatal(err)
	}
	wantCSV := "i8,u64,f32,nan,bin,ts_s,ts_ns,t64,d64,dec,m,mi,dict,fsl\r\n" +
		`-8,18446744073709551615,0.1,NaN,aGkA,1969-12-31T23:59:59,2023-11-14T22:13:20.123456789Z,13:05:07.000000,2022-01-08,-123.45,"{""k"":1}","[{""key"":7,""value"":null}]",enum,"[1,2]"` + "\r\n"
	if diff := cmp.Diff(wantCSV, string(got)); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
}

func TestCreate_UnsupportedType(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "iv", Type: arrow.FixedWidthTypes.MonthInterval}}, nil)
	for _, format := range []Format{JSONL, CSV} {
		t.Run(string(format), func(t *testing.T) {
			dir := t.TempDir()
			_, err := Create(dir, "p", schema, Options{Format: format})
			if err == nil || !strings.Contains(err.Error(), `column "iv"`) {
				t.Fatalf("Create error = %v, want one naming column iv", err)
			}
			assertNoTemp(t, dir)
		})
	}
}

func TestEmptyPart(t *testing.T) {
	for _, format := range []Format{Parquet, Arrow, JSONL, CSV} {
		t.Run(string(format), func(t *testing.T) {
			mem := newAllocator(t)
			dir := t.TempDir()
			p, err := Create(dir, "empty", testSchema(), Options{Format: format, Allocator: mem})
			if err != nil {
				t.Fatal(err)
			}
			f, err := p.Finish()
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if err := Publish(f); err != nil {
				t.Fatal(err)
			}
			if f.Rows != 0 {
				t.Errorf("Rows = %d, want 0", f.Rows)
			}
			if format == CSV {
				data, _ := os.ReadFile(f.Final)
				if string(data) != "id,amount,active,name,day,at,tags,location\r\n" {
					t.Errorf("empty CSV = %q, want the header", data)
				}
			}
		})
	}
}

// makeBatches returns n records of rows rows each, with a column of
// random strings of width letters, so that Parquet pages fill up.
func makeBatches(t testing.TB, mem memory.Allocator, n, rows, width int) []arrow.Record {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "blob", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	recs := make([]arrow.Record, n)
	x := uint64(88172645463325252)
	for r := range recs {
		for i := range rows {
			b.Field(0).(*array.Int64Builder).Append(int64(r*rows + i))
			s := make([]byte, width)
			for j := range s {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				s[j] = 'a' + byte(x%26)
			}
			b.Field(1).(*array.StringBuilder).Append(string(s))
		}
		recs[r] = b.NewRecord()
	}
	t.Cleanup(func() {
		for _, r := range recs {
			r.Release()
		}
	})
	return recs
}

func TestParquet_RowGroups(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      Options
		width     int
		wantGroup func(n int) bool
	}{
		{"defaults coalesce batches", Options{}, 8, func(n int) bool { return n == 1 }},
		{"cut by rows", Options{MaxRowGroupRows: 10_000}, 8, func(n int) bool { return n == 5 }},
		// Bytes count once pages are flushed: a page (1 MiB) completes or a
		// dictionary passes dictPageLimit. 3 MiB of text cut twice or more,
		// but not after every batch.
		{"cut by bytes", Options{RowGroupBytes: 256 << 10}, 64, func(n int) bool { return n > 1 && n < 50 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := newAllocator(t)
			recs := makeBatches(t, mem, 50, 1000, tc.width)
			tc.opts.Format, tc.opts.Allocator = Parquet, mem
			f := writePart(t, t.TempDir(), tc.opts, recs...)
			pf, err := file.OpenParquetFile(f.Final, false)
			if err != nil {
				t.Fatal(err)
			}
			defer pf.Close()
			if n := pf.NumRowGroups(); !tc.wantGroup(n) {
				t.Errorf("NumRowGroups = %d", n)
			}
			if pf.NumRows() != 50_000 {
				t.Errorf("NumRows = %d, want 50000", pf.NumRows())
			}
			for i := range pf.NumRowGroups() {
				if pf.MetaData().RowGroup(i).NumRows() == 0 {
					t.Errorf("row group %d is empty", i)
				}
			}
		})
	}
}

// openPart starts a part "p" in dir, aborted when the test ends, and
// writes recs to it.
func openPart(t *testing.T, dir string, opts Options, recs ...arrow.Record) Part {
	t.Helper()
	p, err := Create(dir, "p", recs[0].Schema(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Abort() })
	for _, r := range recs {
		if err := p.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestPart_Bytes(t *testing.T) {
	mem := newAllocator(t)
	recs := makeBatches(t, mem, 20, 1000, 64)
	p := openPart(t, t.TempDir(), Options{Format: Parquet, Allocator: mem}, recs...)
	// 20k rows of 64 random letters compress to about 20000*64*log2(26)/8 bytes.
	if got, min := p.Bytes(), int64(600_000); got < min {
		t.Errorf("Bytes() = %d before Finish, want at least %d", got, min)
	}
	f, err := p.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if p.Bytes() != f.Bytes {
		t.Errorf("Bytes() after Finish = %d, File.Bytes = %d", p.Bytes(), f.Bytes)
	}
}

// TestPart_WriteBuffer: a part holds at most Options.WriteBuffer bytes of
// encoded output before they reach its file (1 MiB by default), and the
// file is whole after Finish either way.
func TestPart_WriteBuffer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		buffer int
		inFile bool // bytes in the file before Finish
	}{
		{name: "default", buffer: 0},
		{name: "4 KiB", buffer: 4 << 10, inFile: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := newAllocator(t)
			recs := makeBatches(t, mem, 2, 100, 64) // ~13 KB of JSON lines
			dir := t.TempDir()
			p := openPart(t, dir, Options{Format: JSONL, Allocator: mem, WriteBuffer: tc.buffer}, recs...)
			fi, err := os.Stat(filepath.Join(dir, ".p.jsonl.tmp"))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Size() > 0; got != tc.inFile || fi.Size() > p.Bytes() || (tc.inFile && p.Bytes()-fi.Size() > int64(tc.buffer)) {
				t.Errorf("%d of %d bytes in the file before Finish; want them all but at most the %d of the buffer", fi.Size(), p.Bytes(), tc.buffer)
			}
			f, err := p.Finish()
			if err != nil {
				t.Fatal(err)
			}
			if fi, err = os.Stat(f.Temp); err != nil {
				t.Fatal(err)
			}
			if fi.Size() != f.Bytes || f.Rows != 200 {
				t.Errorf("finished file of %d bytes, %d rows; want %d bytes, 200 rows", fi.Size(), f.Rows, f.Bytes)
			}
		})
	}
}

// TestPart_StartsWriteback: a part asks for the writeback of what reached
// its file, every writebackEvery bytes, before Finish's fsync.
func TestPart_StartsWriteback(t *testing.T) {
	mem := newAllocator(t)
	recs := makeBatches(t, mem, 3, 4000, 256) // ~3 MiB of JSON lines
	dir := t.TempDir()
	p := openPart(t, dir, Options{Format: JSONL, Allocator: mem, WriteBuffer: 4 << 10}, recs...)
	fi, err := os.Stat(filepath.Join(dir, ".p.jsonl.tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.(*part).wb.started; got < fi.Size()-writebackEvery || got > fi.Size() {
		t.Errorf("writeback started for %d of the %d bytes in the file; want all but at most %d", got, fi.Size(), writebackEvery)
	}
	if _, err := p.Finish(); err != nil {
		t.Fatal(err)
	}
}

func TestPart_Abort(t *testing.T) {
	for _, format := range []Format{Parquet, Arrow, JSONL, CSV} {
		t.Run(string(format), func(t *testing.T) {
			mem := newAllocator(t)
			rec := testRecord(t, mem)
			dir := t.TempDir()
			p, err := Create(dir, "p", rec.Schema(), Options{Format: format, Allocator: mem})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Write(rec); err != nil {
				t.Fatal(err)
			}
			if err := p.Abort(); err != nil {
				t.Fatalf("Abort: %v", err)
			}
			if err := p.Abort(); err != nil {
				t.Fatalf("second Abort: %v", err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 0 {
				t.Errorf("dir not empty after Abort: %v", entries)
			}
			if err := p.Write(rec); err == nil {
				t.Error("Write after Abort succeeded")
			}
			if _, err := p.Finish(); err == nil {
				t.Error("Finish after Abort succeeded")
			}
		})
	}
}

func TestPart_AbortAfterFinishKeepsFile(t *testing.T) {
	mem := newAllocator(t)
	rec := testRecord(t, mem)
	p, err := Create(t.TempDir(), "p", rec.Schema(), Options{Format: Parquet, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(rec); err != nil {
		t.Fatal(err)
	}
	f, err := p.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.Temp); err != nil {
		t.Errorf("Abort after Finish removed the finished file: %v", err)
	}
}

func TestPart_WriteErrors(t *testing.T) {
	t.Run("schema mismatch", func(t *testing.T) {
		mem := newAllocator(t)
		rec := testRecord(t, mem)
		other := makeBatches(t, mem, 1, 1, 1)[0]
		p, err := Create(t.TempDir(), "p", rec.Schema(), Options{Format: Parquet, Allocator: mem})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Abort()
		if err := p.Write(other); err == nil || !strings.Contains(err.Error(), "schema does not match") {
			t.Fatalf("Write(other schema) = %v", err)
		}
		// A rejected record does not break the part.
		if err := p.Write(rec); err != nil {
			t.Fatalf("Write after rejected record: %v", err)
		}
	})
	for _, format := range []Format{Parquet, JSONL} {
		t.Run("io error "+string(format), func(t *testing.T) {
			mem := newAllocator(t)
			recs := makeBatches(t, mem, 5, 1000, 8)
			dir := t.TempDir()
			p, err := Create(dir, "p", recs[0].Schema(), Options{Format: format, Allocator: mem, MaxRowGroupRows: 1000})
			if err != nil {
				t.Fatal(err)
			}
			p.(*part).f.Close() // every write to the file now fails
			var werr error
			for _, r := range recs {
				if werr = p.Write(r); werr != nil {
					break
				}
			}
			if werr == nil {
				_, werr = p.Finish()
			}
			if werr == nil || !errors.Is(werr, os.ErrClosed) {
				t.Fatalf("error = %v, want one wrapping os.ErrClosed", werr)
			}
			if err := p.Write(recs[0]); err == nil {
				t.Error("Write after failure succeeded")
			}
			if err := p.Abort(); err != nil {
				t.Fatalf("Abort after failure: %v", err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 0 {
				t.Errorf("dir not empty after Abort: %v", entries)
			}
		})
	}
}

func TestCreate_Existing(t *testing.T) {
	schema := testSchema()
	dir := t.TempDir()
	p, err := Create(dir, "p", schema, Options{Format: JSONL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Create(dir, "p", schema, Options{Format: JSONL}); err == nil || !strings.Contains(err.Error(), "temporary file already exists") {
		t.Errorf("Create over a temp file: %v", err)
	}
	f, err := p.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if err := Publish(f); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(dir, "p", schema, Options{Format: JSONL}); err == nil || !strings.Contains(err.Error(), "final file already exists") {
		t.Errorf("Create over a final file: %v", err)
	}
	for _, name := range []string{"", "a/b", ".hidden"} {
		if _, err := Create(dir, name, schema, Options{Format: JSONL}); err == nil {
			t.Errorf("Create(%q) succeeded", name)
		}
	}
	if _, err := Create(dir, "q", schema, Options{}); err == nil {
		t.Error("Create without a format succeeded")
	}
}

func TestPublish(t *testing.T) {
	dir := t.TempDir()
	p, err := Create(dir, "p", testSchema(), Options{Format: CSV})
	if err != nil {
		t.Fatal(err)
	}
	f, err := p.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.Final); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Finish published the file: %v", err)
	}
	for i := range 2 { // idempotent: the second call finds the file in place
		if err := Publish(f); err != nil {
			t.Fatalf("Publish #%d: %v", i+1, err)
		}
	}
	if _, err := os.Stat(f.Final); err != nil {
		t.Fatal(err)
	}
	assertNoTemp(t, dir)

	os.Remove(f.Final)
	err = Publish(f)
	if err == nil || !strings.Contains(err.Error(), f.Final) || !strings.Contains(err.Error(), f.Temp) {
		t.Errorf("Publish with both files missing = %v, want an error naming both paths", err)
	}
}

func TestCleanup(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		".part-1.parquet.tmp",             // removed
		".part-2.parquet.tmp",             // kept (pending)
		"part-0.parquet",                  // not a temp file
		"employees/.part-3.jsonl.tmp",     // one level down: removed
		"employees/deep/.part-4.csv.tmp",  // two levels down: left alone
		"employees/part-3.jsonl",          // not a temp file
		"employees/.tmp",                  // not a part temp name
		"employees/.part-5.arrow.tmp.bak", // not a temp file
	}
	for _, name := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kept := filepath.Join(dir, ".part-2.parquet.tmp")
	removed, err := Cleanup(dir, func(p string) bool { return p == kept })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, ".part-1.parquet.tmp"), filepath.Join(dir, "employees/.part-3.jsonl.tmp")}
	sort.Strings(removed)
	if diff := cmp.Diff(want, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	for _, name := range files[1:] {
		if name == "employees/.part-3.jsonl.tmp" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
	}
	if removed, err := Cleanup(filepath.Join(dir, "missing"), nil); err != nil || len(removed) != 0 {
		t.Errorf("Cleanup(missing dir) = %v, %v", removed, err)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "new" {
		t.Errorf("content = %q, want new", data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x.json"), nil, 0o600); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
	// A rename that fails (over a folder) leaves no temporary file behind.
	if err := os.MkdirAll(filepath.Join(dir, "busy", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(dir, "busy"), []byte("new"), 0o600); err == nil {
		t.Error("WriteFile over a folder succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("files left after a failed WriteFile: %v", entries)
	}
}

func TestRelativePaths(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	p, err := Create(filepath.Join("out", "acme"), "p", testSchema(), Options{Format: JSONL})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Abort()
	f, err := p.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "out", "acme", ".p.jsonl.tmp"); f.Temp != want {
		t.Errorf("Temp = %s, want %s", f.Temp, want)
	}
	var seen []string
	removed, err := Cleanup("out", func(path string) bool { seen = append(seen, path); return true })
	if err != nil || len(removed) != 0 {
		t.Fatalf("Cleanup = %v, %v", removed, err)
	}
	if diff := cmp.Diff([]string{f.Temp}, seen); diff != "" {
		t.Errorf("keep saw (-want +got):\n%s", diff)
	}
}

// peakAllocator is a Go allocator that remembers the most bytes it had
// out at once.
type peakAllocator struct {
	memory.GoAllocator
	cur, peak atomic.Int64
}

func (a *peakAllocator) Allocate(n int) []byte {
	a.add(int64(n))
	return a.GoAllocator.Allocate(n)
}

func (a *peakAllocator) Reallocate(n int, b []byte) []byte {
	a.add(int64(n - len(b)))
	return a.GoAllocator.Reallocate(n, b)
}

func (a *peakAllocator) Free(b []byte) {
	a.add(-int64(len(b)))
	a.GoAllocator.Free(b)
}

func (a *peakAllocator) add(n int64) {
	cur := a.cur.Add(n)
	for p := a.peak.Load(); cur > p && !a.peak.CompareAndSwap(p, cur); p = a.peak.Load() {
	}
}

// TestParquet_MemoryDoesNotGrowWithRows: with the default options, the
// Parquet writer's buffers peak at the same size for a file of 262,144 rows
// and one of 786,432, since a row group is cut at DefaultMaxRowGroupRows
// (a column that keeps its dictionary buffers an index per row until the
// row group is cut, so with larger row groups the peak grows with the
// rows). The file reads back whole, in row groups of that size.
func TestParquet_MemoryDoesNotGrowWithRows(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "status", Type: arrow.BinaryTypes.String},
		{Name: "region", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	const batch = 8192
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	statuses := []string{"ACTIVE", "INACTIVE", "ON_LEAVE", "TERMINATED"}
	for i := range batch {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(statuses[i%len(statuses)])
		b.Field(2).(*array.Int64Builder).Append(int64(i % 3))
	}
	rec := b.NewRecord()
	defer rec.Release()

	peak := func(rows int) int64 {
		t.Helper()
		mem := &peakAllocator{}
		groups := (rows + DefaultMaxRowGroupRows - 1) / DefaultMaxRowGroupRows
		recs := make([]arrow.Record, rows/batch)
		for i := range recs {
			recs[i] = rec
		}
		f := writePart(t, t.TempDir(), Options{Format: Parquet, Allocator: mem}, recs...)
		if mem.cur.Load() != 0 {
			t.Errorf("%d bytes still allocated after Finish", mem.cur.Load())
		}
		pf, err := file.OpenParquetFile(f.Final, false)
		if err != nil {
			t.Fatal(err)
		}
		defer pf.Close()
		if pf.NumRows() != int64(rows) || pf.NumRowGroups() != groups {
			t.Errorf("%d rows in %d row groups, want %d in %d", pf.NumRows(), pf.NumRowGroups(), rows, groups)
			return mem.peak.Load()
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: batch}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		rr, err := fr.GetRecordReader(context.Background(), nil, []int{groups - 1})
		if err != nil {
			t.Fatal(err)
		}
		defer rr.Release()
		n := 0
		for rr.Next() {
			if !array.RecordEqual(rr.Record(), rec) {
				t.Fatalf("batch %d of the last row group reads back differently", n)
			}
			n++
		}
		if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		if want := (rows - (groups-1)*DefaultMaxRowGroupRows) / batch; n != want {
			t.Errorf("the last row group read back as %d batches of %d rows, want %d", n, batch, want)
		}
		return mem.peak.Load()
	}
	small, large := peak(32*batch), peak(96*batch)
	t.Logf("peak allocated: %d KiB for %d rows, %d KiB for %d", small>>10, 32*batch, large>>10, 96*batch)
	if large > small+small/10 {
		t.Errorf("the writer's peak grew from %d KiB for %d rows to %d KiB for %d; want it the same", small>>10, 32*batch, large>>10, 96*batch)
	}
}
