package records

import (
	"fmt"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Constant returns an array of type dt holding v on each of its n rows: a
// column with one value for a whole batch, such as the parent's id on a
// child stream's rows, the view a batch was read from, or the snapshot
// time of a page. v is nil for n nulls, or a Go value of dt's kind: int64
// or int for integer types, float64 (or an integer) for float64, bool,
// string, and time.Time for timestamps (in dt's unit) and date32. Other
// pairs are an error. The caller releases the array.
func Constant(mem memory.Allocator, dt arrow.DataType, v any, n int) (arrow.Array, error) {
	if v == nil {
		return array.MakeArrayOfNull(mem, dt, n), nil
	}
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	b.Reserve(n)
	ok := true
	switch b := b.(type) {
	case *array.Int64Builder:
		var x int64
		if x, ok = integer(v); ok {
			repeat(b.UnsafeAppend, x, n)
		}
	case *array.Int32Builder:
		var x int64
		if x, ok = integer(v); ok && int64(int32(x)) == x {
			repeat(b.UnsafeAppend, int32(x), n)
		} else {
			ok = false
		}
	case *array.Float64Builder:
		var x float64
		if x, ok = v.(float64); !ok {
			var i int64
			i, ok = integer(v)
			x = float64(i)
		}
		if ok {
			repeat(b.UnsafeAppend, x, n)
		}
	case *array.BooleanBuilder:
		var x bool
		if x, ok = v.(bool); ok {
			repeat(b.UnsafeAppend, x, n)
		}
	case *array.StringBuilder:
		var x string
		if x, ok = v.(string); ok {
			b.ReserveData(n * len(x))
			repeat(b.Append, x, n)
		}
	case *array.TimestampBuilder:
		var t time.Time
		if t, ok = v.(time.Time); ok {
			x, err := arrow.TimestampFromTime(t, dt.(*arrow.TimestampType).Unit)
			if err != nil {
				return nil, fmt.Errorf("records: constant %s: %w", t.Format(time.RFC3339Nano), err)
			}
			repeat(b.UnsafeAppend, x, n)
		}
	case *array.Date32Builder:
		var t time.Time
		if t, ok = v.(time.Time); ok {
			repeat(b.UnsafeAppend, arrow.Date32FromTime(t), n)
		}
	default:
		ok = false
	}
	if !ok {
		return nil, fmt.Errorf("records: a constant %T does not fit a %s column", v, dt)
	}
	return b.NewArray(), nil
}

// integer returns v as an int64 if it is an int or int64.
func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	}
	return 0, false
}

// repeat calls add(v) n times.
func repeat[T any](add func(T), v T, n int) {
	for range n {
		add(v)
	}
}
