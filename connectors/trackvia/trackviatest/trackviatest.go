// Package trackviatest compares what the TrackVia connector wrote with what
// the simulator (package trackviasim) served: it turns both Arrow values
// and the simulator's records into plain Go values.
//
//	got := arrowtest.Row(rec, i)
//	want, err := trackviatest.Expect(rec.Schema(), srv.Record(view, i))
//	if diff := cmp.Diff(want, got); diff != "" { ... }
package trackviatest

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
)

// Expect returns the row a stream of schema holds for rec, a simulator
// record (trackviasim.Server.Record) in either value shape of
// docs/vendors/trackvia.md#field-types-and-values: each column's value
// is rec's value under the column's name, converted to the column's
// type as Value returns it. Lineage columns (_quiver_*) are left out.
func Expect(schema *arrow.Schema, rec map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for _, f := range schema.Fields() {
		if strings.HasPrefix(f.Name, "_quiver_") {
			continue
		}
		v, err := convert(f.Type, rec[f.Name])
		if err != nil {
			return nil, fmt.Errorf("trackviatest: column %q: %w", f.Name, err)
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
		f, err := number(v)
		return int64(f), err
	case arrow.FLOAT64:
		return number(v)
	case arrow.STRING:
		if f, ok := v.(float64); ok {
			return strconv.FormatFloat(f, 'f', -1, 64), nil
		}
		return v, nil
	case arrow.DATE32:
		s, _ := v.(string)
		return time.Parse(time.DateOnly, s[:min(len(s), len(time.DateOnly))])
	case arrow.TIMESTAMP:
		s, _ := v.(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		return t.UTC().Truncate(time.Microsecond), err
	case arrow.LIST:
		out := []any{}
		for _, e := range v.([]any) {
			c, err := convert(dt.(*arrow.ListType).Elem(), e)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	case arrow.STRUCT:
		m, _ := v.(map[string]any)
		out := map[string]any{}
		for _, f := range dt.(*arrow.StructType).Fields() {
			c, err := convert(f.Type, m[f.Name])
			if err != nil {
				return nil, err
			}
			out[f.Name] = c
		}
		return out, nil
	}
	return nil, fmt.Errorf("no conversion to %s", dt)
}

// number reads a JSON number or numeric string.
func number(v any) (float64, error) {
	switch v := v.(type) {
	case float64:
		return v, nil
	case string:
		return strconv.ParseFloat(v, 64)
	}
	return 0, fmt.Errorf("%v (%T) is not a number", v, v)
}
