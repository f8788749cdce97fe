package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/host/state"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

var employeeSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// compactEnv is a destination and state folder with one source, acme.
type compactEnv struct {
	cfg   *Config
	out   string // the stream folder of acme.employees
	store *state.Store
	mem   *memory.CheckedAllocator
}

func newCompactEnv(t testing.TB, format string) *compactEnv {
	t.Helper()
	return newCompactEnvWith(t, format, "")
}

// newCompactEnvWith is newCompactEnv with more lines of destination keys.
func newCompactEnvWith(t testing.TB, format, dest string) *compactEnv {
	t.Helper()
	dir := t.TempDir()
	text := fmt.Sprintf("sources:\n  - name: acme\n    connector: tracktik\n    config: {}\ndestination:\n  path: %s\n  format: %s\n%sstate: %s\n",
		filepath.Join(dir, "out"), format, dest, filepath.Join(dir, "state"))
	cfg, err := ParseConfig("quiver.yaml", []byte(text), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	store, err := state.Open(cfg.State)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Load("acme")
	if err != nil {
		t.Fatal(err)
	}
	st.Streams["employees"] = &state.Stream{Mode: "incremental", PrimaryKey: []string{"id"}}
	if err := store.Save(st); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return &compactEnv{cfg: cfg, out: filepath.Join(cfg.Destination.Path, "acme", "employees"), store: store, mem: mem}
}

// row is one record of the test stream with its lineage.
type row struct {
	ID   int64
	Name string
	Run  string
}

// write publishes one part file of run into folder (relative to the
// stream folder): the rows, extracted at at.
func (e *compactEnv) write(t testing.TB, folder, run string, at time.Time, rows ...row) {
	t.Helper()
	b := array.NewRecordBuilder(e.mem, employeeSchema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.ID)
		b.Field(1).(*array.StringBuilder).Append(r.Name)
	}
	rec := b.NewRecord()
	defer rec.Release()
	e.publish(t, folder, run, at, rec)
}

// publish writes rec, with its lineage, as the file of run in folder.
func (e *compactEnv) publish(t testing.TB, folder, run string, at time.Time, rec arrow.Record) {
	t.Helper()
	stamped := sink.AddLineage(e.mem, rec, run, at)
	defer stamped.Release()
	format := sink.Format(e.cfg.Destination.Format)
	p, err := sink.Create(filepath.Join(e.out, folder), "part-"+run+"-0001", stamped.Schema(), sink.Options{Format: format, Allocator: e.mem})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Abort()
	if err := p.Write(stamped); err != nil {
		t.Fatal(err)
	}
	f, err := p.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Publish(f); err != nil {
		t.Fatal(err)
	}
}

// read returns the stream's rows, by id, and its files, relative to the
// stream folder.
func (e *compactEnv) read(t *testing.T) (rows []row, files []string) {
	t.Helper()
	paths, err := partFiles(e.out, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		rel, _ := filepath.Rel(e.out, p)
		files = append(files, rel)
		rd, err := sink.OpenFile(context.Background(), p, e.mem)
		if err != nil {
			t.Fatal(err)
		}
		for rd.Next() {
			rec := rd.Record()
			for i := range int(rec.NumRows()) {
				rows = append(rows, row{
					ID:   rec.Column(0).(*array.Int64).Value(i),
					Name: rec.Column(1).(*array.String).Value(i),
					Run:  rec.Column(3).(*array.String).Value(i),
				})
			}
		}
		if err := rd.Err(); err != nil {
			t.Fatal(err)
		}
		rd.Close()
	}
	slices.SortFunc(rows, func(a, b row) int { return int(a.ID - b.ID) })
	return rows, files
}

func (e *compactEnv) compact(t testing.TB, runID string) (*CompactResult, error) {
	t.Helper()
	return Compact(context.Background(), CompactOptions{Config: e.cfg, RunID: runID, Allocator: e.mem})
}

var (
	t1 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	t2 = t1.Add(time.Hour)
)

// TestCompact_LatestPerKey: the latest _quiver_extracted_at wins; a tie
// goes to the later run; every key is kept once; a second compaction
// finds nothing to do. In both formats that can be read back.
func TestCompact_LatestPerKey(t *testing.T) {
	for _, format := range []string{"parquet", "arrow"} {
		t.Run(format, func(t *testing.T) {
			e := newCompactEnv(t, format)
			e.write(t, "", "r1", t1, row{1, "a", ""}, row{2, "a", ""}, row{3, "a", ""})
			e.write(t, "", "r3", t2, row{3, "c", ""}) // same time as r2, later run
			e.write(t, "", "r2", t2, row{2, "b", ""}, row{3, "b", ""}, row{4, "b", ""})
			e.write(t, "", "r0", t1.Add(-time.Hour), row{4, "old", ""}) // an earlier read of 4

			res, err := e.compact(t, "r9")
			if err != nil {
				t.Fatalf("Compact: %v", err)
			}
			want := []row{{1, "a", "r1"}, {2, "b", "r2"}, {3, "c", "r3"}, {4, "b", "r2"}}
			got, files := e.read(t)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rows after compaction (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"part-r9-0001." + format}, files); diff != "" {
				t.Errorf("files after compaction (-want +got):\n%s", diff)
			}
			cp := res.Streams[0]
			if cp.Status != "compacted" || cp.FilesBefore != 4 || cp.RecordsBefore != 8 || cp.FilesAfter != 1 || cp.RecordsAfter != 4 {
				t.Errorf("result %+v", cp)
			}
			st, err := e.store.Load("acme")
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Pending) != 0 || len(st.Retire) != 0 || !slices.Equal(st.Streams["employees"].PrimaryKey, []string{"id"}) {
				t.Errorf("state after compaction: %+v", st)
			}

			again, err := e.compact(t, "r10")
			if err != nil || again.Streams[0].Status != "unchanged" {
				t.Fatalf("second Compact = %+v, %v; want unchanged", again.Streams[0], err)
			}
			if _, files := e.read(t); !slices.Equal(files, []string{"part-r9-0001." + format}) {
				t.Errorf("a second compaction changed the files: %v", files)
			}
		})
	}
}

