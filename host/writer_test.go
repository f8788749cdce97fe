package host

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/host/state"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// createFunc starts a part file, as sink.Create does.
type createFunc = func(dir, name string, schema *arrow.Schema, opts sink.Options) (sink.Part, error)

// writerEnv is an incremental stream "employees" of source "acme" whose
// parts come from create, with a writer, and a file per checkpoint.
type writerEnv struct {
	mem    *memory.CheckedAllocator
	store  *state.Store
	src    *sourceRun
	stream *streamRun
	dir    string // the stream's folder
}

func newWriterEnv(t *testing.T, create createFunc) *writerEnv {
	t.Helper()
	dir := t.TempDir()
	store, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	cfg := &Config{
		Destination: Destination{Path: filepath.Join(dir, "out"), Format: "parquet"},
		Sources:     []SourceConfig{{Name: "acme", Connector: "tracktik"}},
	}
	opts := &SyncOptions{
		Config: cfg, Now: time.Now, Allocator: mem, FileBytes: 1, RunID: "r1",
		Logger: slog.New(slog.DiscardHandler),
	}
	st, err := store.Load("acme")
	if err != nil {
		t.Fatal(err)
	}
	s := &sourceRun{opts: opts, cfg: &cfg.Sources[0], store: store, dest: &destination{root: cfg.Destination.Path}, files: sink.OS{}, format: sink.Parquet, log: opts.Logger, st: st, res: &SourceResult{}, create: create}
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	sr, err := s.newStream(protocol.Stream{Name: "employees", Schema: schema, SyncModes: []protocol.SyncMode{protocol.Incremental}})
	if err != nil {
		t.Fatal(err)
	}
	sr.w = startWriter()
	t.Cleanup(func() { _ = sr.w.stop() })
	return &writerEnv{mem: mem, store: store, src: s, stream: sr, dir: sr.dir}
}

// batch sends a batch of ids from..from+n-1 to the stream.
func (e *writerEnv) batch(t *testing.T, from, n int64) {
	t.Helper()
	sendBatch(t, e.mem, e.stream, from, n)
}

// sendBatch sends a batch of ids from..from+n-1 to a stream whose schema
// is one int64 column.
func sendBatch(t *testing.T, mem memory.Allocator, sr *streamRun, from, n int64) {
	t.Helper()
	b := array.NewInt64Builder(mem)
	defer b.Release()
	for i := range n {
		b.Append(from + i)
	}
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecord(sr.schema, []arrow.Array{col}, n)
	defer rec.Release()
	if err := sr.batch(rec); err != nil {
		t.Fatal(err)
	}
}

// saved returns the saved state of the stream, nil if none.
func (e *writerEnv) saved(t *testing.T) *state.Stream {
	t.Helper()
	st, err := e.store.Load("acme")
	if err != nil {
		t.Fatal(err)
	}
	return st.Streams["employees"]
}

// files lists the stream folder's files, temporary ones included.
func (e *writerEnv) files(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(e.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		out = append(out, en.Name())
	}
	return out
}

// gatedPart is a part whose writes wait for gate to close: an encoder
// far slower than the receiving goroutine.
type gatedPart struct {
	sink.Part
	gate <-chan struct{}
}

func (p *gatedPart) Write(rec arrow.Record) error {
	<-p.gate
	return p.Part.Write(rec)
}

