package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
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
		return &parquetReader{RecordReader: rr, f: pf, path: path}, nil
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

// parquetReader adapts pqarrow's record reader.
type parquetReader struct {
	pqarrow.RecordReader
	f    *file.Reader
	path string
}

func (r *parquetReader) Err() error {
	// pqarrow's reader reports the end of the file as io.EOF.
	if err := r.RecordReader.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("sink: read %s: %w", r.path, err)
	}
	return nil
}

func (r *parquetReader) Close() error {
	r.RecordReader.Release()
	return r.f.Close()
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