// TestCompact_KeepsCompression: compacted files are written with the
// configured codec, not the default nor the one of the files they replace
// (zstd, as publish writes them).
func TestCompact_KeepsCompression(t *testing.T) {
	for _, tt := range []struct {
		dest string
		want compress.Compression
	}{
		{"  compression: snappy\n", compress.Codecs.Snappy},
		{"  compression: gzip\n  compression_level: 9\n", compress.Codecs.Gzip},
		{"  compression: none\n", compress.Codecs.Uncompressed},
	} {
		t.Run(tt.want.String(), func(t *testing.T) {
			e := newCompactEnvWith(t, "parquet", tt.dest)
			e.write(t, "", "r1", t1, row{1, "a", ""}, row{2, "a", ""})
			e.write(t, "", "r2", t2, row{2, "b", ""})
			if _, err := e.compact(t, "r9"); err != nil {
				t.Fatal(err)
			}
			got, files := e.read(t)
			if diff := cmp.Diff([]row{{1, "a", "r1"}, {2, "b", "r2"}}, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if len(files) != 1 {
				t.Fatalf("files after compaction: %v", files)
			}
			pf, err := file.OpenParquetFile(filepath.Join(e.out, files[0]), false)
			if err != nil {
				t.Fatal(err)
			}
			defer pf.Close()
			for _, rg := range pf.MetaData().RowGroups {
				for _, cc := range rg.Columns {
					if got := compress.Compression(cc.MetaData.Codec); got != tt.want {
						t.Errorf("column %v codec = %v, want %v", cc.MetaData.PathInSchema, got, tt.want)
					}
				}
			}
		})
	}
}

// TestCompact_Partitions: rows stay in their dt= folder; a folder whose
// rows all have later versions elsewhere is removed.
func TestCompact_Partitions(t *testing.T) {
	e := newCompactEnv(t, "parquet")
	e.write(t, "dt=2026-12-01", "r1", t1, row{1, "a", ""}, row{2, "a", ""})
	e.write(t, "dt=2026-12-02", "r2", t2, row{1, "b", ""}, row{2, "b", ""}, row{3, "b", ""})
	e.write(t, "dt=2026-12-03", "r2", t2.Add(time.Second), row{4, "c", ""})
	if _, err := e.compact(t, "r9"); err != nil {
		t.Fatal(err)
	}
	got, files := e.read(t)
	if diff := cmp.Diff([]row{{1, "b", "r2"}, {2, "b", "r2"}, {3, "b", "r2"}, {4, "c", "r2"}}, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	want := []string{"dt=2026-12-02/part-r9-0001.parquet", "dt=2026-12-03/part-r9-0002.parquet"}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(e.out, "dt=2026-12-01")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the emptied partition folder is still there: %v", err)
	}
}

// TestCompact_ManyPartitions: compacting a stream whose runs wrote into
// many partition folders keeps one new file open at a time, so that its
// memory does not grow with the folders, and every key's latest row lands
// in its own folder.
func TestCompact_ManyPartitions(t *testing.T) {
	const days, perDay = 96, 2000
	e := newCompactEnv(t, "parquet")
	folder := func(d int) string { return t1.AddDate(0, 0, d).Format("dt=2006-01-02") }
	rows := func(d int, name string) []row {
		out := make([]row, perDay)
		for i := range out {
			out[i] = row{int64(d*perDay + i), fmt.Sprintf("%s %d", name, i), ""}
		}
		return out
	}
	for d := range days {
		e.write(t, folder(d), "r1", t1, rows(d, "old")...)
	}
	for d := range days {
		e.write(t, folder(d), "r2", t2, rows(d, "new")[:perDay/2]...)
	}
	mem := &peakAllocator{CheckedAllocator: e.mem}
	if _, err := Compact(context.Background(), CompactOptions{Config: e.cfg, RunID: "r9", Allocator: mem}); err != nil {
		t.Fatal(err)
	}
	got, files := e.read(t)
	var want []row
	for d := range days {
		for i, r := range rows(d, "new") {
			r.Run = "r2"
			if i >= perDay/2 {
				r.Name, r.Run = fmt.Sprintf("old %d", i), "r1"
			}
			want = append(want, r)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if len(files) != days {
		t.Errorf("%d files after compaction, want one per folder, %d", len(files), days)
	}
	// A folder's new file holds its 2,000 rows in a row group until it is
	// finished. With one file open at a time compaction peaks at about
	// 1.8 MiB here (mostly one file's page and compression buffers); with
	// every folder's file open until the end it held them all, 7 MiB.
	t.Logf("compaction allocated at most %d KiB", mem.peak.Load()>>10)
	if peak := mem.peak.Load(); peak > 3<<20 {
		t.Errorf("compaction's allocations peaked at %d KiB, want at most 3 MiB: files of several folders were open at once", peak>>10)
	}
}

// TestCompact_Refuses: what Compact will not do, and that it then leaves
// the files as they were.
func TestCompact_Refuses(t *testing.T) {
	for _, tt := range []struct {
		name    string
		format  string
		prepare func(t *testing.T, e *compactEnv)
		streams []string
		want    string
		is      error
	}{
		{"jsonl", "jsonl", nil, nil, "only parquet and arrow files allow exactly", protocol.ErrConfig},
		{"csv", "csv", nil, nil, "use format parquet or arrow to compact", protocol.ErrConfig},
		{"unknown source", "parquet", nil, []string{"globex.employees"}, `no source named "globex"`, protocol.ErrConfig},
		{"unknown stream", "parquet", nil, []string{"acme.nosuch"}, "stream nosuch: no committed files or state (streams with state: employees)", protocol.ErrConfig},
		{"locked", "parquet", func(t *testing.T, e *compactEnv) {
			release, err := e.store.Lock("acme")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = release() })
		}, nil, "holds the lock on source \"acme\"", protocol.ErrTemporary},
		{"mixed schemas", "parquet", func(t *testing.T, e *compactEnv) {
			other := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
			b := array.NewRecordBuilder(e.mem, other)
			defer b.Release()
			b.Field(0).(*array.Int64Builder).Append(9)
			rec := b.NewRecord()
			defer rec.Release()
			e.publish(t, "", "r5", t2, rec)
		}, nil, "has another schema than", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newCompactEnv(t, tt.format)
			if sink.Format(tt.format).Readable() {
				e.write(t, "", "r1", t1, row{1, "a", ""})
				e.write(t, "", "r2", t2, row{1, "b", ""})
			}
			if tt.prepare != nil {
				tt.prepare(t, e)
			}
			before, _ := partFiles(e.out, "")
			_, err := Compact(context.Background(), CompactOptions{Config: e.cfg, Streams: tt.streams, Allocator: e.mem})
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("Compact = %v; want an error with %q, class %v", err, tt.want, tt.is)
			}
			after, _ := partFiles(e.out, "")
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("files changed (-before +after):\n%s", diff)
			}
			if tmp, _ := filepath.Glob(filepath.Join(e.out, ".*")); len(tmp) != 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
		})
	}
}

