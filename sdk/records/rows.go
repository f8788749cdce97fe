package records

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// A Run is the rows [Start, End) of a record.
type Run struct{ Start, End int64 }

// Filter returns the rows i of rec for which keep(i) is true, in order:
// rec itself (retained) when every row is kept, a zero-copy slice when the
// kept rows are one run, and a copy of the runs otherwise (see Gather). It
// is how a connector drops the rows of a page it has already written, or
// those outside a window. The caller releases the result and still owns
// rec.
func Filter(mem memory.Allocator, rec arrow.Record, keep func(i int) bool) (arrow.Record, error) {
	n := rec.NumRows()
	var runs []Run
	for i := range n {
		if !keep(int(i)) {
			continue
		}
		if last := len(runs) - 1; last >= 0 && runs[last].End == i {
			runs[last].End++
		} else {
			runs = append(runs, Run{i, i + 1})
		}
	}
	switch {
	case len(runs) == 0:
		return rec.NewSlice(0, 0), nil
	case len(runs) == 1 && runs[0] == Run{0, n}:
		rec.Retain()
		return rec, nil
	}
	return Gather(mem, rec, runs)
}

// Gather returns the rows of rec in runs, in the order given, as one record
// of rec's schema: a zero-copy slice for a single run (none: no rows), and
// each column's runs concatenated into new arrays for more. The caller
// releases the result and still owns rec. Runs must lie within rec.
func Gather(mem memory.Allocator, rec arrow.Record, runs []Run) (arrow.Record, error) {
	switch len(runs) {
	case 0:
		return rec.NewSlice(0, 0), nil
	case 1:
		return rec.NewSlice(runs[0].Start, runs[0].End), nil
	}
	var rows int64
	for _, r := range runs {
		rows += r.End - r.Start
	}
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	parts := make([]arrow.Array, len(runs))
	for c := range cols {
		for i, r := range runs {
			parts[i] = array.NewSlice(rec.Column(c), r.Start, r.End)
		}
		var err error
		cols[c], err = array.Concatenate(parts, mem)
		for _, p := range parts {
			p.Release()
		}
		if err != nil {
			return nil, fmt.Errorf("records: gathering %d of %d rows, column %s: %w", rows, rec.NumRows(), rec.ColumnName(c), err)
		}
	}
	return array.NewRecord(rec.Schema(), cols, rows), nil
}
