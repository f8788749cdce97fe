package protocol

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// validateRecord checks what the IPC reader does not: that every buffer is
// long enough for its array, offsets are non-negative, non-decreasing and in
// bounds, and dictionary indices point into the dictionary. A record that
// passes can be read (for example by pqarrow) without an index panic.
// Types that cannot be checked this way (unions, views, run-end encoding)
// are refused.
func validateRecord(rec arrow.Record) error {
	for i, col := range rec.Columns() {
		if err := validateData(col.Data()); err != nil {
			return fmt.Errorf("column %q: %w", rec.Schema().Field(i).Name, err)
		}
	}
	return nil
}

func validateData(d arrow.ArrayData) error {
	if d.Offset() < 0 || d.Len() < 0 {
		return fmt.Errorf("negative offset or length")
	}
	n := d.Offset() + d.Len()
	bufs := d.Buffers()
	if d.NullN() != 0 && len(bufs) > 0 && bufs[0] != nil && bufs[0].Len() < bytesForBits(n) {
		return fmt.Errorf("validity bitmap of %d bytes for %d slots", bufs[0].Len(), n)
	}
	dt := d.DataType()
	if ext, ok := dt.(arrow.ExtensionType); ok {
		dt = ext.StorageType()
	}
	if err := validateType(dt); err != nil {
		return err
	}
	switch dt := dt.(type) {
	case *arrow.NullType:
		return nil
	case *arrow.DictionaryType:
		return validateDictionary(d, dt)
	case *arrow.StringType, *arrow.BinaryType:
		return validateOffsets(d, buffer(bufs, 2).Len(), false)
	case *arrow.LargeStringType, *arrow.LargeBinaryType:
		return validateOffsets(d, buffer(bufs, 2).Len(), true)
	case *arrow.ListType, *arrow.MapType, *arrow.LargeListType:
		child, err := onlyChild(d)
		if err != nil {
			return err
		}
		if err := validateOffsets(d, child.Len(), dt.ID() == arrow.LARGE_LIST); err != nil {
			return err
		}
		return validateData(child)
	case *arrow.FixedSizeListType:
		child, err := onlyChild(d)
		if err != nil {
			return err
		}
		if child.Len() < n*int(dt.Len()) {
			return fmt.Errorf("fixed-size list child of %d values for %d lists of %d", child.Len(), n, dt.Len())
		}
		return validateData(child)
	case *arrow.StructType:
		if len(d.Children()) != dt.NumFields() {
			return fmt.Errorf("struct with %d children for %d fields", len(d.Children()), dt.NumFields())
		}
		for i, child := range d.Children() {
			if child.Len() < n {
				return fmt.Errorf("struct field %q of %d values for %d slots", dt.Field(i).Name, child.Len(), n)
			}
			if err := validateData(child); err != nil {
				return fmt.Errorf("struct field %q: %w", dt.Field(i).Name, err)
			}
		}
		return nil
	case arrow.FixedWidthDataType:
		if buffer(bufs, 1).Len()*8 < n*dt.BitWidth() {
			return fmt.Errorf("%s values buffer of %d bytes for %d slots", dt, buffer(bufs, 1).Len(), n)
		}
		return nil
	}
	return fmt.Errorf("unsupported Arrow type %s", dt)
}

