// Package records decodes vendor JSON pages into Arrow records, driven by a
// stream's Arrow schema.
//
// A [Decoder] takes one response body at a time, walks it once with its
// own tokenizer, appends the records it finds to Arrow builders and returns
// them as one arrow.Record, together with the rest of the response (the
// [Envelope]: paging counters, cursors). The tokenizer is written for a
// body held whole in memory; it validates its input as strictly as
// github.com/go-json-experiment/json/jsontext does (RFC 8259, valid UTF-8,
// no lone surrogates) and does not panic on malformed input.
//
// Columns are matched to JSON keys by the field metadata key "quiver:json"
// (as written by package schemas) or else by the column name; with
// Options.FoldCase, also when they differ only in ASCII case. Vendors are
// loose about types, so each column accepts the plausible shapes of its
// values:
//
//   - int64: a number or a numeric string ("42"); an integral "42.0" too.
//   - float64: a number or a numeric string.
//   - bool: true/false, "true"/"false" (any case), 1/0 and "1"/"0".
//   - string: a string, or a number or boolean kept as its JSON text.
//   - date32: "2006-01-02", or a date-time string whose date part is taken
//     as written.
//   - timestamp: RFC 3339 with an offset or Z; "2006-01-02 15:04:05" or
//     "2006-01-02T15:04:05" without a zone (taken as UTC); fractional seconds;
//     a bare date (midnight UTC); or Unix time as a number or numeric string,
//     in seconds, milliseconds, microseconds or nanoseconds decided by its
//     magnitude (below 1e11 is seconds, below 1e14 milliseconds, …).
//   - list<T>: an array, or a bare single value or object, taken as a
//     one-item list (the XML-converted JSON of some vendors turns one-item
//     lists into bare values); an empty object {} is an empty list.
//   - struct: an object; an empty array [] (PHP's empty object) is null.
//
// null is null for every type, and "" is null for every type but string.
// A missing key is null. If a key appears twice in one object, the first
// value is used.
//
// # Rescue
//
// What the schema cannot take is rescued, not dropped and not fatal: every
// record gets a [RescueColumn] after the schema's columns, holding a JSON
// object of the record's keys the schema does not know (schema drift) and
// of its values whose shape does not fit their column (the column is then
// null), each with its original JSON text, byte for byte; null when there
// was nothing to rescue. A mismatch inside a struct or a list is rescued at
// the value that does not fit, under its path: the struct's other fields
// and the list's other elements keep their values, and the key is the path
// of keys joined by "." with "[i]" for the i-th list element, as in
// {"location.lat":"north","tags[2]":{"x":1}}. A key the schema does not
// know inside a struct is rescued the same way ("location.accuracy").
// Options.Contract may ignore unknown keys instead, or make either kind of
// rescue fail the page with a [*FieldError].
//
// A page still fails when a value does not fit a non-nullable column (a
// primary key, which cannot be null) or such a column has no value (a
// [*FieldError]), and when its input is not JSON, is cut off, or does not
// have the expected shape (an error wrapping sdk.ErrMalformed).
package records

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/quiver-etl/quiver/sdk"
)

// jsonKeyMeta is the Arrow field metadata key naming a column's JSON key;
// package schemas writes it (schemas.MetaJSON).
const jsonKeyMeta = "quiver:json"

// Options configures a Decoder. The zero value decodes a body that is a bare
// JSON array of records.
type Options struct {
	// Stream names the stream in errors.
	Stream string
	// Records is the path of keys from the top-level object to the records
	// array, e.g. ["data"] for {"meta":{…},"data":[…]}. Empty means the body
	// itself is the array. At the end of the path, null or {} is a page with
	// no records and a bare object is a page with one record.
	Records []string
	// IDField is the JSON key of a record's id, quoted in errors. Default "id".
	IDField string
	// FoldCase matches a JSON key that equals no column key exactly to one
	// that equals it under ASCII case folding, as encoding/json does, so
	// that "equipmentHeader" fills the column of "EquipmentHeader". It
	// applies to the Records path too. An exact match always wins.
	FoldCase bool
	// Contract says what to do with keys the schema does not know and
	// values that do not fit their column; the zero value rescues both
	// (see Rescue in the package doc).
	Contract sdk.SchemaContract
	// Drift, if set, receives the count of what each page rescued.
	Drift *DriftReport
	// DriftRecords, when positive, counts in Drift only what the first
	// DriftRecords records the Decoder decodes rescued: a sample's, when
	// its last page holds more records than the sample.
	DriftRecords int64
}

