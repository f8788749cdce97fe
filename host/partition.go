package host

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Partition settings (destination.partition, sources[].partition).
const (
	// PartitionNone writes every file of a stream into the stream's folder.
	PartitionNone = "none"
	// PartitionExtracted puts each batch under dt=<extraction date, UTC>.
	PartitionExtracted = "extracted"
	// PartitionKey is the Hive partition key of the date folders: dt=YYYY-MM-DD.
	PartitionKey = "dt"
	// NullPartition is the dt value of rows whose partition column is null:
	// the name Hive, Spark and pyarrow give the null partition.
	NullPartition = "__HIVE_DEFAULT_PARTITION__"
)

// A partitioner splits a stream's records into Hive-style dt=YYYY-MM-DD
// folders, by the UTC date of a date or timestamp column or by the
// extraction date. A nil *partitioner does not split.
type partitioner struct {
	col int            // the column's index; -1 for the extraction date
	typ arrow.DataType // the column's type
}

// newPartitioner returns the partitioner for setting ("", "none",
// "extracted" or a column name) and a stream's schema; nil for no
// partitions. A column that is missing or not a date or timestamp is an
// error listing the stream's date columns.
func newPartitioner(setting string, schema *arrow.Schema) (*partitioner, error) {
	switch setting {
	case "", PartitionNone:
		return nil, nil
	case PartitionExtracted:
		return &partitioner{col: -1}, nil
	}
	var dates []string
	for _, f := range schema.Fields() {
		if isDateType(f.Type) {
			dates = append(dates, f.Name)
		}
	}
	have := "it has none"
	if len(dates) > 0 {
		have = "it has " + strings.Join(dates, ", ")
	}
	idx := schema.FieldIndices(setting)
	if len(idx) != 1 || !isDateType(schema.Field(idx[0]).Type) {
		return nil, fmt.Errorf("no date or timestamp column %q to partition by (%s; or use %q)", setting, have, PartitionExtracted)
	}
	return &partitioner{col: idx[0], typ: schema.Field(idx[0]).Type}, nil
}

func isDateType(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP:
		return true
	}
	return false
}

// A piece is the rows of one record that belong to one partition.
type piece struct {
	dir string       // partition folder relative to the stream's, "" when not partitioned
	rec arrow.Record // owned by the piece's holder, who releases it
}

// nullDay marks a row without a partition value.
const nullDay = math.MinInt64

// split returns rec's rows grouped by partition folder, in the order each
// folder first appears; rows keep their order within a folder. extracted
// is the batch's extraction time. The caller releases every piece's
// record; rec itself is untouched (the caller still releases it).
func (p *partitioner) split(mem memory.Allocator, rec arrow.Record, extracted time.Time) ([]piece, error) {
	if p == nil {
		rec.Retain()
		return []piece{{rec: rec}}, nil
	}
	if p.col < 0 {
		rec.Retain()
		return []piece{{dir: dayDir(days(extracted)), rec: rec}}, nil
	}
	n := int(rec.NumRows())
	day := make([]int64, n)
	col := rec.Column(p.col)
	for i := range n {
		day[i] = p.day(col, i)
	}
	// Runs of equal days, grouped by day in order of first appearance.
	type group struct {
		day  int64
		runs [][2]int64
		rows int64
	}
	var groups []*group
	byDay := map[int64]*group{}
	for start := 0; start < n; {
		end := start + 1
		for end < n && day[end] == day[start] {
			end++
		}
		g := byDay[day[start]]
		if g == nil {
			g = &group{day: day[start]}
			byDay[day[start]] = g
			groups = append(groups, g)
		}
		g.runs = append(g.runs, [2]int64{int64(start), int64(end)})
		g.rows += int64(end - start)
		start = end
	}
	if len(groups) <= 1 {
		var d int64 = nullDay
		if n > 0 {
			d = day[0]
		}
		rec.Retain()
		return []piece{{dir: dayDir(d), rec: rec}}, nil
	}
	out := make([]piece, 0, len(groups))
	for _, g := range groups {
		r, err := gather(mem, rec, g.runs, g.rows)
		if err != nil {
			for _, pc := range out {
				pc.rec.Release()
			}
			return nil, fmt.Errorf("partition by %s: %w", rec.ColumnName(p.col), err)
		}
		out = append(out, piece{dir: dayDir(g.day), rec: r})
	}
	return out, nil
}

// gather returns the rows of rec in runs ([start, end) pairs) as one record:
// a zero-copy slice for a single run, a concatenation otherwise.
func gather(mem memory.Allocator, rec arrow.Record, runs [][2]int64, rows int64) (arrow.Record, error) {
	if len(runs) == 1 {
		return rec.NewSlice(runs[0][0], runs[0][1]), nil
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
			parts[i] = array.NewSlice(rec.Column(c), r[0], r[1])
		}
		var err error
		cols[c], err = array.Concatenate(parts, mem)
		for _, a := range parts {
			a.Release()
		}
		if err != nil {
			return nil, err
		}
	}
	return array.NewRecord(rec.Schema(), cols, rows), nil
}

// day returns the UTC day number of row i of col, or nullDay.
func (p *partitioner) day(col arrow.Array, i int) int64 {
	if col.IsNull(i) {
		return nullDay
	}
	switch c := col.(type) {
	case *array.Date32:
		return int64(c.Value(i))
	case *array.Date64:
		return floorDiv(int64(c.Value(i)), 86_400_000)
	case *array.Timestamp:
		unit := p.typ.(*arrow.TimestampType).Unit
		return days(c.Value(i).ToTime(unit))
	}
	return nullDay
}

// days returns the number of days from 1970-01-01 to t's UTC date.
func days(t time.Time) int64 { return floorDiv(t.Unix(), 86_400) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// dayDir returns the folder of a day number: dt=YYYY-MM-DD, or the null
// partition.
func dayDir(d int64) string {
	if d == nullDay {
		return PartitionKey + "=" + NullPartition
	}
	return PartitionKey + "=" + time.Unix(d*86_400, 0).UTC().Format(time.DateOnly)
}

// isPartitionDir reports whether a folder name is one split writes.
func isPartitionDir(name string) bool {
	v, ok := strings.CutPrefix(name, PartitionKey+"=")
	if !ok {
		return false
	}
	if v == NullPartition {
		return true
	}
	_, err := time.Parse(time.DateOnly, v)
	return err == nil
}
