package host

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/internal/batch"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// spillBound is the tail bound of the spill tests: a little under two
// batches of spillRows rows, so that every other batch spills.
const (
	spillBound = 4 << 10
	spillRows  = 100
)

// newSpillEnv is a writerEnv whose stream spills past spillBound; with
// partitioned, its batches go to dt= folders of the extraction day, and
// every fourth batch is a day later than the one before.
func newSpillEnv(t *testing.T, create createFunc, partitioned bool) *writerEnv {
	t.Helper()
	e := newWriterEnv(t, create)
	e.stream.tailBound = spillBound
	if partitioned {
		e.stream.splits = &partitioner{col: -1}
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		e.src.opts.Now = func() time.Time {
			at = at.Add(6 * time.Hour)
			return at
		}
	}
	return e
}

// batches sends batches of spillRows ids from..to-1.
func (e *writerEnv) batches(t *testing.T, from, to int64) {
	t.Helper()
	for i := from; i < to; i += spillRows {
		e.batch(t, i, min(spillRows, to-i))
	}
}

// spillFiles lists the spill files in the stream's folder.
func (e *writerEnv) spillFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, f := range e.files(t) {
		if strings.HasPrefix(f, ".spill-") {
			out = append(out, f)
		}
	}
	return out
}

// committedIDs returns the ids of the stream's published parts, part after
// part in the order they were started.
func (e *writerEnv) committedIDs(t *testing.T) []int64 {
	t.Helper()
	paths, err := partFiles(e.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, p := range paths {
		rd, err := sink.OpenFile(context.Background(), p, e.mem)
		if err != nil {
			t.Fatal(err)
		}
		for rd.Next() {
			ids = append(ids, rd.Record().Column(0).(*array.Int64).Int64Values()...)
		}
		if err := errors.Join(rd.Err(), rd.Close()); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// assertNoTempFiles fails if the stream's folder or a partition folder
// holds a temporary file.
func (e *writerEnv) assertNoTempFiles(t *testing.T) {
	t.Helper()
	left, err := sink.Cleanup(e.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// TestSpill_CheckpointCommitsEveryRow: an incremental stream that sends
// many times the tail bound before a checkpoint has its batches spilled to
// disk, and the checkpoint commits every row once, in the order sent, with
// the state; the spill files are gone.
func TestSpill_CheckpointCommitsEveryRow(t *testing.T) {
	for _, tc := range []struct {
		name        string
		partitioned bool
		marks       []int64 // rows sent before each checkpoint
		complete    bool    // end with Complete instead of a last checkpoint
	}{
		{name: "one checkpoint at the end", marks: []int64{5000}},
		{name: "partitioned by extraction day", partitioned: true, marks: []int64{5000}},
		{name: "two checkpoints", marks: []int64{2950, 5000}},
		{name: "partitioned, two checkpoints", partitioned: true, marks: []int64{2950, 5000}},
		{name: "complete after the last checkpoint", marks: []int64{1000}, complete: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSpillEnv(t, nil, tc.partitioned)
			var sent int64
			for i, mark := range tc.marks {
				e.batches(t, sent, mark)
				sent = mark
				if len(e.spillFiles(t)) == 0 {
					t.Fatalf("%d rows sent past a tail bound of %d bytes, and nothing spilled", sent, spillBound)
				}
				if err := e.stream.checkpoint(json.RawMessage(`{"mark":` + string(rune('0'+i)) + `}`)); err != nil {
					t.Fatal(err)
				}
			}
			if tc.complete {
				e.batches(t, sent, 5000)
				sent = 5000
				if err := e.stream.status(protocol.Status{State: protocol.Complete}); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.stream.w.stop(); err != nil {
				t.Fatal(err)
			}
			if err := e.stream.finish(); err != nil {
				t.Fatal(err)
			}
			if got := e.committedIDs(t); !slices.Equal(got, seq(0, sent)) {
				t.Errorf("committed %d ids, want 0..%d once each in order; got %v...", len(got), sent-1, got[:min(len(got), 20)])
			}
			want := `{"mark":` + string(rune('0'+len(tc.marks)-1)) + `}`
			if st := e.saved(t); st == nil || string(st.State) != want {
				t.Errorf("saved state %+v, want %s", st, want)
			}
			if e.stream.res.Records != sent || e.stream.res.Uncommitted != 0 {
				t.Errorf("result: %d records, %d uncommitted; want %d, 0", e.stream.res.Records, e.stream.res.Uncommitted, sent)
			}
			e.assertNoTempFiles(t)
			e.mem.AssertSize(t, 0)
		})
	}
}

// TestSpill_UncoveredRowsAreDropped: a stream whose spilled batches no
// checkpoint covers (it ends Incomplete or Failed, or the host stops the
// read) commits only the rows its checkpoints cover and leaves no spill
// file behind, also when the writer failed and never read a spill back.
func TestSpill_UncoveredRowsAreDropped(t *testing.T) {
	failCreate := func(string, string, *arrow.Schema, sink.Options) (sink.Part, error) { return nil, errDiskFull }
	for _, tc := range []struct {
		name    string
		create  createFunc
		covered int64          // rows before the checkpoint
		end     protocol.State // 0 when the read stops without a status
		wantErr error          // from the checkpoint after the covered rows
	}{
		{name: "incomplete, nothing covered", end: protocol.Incomplete},
		{name: "incomplete after a checkpoint", covered: 1500, end: protocol.Incomplete},
		{name: "failed after a checkpoint", covered: 1500, end: protocol.Failed},
		{name: "read stopped by the host", covered: 1500},
		{name: "the writer failed", create: failCreate, covered: 1500, wantErr: errDiskFull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSpillEnv(t, tc.create, false)
			if tc.covered > 0 {
				e.batches(t, 0, tc.covered)
				if err := e.stream.checkpoint(json.RawMessage(`{"page":1}`)); err != nil {
					t.Fatal(err)
				}
			}
			e.batches(t, tc.covered, 4000)
			if len(e.spillFiles(t)) == 0 {
				t.Fatal("nothing spilled")
			}
			if tc.wantErr != nil {
				// The first checkpoint's job fails on the writer: once it
				// has, this one's spill is handed over, and dropped unread.
				for e.stream.w.failed() == nil {
					runtime.Gosched()
				}
				err := e.stream.checkpoint(json.RawMessage(`{"page":2}`))
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("checkpoint: %v, want %v", err, tc.wantErr)
				}
			}
			if tc.end != 0 {
				if err := e.stream.status(protocol.Status{State: tc.end, Err: errors.New("vendor down")}); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.stream.w.stop(); !errors.Is(err, tc.wantErr) {
				t.Fatalf("stop: %v, want %v", err, tc.wantErr)
			}
			if err := e.stream.finish(); err != nil {
				t.Fatal(err)
			}
			want := seq(0, tc.covered)
			if tc.wantErr != nil {
				want = nil
			}
			if got := e.committedIDs(t); !slices.Equal(got, want) {
				t.Errorf("committed ids %v..., want 0..%d", got[:min(len(got), 20)], len(want)-1)
			}
			if e.stream.res.Uncommitted != 4000-int64(len(want)) {
				t.Errorf("uncommitted %d, want %d", e.stream.res.Uncommitted, 4000-len(want))
			}
			if left := e.spillFiles(t); len(left) > 0 {
				t.Errorf("spill files left: %v", left)
			}
			e.assertNoTempFiles(t)
			if tc.covered == 0 {
				if _, err := os.Stat(e.dir); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the stream folder a spill made is left: %v", err)
				}
			}
			e.mem.AssertSize(t, 0)
		})
	}
}

// TestSpill_UnwritableFolderFailsTheStream: when the spill file cannot be
// created, the batch that needed it fails with an error naming the stream
// and the file, and nothing leaks.
func TestSpill_UnwritableFolderFailsTheStream(t *testing.T) {
	e := newSpillEnv(t, nil, false)
	// A file where the stream's folder should be: even root cannot
	// create a file under it.
	if err := os.MkdirAll(filepath.Dir(e.dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := int64(0); err == nil && i < 100; i++ {
		b := array.NewInt64Builder(e.mem)
		b.AppendValues(seq(i*spillRows, (i+1)*spillRows), nil)
		col := b.NewArray()
		rec := array.NewRecord(e.stream.schema, []arrow.Array{col}, spillRows)
		err = e.stream.batch(rec)
		rec.Release()
		col.Release()
		b.Release()
	}
	if err == nil || !strings.Contains(err.Error(), "stream employees: spill batches to "+filepath.Join(e.dir, ".spill-")) {
		t.Fatalf("batch: %v, want an error naming the stream and its spill file", err)
	}
	if err := e.stream.w.stop(); err != nil {
		t.Fatal(err)
	}
	if err := e.stream.finish(); err != nil {
		t.Fatal(err)
	}
	e.mem.AssertSize(t, 0)
}

// peakAllocator records the most memory its allocator ever had out.
type peakAllocator struct {
	*memory.CheckedAllocator
	peak atomic.Int64
}

func (a *peakAllocator) Allocate(n int) []byte {
	defer a.note()
	return a.CheckedAllocator.Allocate(n)
}

func (a *peakAllocator) Reallocate(n int, b []byte) []byte {
	defer a.note()
	return a.CheckedAllocator.Reallocate(n, b)
}

func (a *peakAllocator) note() {
	cur := int64(a.CurrentAlloc())
	for p := a.peak.Load(); cur > p && !a.peak.CompareAndSwap(p, cur); p = a.peak.Load() {
	}
}

// TestSpill_TailStaysUnderBound: however much an incremental stream sends
// before a checkpoint, the Arrow memory the host holds stays within the
// tail bound and a few batches.
func TestSpill_TailStaysUnderBound(t *testing.T) {
	const bound, rows, batches = 64 << 10, 1000, 400
	e := newWriterEnv(t, nil)
	e.stream.tailBound = bound
	mem := &peakAllocator{CheckedAllocator: e.mem}
	e.src.opts.Allocator = mem
	e.batch(t, 0, rows)
	per := batch.Bytes(e.stream.tail[0].rec) // a lineage-stamped batch
	for i := int64(1); i < batches; i++ {
		e.batch(t, i*rows, rows)
	}
	sent := per * batches
	// The tail goes up to the bound and one batch, which comes with its
	// input (8 bytes a row): that is all there is to hold.
	limit := bound + 2*per + 8*rows
	if sent < 20*bound {
		t.Fatalf("sent %d bytes, too few to test a bound of %d", sent, bound)
	}
	peak := mem.peak.Load()
	t.Logf("peak Arrow memory %d bytes after sending %d (bound %d, a batch %d)", peak, sent, bound, per)
	if peak > limit {
		t.Errorf("peak Arrow memory %d bytes after sending %d; want at most %d (bound %d)", peak, sent, limit, bound)
	}
	if err := e.stream.w.stop(); err != nil {
		t.Fatal(err)
	}
	if err := e.stream.finish(); err != nil {
		t.Fatal(err)
	}
	e.assertNoTempFiles(t)
	e.mem.AssertSize(t, 0)
}