// A Page is one decoded response body.
type Page struct {
	// Record holds the page's records, possibly none. The caller must
	// Release it.
	Record arrow.Record
	// Envelope holds the rest of the body: every value that is not on the
	// path to the records.
	Envelope Envelope
}

// A Decoder turns response bodies into Arrow records of one schema. It reuses
// its builders from page to page. A Decoder is not safe for concurrent use;
// use one per stream being read. Call Release when done with it.
type Decoder struct {
	mem     memory.Allocator
	schema  *arrow.Schema
	stream  string
	records []string // Options.Records
	idField string
	fold    bool  // Options.FoldCase
	err     error // schema not supported; returned by every Decode

	out      *arrow.Schema // the schema with RescueColumn
	contract sdk.SchemaContract
	report   *DriftReport
	driftMax int64 // Options.DriftRecords
	decoded  int64 // records of the pages decoded so far

	rb      *array.RecordBuilder
	root    *object
	rescued *array.StringBuilder // RescueColumn's builder

	sc      scanner
	body    []byte
	scratch []byte // unquoted strings with escapes
	folded  []byte // a key in lower case, for FoldCase lookups
	env     Envelope
	rows    int // records appended in the current page

	recStart int               // offset of the current record in body; -1 outside records
	path     []seg             // the path from the record to the current value
	resc     []byte            // the current record's rescue object so far
	key      []byte            // scratch: a rescue key
	norm     []byte            // scratch: key with "[]" for list indexes
	drift    map[string]*drift // what the current page rescued, by key

	lastRows int // records in the last page, to size the builders
}

// kind is the decoding kind of a column.
type kind uint8

const (
	kInt64 kind = iota
	kFloat64
	kBool
	kString
	kDate32
	kTimestamp
	kList
	kStruct
)

// A column decodes values of one Arrow field into its builder.
type column struct {
	name     string // column path for errors: "location.latitude", "tags[]"
	want     string // type for errors: "int64", "list<string>"
	kind     kind
	nullable bool
	unit     arrow.TimeUnit // kTimestamp

	b   array.Builder
	i64 *array.Int64Builder
	f64 *array.Float64Builder
	bl  *array.BooleanBuilder
	str *array.StringBuilder
	d32 *array.Date32Builder
	ts  *array.TimestampBuilder
	lb  *array.ListBuilder
	sb  *array.StructBuilder

	elem *column // kList
	obj  *object // kStruct

	dataHint int // kString: bytes of values in the last page
}

// An object is the set of columns of the top level or of one struct, looked
// up by JSON key.
type object struct {
	cols  []*column
	keys  []string       // per col: its JSON key
	plain []bool         // per col: its key is plain (isPlain)
	index map[string]int // JSON key -> cols index
	seen  []bool         // per col: value seen in the current object
	// next predicts the key order, which is usually the same in every
	// record: next[0] is the col whose key came first in the last object,
	// next[i+1] the col that came after col i; -1 if unknown. A correct
	// guess costs one comparison instead of a map lookup.
	next []int
	// folded maps each key in ASCII lower case to its col (the first col,
	// if two keys fold alike), for Options.FoldCase.
	folded map[string]int
}

// lookup returns the col of JSON key, or -1; after is the slot of the
// previous key (0 at the start of an object, else its col+1).
func (o *object) lookup(key []byte, after int) int {
	if i := o.next[after]; i >= 0 && o.keys[i] == string(key) {
		return i
	}
	i, ok := o.index[string(key)]
	if !ok {
		return -1
	}
	o.next[after] = i
	return i
}

