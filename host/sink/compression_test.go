package sink

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
)

// Frame magic numbers, as they appear in a file: zstd (RFC 8878) and the
// LZ4 frame format that Arrow IPC compresses buffers with.
var (
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	lz4Magic  = []byte{0x04, 0x22, 0x4d, 0x18}
)

// TestCompression_RoundTrip writes a part with each codec a format takes,
// reads it back with OpenFile, compares the values, and checks that the
// file says (Parquet column chunk metadata) or holds (Arrow IPC frames)
// the codec.
func TestCompression_RoundTrip(t *testing.T) {
	for _, tc := range []struct {
		format Format
		codec  Compression
		level  int
		want   compress.Compression // Parquet: every column chunk's codec
	}{
		{Parquet, "", 0, compress.Codecs.Zstd},
		{Parquet, Zstd, 0, compress.Codecs.Zstd},
		{Parquet, Zstd, 1, compress.Codecs.Zstd},
		{Parquet, Zstd, 19, compress.Codecs.Zstd},
		{Parquet, Snappy, 0, compress.Codecs.Snappy},
		{Parquet, Gzip, 0, compress.Codecs.Gzip},
		{Parquet, Gzip, 9, compress.Codecs.Gzip},
		{Parquet, Gzip, -1, compress.Codecs.Gzip},
		{Parquet, Uncompressed, 0, compress.Codecs.Uncompressed},
		{format: Arrow, codec: ""},
		{format: Arrow, codec: Zstd},
		{format: Arrow, codec: LZ4},
		{format: Arrow, codec: Uncompressed},
	} {
		t.Run(fmt.Sprintf("%s/%s/level %d", tc.format, tc.codec, tc.level), func(t *testing.T) {
			mem := newAllocator(t)
			rec := testRecord(t, mem)
			// Records large enough for the codec to matter, and the test
			// rows with every type.
			big := makeBatches(t, mem, 2, 3_000, 40)
			opts := Options{Format: tc.format, Allocator: mem, Compression: tc.codec, CompressionLevel: tc.level}
			dir := t.TempDir()
			f := writePart(t, filepath.Join(dir, "types"), opts, rec)
			fb := writePart(t, filepath.Join(dir, "big"), opts, big...)
			readBack(t, mem, f.Final, rec)
			readBack(t, mem, fb.Final, big...)
			for _, path := range []string{f.Final, fb.Final} {
				switch tc.format {
				case Parquet:
					checkCodec(t, path, tc.want)
				case Arrow:
					checkFrames(t, path, tc.format.compression(tc.codec))
				}
			}
		})
	}
}

// readBack reads the part at path with OpenFile and checks that it holds
// want's rows, in order, with their values.
func readBack(t *testing.T, mem memory.Allocator, path string, want ...arrow.Record) {
	t.Helper()
	rd, err := OpenFile(context.Background(), path, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var got []arrow.Record
	for rd.Next() {
		rec := rd.Record()
		rec.Retain()
		defer rec.Release()
		got = append(got, rec)
	}
	if err := rd.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	gotTbl := array.NewTableFromRecords(want[0].Schema(), got)
	defer gotTbl.Release()
	wantTbl := array.NewTableFromRecords(want[0].Schema(), want)
	defer wantTbl.Release()
	if !array.TableEqual(gotTbl, wantTbl) {
		t.Errorf("%s read back %d rows that differ from the %d written", filepath.Base(path), gotTbl.NumRows(), wantTbl.NumRows())
	}
}

// checkCodec checks that every column chunk of the Parquet file at path
// is compressed with want.
func checkCodec(t *testing.T, path string, want compress.Compression) {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	md := pf.MetaData()
	for g := range len(md.RowGroups) {
		rg := md.RowGroup(g)
		for c := range rg.NumColumns() {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Compression() != want {
				t.Errorf("%s: row group %d column %d codec = %v, want %v", filepath.Base(path), g, c, cc.Compression(), want)
			}
		}
	}
}

// checkFrames checks that the Arrow IPC file at path holds frames of the
// codec it was written with, and none of the other.
func checkFrames(t *testing.T, path string, codec Compression) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hasZstd, hasLZ4 := bytes.Contains(data, zstdMagic), bytes.Contains(data, lz4Magic)
	if hasZstd != (codec == Zstd) || hasLZ4 != (codec == LZ4) {
		t.Errorf("%s written with %s holds zstd frames %v, lz4 frames %v", filepath.Base(path), codec, hasZstd, hasLZ4)
	}
}

