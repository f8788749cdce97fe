package records

import (
	"fmt"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// WallClock returns rec with the values of its timestamp columns, nested
// ones included, read as wall-clock times in loc: a Decoder takes a time
// written without a zone ("2020-04-01 10:00:00") as UTC, and WallClock turns
// it into the instant that wall-clock time is in loc (04:30 UTC for
// Asia/Kolkata). Use it for vendors that write local times without an
// offset; times that had an offset must not go through it. A wall-clock time
// that a daylight-saving change skips or repeats is resolved as time.Date
// does.
//
// With loc nil or UTC, it returns rec itself, retained. The caller releases
// the result and still owns rec.
func WallClock(mem memory.Allocator, rec arrow.Record, loc *time.Location) (arrow.Record, error) {
	if loc == nil || loc == time.UTC {
		rec.Retain()
		return rec, nil
	}
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, c := range rec.Columns() {
		data, err := wallClock(mem, c.Data(), loc)
		if err != nil {
			return nil, fmt.Errorf("records: column %s: %w", rec.ColumnName(i), err)
		}
		cols[i] = array.MakeFromData(data)
		data.Release()
	}
	return array.NewRecord(rec.Schema(), cols, rec.NumRows()), nil
}

// wallClock returns data converted as WallClock says, as a new reference
// (data itself, retained, when it holds no timestamps).
func wallClock(mem memory.Allocator, data arrow.ArrayData, loc *time.Location) (arrow.ArrayData, error) {
	switch dt := data.DataType().(type) {
	case *arrow.TimestampType:
		return wallClockValues(mem, data, dt.Unit, loc)
	case *arrow.StructType, *arrow.ListType:
		children := data.Children()
		conv := make([]arrow.ArrayData, len(children))
		defer func() {
			for _, c := range conv {
				if c != nil {
					c.Release()
				}
			}
		}()
		changed := false
		for i, c := range children {
			d, err := wallClock(mem, c, loc)
			if err != nil {
				return nil, err
			}
			conv[i] = d
			changed = changed || d != c
		}
		if !changed {
			data.Retain()
			return data, nil
		}
		return array.NewData(data.DataType(), data.Len(), data.Buffers(), conv, data.NullN(), data.Offset()), nil
	}
	data.Retain()
	return data, nil
}

// wallClockValues converts the values of a timestamp array. The new values
// buffer covers the array's offset too, so the validity bitmap is shared.
func wallClockValues(mem memory.Allocator, data arrow.ArrayData, unit arrow.TimeUnit, loc *time.Location) (arrow.ArrayData, error) {
	bufs := data.Buffers()
	n := data.Offset() + data.Len()
	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(arrow.TimestampTraits.BytesRequired(n))
	out := arrow.TimestampTraits.CastFromBytes(buf.Bytes())
	var in []arrow.Timestamp
	if len(bufs) > 1 && bufs[1] != nil {
		in = arrow.TimestampTraits.CastFromBytes(bufs[1].Bytes())
	}
	var valid []byte
	if bufs[0] != nil {
		valid = bufs[0].Bytes()
	}
	for i := range min(n, len(in)) {
		v := in[i]
		if i >= data.Offset() && (valid == nil || valid[i/8]&(1<<(i%8)) != 0) {
			t := v.ToTime(unit)
			local := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
			var err error
			if v, err = arrow.TimestampFromTime(local, unit); err != nil {
				return nil, fmt.Errorf("%s in %s: %w", t.Format(time.DateTime), loc, err)
			}
		}
		out[i] = v
	}
	return array.NewData(data.DataType(), data.Len(), []*memory.Buffer{bufs[0], buf}, nil, data.NullN(), data.Offset()), nil
}
