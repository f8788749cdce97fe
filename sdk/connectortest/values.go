package connectortest

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// metaJSON is the field metadata key holding the vendor's JSON key of a
// column whose name differs from it (schemas.MetaJSON, records' jsonKeyMeta).
const metaJSON = "quiver:json"

// Value returns value i of a as a plain Go value, for comparing what a
// connector or the host wrote with go-cmp: nil, int64, float64, bool,
// string, time.Time (UTC; a date is its midnight), []any for a list and
// map[string]any for a struct. Other types give a string naming the type,
// which no expectation matches.
func Value(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Date32:
		return a.Value(i).ToTime().UTC()
	case *array.Timestamp:
		return a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit).UTC()
	case *array.List:
		start, end := a.ValueOffsets(i)
		out := []any{}
		for j := start; j < end; j++ {
			out = append(out, Value(a.ListValues(), int(j)))
		}
		return out
	case *array.Struct:
		out := map[string]any{}
		st := a.DataType().(*arrow.StructType)
		for f := range a.NumField() {
			out[st.Field(f).Name] = Value(a.Field(f), i)
		}
		return out
	}
	return fmt.Sprintf("unsupported %s", a.DataType())
}

// Row returns row i of rec as Values by column name.
func Row(rec arrow.Record, i int) map[string]any {
	row := make(map[string]any, rec.NumCols())
	for c, f := range rec.Schema().Fields() {
		row[f.Name] = Value(rec.Column(c), i)
	}
	return row
}

// Expect returns the row a stream of schema should hold for rec, a record
// as a simulator serves it (decoded JSON: numbers float64, lists []any,
// objects map[string]any): each column's value is rec's value under the
// column's JSON key (its "quiver:json" metadata, else its name), converted
// to the column's type as Value returns it. Structs are matched the same
// way at any depth. Lineage columns (_quiver_*) are left out.
//
// Numbers may come as numeric strings and strings as numbers, as some
// vendors send them; timestamps as RFC 3339, as "2006-01-02 15:04:05"
// (taken as UTC) or as a time.Time; dates as "2006-01-02", with anything
// after the date ignored.
func Expect(schema *arrow.Schema, rec map[string]any) (map[string]any, error) {
	return expectFields(schema.Fields(), rec, true)
}

func expectFields(fields []arrow.Field, rec map[string]any, top bool) (map[string]any, error) {
	out := map[string]any{}
	for _, f := range fields {
		if top && strings.HasPrefix(f.Name, "_quiver_") {
			continue
		}
		key := f.Name
		if k, ok := f.Metadata.GetValue(metaJSON); ok {
			key = k
		}
		v, err := convert(f.Type, rec[key])
		if err != nil {
			return nil, fmt.Errorf("connectortest: column %q: %w", f.Name, err)
		}
		out[f.Name] = v
	}
	return out, nil
}

// convert turns a decoded JSON value into what a column of type dt holds.
func convert(dt arrow.DataType, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch dt.ID() {
	case arrow.INT64:
		if n, ok := v.(int64); ok {
			return n, nil
		}
		f, err := number(v)
		return int64(f), err
	case arrow.FLOAT64:
		return number(v)
	case arrow.BOOL:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, fmt.Errorf("%v (%T) is not a boolean", v, v)
	case arrow.STRING:
		if f, ok := v.(float64); ok {
			return strconv.FormatFloat(f, 'f', -1, 64), nil
		}
		return v, nil
	case arrow.DATE32:
		if t, ok := v.(time.Time); ok {
			y, m, d := t.Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
		}
		s, _ := v.(string)
		return time.Parse(time.DateOnly, s[:min(len(s), len(time.DateOnly))])
	case arrow.TIMESTAMP:
		return timestamp(v)
	case arrow.LIST:
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%v (%T) is not a list", v, v)
		}
		out := []any{}
		for _, e := range list {
			c, err := convert(dt.(*arrow.ListType).Elem(), e)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	case arrow.STRUCT:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%v (%T) is not an object", v, v)
		}
		return expectFields(dt.(*arrow.StructType).Fields(), m, false)
	}
	return nil, fmt.Errorf("no conversion to %s", dt)
}

// number reads a JSON number or numeric string.
func number(v any) (float64, error) {
	switch v := v.(type) {
	case float64:
		return v, nil
	case int64:
		return float64(v), nil
	case int:
		return float64(v), nil
	case string:
		return strconv.ParseFloat(v, 64)
	}
	return 0, fmt.Errorf("%v (%T) is not a number", v, v)
}

// timestamp reads a time as Expect describes, at microsecond precision.
func timestamp(v any) (any, error) {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Truncate(time.Microsecond), nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("%v (%T) is not a time", v, v)
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateTime} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Microsecond), nil
		}
	}
	return nil, fmt.Errorf("%q is not an RFC 3339 or %q time", s, time.DateTime)
}