// TestWriter_CheckpointWaitsForItsBatches: while the writer is stuck on the
// batches before a checkpoint, the checkpoint is neither saved nor are any
// files published; once they are written, the state and a file with every
// record of those batches are committed together.
func TestWriter_CheckpointWaitsForItsBatches(t *testing.T) {
	gate := make(chan struct{})
	e := newWriterEnv(t, func(dir, name string, schema *arrow.Schema, opts sink.Options) (sink.Part, error) {
		p, err := sink.Create(dir, name, schema, opts)
		if err != nil {
			return nil, err
		}
		return &gatedPart{Part: p, gate: gate}, nil
	})
	e.batch(t, 0, 100)
	e.batch(t, 100, 50)
	if err := e.stream.checkpoint(json.RawMessage(`{"page":2}`)); err != nil {
		t.Fatal(err)
	}
	if st := e.saved(t); st != nil {
		t.Fatalf("state saved while its batches are still queued: %s", st.State)
	}
	for _, f := range e.files(t) {
		if !sink.IsTemp(f) {
			t.Fatalf("file %s published while its batches are still queued", f)
		}
	}
	close(gate)
	if err := e.stream.w.stop(); err != nil {
		t.Fatal(err)
	}
	st := e.saved(t)
	if st == nil || string(st.State) != `{"page":2}` {
		t.Fatalf("saved state %+v, want the checkpoint {\"page\":2}", st)
	}
	if err := e.stream.finish(); err != nil {
		t.Fatal(err)
	}
	files := e.files(t)
	if len(files) != 1 || files[0] != "part-r1-0001.parquet" {
		t.Fatalf("files %v, want part-r1-0001.parquet", files)
	}
	n, err := sink.CountRows(filepath.Join(e.dir, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	if n != 150 || e.stream.res.Records != 150 {
		t.Errorf("file has %d rows, result %d records; want 150", n, e.stream.res.Records)
	}
	e.mem.AssertSize(t, 0)
}

// failingPart is a part whose writes fail, as on a full disk.
type failingPart struct{ sink.Part }

var errDiskFull = errors.New("no space left on device")

func (failingPart) Write(arrow.Record) error { return errDiskFull }

// TestWriter_ErrorStopsTheStream: a write that fails on the writer
// goroutine comes back, naming the stream, from the next message the
// stream gets and from stopping the writer; nothing is committed, no file
// is left behind, and the queued batches are released.
func TestWriter_ErrorStopsTheStream(t *testing.T) {
	e := newWriterEnv(t, func(dir, name string, schema *arrow.Schema, opts sink.Options) (sink.Part, error) {
		p, err := sink.Create(dir, name, schema, opts)
		if err != nil {
			return nil, err
		}
		return failingPart{p}, nil
	})
	e.batch(t, 0, 10)
	if err := e.stream.checkpoint(json.RawMessage(`{"page":1}`)); err != nil {
		t.Fatal(err) // queued before the write failed
	}
	err := e.stream.w.stop()
	if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), "stream employees: write") {
		t.Fatalf("stop: %v, want the write error naming the stream", err)
	}
	e.batch(t, 10, 10)
	if err := e.stream.checkpoint(json.RawMessage(`{"page":2}`)); !errors.Is(err, errDiskFull) {
		t.Fatalf("checkpoint after the failure: %v, want the write error", err)
	}
	if err := e.stream.finish(); err != nil {
		t.Fatal(err)
	}
	if st := e.saved(t); st != nil && st.State != nil {
		t.Errorf("checkpoint saved after a failed write: %s", st.State)
	}
	if files := e.files(t); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
	e.mem.AssertSize(t, 0)
}

// TestWriteRolling: a full refresh writes a joined batch in slices of a
// row group, so that files rolled by a small --max-file-size stay near it,
// with slices of at least minSliceBytes; the pieces of a partitioned batch,
// each holding the batch's whole buffers, are sized by their rows.
func TestWriteRolling(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "d", Type: arrow.FixedWidthTypes.Date32}}, nil)
	for _, tc := range []struct {
		name            string
		fileBytes       int64
		partition       string
		rows, days      int64
		minFiles        int
		maxFiles        int
		maxBytesPerFile int64 // 0: not checked
	}{
		{name: "one file under the default limit", fileBytes: 256 << 20, rows: 200_000, days: 1, minFiles: 1, maxFiles: 1},
		{name: "files near a small limit", fileBytes: 256 << 10, rows: 200_000, days: 1, minFiles: 2, maxFiles: 40, maxBytesPerFile: 256<<10 + 64<<10 + 8<<10},
		{name: "a tiny limit makes files of a slice", fileBytes: 1, rows: 200_000, days: 1, minFiles: 20, maxFiles: 200},
		{name: "partitioned pieces are sized by their rows", fileBytes: 1, partition: "d", rows: 40_000, days: 20, minFiles: 20, maxFiles: 60},
		{name: "large partitioned pieces are sliced", fileBytes: 1, partition: "d", rows: 100_000, days: 2, minFiles: 10, maxFiles: 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newWriterEnv(t, nil)
			e.src.opts.FileBytes = tc.fileBytes
			e.src.cfg.Partition = tc.partition
			sr, err := e.src.newStream(protocol.Stream{Name: "items", Schema: schema, SyncModes: []protocol.SyncMode{protocol.FullRefresh}})
			if err != nil {
				t.Fatal(err)
			}
			sr.w = e.stream.w
			b := array.NewRecordBuilder(e.mem, schema)
			for i := range tc.rows {
				// Ids that do not compress, so that the files' size is
				// about the data's.
				b.Field(0).(*array.Int64Builder).Append(int64(uint64(i) * 0x9E3779B97F4A7C15))
				b.Field(1).(*array.Date32Builder).Append(arrow.Date32(19000 + i*tc.days/tc.rows))
			}
			rec := b.NewRecord()
			b.Release()
			err = sr.batch(rec)
			rec.Release()
			if err != nil {
				t.Fatal(err)
			}
			if err := sr.w.stop(); err != nil {
				t.Fatal(err)
			}
			var rows int64
			files := 0
			for _, f := range sr.finished {
				rows += f.Rows
				files++
				if tc.maxBytesPerFile > 0 && f.Bytes > tc.maxBytesPerFile {
					t.Errorf("a file of %d bytes; --max-file-size %d allows %d", f.Bytes, tc.fileBytes, tc.maxBytesPerFile)
				}
			}
			for _, p := range sr.parts {
				if p.Rows() > 0 {
					rows += p.Rows()
					files++
				}
				if err := p.Abort(); err != nil {
					t.Error(err)
				}
			}
			if rows != tc.rows {
				t.Errorf("the files hold %d rows, want %d", rows, tc.rows)
			}
			if files < tc.minFiles || files > tc.maxFiles {
				t.Errorf("%d files, want %d to %d", files, tc.minFiles, tc.maxFiles)
			}
		})
	}
}
