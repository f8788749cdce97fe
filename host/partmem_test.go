package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// trackedParts creates parts with sink.Create whose encoders allocate from
// mem, and records the most parts open at once and the most rows they held
// together in their row groups (seen after every write). Its parts are
// used on the writer goroutine only.
type trackedParts struct {
	mem     *peakAllocator
	open    map[*trackedPart]bool
	maxOpen int
	maxRows int64
	buffers []int // each part's Options.WriteBuffer
}

func (tp *trackedParts) create(dir, name string, schema *arrow.Schema, opts sink.Options) (sink.Part, error) {
	opts.Allocator = tp.mem
	tp.buffers = append(tp.buffers, opts.WriteBuffer)
	p, err := sink.Create(dir, name, schema, opts)
	if err != nil {
		return nil, err
	}
	tr := &trackedPart{Part: p, of: tp}
	tp.open[tr] = true
	tp.maxOpen = max(tp.maxOpen, len(tp.open))
	return tr, nil
}

type trackedPart struct {
	sink.Part
	of *trackedParts
}

func (p *trackedPart) Write(rec arrow.Record) error {
	if err := p.Part.Write(rec); err != nil {
		return err
	}
	var rows int64
	for q := range p.of.open {
		n, _ := q.Buffered()
		rows += n
	}
	p.of.maxRows = max(p.of.maxRows, rows)
	return nil
}

func (p *trackedPart) Finish() (*sink.File, error) {
	delete(p.of.open, p)
	return p.Part.Finish()
}

func (p *trackedPart) Abort() error {
	delete(p.of.open, p)
	return p.Part.Abort()
}

// TestPartitions_MemoryBounded: an incremental stream partitioned by a
// date column over many days never has more than maxOpenParts parts open,
// nor more rows in their row groups than its budget (plus the piece just
// written), so the parts' peak allocation stays within a fixed bound
// however many days the rows span (and their write buffers are small); the files read back with every record
// once, each in its day's folder, committed with the last checkpoint.
// Rows in date order finish each day's part once: one file per day.
func TestPartitions_MemoryBounded(t *testing.T) {
	const budget = 8192 // rows the open parts may hold together
	for _, tc := range []struct {
		name      string
		days      int64
		batches   int64
		batchRows int64
		ordered   bool // rows in date order; else row i is on day i % days
		spill     bool // one checkpoint at the end, the batches before it spilled to disk
		files     int  // files expected, 0: not checked
	}{
		{name: "64 days interleaved, one checkpoint at the end", days: 64, batches: 4, batchRows: 8192, spill: true},
		{name: "24 days interleaved, a checkpoint per batch", days: 24, batches: 16, batchRows: 6144},
		{name: "64 days in date order, a checkpoint per batch", days: 64, batches: 16, batchRows: 4096, ordered: true, files: 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := &trackedParts{mem: &peakAllocator{CheckedAllocator: memory.NewCheckedAllocator(memory.NewGoAllocator())}, open: map[*trackedPart]bool{}}
			e := newWriterEnv(t, tp.create)
			e.src.opts.FileBytes = 1 << 40 // no file rolled by size
			sr := newDayStream(t, e)
			sr.budgetRows = budget
			if tc.spill {
				sr.tailBound = 64 << 10
			}
			rows := tc.batches * tc.batchRows
			perDay := rows / tc.days
			day := func(id int64) int32 {
				if tc.ordered {
					return int32(20000 + id/perDay)
				}
				return int32(20000 + id%tc.days)
			}
			for b := range tc.batches {
				sendDays(t, e.mem, sr, b*tc.batchRows, tc.batchRows, day)
				if !tc.spill || b == tc.batches-1 {
					if err := sr.checkpoint(json.RawMessage(fmt.Sprintf(`{"batch":%d}`, b))); err != nil {
						t.Fatal(err)
					}
				}
			}
			if tc.spill && len(sr.spills) == 0 {
				t.Fatal("nothing spilled")
			}
			if err := sr.w.stop(); err != nil {
				t.Fatal(err)
			}
			if err := sr.finish(); err != nil {
				t.Fatal(err)
			}
			piece := tc.batchRows / tc.days // rows of a batch in one day, for interleaved rows
			if tc.ordered {
				piece = min(tc.batchRows, perDay)
			}
			t.Logf("%d files; at most %d parts open, %d rows in their row groups; %d KiB allocated at the peak",
				len(sr.res.Files), tp.maxOpen, tp.maxRows, tp.mem.peak.Load()>>10)
			if tp.maxOpen > maxOpenParts {
				t.Errorf("%d parts open at once, want at most %d", tp.maxOpen, maxOpenParts)
			}
			if tp.maxRows > budget+piece {
				t.Errorf("the open parts held %d rows in their row groups, want at most the budget %d and one piece of %d", tp.maxRows, budget, piece)
			}
			// With the bounds the parts' allocations peak at 70 to 190
			// KiB here; without them at 530 KiB (64 parts of 512 rows
			// open at once, or 32 of 1024) to 1,580 KiB (24 parts holding
			// every row), growing with the rows.
			if peak := tp.mem.peak.Load(); peak > 320<<10 {
				t.Errorf("the parts' allocations peaked at %d KiB, want at most 320", peak>>10)
			}
			if len(tp.open) != 0 {
				t.Errorf("%d parts open after finish", len(tp.open))
			}
			tp.mem.AssertSize(t, 0)
			if i := slices.IndexFunc(tp.buffers, func(n int) bool { return n != partWriteBuffer }); i >= 0 {
				t.Errorf("part %d has a write buffer of %d bytes, want %d", i+1, tp.buffers[i], partWriteBuffer)
			}
			if tc.files > 0 && len(sr.res.Files) != tc.files {
				t.Errorf("%d files, want %d", len(sr.res.Files), tc.files)
			}
			want := fmt.Sprintf(`{"batch":%d}`, tc.batches-1)
			if st := e.saved(t); st == nil || string(st.State) != want {
				t.Errorf("saved state %+v, want %s", st, want)
			}
			if sr.res.Records != rows || sr.res.Uncommitted != 0 {
				t.Errorf("result: %d records, %d uncommitted; want %d, 0", sr.res.Records, sr.res.Uncommitted, rows)
			}
			ids := readDays(t, e.mem, sr.dir, day)
			slices.Sort(ids)
			if !slices.Equal(ids, seq(0, rows)) {
				t.Errorf("read back %d ids, want 0..%d once each", len(ids), rows-1)
			}
			e.assertNoTempFiles(t)
			e.mem.AssertSize(t, 0)
		})
	}
}

