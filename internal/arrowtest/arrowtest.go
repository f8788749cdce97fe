// Package arrowtest turns Arrow values into plain Go values, so tests can
// compare what a connector or the host wrote with go-cmp.
package arrowtest

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// Value returns value i of a as a plain Go value: nil, int64, float64,
// bool, string, time.Time (UTC; a date is its midnight), []any for a list
// and map[string]any for a struct. Other types give a string naming the
// type, which no expectation matches.
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