// validateType checks the parameters of dt that readers use without
// checking: time units, time zones, decimal precision and fixed widths.
func validateType(dt arrow.DataType) error {
	unitOK := func(u arrow.TimeUnit) bool { return u >= arrow.Second && u <= arrow.Nanosecond }
	switch dt := dt.(type) {
	case *arrow.TimestampType:
		if !unitOK(dt.Unit) {
			return fmt.Errorf("timestamp with unit %d", int(dt.Unit))
		}
		if _, err := dt.GetZone(); err != nil {
			return fmt.Errorf("timestamp time zone %q: %w", dt.TimeZone, err)
		}
	case *arrow.Time32Type:
		if !unitOK(dt.Unit) {
			return fmt.Errorf("time32 with unit %d", int(dt.Unit))
		}
	case *arrow.Time64Type:
		if !unitOK(dt.Unit) {
			return fmt.Errorf("time64 with unit %d", int(dt.Unit))
		}
	case *arrow.DurationType:
		if !unitOK(dt.Unit) {
			return fmt.Errorf("duration with unit %d", int(dt.Unit))
		}
	case *arrow.Decimal128Type:
		if dt.Precision < 1 || dt.Precision > 38 {
			return fmt.Errorf("decimal128 with precision %d", dt.Precision)
		}
	case *arrow.Decimal256Type:
		if dt.Precision < 1 || dt.Precision > 76 {
			return fmt.Errorf("decimal256 with precision %d", dt.Precision)
		}
	case *arrow.FixedSizeBinaryType:
		if dt.ByteWidth < 0 {
			return fmt.Errorf("fixed-size binary of width %d", dt.ByteWidth)
		}
	case *arrow.FixedSizeListType:
		if dt.Len() < 0 {
			return fmt.Errorf("fixed-size list of length %d", dt.Len())
		}
	}
	return nil
}

// buffer returns bufs[i], or an empty buffer when it is missing.
func buffer(bufs []*memory.Buffer, i int) *memory.Buffer {
	if i < len(bufs) && bufs[i] != nil {
		return bufs[i]
	}
	return memory.NewBufferBytes(nil)
}

func onlyChild(d arrow.ArrayData) (arrow.ArrayData, error) {
	if len(d.Children()) != 1 {
		return nil, fmt.Errorf("%s with %d children", d.DataType(), len(d.Children()))
	}
	return d.Children()[0], nil
}

// validateOffsets checks the offsets of a variable-length array d (64-bit
// when large) against limit, the length of what they index.
func validateOffsets(d arrow.ArrayData, limit int, large bool) error {
	if d.Len() == 0 {
		return nil
	}
	raw := buffer(d.Buffers(), 1).Bytes()
	if large {
		return checkOffsets(arrow.Int64Traits.CastFromBytes(raw), d, int64(limit))
	}
	return checkOffsets(arrow.Int32Traits.CastFromBytes(raw), d, int64(limit))
}

func checkOffsets[T int32 | int64](all []T, d arrow.ArrayData, limit int64) error {
	n := d.Offset() + d.Len()
	if len(all) < n+1 {
		return fmt.Errorf("%d offsets for %d slots", len(all), n)
	}
	offs := all[d.Offset() : n+1]
	if offs[0] < 0 {
		return fmt.Errorf("negative offset %d", offs[0])
	}
	for i := 1; i < len(offs); i++ {
		if offs[i] < offs[i-1] {
			return fmt.Errorf("offset %d decreases (%d after %d)", i, offs[i], offs[i-1])
		}
	}
	if last := int64(offs[len(offs)-1]); last > limit {
		return fmt.Errorf("offset %d past the end of %d values", last, limit)
	}
	return nil
}

func validateDictionary(d arrow.ArrayData, dt *arrow.DictionaryType) error {
	dict := d.Dictionary()
	if dict == nil {
		return fmt.Errorf("dictionary array without a dictionary")
	}
	if err := validateData(dict); err != nil {
		return fmt.Errorf("dictionary: %w", err)
	}
	idx, ok := dt.IndexType.(arrow.FixedWidthDataType)
	if !ok {
		return fmt.Errorf("dictionary index type %s", dt.IndexType)
	}
	n := d.Offset() + d.Len()
	if have := buffer(d.Buffers(), 1).Len(); have*8 < n*idx.BitWidth() {
		return fmt.Errorf("dictionary indices buffer of %d bytes for %d slots", have, n)
	}
	a := array.MakeFromData(d).(*array.Dictionary)
	defer a.Release()
	size := dict.Len()
	for i := 0; i < a.Len(); i++ {
		if a.IsValid(i) {
			if idx := a.GetValueIndex(i); idx < 0 || idx >= size {
				return fmt.Errorf("dictionary index %d out of range [0,%d)", idx, size)
			}
		}
	}
	return nil
}

func bytesForBits(n int) int { return (n + 7) / 8 }
