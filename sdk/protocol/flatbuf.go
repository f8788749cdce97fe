package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The ipc package trusts the flatbuffer metadata of each IPC message: it
// allocates slices as long as the vector lengths it finds there and recurses
// through nested fields without a limit. A corrupt length becomes a
// multi-gigabyte allocation and a cyclic field tree a stack overflow, both
// fatal (not panics that recover can catch). verifyMessage checks the parts
// of an Arrow Message that reach such allocations and recursion, before the
// ipc package sees it. Slot numbers follow Arrow's Message.fbs/Schema.fbs.

const (
	// maxFieldDepth bounds the nesting of a schema's fields. No real schema
	// nests this deep; a hostile one could otherwise recurse without end.
	maxFieldDepth = 64
	// maxFlatbufferElems bounds the fields and key-value pairs one message
	// may declare (counted per visit, so shared subtrees count each time).
	// The widest real schemas have a few thousand columns.
	maxFlatbufferElems = 1 << 16
)

// Flatbuffer union and slot numbers used below.
const (
	headerSchema = 1  // MessageHeader.Schema
	typeUnion    = 14 // Type.Union

	slotMessageHeaderType = 1
	slotMessageHeader     = 2
	slotMessageMetadata   = 4
	slotSchemaFields      = 1
	slotSchemaMetadata    = 2
	slotFieldTypeType     = 2
	slotFieldType         = 3
	slotFieldChildren     = 5
	slotFieldMetadata     = 6
	slotUnionTypeIDs      = 1
)

var errFlatbuffer = errors.New("corrupt IPC message metadata")

// fbVerifier walks one flatbuffer, checking every offset it follows.
type fbVerifier struct {
	buf   []byte
	elems int // vector elements visited
}

// fbTable is a verified table: its position and its vtable's.
type fbTable struct {
	pos, vtable, vtableSize int
}

// verifyMessage checks the metadata of one IPC message.
func verifyMessage(meta []byte) error {
	v := &fbVerifier{buf: meta}
	root, err := v.deref(0)
	if err != nil {
		return err
	}
	msg, err := v.table(root)
	if err != nil {
		return err
	}
	if err := v.keyValues(msg, slotMessageMetadata); err != nil {
		return err
	}
	if v.u8Field(msg, slotMessageHeaderType) != headerSchema {
		return nil
	}
	schema, ok, err := v.tableField(msg, slotMessageHeader)
	if err != nil || !ok {
		return err
	}
	if err := v.keyValues(schema, slotSchemaMetadata); err != nil {
		return err
	}
	return v.fields(schema, slotSchemaFields, 1)
}

// fields verifies the vector of Field tables in slot of t, at nesting depth.
func (v *fbVerifier) fields(t fbTable, slot, depth int) error {
	if depth > maxFieldDepth {
		return fmt.Errorf("%w: fields nested deeper than %d", errFlatbuffer, maxFieldDepth)
	}
	return v.tables(t, slot, func(f fbTable) error {
		if err := v.keyValues(f, slotFieldMetadata); err != nil {
			return err
		}
		if v.u8Field(f, slotFieldTypeType) == typeUnion {
			u, ok, err := v.tableField(f, slotFieldType)
			if err != nil {
				return err
			}
			if ok {
				if _, _, err := v.vector(u, slotUnionTypeIDs, 4); err != nil {
					return err
				}
			}
		}
		return v.fields(f, slotFieldChildren, depth+1)
	})
}

// keyValues verifies the vector of KeyValue tables in slot of t.
func (v *fbVerifier) keyValues(t fbTable, slot int) error {
	return v.tables(t, slot, func(fbTable) error { return nil })
}

// tables calls fn for each table of the vector of tables in slot of t.
func (v *fbVerifier) tables(t fbTable, slot int, fn func(fbTable) error) error {
	start, n, err := v.vector(t, slot, 4)
	if err != nil {
		return err
	}
	for i := range n {
		if v.elems++; v.elems > maxFlatbufferElems {
			return fmt.Errorf("%w: more than %d fields or key-value pairs", errFlatbuffer, maxFlatbufferElems)
		}
		pos, err := v.deref(start + 4*i)
		if err != nil {
			return err
		}
		tbl, err := v.table(pos)
		if err != nil {
			return err
		}
		if err := fn(tbl); err != nil {
			return err
		}
	}
	return nil
}

