package records

import (
	"cmp"
	"slices"
	"strconv"
	"sync"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/quiver-etl/quiver/sdk"
)

// RescueColumn is the column a Decoder adds after a schema's columns: per
// record, a JSON object of what the schema could not take, or null when
// nothing was rescued. Its keys are the record's keys (a path for a value
// inside a struct or list, see [Decoder]) and its values the original JSON
// text of the rescued values, byte for byte.
const RescueColumn = "_quiver_rescued"

// rescueDescription documents RescueColumn in its field metadata.
const rescueDescription = "JSON object of the values the schema could not take: keys it does not know and values that do not fit their column (whose column is then null), each as the vendor sent it; null when there were none."

// WithRescue returns schema with RescueColumn, a nullable string, added
// after its columns; a schema that ends with it already is returned as it
// is. Every stream read through a Decoder has this schema.
func WithRescue(schema *arrow.Schema) *arrow.Schema {
	if hasRescue(schema) {
		return schema
	}
	md := schema.Metadata()
	fields := append(slices.Clip(schema.Fields()), arrow.Field{
		Name: RescueColumn, Type: arrow.BinaryTypes.String, Nullable: true,
		Metadata: arrow.NewMetadata([]string{"quiver:description"}, []string{rescueDescription}),
	})
	return arrow.NewSchema(fields, &md)
}

// hasRescue reports whether schema's last column is RescueColumn.
func hasRescue(schema *arrow.Schema) bool {
	n := schema.NumFields()
	return n > 0 && schema.Field(n-1).Name == RescueColumn
}

// A DriftReport gathers what Decoders rescued, for a stream's progress
// reports. Decoders add to it after each page they decode without error,
// so a failed page counts nothing. It is safe for concurrent use; the zero
// value is ready to use.
type DriftReport struct {
	mu sync.Mutex
	m  map[string]*sdk.Drift
}

// add adds n values of key with shapes (a bitmask of shape bits).
func (r *DriftReport) add(key, column string, shapes uint8, n int64, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]*sdk.Drift{}
	}
	d := r.m[key]
	if d == nil {
		d = &sdk.Drift{Key: key, Column: column, RecordID: id}
		r.m[key] = d
	}
	d.Count += n
	for bit, name := range shapeNames {
		if shapes&(1<<bit) != 0 && !slices.Contains(d.Shapes, name) {
			d.Shapes = append(d.Shapes, name)
			slices.Sort(d.Shapes)
		}
	}
}

// Snapshot returns the report so far, by key; the caller owns the result.
func (r *DriftReport) Snapshot() []sdk.Drift {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]sdk.Drift, 0, len(r.m))
	for _, d := range r.m {
		c := *d
		c.Shapes = slices.Clone(d.Shapes)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b sdk.Drift) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// shapeNames names the JSON shapes, by bit.
var shapeNames = [...]string{"array", "boolean", "number", "object", "string"}

// shapeBit returns the bit of the shape of JSON kind k.
func shapeBit(k jsontext.Kind) uint8 {
	switch k {
	case '[':
		return 1 << 0
	case 't', 'f':
		return 1 << 1
	case '0':
		return 1 << 2
	case '{':
		return 1 << 3
	}
	return 1 << 4
}

// shapeName names the shape of JSON kind k.
func shapeName(k jsontext.Kind) string {
	b := shapeBit(k)
	for bit, name := range shapeNames {
		if b == 1<<bit {
			return name
		}
	}
	return ""
}

// drift is a Decoder's count of one rescue key in the current page.
type drift struct {
	column string // "" for an unknown key
	shapes uint8
	n      int64
	id     string // the id of the first record with one
}

// A seg is one step of the path from a record to the value being decoded:
// a key (the quoted key is body[start:end]) or, when start < 0, the list
// index end.
type seg struct{ start, end int }