// NewDecoder returns a Decoder of records of schema that allocates from mem.
// Its records have the schema WithRescue(schema): schema's columns and then
// RescueColumn (a schema that ends with RescueColumn is taken as it is).
// Supported column types are int64, float64, bool, string, date32,
// timestamp (any unit; a time without a zone is UTC), list and struct of
// these; a schema with other types makes every Decode fail.
func NewDecoder(mem memory.Allocator, schema *arrow.Schema, opts Options) *Decoder {
	d := &Decoder{
		mem:      mem,
		schema:   schema,
		stream:   opts.Stream,
		records:  append([]string(nil), opts.Records...),
		idField:  opts.IDField,
		fold:     opts.FoldCase,
		out:      WithRescue(schema),
		contract: opts.Contract,
		report:   opts.Drift,
		driftMax: opts.DriftRecords,
	}
	if d.idField == "" {
		d.idField = "id"
	}
	d.root, d.err = newObject(d.out.Fields()[:d.out.NumFields()-1], "")
	if d.err != nil {
		d.err = fmt.Errorf("%s: %w", d.where(), d.err)
		return d
	}
	d.rb = array.NewRecordBuilder(mem, d.out)
	d.bind()
	return d
}

// Schema returns the schema of the Decoder's records: its schema with
// RescueColumn.
func (d *Decoder) Schema() *arrow.Schema { return d.out }

// newObject compiles the columns of fields; prefix is their parent's column
// path plus ".", for errors.
func newObject(fields []arrow.Field, prefix string) (*object, error) {
	o := &object{
		cols:  make([]*column, len(fields)),
		keys:  make([]string, len(fields)),
		plain: make([]bool, len(fields)),
		index: make(map[string]int, len(fields)),
		seen:  make([]bool, len(fields)),
		next:  make([]int, len(fields)+1),
	}
	for i := range o.next {
		o.next[i] = -1
	}
	for i, f := range fields {
		c, err := newColumn(f.Type, prefix+f.Name, f.Nullable)
		if err != nil {
			return nil, err
		}
		key := f.Name
		if k, ok := f.Metadata.GetValue(jsonKeyMeta); ok {
			key = k
		}
		if _, dup := o.index[key]; dup {
			return nil, fmt.Errorf("column %s: JSON key %q used twice", c.name, key)
		}
		o.cols[i], o.keys[i], o.index[key] = c, key, i
		o.plain[i] = isPlain(key)
	}
	o.fold()
	return o, nil
}

// newColumn compiles the column name of type dt.
func newColumn(dt arrow.DataType, name string, nullable bool) (*column, error) {
	c := &column{name: name, want: dt.String(), nullable: nullable}
	switch t := dt.(type) {
	case *arrow.Int64Type:
		c.kind = kInt64
	case *arrow.Float64Type:
		c.kind = kFloat64
	case *arrow.BooleanType:
		c.kind = kBool
	case *arrow.StringType:
		c.kind, c.want = kString, "string"
	case *arrow.Date32Type:
		c.kind = kDate32
	case *arrow.TimestampType:
		c.kind, c.unit, c.want = kTimestamp, t.Unit, "timestamp"
	case *arrow.ListType:
		elem, err := newColumn(t.Elem(), name+"[]", t.ElemField().Nullable)
		if err != nil {
			return nil, err
		}
		c.kind, c.elem, c.want = kList, elem, "list<"+elem.want+">"
	case *arrow.StructType:
		obj, err := newObject(t.Fields(), name+".")
		if err != nil {
			return nil, err
		}
		c.kind, c.obj, c.want = kStruct, obj, "struct"
	default:
		return nil, fmt.Errorf("column %s: unsupported type %s", name, dt)
	}
	return c, nil
}

// bind points every column at its builder in d.rb and clears the seen flags.
func (d *Decoder) bind() {
	for i, c := range d.root.cols {
		c.bind(d.rb.Field(i))
	}
	d.rescued = d.rb.Field(len(d.root.cols)).(*array.StringBuilder)
	clear(d.root.seen)
}