// newDayStream replaces e's stream with an incremental stream "employees"
// of id int64 and day date32, partitioned by day, with a writer.
// TestPartitions_EvictedFilesCommit: the files a partitioned incremental
// stream finished to stay within its row budget count towards a commit at
// the next checkpoint, as open parts do, so that the stream does not keep
// every file and its cursor uncommitted until it ends.
func TestPartitions_EvictedFilesCommit(t *testing.T) {
	const days, batches, batchRows = 24, 16, 6144
	e := newWriterEnv(t, nil)
	e.src.opts.FileBytes = 1 << 40 // no file rolled by size
	sr := newDayStream(t, e)
	sr.budgetRows = 8192 // fewer than a batch: most days' parts are finished before the checkpoint
	day := func(id int64) int32 { return int32(20000 + id%days) }
	for b := range int64(batches) {
		sendDays(t, e.mem, sr, b*batchRows, batchRows, day)
		if err := sr.checkpoint(json.RawMessage(fmt.Sprintf(`{"batch":%d}`, b))); err != nil {
			t.Fatal(err)
		}
	}
	if err := sr.w.stop(); err != nil {
		t.Fatal(err)
	}
	st := e.saved(t)
	if st == nil || st.State == nil {
		t.Fatalf("nothing committed after %d checkpoints, with %d files finished and waiting", batches, len(sr.finished))
	}
	if err := sr.finish(); err != nil {
		t.Fatal(err)
	}
	ids := readDays(t, e.mem, sr.dir, day)
	slices.Sort(ids)
	if !slices.Equal(ids, seq(0, batches*batchRows)) {
		t.Errorf("read back %d ids, want 0..%d once each", len(ids), batches*batchRows-1)
	}
	e.assertNoTempFiles(t)
	e.mem.AssertSize(t, 0)
}

func newDayStream(t *testing.T, e *writerEnv) *streamRun {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32},
	}, nil)
	sr, err := e.src.newStream(protocol.Stream{Name: "employees", Schema: schema, SyncModes: []protocol.SyncMode{protocol.Incremental}})
	if err != nil {
		t.Fatal(err)
	}
	if sr.splits, err = newPartitioner("day", schema); err != nil {
		t.Fatal(err)
	}
	sr.w = startWriter()
	t.Cleanup(func() { _ = sr.w.stop() })
	e.stream, e.dir = sr, sr.dir
	return sr
}

