package protocol

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// encodeTestBatch returns testRows encoded as one batch.
func encodeTestBatch(t testing.TB) []byte {
	t.Helper()
	mem := memory.NewGoAllocator()
	rec, _, err := array.RecordFromJSON(mem, testSchema, strings.NewReader(testRows))
	if err != nil {
		t.Fatalf("RecordFromJSON: %v", err)
	}
	defer rec.Release()
	payload, err := encodeBatch(mem, rec, maxBatchBytes)
	if err != nil {
		t.Fatalf("encodeBatch: %v", err)
	}
	return payload
}

func TestBatchRoundTrip(t *testing.T) {
	t.Parallel()
	encMem, decMem := checkedAllocator(t), checkedAllocator(t)
	rec := newRecord(t, encMem, testRows)
	defer rec.Release()
	payload, err := encodeBatch(encMem, rec, maxBatchBytes)
	if err != nil {
		t.Fatalf("encodeBatch() = %v", err)
	}
	if len(payload) != cap(payload) {
		t.Errorf("encodeBatch() = %d bytes in a buffer of %d, want a buffer of the payload's size", len(payload), cap(payload))
	}
	got, err := decodeBatch(decMem, payload, rec.NumRows())
	if err != nil {
		t.Fatalf("decodeBatch() = %v", err)
	}
	defer got.Release()
	if !array.RecordEqual(rec, got) {
		t.Errorf("decodeBatch() = %s, want %s", recordJSON(t, got), recordJSON(t, rec))
	}
	if !got.Schema().Metadata().Equal(rec.Schema().Metadata()) {
		t.Errorf("schema metadata = %v, want %v", got.Schema().Metadata(), rec.Schema().Metadata())
	}
}

func TestEncodeBatchTooLarge(t *testing.T) {
	t.Parallel()
	mem := checkedAllocator(t)
	rec := newRecord(t, mem, testRows)
	defer rec.Release()
	payload, err := encodeBatch(mem, rec, maxBatchBytes)
	if err != nil {
		t.Fatalf("encodeBatch() = %v", err)
	}
	n := len(payload)
	if _, err := encodeBatch(mem, rec, n); err != nil {
		t.Errorf("encodeBatch(limit %d, its size) = %v, want no error", n, err)
	}
	want := fmt.Sprintf("encodes to %d bytes, more than %d; use a smaller page", n, n-1)
	if _, err := encodeBatch(mem, rec, n-1); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("encodeBatch(limit %d) = %v, want an error saying %q", n-1, err, want)
	}
}

func TestSchemaRoundTrip(t *testing.T) {
	t.Parallel()
	mem := checkedAllocator(t)
	payload, err := encodeSchema(mem, testSchema)
	if err != nil {
		t.Fatalf("encodeSchema() = %v", err)
	}
	got, err := decodeSchema(mem, payload)
	if err != nil {
		t.Fatalf("decodeSchema() = %v", err)
	}
	if !got.Equal(testSchema) || !got.Metadata().Equal(testSchema.Metadata()) {
		t.Errorf("decodeSchema() = %v, want %v", got, testSchema)
	}
}

// le32 is n in little-endian order.
func le32(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }

func TestDecodeBatchCorrupt(t *testing.T) {
	t.Parallel()
	valid := encodeTestBatch(t)
	twoBatches := func() []byte {
		mem := memory.NewGoAllocator()
		rec := newRecord(t, mem, testRows)
		defer rec.Release()
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
		for range 2 {
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}()
	schemaOnly, err := encodeSchema(memory.NewGoAllocator(), testSchema)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		payload []byte
		rows    int64
		want    string // substring of the error
	}{
		{"empty", nil, 3, "decode batch"},
		{"garbage", []byte("not arrow at all, just text"), 3, "decode batch"},
		{"truncated", valid[:len(valid)/2], 3, "decode batch"},
		{"trailing byte", append(valid[:len(valid)-8:len(valid)-8], 1), 3, "decode batch"},
		{"wrong rows", valid, 4, "3 rows, sender declared 4"},
		{"two batches", twoBatches, 3, "more than one record batch"},
		{"schema only", schemaOnly, 0, "no record batch"},
		{"huge metadata length", append(le32(continuation), le32(0x7FFFFFF0)...), 3, "metadata of 2147483632 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec, err := decodeBatch(memory.NewGoAllocator(), tt.payload, tt.rows)
			if err == nil {
				rec.Release()
				t.Fatalf("decodeBatch() = nil error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("decodeBatch() = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestDecodeBatchBitFlips flips every byte of a valid payload: each result
// must decode to a valid record or fail with an error, never panic.
func TestDecodeBatchBitFlips(t *testing.T) {
	t.Parallel()
	valid := encodeTestBatch(t)
	for i := range valid {
		for _, mask := range []byte{0x01, 0x80, 0xFF} {
			p := bytes.Clone(valid)
			p[i] ^= mask
			if rec, err := decodeBatch(memory.NewGoAllocator(), p, 3); err == nil {
				touchRecord(t, rec)
				rec.Release()
			}
		}
	}
}

// touchRecord reads every value of rec, as a Parquet writer would.
func touchRecord(t testing.TB, rec arrow.Record) {
	t.Helper()
	for _, col := range rec.Columns() {
		if _, err := json.Marshal(col); err != nil {
			t.Logf("marshal %s: %v", col.DataType(), err)
		}
	}
}

// TestDecodeBatchInvalidOffsets sends a string column whose offsets go
// backwards, which the IPC reader accepts but would make a reader panic.
func TestDecodeBatchInvalidOffsets(t *testing.T) {
	t.Parallel()
	values := memory.NewBufferBytes([]byte("abcdef"))
	offsets := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{0, 4, 2, 6}))
	data := array.NewData(arrow.BinaryTypes.String, 3, []*memory.Buffer{nil, offsets, values}, nil, 0, 0)
	defer data.Release()
	col := array.MakeFromData(data)
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	rec := array.NewRecord(schema, []arrow.Array{col}, 3)
	defer rec.Release()
	payload, err := encodeBatch(memory.NewGoAllocator(), rec, maxBatchBytes)
	if err != nil {
		t.Fatalf("encodeBatch() = %v", err)
	}
	got, err := decodeBatch(memory.NewGoAllocator(), payload, 3)
	if err == nil {
		got.Release()
		t.Fatal("decodeBatch() = nil error, want an offsets error")
	}
	if want := `column "s": offset 2 decreases`; !strings.Contains(err.Error(), want) {
		t.Errorf("decodeBatch() = %v, want %q", err, want)
	}
}

func TestValidateDictionary(t *testing.T) {
	t.Parallel()
	mem := checkedAllocator(t)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	for _, s := range []string{"a", "b", "a"} {
		if err := b.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	b.AppendNull()
	good := b.NewArray()
	defer good.Release()
	if err := validateData(good.Data()); err != nil {
		t.Errorf("validateData(valid dictionary) = %v", err)
	}

	idx := memory.NewBufferBytes([]byte{0, 1, 5})
	bad := array.NewData(dt, 3, []*memory.Buffer{nil, idx}, nil, 0, 0)
	defer bad.Release()
	bad.SetDictionary(good.(*array.Dictionary).Dictionary().Data())
	if err := validateData(bad); err == nil || !strings.Contains(err.Error(), "index 5 out of range") {
		t.Errorf("validateData(index 5 of 2) = %v, want an out of range error", err)
	}
}

func FuzzDecodeBatch(f *testing.F) {
	valid := encodeTestBatch(f)
	f.Add(valid, int64(3))
	f.Add(valid[:len(valid)/2], int64(3))
	f.Add(valid, int64(0))
	f.Add([]byte{}, int64(0))
	f.Add(append(le32(continuation), le32(16)...), int64(1))
	f.Fuzz(func(t *testing.T, payload []byte, rows int64) {
		rec, err := decodeBatch(memory.NewGoAllocator(), payload, rows)
		if err != nil {
			return
		}
		defer rec.Release()
		if rec.NumRows() != rows {
			t.Fatalf("decodeBatch() = %d rows, declared %d", rec.NumRows(), rows)
		}
		touchRecord(t, rec)
	})
}