// vector returns the start and length of the vector in slot of t, checking
// that n elements of elemSize bytes fit in the buffer. An absent vector is
// empty.
func (v *fbVerifier) vector(t fbTable, slot, elemSize int) (start, n int, err error) {
	p, ok := v.field(t, slot)
	if !ok {
		return 0, 0, nil
	}
	vec, err := v.deref(p)
	if err != nil {
		return 0, 0, err
	}
	length, err := v.u32(vec)
	if err != nil {
		return 0, 0, err
	}
	if uint64(length)*uint64(elemSize) > uint64(len(v.buf)-vec-4) {
		return 0, 0, fmt.Errorf("%w: vector of %d elements in %d bytes", errFlatbuffer, length, len(v.buf)-vec-4)
	}
	return vec + 4, int(length), nil
}

// tableField returns the table that slot of t refers to, if present.
func (v *fbVerifier) tableField(t fbTable, slot int) (fbTable, bool, error) {
	p, ok := v.field(t, slot)
	if !ok {
		return fbTable{}, false, nil
	}
	pos, err := v.deref(p)
	if err != nil {
		return fbTable{}, false, err
	}
	tbl, err := v.table(pos)
	return tbl, err == nil, err
}

// u8Field returns the byte in slot of t, or 0 when absent or out of bounds.
func (v *fbVerifier) u8Field(t fbTable, slot int) byte {
	p, ok := v.field(t, slot)
	if !ok || p >= len(v.buf) {
		return 0
	}
	return v.buf[p]
}

// field returns the position of slot of t, if the slot is present.
func (v *fbVerifier) field(t fbTable, slot int) (int, bool) {
	o := 4 + 2*slot
	if o+2 > t.vtableSize {
		return 0, false
	}
	off := int(binary.LittleEndian.Uint16(v.buf[t.vtable+o:]))
	if off == 0 {
		return 0, false
	}
	return t.pos + off, true
}

// table verifies the table at pos and its vtable.
func (v *fbVerifier) table(pos int) (fbTable, error) {
	soff, err := v.u32(pos)
	if err != nil {
		return fbTable{}, err
	}
	vt := pos - int(int32(soff))
	if vt < 0 || vt+4 > len(v.buf) {
		return fbTable{}, fmt.Errorf("%w: vtable at %d out of bounds", errFlatbuffer, vt)
	}
	vtSize := int(binary.LittleEndian.Uint16(v.buf[vt:]))
	tSize := int(binary.LittleEndian.Uint16(v.buf[vt+2:]))
	if vtSize < 4 || vt+vtSize > len(v.buf) || pos+tSize > len(v.buf) {
		return fbTable{}, fmt.Errorf("%w: table at %d out of bounds", errFlatbuffer, pos)
	}
	// A field offset past the table's own size would read outside it.
	for o := 4; o+2 <= vtSize; o += 2 {
		if off := int(binary.LittleEndian.Uint16(v.buf[vt+o:])); off != 0 && (off < 4 || off+1 > tSize) {
			return fbTable{}, fmt.Errorf("%w: field offset %d outside table of %d bytes", errFlatbuffer, off, tSize)
		}
	}
	return fbTable{pos: pos, vtable: vt, vtableSize: vtSize}, nil
}

// deref follows the unsigned offset stored at pos.
func (v *fbVerifier) deref(pos int) (int, error) {
	off, err := v.u32(pos)
	if err != nil {
		return 0, err
	}
	target := pos + int(off)
	if target < 0 || target >= len(v.buf) {
		return 0, fmt.Errorf("%w: offset to %d out of bounds", errFlatbuffer, target)
	}
	return target, nil
}

func (v *fbVerifier) u32(pos int) (uint32, error) {
	if pos < 0 || pos+4 > len(v.buf) {
		return 0, fmt.Errorf("%w: read at %d out of bounds", errFlatbuffer, pos)
	}
	return binary.LittleEndian.Uint32(v.buf[pos:]), nil
}
