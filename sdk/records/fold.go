package records

// Case-insensitive key matching for Options.FoldCase. Folding is ASCII only:
// vendors differ in the casing of English key names ("EquipmentHeader",
// "equipmentHeader"), and ASCII folding keeps a lookup free of allocations.

// fold builds o.folded from o.keys.
func (o *object) fold() {
	o.folded = make(map[string]int, len(o.keys))
	var buf []byte
	for i, k := range o.keys {
		buf = appendLower(buf[:0], k)
		if _, dup := o.folded[string(buf)]; !dup {
			o.folded[string(buf)] = i
		}
	}
}

// lookupFold returns the col whose key equals key under ASCII case folding,
// or -1; buf is scratch space.
func (o *object) lookupFold(key []byte, buf *[]byte) int {
	*buf = appendLower((*buf)[:0], key)
	if i, ok := o.folded[string(*buf)]; ok {
		return i
	}
	return -1
}

// appendLower appends s with ASCII upper-case letters made lower-case.
func appendLower[S string | []byte](b []byte, s S) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// equalFold reports whether a and b are equal under ASCII case folding.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