// TestCompression_Sizes: on the same records, a higher level gives a
// smaller file, every codec a smaller one than none, and the default
// writes the pages of zstd at its default level, byte for byte.
func TestCompression_Sizes(t *testing.T) {
	mem := newAllocator(t)
	// Words from a small vocabulary: text that compresses as API data does.
	schema := arrow.NewSchema([]arrow.Field{{Name: "note", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewStringBuilder(mem)
	words := strings.Fields("shift employee site client position report active inactive pending approved north south east west")
	x := uint64(7)
	for range 20_000 {
		var s strings.Builder
		for range 8 {
			x = x*6364136223846793005 + 1442695040888963407
			s.WriteString(words[(x>>33)%uint64(len(words))])
			s.WriteByte(' ')
		}
		b.Append(s.String())
	}
	col := b.NewArray()
	b.Release()
	rec := array.NewRecord(schema, []arrow.Array{col}, int64(col.Len()))
	col.Release()
	defer rec.Release()

	dir := t.TempDir()
	size := func(name string, codec Compression, level int) int64 {
		t.Helper()
		f := writePart(t, filepath.Join(dir, name), Options{Format: Parquet, Allocator: mem, Compression: codec, CompressionLevel: level}, rec)
		return f.Bytes
	}
	none := size("none", Uncompressed, 0)
	def := size("default", "", 0)
	zstd := size("zstd", Zstd, 0)
	zstd1, zstd19 := size("zstd1", Zstd, 1), size("zstd19", Zstd, 19)
	gzip1, gzip9 := size("gzip1", Gzip, 1), size("gzip9", Gzip, 9)
	snappy := size("snappy", Snappy, 0)
	t.Logf("bytes: none %d, snappy %d, gzip 1 %d, gzip 9 %d, zstd 1 %d, zstd %d, zstd 19 %d", none, snappy, gzip1, gzip9, zstd1, zstd, zstd19)
	for _, c := range []struct {
		what         string
		small, large int64
	}{
		{"zstd 19 < zstd 1", zstd19, zstd1},
		{"gzip 9 < gzip 1", gzip9, gzip1},
		{"snappy < none", snappy, none},
		{"zstd < snappy", zstd, snappy},
	} {
		if c.small >= c.large {
			t.Errorf("%s: got %d and %d bytes", c.what, c.small, c.large)
		}
	}
	a, err := os.ReadFile(filepath.Join(dir, "default", "part-r1-0001.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	z, err := os.ReadFile(filepath.Join(dir, "zstd", "part-r1-0001.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	// The footers may differ: arrow/go writes each column's encoding
	// stats in map order.
	if def != zstd || !bytes.Equal(pages(t, a), pages(t, z)) {
		t.Errorf("the default (%d bytes) does not write zstd's pages (%d bytes), byte for byte", def, zstd)
	}
}

// pages returns a Parquet file's bytes before its footer.
func pages(t *testing.T, b []byte) []byte {
	t.Helper()
	n := len(b) - 8
	if n < 4 || string(b[n+4:]) != "PAR1" {
		t.Fatalf("not a Parquet file")
	}
	return b[:n-int(binary.LittleEndian.Uint32(b[n:n+4]))]
}

// TestCompression_ZstdLevelsUseOurCodec: zstd at a chosen level still goes
// through host/sink's codec, which keeps one encoder per level.
func TestCompression_ZstdLevelsUseOurCodec(t *testing.T) {
	z := registeredZstd(t)
	mem := newAllocator(t)
	big := makeBatches(t, mem, 1, 2_000, 40)
	const level = 17 // used by no other test
	writePart(t, t.TempDir(), Options{Format: Parquet, Allocator: mem, Compression: Zstd, CompressionLevel: level}, big...)
	z.mu.Lock()
	_, ok := z.encs[level]
	z.mu.Unlock()
	if !ok {
		t.Errorf("no encoder for level %d in host/sink's zstd codec: pages were compressed elsewhere", level)
	}
}

// TestCreate_CompressionErrors: a codec a format does not take, or a level
// its codec does not, fails Create with a message that says what would do,
// and leaves no file behind.
func TestCreate_CompressionErrors(t *testing.T) {
	for _, tc := range []struct {
		format Format
		codec  Compression
		level  int
		want   string
	}{
		{Parquet, LZ4, 0, `compression "lz4": parquet files take zstd, snappy, gzip or none; lz4 is for format arrow (arrow/go v17 cannot write LZ4_RAW Parquet)`},
		{Parquet, "brotli", 0, `compression "brotli": parquet files take zstd, snappy, gzip or none`},
		{Arrow, Snappy, 0, `compression "snappy": arrow files take zstd, lz4 or none; snappy is for format parquet`},
		{JSONL, Zstd, 0, `compression "zstd": jsonl files are never compressed; compression is for formats parquet (zstd, snappy, gzip or none) and arrow (zstd, lz4 or none)`},
		{CSV, Gzip, 0, `csv files are never compressed`},
		{Parquet, Snappy, 3, `compression level 3: snappy takes no compression level; levels are for zstd (1 to 22) and gzip (1 to 9)`},
		{Parquet, Uncompressed, 1, `none takes no compression level`},
		{Parquet, Zstd, 23, `compression level 23: zstd takes a level from 1 (fastest) to 22 (smallest files)`},
		{Parquet, "", -1, `compression level -1: zstd takes a level from 1`},
		{Parquet, Gzip, 10, `compression level 10: gzip takes a level from 1 (fastest) to 9 (smallest files), or -1 for its default`},
		{Parquet, Gzip, -2, `gzip takes a level from 1`},
		{Arrow, Zstd, 3, `compression level 3: arrow files take no compression level; levels are for zstd (1 to 22) and gzip (1 to 9) in parquet files`},
	} {
		t.Run(fmt.Sprintf("%s/%s/%d", tc.format, tc.codec, tc.level), func(t *testing.T) {
			dir := t.TempDir()
			_, err := Create(dir, "part-r1-0001", testSchema(), Options{Format: tc.format, Compression: tc.codec, CompressionLevel: tc.level})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Create() error = %v, want it to contain %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("Create left %d files behind", len(entries))
			}
		})
	}
}

func TestParseCompression(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Compression
		err  string
	}{
		{in: "zstd", want: Zstd},
		{in: " Snappy", want: Snappy},
		{in: "GZIP", want: Gzip},
		{in: "lz4", want: LZ4},
		{in: "none", want: Uncompressed},
		{in: "lzo", err: `unknown compression "lzo" (want zstd, snappy, gzip, lz4 or none)`},
		{in: "", err: `unknown compression ""`},
	} {
		got, err := ParseCompression(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseCompression(%q) = %q, %v; want %q, error %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}
