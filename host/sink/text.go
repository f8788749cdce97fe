package sink

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/decimal256"
	"github.com/apache/arrow/go/v17/arrow/float16"
	"github.com/go-json-experiment/json/jsontext"
)

// This file renders Arrow values as text for the JSONL and CSV formats.
// A column's type is compiled once per part into a binder; a binder is bound
// to each record's array (a few type assertions per column and record), and
// the bound appendFunc then renders values with no per-value type switch.

// appendFunc appends the text of value i of the array it was bound to.
// It does not handle a null at i: see withNulls.
type appendFunc func(dst []byte, i int) []byte

// binder binds a compiled encoder to an array of its type.
type binder func(arr arrow.Array) appendFunc

// textMode says how scalars are rendered.
type textMode int

const (
	// jsonText renders JSON values: strings, dates and times quoted and
	// escaped, NaN and infinities as the strings "NaN", "Infinity",
	// "-Infinity" (JSON has no literal for them).
	jsonText textMode = iota
	// rawText renders a CSV field: scalars as bare text, nested values
	// (lists, structs, maps) as JSON text.
	rawText
)

// Timestamp and time layouts, fixed-width per unit so that values of one
// column sort the same as text and as instants.
var (
	tsLayouts = [...]string{
		arrow.Second:      "2006-01-02T15:04:05",
		arrow.Millisecond: "2006-01-02T15:04:05.000",
		arrow.Microsecond: "2006-01-02T15:04:05.000000",
		arrow.Nanosecond:  "2006-01-02T15:04:05.000000000",
	}
	timeLayouts = [...]string{
		arrow.Second:      "15:04:05",
		arrow.Millisecond: "15:04:05.000",
		arrow.Microsecond: "15:04:05.000000",
		arrow.Nanosecond:  "15:04:05.000000000",
	}
)

const dateLayout = "2006-01-02"

// withNulls makes b render nulls as null.
func withNulls(b binder, null string) binder {
	return func(arr arrow.Array) appendFunc {
		fn := b(arr)
		if arr.NullN() == 0 {
			return fn
		}
		return func(dst []byte, i int) []byte {
			if arr.IsNull(i) {
				return append(dst, null...)
			}
			return fn(dst, i)
		}
	}
}

// nullText is how mode renders a null nested inside a value.
func nullText(mode textMode) string {
	if mode == jsonText {
		return "null"
	}
	return ""
}