// bind points c, and the columns below it, at builder b.
func (c *column) bind(b array.Builder) {
	c.b = b
	switch c.kind {
	case kInt64:
		c.i64 = b.(*array.Int64Builder)
	case kFloat64:
		c.f64 = b.(*array.Float64Builder)
	case kBool:
		c.bl = b.(*array.BooleanBuilder)
	case kString:
		c.str = b.(*array.StringBuilder)
	case kDate32:
		c.d32 = b.(*array.Date32Builder)
	case kTimestamp:
		c.ts = b.(*array.TimestampBuilder)
	case kList:
		c.lb = b.(*array.ListBuilder)
		c.elem.bind(c.lb.ValueBuilder())
	case kStruct:
		c.sb = b.(*array.StructBuilder)
		for i, f := range c.obj.cols {
			f.bind(c.sb.FieldBuilder(i))
		}
		clear(c.obj.seen)
	}
}

// Release frees the Decoder's builders. Records already returned stay valid.
func (d *Decoder) Release() {
	if d.rb != nil {
		d.rb.Release()
		d.rb = nil
	}
}

// Decode decodes one response body into a Page. body is not retained. On
// error no rows of body are kept, the Decoder is ready for the next body,
// and the error is a *FieldError for a value that does not fit its column,
// or wraps sdk.ErrMalformed for input that is not JSON of the expected shape
// (with io.ErrUnexpectedEOF for a cut-off body).
func (d *Decoder) Decode(body []byte) (page *Page, err error) {
	if d.err != nil {
		return nil, d.err
	}
	if d.rb == nil {
		return nil, fmt.Errorf("%s: Decode after Release", d.where())
	}
	defer func() {
		if r := recover(); r != nil {
			// A bug, not bad input: the builders may be inconsistent.
			d.reset()
			page, err = nil, fmt.Errorf("%s: decode panic: %v", d.where(), r)
		}
	}()
	d.body = body
	d.sc.reset(body)
	d.env = Envelope{}
	d.rows, d.recStart = 0, -1
	d.reserve()

	if err := d.decodeBody(); err != nil {
		d.reset()
		d.reportDrift(false)
		return nil, err
	}
	d.reportDrift(true)
	d.decoded += int64(d.rows)
	d.lastRows = d.rows
	for _, c := range d.root.cols {
		if c.kind == kString {
			c.dataHint = c.str.DataLen()
		}
	}
	page = &Page{Record: d.rb.NewRecord(), Envelope: d.env}
	d.forget()
	return page, nil
}

// reserve sizes the builders for a page like the last one, so that a page
// costs a few allocations per column rather than a few per doubling.
func (d *Decoder) reserve() {
	if d.lastRows == 0 {
		return
	}
	for _, c := range d.root.cols {
		switch c.kind {
		case kList, kStruct:
			continue // Reserve would recurse into children of unknown size
		case kString:
			c.str.ReserveData(c.dataHint)
		}
		c.b.Reserve(d.lastRows)
	}
	d.rescued.Reserve(d.lastRows)
}

// forget drops the Decoder's references to the last body.
func (d *Decoder) forget() {
	d.body, d.env = nil, Envelope{}
	d.resc, d.path = d.resc[:0], d.path[:0]
	d.sc.reset(nil)
}

// reset drops everything appended since the last page: the builders are
// released and made anew, since after an error mid-record their columns may
// differ in length.
func (d *Decoder) reset() {
	d.forget()
	d.rb.Release()
	d.rb = array.NewRecordBuilder(d.mem, d.out)
	d.bind()
}

// decodeBody decodes the whole body: envelope, records, and nothing after.
func (d *Decoder) decodeBody() error {
	if len(d.records) == 0 {
		if k := d.sc.peek(); k != '[' && k != 0 {
			return d.shapeError(k, "a JSON array of records")
		}
		if err := d.decodeRecords(); err != nil {
			return err
		}
	} else {
		switch k := d.sc.peek(); k {
		case '{':
			if err := d.walk(0, ""); err != nil {
				return err
			}
		case 0:
			return d.malformed(d.readErr())
		default:
			return d.shapeError(k, "a JSON object")
		}
	}
	return d.malformedIf(d.sc.end())
}