// TestCompact_NoPrimaryKey: a stream without a recorded key is skipped.
func TestCompact_NoPrimaryKey(t *testing.T) {
	e := newCompactEnv(t, "parquet")
	st, _ := e.store.Load("acme")
	st.Streams["employees"].PrimaryKey = nil
	if err := e.store.Save(st); err != nil {
		t.Fatal(err)
	}
	e.write(t, "", "r1", t1, row{1, "a", ""})
	e.write(t, "", "r2", t2, row{1, "b", ""})
	res, err := e.compact(t, "r9")
	if err != nil || res.Streams[0].Status != "skipped" || !strings.Contains(res.Streams[0].Reason, "no primary key") {
		t.Fatalf("Compact = %+v, %v; want skipped for lack of a key", res.Streams[0], err)
	}
	if got, _ := e.read(t); len(got) != 2 {
		t.Errorf("rows after a skipped compaction: %v", got)
	}
}

// BenchmarkCompact compacts 8 Parquet files of 100,000 rows each in which
// every key appears twice (800,000 rows, 400,000 keys), and reports rows
// per second.
//
//	go test -run '^$' -bench Compact -benchtime 3x ./host/
func BenchmarkCompact(b *testing.B) {
	const files, rows = 8, 100_000
	for range b.N {
		b.StopTimer()
		e := newCompactEnv(b, "parquet")
		for f := range files {
			batch := make([]row, rows)
			for i := range batch {
				batch[i] = row{ID: int64((f/2)*rows + i), Name: fmt.Sprintf("name %d", f)}
			}
			e.write(b, "", fmt.Sprintf("r%d", f), t1.Add(time.Duration(f)*time.Hour), batch...)
		}
		b.StartTimer()
		res, err := e.compact(b, "r9")
		if err != nil || res.Streams[0].RecordsAfter != files*rows/2 {
			b.Fatalf("Compact = %+v, %v", res.Streams[0], err)
		}
	}
	b.ReportMetric(float64(files*rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