// compile returns the encoder for values of type dt, or an error naming dt
// if the type cannot be rendered as text.
func compile(dt arrow.DataType, mode textMode) (binder, error) {
	switch dt.ID() {
	case arrow.NULL:
		null := nullText(mode)
		return func(arrow.Array) appendFunc {
			return func(dst []byte, _ int) []byte { return append(dst, null...) }
		}, nil
	case arrow.BOOL:
		return func(arr arrow.Array) appendFunc {
			a := arr.(*array.Boolean)
			return func(dst []byte, i int) []byte { return strconv.AppendBool(dst, a.Value(i)) }
		}, nil
	case arrow.INT8:
		return signed[int8], nil
	case arrow.INT16:
		return signed[int16], nil
	case arrow.INT32:
		return signed[int32], nil
	case arrow.INT64:
		return signed[int64], nil
	case arrow.DURATION: // a count of the type's unit, as Arrow defines it
		return signed[arrow.Duration], nil
	case arrow.UINT8:
		return unsigned[uint8], nil
	case arrow.UINT16:
		return unsigned[uint16], nil
	case arrow.UINT32:
		return unsigned[uint32], nil
	case arrow.UINT64:
		return unsigned[uint64], nil
	case arrow.FLOAT16:
		return func(arr arrow.Array) appendFunc {
			a := arr.(interface{ Value(int) float16.Num })
			return func(dst []byte, i int) []byte { return appendFloat(dst, float64(a.Value(i).Float32()), 32, mode) }
		}, nil
	case arrow.FLOAT32:
		return floats[float32](32, mode), nil
	case arrow.FLOAT64:
		return floats[float64](64, mode), nil
	case arrow.DECIMAL128:
		return decimals[decimal128.Num](dt.(*arrow.Decimal128Type).Scale), nil
	case arrow.DECIMAL256:
		return decimals[decimal256.Num](dt.(*arrow.Decimal256Type).Scale), nil
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return func(arr arrow.Array) appendFunc {
			a := arr.(interface{ Value(int) string })
			if mode == rawText {
				return func(dst []byte, i int) []byte { return append(dst, a.Value(i)...) }
			}
			return func(dst []byte, i int) []byte {
				// Invalid UTF-8 is replaced with U+FFFD; the error only says so.
				dst, _ = jsontext.AppendQuote(dst, a.Value(i))
				return dst
			}
		}, nil
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		return quoted(mode, func(arr arrow.Array) appendFunc {
			a := arr.(interface{ Value(int) []byte })
			return func(dst []byte, i int) []byte { return base64.StdEncoding.AppendEncode(dst, a.Value(i)) }
		}), nil
	case arrow.DATE32:
		return quoted(mode, formatted[arrow.Date32](func(v int64) time.Time { return time.Unix(v*86400, 0).UTC() }, dateLayout)), nil
	case arrow.DATE64:
		return quoted(mode, formatted[arrow.Date64](func(v int64) time.Time { return time.UnixMilli(v).UTC() }, dateLayout)), nil
	case arrow.TIMESTAMP:
		ts := dt.(*arrow.TimestampType)
		layout := tsLayouts[ts.Unit]
		if ts.TimeZone != "" {
			// The value is an instant: render it in UTC, with a Z.
			layout += "Z07:00"
		}
		return quoted(mode, formatted[arrow.Timestamp](unitTime(ts.Unit), layout)), nil
	case arrow.TIME32:
		unit := dt.(*arrow.Time32Type).Unit
		return quoted(mode, formatted[arrow.Time32](unitTime(unit), timeLayouts[unit])), nil
	case arrow.TIME64:
		unit := dt.(*arrow.Time64Type).Unit
		return quoted(mode, formatted[arrow.Time64](unitTime(unit), timeLayouts[unit])), nil
	case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.LIST_VIEW, arrow.LARGE_LIST_VIEW:
		return compileList(dt.(arrow.ListLikeType))
	case arrow.STRUCT:
		return compileStruct(dt.(*arrow.StructType))
	case arrow.MAP:
		return compileMap(dt.(*arrow.MapType))
	case arrow.DICTIONARY:
		vals, err := compile(dt.(*arrow.DictionaryType).ValueType, mode)
		if err != nil {
			return nil, err
		}
		vals = withNulls(vals, nullText(mode))
		return func(arr arrow.Array) appendFunc {
			d := arr.(*array.Dictionary)
			fn := vals(d.Dictionary())
			return func(dst []byte, i int) []byte { return fn(dst, d.GetValueIndex(i)) }
		}, nil
	case arrow.EXTENSION:
		storage, err := compile(dt.(arrow.ExtensionType).StorageType(), mode)
		if err != nil {
			return nil, err
		}
		return func(arr arrow.Array) appendFunc {
			return storage(arr.(array.ExtensionArray).Storage())
		}, nil
	}
	return nil, fmt.Errorf("type %s has no text rendering", dt)
}

// signed renders integers of type T.
func signed[T ~int8 | ~int16 | ~int32 | ~int64](arr arrow.Array) appendFunc {
	a := arr.(interface{ Value(int) T })
	return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(a.Value(i)), 10) }
}

// unsigned renders unsigned integers of type T.
func unsigned[T ~uint8 | ~uint16 | ~uint32 | ~uint64](arr arrow.Array) appendFunc {
	a := arr.(interface{ Value(int) T })
	return func(dst []byte, i int) []byte { return strconv.AppendUint(dst, uint64(a.Value(i)), 10) }
}

// quoted wraps b's output in double quotes in jsonText mode. b must only
// produce text that needs no JSON escaping (dates, base64).
func quoted(mode textMode, b binder) binder {
	if mode == rawText {
		return b
	}
	return func(arr arrow.Array) appendFunc {
		fn := b(arr)
		return func(dst []byte, i int) []byte {
			dst = append(dst, '"')
			dst = fn(dst, i)
			return append(dst, '"')
		}
	}
}

// floats renders floating-point values of type T.
func floats[T float32 | float64](bits int, mode textMode) binder {
	return func(arr arrow.Array) appendFunc {
		a := arr.(interface{ Value(int) T })
		return func(dst []byte, i int) []byte { return appendFloat(dst, float64(a.Value(i)), bits, mode) }
	}
}

// decimals renders decimals of type T, exactly, as JSON numbers.
func decimals[T interface{ ToString(int32) string }](scale int32) binder {
	return func(arr arrow.Array) appendFunc {
		a := arr.(interface{ Value(int) T })
		return func(dst []byte, i int) []byte { return append(dst, a.Value(i).ToString(scale)...) }
	}
}

// formatted renders temporal values of type T, converted by toTime and
// formatted with layout.
func formatted[T ~int32 | ~int64](toTime func(int64) time.Time, layout string) binder {
	return func(arr arrow.Array) appendFunc {
		a := arr.(interface{ Value(int) T })
		return func(dst []byte, i int) []byte { return toTime(int64(a.Value(i))).AppendFormat(dst, layout) }
	}
}

// unitTime returns the conversion of values in unit to UTC times.
func unitTime(unit arrow.TimeUnit) func(int64) time.Time {
	return func(v int64) time.Time { return toTime(v, unit) }
}