// walk decodes an object of the envelope at depth of the records path;
// prefix is the envelope path of the object plus ".".
func (d *Decoder) walk(depth int, prefix string) error {
	if _, err := d.sc.readToken(); err != nil {
		return d.malformed(err)
	}
	found, empty := false, true
	want := d.records[depth]
	for {
		switch k := d.sc.peek(); k {
		case '}':
			if _, err := d.sc.readToken(); err != nil {
				return d.malformed(err)
			}
			if !found && !empty {
				return fmt.Errorf("%s: offset %d: no %q in the response: %w",
					d.where(), d.sc.offset(), strings.Join(d.records[:depth+1], "."), sdk.ErrMalformed)
			}
			return nil
		case '"':
		default:
			return d.malformed(d.readErr())
		}
		empty = false
		name, err := d.sc.readValue()
		if err != nil {
			return d.malformed(err)
		}
		key := string(d.unquote(name))
		if key == want || d.fold && equalFold(key, want) {
			if found { // a second records key: ignore it
				if err := d.sc.skipValue(); err != nil {
					return d.malformed(err)
				}
				continue
			}
			found = true
			if depth == len(d.records)-1 {
				err = d.decodeRecords()
			} else {
				err = d.walkInto(depth+1, prefix+key+".")
			}
			if err != nil {
				return err
			}
			continue
		}
		v, err := d.sc.readValue()
		if err != nil {
			return d.malformed(err)
		}
		d.env.set(prefix+key, v)
	}
}

// walkInto decodes the value of a key on the records path that is not its
// last: an object to walk, or null for no records.
func (d *Decoder) walkInto(depth int, prefix string) error {
	switch k := d.sc.peek(); k {
	case '{':
		return d.walk(depth, prefix)
	case 'n':
		_, err := d.sc.readValue()
		return d.malformedIf(err)
	case 0:
		return d.malformed(d.readErr())
	default:
		return d.shapeError(k, "a JSON object at "+strings.TrimSuffix(prefix, "."))
	}
}

// decodeRecords decodes the records value: an array of objects, a bare
// object (one record; {} is none) or null (none).
func (d *Decoder) decodeRecords() error {
	switch k := d.sc.peek(); k {
	case '[':
		if _, err := d.sc.readToken(); err != nil {
			return d.malformed(err)
		}
		for {
			switch k := d.sc.peek(); k {
			case ']':
				_, err := d.sc.readToken()
				return d.malformedIf(err)
			case '{':
				if err := d.decodeRecord(false); err != nil {
					return err
				}
			case 0:
				return d.malformed(d.readErr())
			default:
				return d.shapeError(k, "a record object")
			}
		}
	case '{':
		return d.decodeRecord(true)
	case 'n':
		_, err := d.sc.readValue()
		return d.malformedIf(err)
	case 0:
		return d.malformed(d.readErr())
	default:
		return d.shapeError(k, "an array of records")
	}
}

// decodeRecord decodes one record object into a row. If bare, the object
// stands alone for the records array and {} means no record.
func (d *Decoder) decodeRecord(bare bool) error {
	start := d.sc.offset()
	d.recStart = start
	if _, err := d.sc.readToken(); err != nil {
		return d.malformed(err)
	}
	if bare && d.sc.peek() == '}' {
		_, err := d.sc.readToken()
		return d.malformedIf(err)
	}
	if err := d.members(d.root); err != nil {
		if fe, ok := err.(*FieldError); ok {
			fe.Stream, fe.Index = d.stream, d.rows
			fe.RecordID = recordID(d.body[start:], d.idField)
		}
		return err
	}
	d.endRescue()
	d.rows++
	d.recStart = -1
	return nil
}