// pushKey enters the member whose quoted key name ends at the decoder's
// current offset.
func (d *Decoder) pushKey(name jsontext.Value) {
	end := d.sc.offset()
	d.path = append(d.path, seg{end - len(name), end})
}

// pushIndex enters list element i.
func (d *Decoder) pushIndex(i int) { d.path = append(d.path, seg{-1, i}) }

// pop leaves the innermost member or element.
func (d *Decoder) pop() { d.path = d.path[:len(d.path)-1] }

// rescue keeps the JSON value v, found at d.path, in the record's rescue
// object; c is the column it did not fit, nil for an unknown key. The key
// is the member's own quoted text at the top level, and a path of unquoted
// keys joined by "." with "[i]" for list elements below it
// ("location.lat", "contacts[2].email").
func (d *Decoder) rescue(v jsontext.Value, c *column) {
	d.keyPath()
	if len(d.resc) == 0 {
		d.resc = append(d.resc, '{')
	} else {
		d.resc = append(d.resc, ',')
	}
	if s := d.path[0]; len(d.path) == 1 {
		d.resc = append(d.resc, d.body[s.start:s.end]...)
	} else {
		d.resc, _ = jsontext.AppendQuote(d.resc, d.key)
	}
	d.resc = append(d.resc, ':')
	d.resc = append(d.resc, v...)

	if d.driftMax > 0 && d.decoded+int64(d.rows) >= d.driftMax {
		return // past the sample
	}
	e := d.drift[string(d.norm)]
	if e == nil {
		e = &drift{id: recordID(d.body[d.recStart:], d.idField)}
		if c != nil {
			e.column = c.name
		}
		if d.drift == nil {
			d.drift = map[string]*drift{}
		}
		d.drift[string(d.norm)] = e
	}
	e.shapes |= shapeBit(v.Kind())
	e.n++
}

// keyPath sets d.key to the path of the current value: its unquoted keys
// joined by "." with "[i]" for list elements; and d.norm to the same path
// with "[]" for every list element, which names it in drift reports.
func (d *Decoder) keyPath() {
	d.key, d.norm = d.key[:0], d.norm[:0]
	for i, s := range d.path {
		if s.start < 0 {
			d.norm = append(d.norm, "[]"...)
			d.key = append(d.key, '[')
			d.key = strconv.AppendInt(d.key, int64(s.end), 10)
			d.key = append(d.key, ']')
			continue
		}
		if i > 0 {
			d.key = append(d.key, '.')
			d.norm = append(d.norm, '.')
		}
		n := len(d.key)
		var err error
		if d.key, err = jsontext.AppendUnquote(d.key, d.body[s.start:s.end]); err != nil {
			// Cannot happen: the tokenizer has validated the key.
			d.key = append(d.key[:n], d.body[s.start+1:s.end-1]...)
		}
		d.norm = append(d.norm, d.key[n:]...)
	}
}

// endRescue appends the record's rescue object, or null, to the rescue
// column.
func (d *Decoder) endRescue() {
	if len(d.resc) == 0 {
		d.rescued.AppendNull()
		return
	}
	d.resc = append(d.resc, '}')
	d.rescued.BinaryBuilder.Append(d.resc)
	d.resc = d.resc[:0]
}

// reportDrift adds the page's drift to the report and clears it.
func (d *Decoder) reportDrift(ok bool) {
	for k, e := range d.drift {
		if ok && e.n > 0 && d.report != nil {
			d.report.add(k, e.column, e.shapes, e.n, e.id)
		}
		delete(d.drift, k)
	}
}

// Rescued returns the RescueColumn of rec, a record of a Decoder (or a
// slice of one), for code that reshapes decoded records and must pass the
// column on; nil if rec has none. The caller does not own the result:
// Retain it to keep it longer than rec.
func Rescued(rec arrow.Record) arrow.Array {
	if !hasRescue(rec.Schema()) {
		return nil
	}
	return rec.Column(int(rec.NumCols()) - 1)
}