// appendFloat renders v as the shortest decimal that round-trips at the
// given bit size, in JSON number syntax.
func appendFloat(dst []byte, v float64, bits int, mode textMode) []byte {
	var s string
	switch {
	case math.IsNaN(v):
		s = "NaN"
	case math.IsInf(v, 1):
		s = "Infinity"
	case math.IsInf(v, -1):
		s = "-Infinity"
	default:
		return jsontext.AppendFloat(dst, v, bits)
	}
	if mode == jsonText {
		return append(append(append(dst, '"'), s...), '"')
	}
	return append(dst, s...)
}

// toTime converts v units since the epoch (or since midnight) to a UTC
// time, without the overflow of multiplying out to nanoseconds.
func toTime(v int64, unit arrow.TimeUnit) time.Time {
	per := int64(time.Second / unit.Multiplier()) // units per second
	sec, frac := v/per, v%per
	if frac < 0 {
		sec, frac = sec-1, frac+per
	}
	return time.Unix(sec, frac*int64(unit.Multiplier())).UTC()
}

// listArray is what the list-like arrays have in common.
type listArray interface {
	ValueOffsets(i int) (start, end int64)
	ListValues() arrow.Array
}

// compileList renders lists as JSON arrays (in both modes).
func compileList(dt arrow.ListLikeType) (binder, error) {
	elem, err := compile(dt.Elem(), jsonText)
	if err != nil {
		return nil, err
	}
	elem = withNulls(elem, "null")
	return func(arr arrow.Array) appendFunc {
		l := arr.(listArray)
		fn := elem(l.ListValues())
		return func(dst []byte, i int) []byte {
			start, end := l.ValueOffsets(i)
			dst = append(dst, '[')
			for j := start; j < end; j++ {
				if j > start {
					dst = append(dst, ',')
				}
				dst = fn(dst, int(j))
			}
			return append(dst, ']')
		}
	}, nil
}

// objectKey returns name as a JSON object key, with its colon.
func objectKey(name string) []byte {
	k, _ := jsontext.AppendQuote(nil, name)
	return append(k, ':')
}

// compileStruct renders structs as JSON objects (in both modes).
func compileStruct(dt *arrow.StructType) (binder, error) {
	fields := dt.Fields()
	keys := make([][]byte, len(fields))
	children := make([]binder, len(fields))
	for k, f := range fields {
		b, err := compile(f.Type, jsonText)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
		keys[k], children[k] = objectKey(f.Name), withNulls(b, "null")
	}
	return func(arr arrow.Array) appendFunc {
		s := arr.(*array.Struct)
		fns := make([]appendFunc, len(children))
		for k, b := range children {
			fns[k] = b(s.Field(k))
		}
		return func(dst []byte, i int) []byte { return appendObject(dst, keys, fns, i) }
	}, nil
}

// appendObject renders row i of the fields fns as a JSON object; keys are
// the fields' `"name":` prefixes.
func appendObject(dst []byte, keys [][]byte, fns []appendFunc, i int) []byte {
	dst = append(dst, '{')
	for k, fn := range fns {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, keys[k]...)
		dst = fn(dst, i)
	}
	return append(dst, '}')
}

// compileMap renders maps with string keys as JSON objects and other maps
// as arrays of {"key":…,"value":…} objects (in both modes).
func compileMap(dt *arrow.MapType) (binder, error) {
	keyType := dt.KeyType()
	keyEnc, err := compile(keyType, jsonText)
	if err != nil {
		return nil, fmt.Errorf("map key: %w", err)
	}
	itemEnc, err := compile(dt.ItemType(), jsonText)
	if err != nil {
		return nil, fmt.Errorf("map item: %w", err)
	}
	itemEnc = withNulls(itemEnc, "null")
	var asObject bool
	switch keyType.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		asObject = true
	}
	return func(arr arrow.Array) appendFunc {
		m := arr.(*array.Map)
		entries := m.ListValues().(*array.Struct)
		keyFn, itemFn := keyEnc(entries.Field(0)), itemEnc(entries.Field(1))
		return func(dst []byte, i int) []byte {
			start, end := m.ValueOffsets(i)
			if asObject {
				dst = append(dst, '{')
			} else {
				dst = append(dst, '[')
			}
			for j := int(start); j < int(end); j++ {
				if j > int(start) {
					dst = append(dst, ',')
				}
				if asObject {
					dst = append(keyFn(dst, j), ':')
					dst = itemFn(dst, j)
					continue
				}
				dst = append(dst, `{"key":`...)
				dst = append(keyFn(dst, j), `,"value":`...)
				dst = append(itemFn(dst, j), '}')
			}
			if asObject {
				return append(dst, '}')
			}
			return append(dst, ']')
		}
	}, nil
}