// members decodes the members of an object whose '{' has been read, through
// its '}', appending one value (maybe null) to every column of o.
func (d *Decoder) members(o *object) error {
	after := 0
	for {
		// The key is most likely the one that came next in the last
		// object: if so, comparing bytes is all it takes.
		var name jsontext.Value
		i, ok := o.next[after], false
		if i >= 0 && o.plain[i] {
			name, ok = d.sc.nameIs(o.keys[i])
		}
		if !ok {
			var err error
			if name, err = d.name(o); err != nil || name == nil {
				return err
			}
			key := d.unquote(name)
			if i = o.lookup(key, after); i < 0 && d.fold {
				i = o.lookupFold(key, &d.folded)
			}
		}
		if i >= 0 && o.seen[i] { // a repeated key: the first value holds
			if err := d.sc.skipValue(); err != nil {
				return d.malformed(err)
			}
			continue
		}
		d.pushKey(name)
		var err error
		if i < 0 {
			err = d.unknown()
		} else {
			o.seen[i], after = true, i+1
			err = d.value(o.cols[i])
		}
		if err != nil {
			return err
		}
		d.pop()
	}
}

// name reads the name of the next member of an object of o; at the '}'
// that ends the object, it reads it (see endMembers) and returns a nil
// name.
func (d *Decoder) name(o *object) (jsontext.Value, error) {
	if name, ok := d.sc.name(); ok {
		return name, nil
	}
	switch d.sc.peek() {
	case '}':
		return nil, d.endMembers(o)
	case '"':
	default:
		return nil, d.malformed(d.readErr())
	}
	name, err := d.sc.readValue()
	if err != nil {
		return nil, d.malformed(err)
	}
	return name, nil
}

// endMembers reads the '}' of an object of o and appends null to the
// columns of o it had no member for.
func (d *Decoder) endMembers(o *object) error {
	if _, err := d.sc.readToken(); err != nil {
		return d.malformed(err)
	}
	for i, c := range o.cols {
		if o.seen[i] {
			o.seen[i] = false
			continue
		}
		if !c.nullable {
			return &FieldError{Field: c.name, Want: c.want, Got: "missing"}
		}
		c.b.AppendNull()
	}
	return nil
}

// unknown handles the value of a key the schema does not know, as the
// contract says.
func (d *Decoder) unknown() error {
	if d.contract.OnUnknown == sdk.Ignore {
		return d.malformedIf(d.sc.skipValue())
	}
	v, err := d.sc.readValue()
	if err != nil {
		return d.malformed(err)
	}
	if d.contract.OnUnknown == sdk.Fail {
		d.keyPath()
		return &FieldError{Field: string(d.key), Unknown: true, Got: shapeName(v.Kind())}
	}
	d.rescue(v, nil)
	return nil
}

// value decodes the next JSON value into c.
func (d *Decoder) value(c *column) error {
	switch k := d.sc.peek(); k {
	case '"', '0', 't', 'f':
		v, err := d.sc.readValue()
		if err != nil {
			return d.malformed(err)
		}
		return d.scalar(c, k, v)
	case 'n':
		if _, err := d.sc.readValue(); err != nil {
			return d.malformed(err)
		}
		return d.null(c, "null")
	case '{':
		switch {
		case c.kind == kStruct:
			if _, err := d.sc.readToken(); err != nil {
				return d.malformed(err)
			}
			c.sb.Append(true)
			return d.members(c.obj)
		case c.kind == kList && c.elem.kind == kStruct:
			// A bare object for a list of structs: one item, or none if {}.
			if _, err := d.sc.readToken(); err != nil {
				return d.malformed(err)
			}
			c.lb.Append(true)
			if d.sc.peek() == '}' {
				_, err := d.sc.readToken()
				return d.malformedIf(err)
			}
			c.elem.sb.Append(true)
			return d.members(c.elem.obj)
		case c.kind == kList && c.elem.kind == kList:
			c.lb.Append(true)
			return d.value(c.elem)
		}
		v, err := d.sc.readValue()
		if err != nil {
			return d.malformed(err)
		}
		if c.kind == kList && isEmpty(v) {
			c.lb.Append(true)
			return nil
		}
		return d.mismatch(c, v)
	case '[':
		if c.kind == kList {
			if _, err := d.sc.readToken(); err != nil {
				return d.malformed(err)
			}
			c.lb.Append(true)
			for i := 0; ; i++ {
				switch d.sc.peek() {
				case ']':
					_, err := d.sc.readToken()
					return d.malformedIf(err)
				case 0:
					return d.malformed(d.readErr())
				}
				d.pushIndex(i)
				if err := d.value(c.elem); err != nil {
					return err
				}
				d.pop()
			}
		}
		v, err := d.sc.readValue()
		if err != nil {
			return d.malformed(err)
		}
		if c.kind == kStruct && isEmpty(v) {
			return d.null(c, "[]")
		}
		return d.mismatch(c, v)
	default:
		return d.malformed(d.readErr())
	}
}

