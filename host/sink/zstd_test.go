package sink

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// registeredZstd returns the registered zstd codec, which must be ours.
func registeredZstd(t *testing.T) *zstdCodec {
	t.Helper()
	c, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	z, ok := c.(*zstdCodec)
	if !ok {
		t.Fatalf("the registered zstd codec is %T, want *zstdCodec", c)
	}
	return z
}

// zstdInputs are page-like inputs: text that compresses, random bytes
// that do not, a single byte, and text of the encoders' window size.
func zstdInputs() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 200_000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var text bytes.Buffer
	for i := range 20_000 {
		fmt.Fprintf(&text, "employee-%d@example.com,ACTIVE,%d;", i, i%7)
	}
	// A page as large as the window: the largest input whose bytes the
	// smaller window must not change.
	var page bytes.Buffer
	for i := 0; page.Len() < zstdWindow; i++ {
		fmt.Fprintf(&page, "%d,shift-%d,%d;", i, i*7919%100_003, i%13)
	}
	return map[string][]byte{"text": text.Bytes(), "random": random, "one byte": {42}, "window": page.Bytes()[:zstdWindow]}
}

func TestZstdCodec_SameBytesAsArrow(t *testing.T) {
	z := registeredZstd(t)
	for name, src := range zstdInputs() {
		for _, level := range []int{compress.DefaultCompressionLevel, 1, 3, 9} {
			t.Run(fmt.Sprintf("%s/level %d", name, level), func(t *testing.T) {
				want := z.Codec.EncodeLevel(nil, src, level)
				// Twice: the second call reuses the encoder.
				for i := range 2 {
					dst := make([]byte, 0, z.CompressBound(int64(len(src))))
					got := z.EncodeLevel(dst, src, level)
					if !bytes.Equal(got, want) {
						t.Fatalf("call %d: %d bytes differ from arrow's codec's %d", i, len(got), len(want))
					}
					if back := z.Decode(nil, got); !bytes.Equal(back, src) {
						t.Fatalf("call %d: round trip lost data", i)
					}
				}
			})
		}
	}
	t.Run("Encode is the default level", func(t *testing.T) {
		src := zstdInputs()["text"]
		if got, want := z.Encode(nil, src), z.Codec.EncodeLevel(nil, src, compress.DefaultCompressionLevel); !bytes.Equal(got, want) {
			t.Error("Encode differs from EncodeLevel at the default level")
		}
	})
}

func TestZstdCodec_Concurrent(t *testing.T) {
	z := newZstdCodec(registeredZstd(t).Codec)
	inputs := zstdInputs()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			level := []int{compress.DefaultCompressionLevel, 1}[g%2]
			for name, src := range inputs {
				if back := z.Decode(nil, z.EncodeLevel(nil, src, level)); !bytes.Equal(back, src) {
					errs <- fmt.Errorf("goroutine %d, %s at level %d: round trip lost data", g, name, level)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(z.encs); n != 2 {
		t.Errorf("%d encoders kept, want one per level (2)", n)
	}
}

// TestParquet_DictionaryLimit checks that columns with few distinct values
// keep dictionary encoding while columns of unique values fall back to
// plain encoding once their dictionary passes dictPageLimit, and that the
// file reads back unchanged.
func TestParquet_DictionaryLimit(t *testing.T) {
	mem := newAllocator(t)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},      // unique: 8 B each
		{Name: "email", Type: arrow.BinaryTypes.String},     // unique
		{Name: "status", Type: arrow.BinaryTypes.String},    // 3 values
		{Name: "region", Type: arrow.PrimitiveTypes.Int64},  // 10 values
		{Name: "score", Type: arrow.PrimitiveTypes.Float64}, // 100 values
	}, nil)
	const rows = 30_000 // 240 KB of unique ids: under pqarrow's 1 MiB default, over dictPageLimit
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	statuses := []string{"ACTIVE", "INACTIVE", "TERMINATED"}
	for i := range rows {
		b.Field(0).(*array.Int64Builder).Append(int64(1000 + 3*i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("employee.%d@example.com", i))
		b.Field(2).(*array.StringBuilder).Append(statuses[i%3])
		b.Field(3).(*array.Int64Builder).Append(int64(i % 10))
		b.Field(4).(*array.Float64Builder).Append(float64(i%100) / 4)
	}
	rec := b.NewRecord()
	defer rec.Release()
	f := writePart(t, t.TempDir(), Options{Format: Parquet, Allocator: mem}, rec)

	pf, err := file.OpenParquetFile(f.Final, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	rg := pf.MetaData().RowGroup(0)
	for i, wantDict := range []bool{false, false, true, true, true} {
		name := schema.Field(i).Name
		t.Run(name, func(t *testing.T) {
			cc, err := rg.ColumnChunk(i)
			if err != nil {
				t.Fatal(err)
			}
			plain, dict := 0, 0
			for _, st := range cc.EncodingStats() {
				if st.PageType != 0 { // format.PageType_DATA_PAGE
					continue
				}
				switch st.Encoding {
				case parquet.Encodings.Plain:
					plain++
				case parquet.Encodings.RLEDict, parquet.Encodings.PlainDict:
					dict++
				}
			}
			if wantDict && (plain > 0 || dict == 0) {
				t.Errorf("%d plain and %d dictionary data pages; want dictionary pages only", plain, dict)
			}
			if !wantDict && plain == 0 {
				t.Errorf("%d plain and %d dictionary data pages; want a fallback to plain", plain, dict)
			}
		})
	}

	r, err := os.Open(filepath.Clean(f.Final))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tbl, err := pqarrow.ReadTable(context.Background(), r, parquet.NewReaderProperties(mem), pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if tbl.NumRows() != rows {
		t.Fatalf("%d rows read back, want %d", tbl.NumRows(), rows)
	}
	for i := range rec.NumCols() {
		chunks := tbl.Column(int(i)).Data().Chunks()
		if len(chunks) != 1 || !array.Equal(chunks[0], rec.Column(int(i))) {
			t.Errorf("column %s read back differs", rec.ColumnName(int(i)))
		}
	}
}

// BenchmarkZstdCodec compresses a 1 MiB page with the registered codec and
// with arrow's own, which builds an encoder per page.
func BenchmarkZstdCodec(b *testing.B) {
	var text bytes.Buffer
	for i := 0; text.Len() < 1<<20; i++ {
		fmt.Fprintf(&text, "employee-%d@example.com,ACTIVE,%d;", i, i%7)
	}
	src := text.Bytes()
	c, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		b.Fatal(err)
	}
	z := c.(*zstdCodec)
	for _, bc := range []struct {
		name  string
		codec compress.Codec
	}{{"pooled", z}, {"arrow", z.Codec}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			dst := make([]byte, 0, z.CompressBound(int64(len(src))))
			for b.Loop() {
				dst = bc.codec.EncodeLevel(dst, src, compress.DefaultCompressionLevel)
			}
		})
	}
}
