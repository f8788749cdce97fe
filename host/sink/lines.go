package sink

import (
	"bytes"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v17/arrow"
)

// flushAt is how much rendered text the line formats collect before writing
// it out: large enough to amortise the write, small enough to stay in cache.
const flushAt = 64 << 10

// compileColumns compiles an encoder per top-level field of schema.
func compileColumns(schema *arrow.Schema, mode textMode) ([]binder, error) {
	cols := make([]binder, schema.NumFields())
	for c, f := range schema.Fields() {
		b, err := compile(f.Type, mode)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		cols[c] = b
	}
	return cols, nil
}

// lineEncoder writes one line of text per row (JSONL, CSV); row renders
// row i from the bound column encoders.
type lineEncoder struct {
	w      io.Writer
	cols   []binder
	fns    []appendFunc
	buf    []byte
	header []byte // written before the first row, or by close
	row    func(dst []byte, cols []arrow.Array, fns []appendFunc, i int) []byte
}

func (e *lineEncoder) write(rec arrow.Record) error {
	buf := e.buf[:0]
	if e.header != nil {
		buf, e.header = append(buf, e.header...), nil
	}
	cols := rec.Columns()
	for c, b := range e.cols {
		e.fns[c] = b(cols[c])
	}
	defer clear(e.fns) // do not keep rec's arrays reachable
	for i := range int(rec.NumRows()) {
		buf = e.row(buf, cols, e.fns, i)
		if len(buf) >= flushAt {
			if _, err := e.w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	e.buf = buf[:0]
	if len(buf) > 0 {
		_, err := e.w.Write(buf)
		return err
	}
	return nil
}

func (e *lineEncoder) buffered() int64 { return int64(len(e.header)) }

// close writes the header if no row was written, so that an empty CSV file
// still names its columns.
func (e *lineEncoder) close() error {
	if e.header == nil {
		return nil
	}
	_, err := e.w.Write(e.header)
	e.header = nil
	return err
}

// newJSONLEncoder returns an encoder of one JSON object per row, keys in
// schema order, nulls as null.
func newJSONLEncoder(w io.Writer, schema *arrow.Schema) (*lineEncoder, error) {
	cols, err := compileColumns(schema, jsonText)
	if err != nil {
		return nil, err
	}
	keys := make([][]byte, len(cols)) // `"name":` per column
	for c, f := range schema.Fields() {
		cols[c] = withNulls(cols[c], "null")
		keys[c] = objectKey(f.Name)
	}
	row := func(dst []byte, _ []arrow.Array, fns []appendFunc, i int) []byte {
		return append(appendObject(dst, keys, fns, i), '\n')
	}
	return &lineEncoder{w: w, cols: cols, fns: make([]appendFunc, len(cols)), row: row}, nil
}

// newCSVEncoder returns an RFC 4180 CSV encoder: a header row of column
// names, CRLF line ends, fields quoted when they hold a comma, quote or line
// break. A null is an empty field and an empty string is "", so readers
// such as DuckDB can tell them apart. Nested values are JSON text.
func newCSVEncoder(w io.Writer, schema *arrow.Schema) (*lineEncoder, error) {
	cols, err := compileColumns(schema, rawText)
	if err != nil {
		return nil, err
	}
	var header []byte
	for c, f := range schema.Fields() {
		if c > 0 {
			header = append(header, ',')
		}
		header = appendCSVField(header, []byte(f.Name))
	}
	header = append(header, '\r', '\n')
	var field []byte // scratch: one field before quoting
	row := func(dst []byte, cols []arrow.Array, fns []appendFunc, i int) []byte {
		for c, fn := range fns {
			if c > 0 {
				dst = append(dst, ',')
			}
			if cols[c].IsNull(i) {
				continue
			}
			field = fn(field[:0], i)
			dst = appendCSVField(dst, field)
		}
		return append(dst, '\r', '\n')
	}
	return &lineEncoder{w: w, cols: cols, fns: make([]appendFunc, len(cols)), header: header, row: row}, nil
}

// appendCSVField appends field to dst, quoted as RFC 4180 requires. An empty
// field is quoted so that it reads back as an empty string, not a null.
func appendCSVField(dst, field []byte) []byte {
	if len(field) > 0 && !bytes.ContainsAny(field, ",\"\r\n") {
		return append(dst, field...)
	}
	dst = append(dst, '"')
	for _, b := range field {
		if b == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, b)
	}
	return append(dst, '"')
}