// scalar appends the string, number or boolean v (of kind k) to c.
func (d *Decoder) scalar(c *column, k jsontext.Kind, v jsontext.Value) error {
	s := []byte(v)
	if k == '"' {
		s = d.unquote(v)
		if len(s) == 0 && c.kind != kString {
			return d.null(c, `""`)
		}
	}
	switch c.kind {
	case kInt64:
		if k == '"' || k == '0' {
			if n, ok := parseInt(s); ok {
				c.i64.Append(n)
				return nil
			}
		}
	case kFloat64:
		if k == '"' || k == '0' {
			if f, ok := parseFloat(s); ok {
				c.f64.Append(f)
				return nil
			}
		}
	case kBool:
		if b, ok := parseBool(s); ok && (k != '0' || len(s) == 1) {
			c.bl.Append(b)
			return nil
		}
	case kString:
		c.str.BinaryBuilder.Append(s)
		return nil
	case kDate32:
		if k == '"' {
			if days, ok := parseDate32(s); ok {
				c.d32.Append(arrow.Date32(days))
				return nil
			}
		}
	case kTimestamp:
		if k == '"' || k == '0' {
			if t, ok := parseTimestamp(s, c.unit); ok {
				c.ts.Append(arrow.Timestamp(t))
				return nil
			}
		}
	case kList:
		// A bare value as a one-item list, if it fits the item; else the
		// whole value is rescued, since the list's entry cannot be undone.
		if fits(c.elem, k, s) {
			c.lb.Append(true)
			return d.scalar(c.elem, k, v)
		}
	}
	return d.mismatch(c, v)
}

// fits reports whether the scalar s (of kind k, unquoted) fits c.
func fits(c *column, k jsontext.Kind, s []byte) bool {
	if k == '"' && len(s) == 0 {
		return c.nullable || c.kind == kString
	}
	switch c.kind {
	case kInt64:
		_, ok := parseInt(s)
		return ok && k != 't' && k != 'f'
	case kFloat64:
		_, ok := parseFloat(s)
		return ok && k != 't' && k != 'f'
	case kBool:
		_, ok := parseBool(s)
		return ok && (k != '0' || len(s) == 1)
	case kString:
		return true
	case kDate32:
		_, ok := parseDate32(s)
		return ok && k == '"'
	case kTimestamp:
		_, ok := parseTimestamp(s, c.unit)
		return ok && k != 't' && k != 'f'
	case kList:
		return fits(c.elem, k, s)
	}
	return false
}

// null appends a null to c, or fails if c is not nullable; got is the JSON
// that meant null.
func (d *Decoder) null(c *column, got string) error {
	if !c.nullable {
		return &FieldError{Field: c.name, Want: c.want, Got: got}
	}
	c.b.AppendNull()
	return nil
}

// mismatch handles the value v that does not fit c: c gets null and v is
// rescued, unless c is not nullable or the contract says fail, when it
// returns the FieldError.
func (d *Decoder) mismatch(c *column, v jsontext.Value) error {
	if !c.nullable || d.contract.OnMismatch == sdk.Fail {
		return &FieldError{Field: c.name, Want: c.want, Got: shorten(v)}
	}
	c.b.AppendNull()
	d.rescue(v, c)
	return nil
}

