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

// jsonlEncoder writes one JSON object per row, keys in schema order.
type jsonlEncoder struct {
	w    io.Writer
	cols []binder
	keys [][]byte // `"name":` per column
	buf  []byte
	fns  []appendFunc
}

func newJSONLEncoder(w io.Writer, schema *arrow.Schema) (*jsonlEncoder, error) {
	cols, err := compileColumns(schema, jsonText)
	if err != nil {
		return nil, err
	}
	e := &jsonlEncoder{w: w, cols: cols, keys: make([][]byte, len(cols)), fns: make([]appendFunc, len(cols))}
	for c, f := range schema.Fields() {
		e.cols[c] = withNulls(cols[c], "null")
		e.keys[c] = objectKey(f.Name)
	}
	return e, nil
}

func (e *jsonlEncoder) write(rec arrow.Record) error {
	for c, b := range e.cols {
		e.fns[c] = b(rec.Column(c))
	}
	buf := e.buf[:0]
	for i := range int(rec.NumRows()) {
		buf = append(buf, '{')
		for c, fn := range e.fns {
			if c > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, e.keys[c]...)
			buf = fn(buf, i)
		}
		buf = append(buf, '}', '\n')
		if len(buf) >= flushAt {
			if _, err := e.w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	e.buf = buf[:0]
	clear(e.fns) // do not keep rec's arrays reachable
	if len(buf) > 0 {
		_, err := e.w.Write(buf)
		return err
	}
	return nil
}

func (e *jsonlEncoder) buffered() int64 { return 0 }
func (e *jsonlEncoder) close() error    { return nil }

// csvEncoder writes RFC 4180 CSV: a header row of column names, CRLF line
// ends, fields quoted when they hold a comma, quote or line break. A null is
// an empty field and an empty string is "", so readers such as DuckDB can
// tell them apart. Nested values are JSON text.
type csvEncoder struct {
	w      io.Writer
	cols   []binder
	buf    []byte
	field  []byte
	fns    []appendFunc
	header []byte
}

func newCSVEncoder(w io.Writer, schema *arrow.Schema) (*csvEncoder, error) {
	cols, err := compileColumns(schema, rawText)
	if err != nil {
		return nil, err
	}
	e := &csvEncoder{w: w, cols: cols, fns: make([]appendFunc, len(cols))}
	for c, f := range schema.Fields() {
		if c > 0 {
			e.header = append(e.header, ',')
		}
		e.header = appendCSVField(e.header, []byte(f.Name))
	}
	e.header = append(e.header, '\r', '\n')
	return e, nil
}

func (e *csvEncoder) write(rec arrow.Record) error {
	buf := e.buf[:0]
	if e.header != nil {
		buf, e.header = append(buf, e.header...), nil
	}
	cols := rec.Columns()
	for c, b := range e.cols {
		e.fns[c] = b(cols[c])
	}
	for i := range int(rec.NumRows()) {
		for c, fn := range e.fns {
			if c > 0 {
				buf = append(buf, ',')
			}
			if cols[c].IsNull(i) {
				continue
			}
			e.field = fn(e.field[:0], i)
			buf = appendCSVField(buf, e.field)
		}
		buf = append(buf, '\r', '\n')
		if len(buf) >= flushAt {
			if _, err := e.w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	e.buf = buf[:0]
	clear(e.fns)
	if len(buf) > 0 {
		_, err := e.w.Write(buf)
		return err
	}
	return nil
}

func (e *csvEncoder) buffered() int64 { return int64(len(e.header)) }

// close writes the header if no row was written, so that an empty CSV file
// still names its columns.
func (e *csvEncoder) close() error {
	if e.header == nil {
		return nil
	}
	_, err := e.w.Write(e.header)
	e.header = nil
	return err
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
