package sink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// Readable reports whether files of format f can be read back with their
// Arrow types exactly (Parquet stores the Arrow schema; Arrow IPC is
// Arrow). JSON Lines and CSV cannot: their timestamps, structs and
// nulls are text.
func (f Format) Readable() bool { return f == Parquet || f == Arrow }

// A Reader reads the records of a published part file in order, as
// array.RecordReader does. It is not safe for concurrent use.
type Reader interface {
	// Schema is the file's Arrow schema, with its metadata.
	Schema() *arrow.Schema
	// Next moves to the next record; it returns false at the end or on an
	// error (see Err).
	Next() bool
	// Record is the current record, valid until the next call to Next or
	// Close; a caller that keeps it Retains it.
	Record() arrow.Record
	// Err is the error that stopped Next, if any.
	Err() error
	// Close releases the reader and closes the file.
	Close() error
}

// batchRows is the number of rows a Parquet Reader returns per record:
// large enough for few batches, small enough to bound memory per file.
const batchRows = 64 << 10

// OpenFile opens a part file written by Create in a Readable format,
// named by its extension. Memory comes from mem.
func OpenFile(ctx context.Context, path string, mem memory.Allocator) (Reader, error) {
	switch Format(strings.TrimPrefix(filepath.Ext(path), ".")) {
	case Parquet:
		pf, err := file.OpenParquetFile(path, false, file.WithReadProps(nil))
		if err != nil {
			return nil, fmt.Errorf("sink: open %s: %w", path, err)
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: batchRows}, mem)
		if err != nil {
			pf.Close()
			return nil, fmt.Errorf("sink: read %s: %w", path, err)
		}
		rr, err := fr.GetRecordReader(ctx, nil, nil)
		if err != nil {
			pf.Close()
			return nil, fmt.Errorf("sink: read %s: %w", path, err)
		}
		return &parquetReader{RecordReader: rr, f: pf, path: path, schema: canonicalSchema(rr.Schema())}, nil
	case Arrow:
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("sink: open %s: %w", path, err)
		}
		fr, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("sink: read %s: %w", path, err)
		}
		return &ipcReader{fr: fr, f: f, path: path, i: -1}, nil
	}
	return nil, fmt.Errorf("sink: read %s: only parquet and arrow files can be read back exactly", path)
}

// parquetReader adapts pqarrow's record reader. Its records have the
// schema Create was given, not the one a Parquet round trip leaves (see
// canonicalSchema), so that they can be written back with records that
// never left memory.
type parquetReader struct {
	pqarrow.RecordReader
	f      *file.Reader
	path   string
	schema *arrow.Schema
	rec    arrow.Record
}

func (r *parquetReader) Schema() *arrow.Schema { return r.schema }

func (r *parquetReader) Next() bool {
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	if !r.RecordReader.Next() {
		return false
	}
	in := r.RecordReader.Record()
	cols := make([]arrow.Array, in.NumCols())
	for i, c := range in.Columns() {
		d := retype(c.Data(), r.schema.Field(i).Type)
		cols[i] = array.MakeFromData(d)
		d.Release()
	}
	r.rec = array.NewRecord(r.schema, cols, in.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return true
}

func (r *parquetReader) Record() arrow.Record { return r.rec }

func (r *parquetReader) Err() error {
	// pqarrow's reader reports the end of the file as io.EOF.
	if err := r.RecordReader.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("sink: read %s: %w", r.path, err)
	}
	return nil
}

func (r *parquetReader) Close() error {
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	r.RecordReader.Release()
	return r.f.Close()
}

// parquetFieldID is the field metadata key pqarrow adds on reading.
const parquetFieldID = "PARQUET:field_id"

// canonicalSchema undoes what a Parquet round trip does to a schema
// written by Create: pqarrow adds a PARQUET:field_id to every field's
// metadata and names list elements "list" where Arrow's ListOf names them
// "item". Types, nullability and other metadata are kept.
func canonicalSchema(s *arrow.Schema) *arrow.Schema {
	fields := make([]arrow.Field, s.NumFields())
	for i, f := range s.Fields() {
		fields[i] = canonicalField(f)
	}
	md := s.Metadata()
	return arrow.NewSchema(fields, &md)
}