// isEmpty reports whether v is {} or [] (maybe with blanks inside).
func isEmpty(v jsontext.Value) bool {
	return len(bytes.TrimSpace(v[1:len(v)-1])) == 0
}

// unquote returns the contents of the JSON string v, the string last read,
// valid until the next call: v's own bytes when it has no escapes.
func (d *Decoder) unquote(v jsontext.Value) []byte {
	if !d.sc.esc {
		return v[1 : len(v)-1]
	}
	var err error
	d.scratch, err = jsontext.AppendUnquote(d.scratch[:0], v)
	if err != nil { // cannot happen: the decoder has validated v
		return v[1 : len(v)-1]
	}
	return d.scratch
}

// readErr returns the error of the next token, which the caller could not
// take.
func (d *Decoder) readErr() error {
	if _, err := d.sc.readToken(); err != nil {
		return err
	}
	return errors.New("unexpected token")
}

// where starts the Decoder's errors: "records: stream employees".
func (d *Decoder) where() string {
	if d.stream == "" {
		return "records"
	}
	return "records: stream " + d.stream
}

// malformed wraps a scanner error in sdk.ErrMalformed with where it was.
func (d *Decoder) malformed(err error) error {
	off := d.sc.offset()
	var se *syntaxError
	if errors.As(err, &se) {
		off = se.off
	}
	return fmt.Errorf("%s: offset %d%s: %w: %w", d.where(), off, d.inRecord(), sdk.ErrMalformed, err)
}

// inRecord says where in the page's records the Decoder is, for malformed
// input found inside one: " (record #1, id=42, key location.lat)", with
// the record's 0-based index, its id if it has one before the fault, and
// the key path to the value being read; "" outside records.
func (d *Decoder) inRecord() string {
	if d.recStart < 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, " (record #%d", d.rows)
	if id := recordID(d.body[d.recStart:], d.idField); id != "" {
		fmt.Fprintf(&b, ", id=%s", id)
	}
	if len(d.path) > 0 {
		d.keyPath()
		fmt.Fprintf(&b, ", key %s", d.key)
	}
	b.WriteByte(')')
	return b.String()
}

// malformedIf is malformed for a non-nil err.
func (d *Decoder) malformedIf(err error) error {
	if err != nil {
		return d.malformed(err)
	}
	return nil
}

// shapeError reports a JSON value of kind k where want was expected.
func (d *Decoder) shapeError(k jsontext.Kind, want string) error {
	off := d.sc.offset()
	if d.sc.next >= 0 { // the value was peeked at: point at it, not before its blanks
		off = d.sc.next
	}
	return fmt.Errorf("%s: offset %d: want %s, got %s: %w",
		d.where(), off, want, kindName(k), sdk.ErrMalformed)
}

// kindName names a JSON kind for errors.
func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "invalid JSON"
}

// recordID returns the value of key id in the object at the start of b
// (after blanks and a comma), for errors; "" if there is none.
func recordID(b []byte, id string) string {
	var sc scanner
	sc.reset(bytes.TrimLeft(b, " \t\r\n,"))
	if k, err := sc.readToken(); err != nil || k != '{' {
		return ""
	}
	for sc.peek() == '"' {
		name, err := sc.readValue()
		if err != nil {
			return ""
		}
		key := name[1 : len(name)-1]
		if sc.esc {
			key, _ = jsontext.AppendUnquote(nil, name)
		}
		if string(key) != id {
			if sc.skipValue() != nil {
				return ""
			}
			continue
		}
		v, err := sc.readValue()
		if err != nil {
			return ""
		}
		switch v.Kind() {
		case '"':
			s, err := jsontext.AppendUnquote(nil, v)
			if err != nil {
				return ""
			}
			return shorten(s)
		case '0':
			return shorten(v)
		}
		return ""
	}
	return ""
}