// sendDays sends a batch of ids from..from+n-1, each on day(id) (days
// since 1970-01-01), to a stream whose schema is id int64, day date32.
func sendDays(t *testing.T, mem memory.Allocator, sr *streamRun, from, n int64, day func(int64) int32) {
	t.Helper()
	b := array.NewRecordBuilder(mem, sr.schema)
	defer b.Release()
	for id := from; id < from+n; id++ {
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.Date32Builder).Append(arrow.Date32(day(id)))
	}
	rec := b.NewRecord()
	defer rec.Release()
	if err := sr.batch(rec); err != nil {
		t.Fatal(err)
	}
}

// readDays returns the ids of the published files of a stream folder
// partitioned by day, checking that each row is in its day's folder.
func readDays(t *testing.T, mem memory.Allocator, dir string, day func(int64) int32) []int64 {
	t.Helper()
	paths, err := partFiles(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, p := range paths {
		rd, err := sink.OpenFile(context.Background(), p, mem)
		if err != nil {
			t.Fatal(err)
		}
		folder := filepath.Base(filepath.Dir(p))
		for rd.Next() {
			rec := rd.Record()
			id := rec.Column(0).(*array.Int64).Int64Values()
			days := rec.Column(1).(*array.Date32).Date32Values()
			for i := range id {
				if int32(days[i]) != day(id[i]) || dayDir(int64(days[i])) != folder {
					t.Fatalf("id %d on day %d in %s", id[i], days[i], p)
				}
			}
			ids = append(ids, id...)
		}
		if err := errors.Join(rd.Err(), rd.Close()); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// finishFailing is a part whose Finish fails, as an fsync can, if it is
// the first of its kind to finish.
type finishFailing struct {
	sink.Part
	failed *bool
}

var errFsync = errors.New("fsync: input/output error")

func (p finishFailing) Finish() (*sink.File, error) {
	if *p.failed {
		return p.Part.Finish()
	}
	*p.failed = true
	_ = p.Part.Abort()
	return nil, errFsync
}

// TestPartitions_FailedFinishCommitsNothingAfter: when a part finished to
// make room for another partition fails (the parts still open would
// finish), the rows after the last commit
// are neither committed with the last checkpoint (they would come again
// in the next run) nor left behind in temporary files; what the earlier
// checkpoint committed stays, with its state.
func TestPartitions_FailedFinishCommitsNothingAfter(t *testing.T) {
	var created int
	var failed bool
	e := newWriterEnv(t, func(dir, name string, schema *arrow.Schema, opts sink.Options) (sink.Part, error) {
		p, err := sink.Create(dir, name, schema, opts)
		if err != nil {
			return nil, err
		}
		created++
		if created > 2 { // the parts of the second checkpoint
			return finishFailing{Part: p, failed: &failed}, nil
		}
		return p, nil
	})
	sr := newDayStream(t, e)
	day := func(id int64) int32 { return int32(20000 + id%40) }
	sendDays(t, e.mem, sr, 0, 2, day) // days 0 and 1
	if err := sr.checkpoint(json.RawMessage(`{"batch":0}`)); err != nil {
		t.Fatal(err)
	}
	sendDays(t, e.mem, sr, 2, 400, day) // 40 days: the 33rd finishes a part
	if err := sr.checkpoint(json.RawMessage(`{"batch":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := sr.w.stop(); !errors.Is(err, errFsync) {
		t.Fatalf("stop: %v, want the finish error", err)
	}
	if err := sr.finish(); err != nil {
		t.Fatal(err)
	}
	if st := e.saved(t); st == nil || string(st.State) != `{"batch":0}` {
		t.Errorf("saved state %+v, want the first checkpoint", st)
	}
	if ids := readDays(t, e.mem, sr.dir, day); !slices.Equal(ids, []int64{0, 1}) {
		t.Errorf("committed ids %v, want 0 and 1", ids[:min(len(ids), 20)])
	}
	if sr.res.Records != 2 || sr.res.Uncommitted != 400 {
		t.Errorf("result: %d records, %d uncommitted; want 2, 400", sr.res.Records, sr.res.Uncommitted)
	}
	e.assertNoTempFiles(t)
	e.mem.AssertSize(t, 0)
}