func canonicalField(f arrow.Field) arrow.Field {
	f.Type = canonicalType(f.Type)
	if i := f.Metadata.FindKey(parquetFieldID); i >= 0 {
		var keys, vals []string
		for j, k := range f.Metadata.Keys() {
			if j != i {
				keys, vals = append(keys, k), append(vals, f.Metadata.Values()[j])
			}
		}
		f.Metadata = arrow.NewMetadata(keys, vals)
	}
	return f
}

func canonicalType(dt arrow.DataType) arrow.DataType {
	switch t := dt.(type) {
	case *arrow.ListType:
		elem := canonicalField(t.ElemField())
		elem.Name = "item"
		return arrow.ListOfField(elem)
	case *arrow.StructType:
		fields := make([]arrow.Field, t.NumFields())
		for i, f := range t.Fields() {
			fields[i] = canonicalField(f)
		}
		return arrow.StructOf(fields...)
	}
	return dt
}

// retype returns d as an array of type dt, which differs from d's type
// only in names and metadata (see canonicalType): the buffers are shared.
// The caller releases the result.
func retype(d arrow.ArrayData, dt arrow.DataType) arrow.ArrayData {
	var children []arrow.ArrayData
	switch t := dt.(type) {
	case *arrow.ListType:
		children = []arrow.ArrayData{retype(d.Children()[0], t.Elem())}
	case *arrow.StructType:
		for i, c := range d.Children() {
			children = append(children, retype(c, t.Field(i).Type))
		}
	default:
		children = d.Children()
		for _, c := range children {
			c.Retain()
		}
	}
	out := array.NewData(dt, d.Len(), d.Buffers(), children, d.NullN(), d.Offset())
	for _, c := range children {
		c.Release()
	}
	return out
}

// ipcReader walks the record batches of an Arrow IPC file.
type ipcReader struct {
	fr   *ipc.FileReader
	f    *os.File
	path string
	i    int
	rec  arrow.Record
	err  error
}

func (r *ipcReader) Schema() *arrow.Schema { return r.fr.Schema() }

func (r *ipcReader) Next() bool {
	if r.err != nil || r.i+1 >= r.fr.NumRecords() {
		return false
	}
	r.i++
	r.rec, r.err = r.fr.Record(r.i)
	if r.err != nil {
		r.err = fmt.Errorf("sink: read %s: record batch %d: %w", r.path, r.i, r.err)
		r.rec = nil
		return false
	}
	return true
}

func (r *ipcReader) Record() arrow.Record { return r.rec }

func (r *ipcReader) Err() error { return r.err }

func (r *ipcReader) Close() error {
	err := r.fr.Close()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// CountRows returns the number of records in a published part file of any
// format, named by its extension: Parquet from its footer, Arrow from its
// record batches, JSON Lines by its lines, CSV by its records less the
// header.
func CountRows(path string) (int64, error) {
	n, err := countRows(path)
	if err != nil {
		return 0, fmt.Errorf("sink: count rows of %s: %w", path, err)
	}
	return n, nil
}

func countRows(path string) (int64, error) {
	switch Format(strings.TrimPrefix(filepath.Ext(path), ".")) {
	case Parquet:
		pf, err := file.OpenParquetFile(path, false)
		if err != nil {
			return 0, err
		}
		defer pf.Close()
		return pf.NumRows(), nil
	case Arrow:
		f, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		fr, err := ipc.NewFileReader(f)
		if err != nil {
			return 0, err
		}
		defer fr.Close()
		var n int64
		for i := range fr.NumRecords() {
			rec, err := fr.Record(i)
			if err != nil {
				return 0, err
			}
			n += rec.NumRows()
		}
		return n, nil
	case JSONL:
		f, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		var n int64
		buf := make([]byte, bufSize)
		for {
			k, err := f.Read(buf)
			n += int64(bytes.Count(buf[:k], []byte{'\n'}))
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			if err != nil {
				return 0, err
			}
		}
	case CSV:
		f, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		r := csv.NewReader(bufio.NewReaderSize(f, bufSize))
		r.FieldsPerRecord = -1
		r.ReuseRecord = true
		var n int64
		for {
			_, err := r.Read()
			if errors.Is(err, io.EOF) {
				return max(0, n-1), nil // the header is no record
			}
			if err != nil {
				return 0, err
			}
			n++
		}
	}
	return 0, errors.New("unknown format")
}
