package host

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/host/state"
	"github.com/quiver-etl/quiver/internal/s3test"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// objectServers are the S3 servers the object-store tests run against.
var objectServers = map[string]func(t *testing.T) *s3test.Server{"gofakes3": s3test.FakeS3, "versitygw": s3test.Versity}

// bucketFixture is a destination and a state location in one S3 server.
type bucketFixture struct {
	srv  *s3test.Server
	dest *destination
}

func newBucket(t *testing.T, start func(t *testing.T) *s3test.Server) *bucketFixture {
	t.Helper()
	s3test.SetEnv(t)
	srv := start(t)
	d, closeFn, err := openDestination(context.Background(), srv.URL("team/out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeFn() })
	return &bucketFixture{srv: srv, dest: d}
}

// openState opens the fixture's state location, as one run does.
func (b *bucketFixture) openState(t *testing.T) *state.Store {
	t.Helper()
	s, err := state.OpenLocation(context.Background(), b.srv.URL("team/state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// stage writes a staging file for the part key and returns it as a
// finished file.
func (b *bucketFixture) stage(t *testing.T, key string) sink.File {
	t.Helper()
	final := b.dest.path(key)
	tmp := final + ".tmp"
	if err := os.MkdirAll(filepath.Dir(tmp), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	return sink.File{Temp: tmp, Final: final, Rows: 1, Bytes: int64(len(key))}
}

// commit uploads and commits the staging files of keys with st.
func (b *bucketFixture) commit(t *testing.T, store *state.Store, st *state.Source, keys []string, retire []string) error {
	t.Helper()
	var files []sink.File
	for _, k := range keys {
		files = append(files, b.stage(t, k))
	}
	var paths []string
	for _, k := range retire {
		paths = append(paths, b.dest.path(k))
	}
	_, err := commitObjects(store, b.dest, objectFiles{b.dest}, st, files, paths)
	return err
}

// fileList reads the source's _files.json.
func (b *bucketFixture) fileList(t *testing.T, source string) FileList {
	t.Helper()
	data, err := b.dest.store.Read(context.Background(), source+"/"+fileListName)
	if err != nil {
		t.Fatal(err)
	}
	var fl FileList
	if err := json.Unmarshal(data, &fl); err != nil {
		t.Fatal(err)
	}
	return fl
}

// exists reports whether the destination holds key.
func (b *bucketFixture) exists(t *testing.T, key string) bool {
	t.Helper()
	ok, err := b.dest.store.Exists(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestCommitObjects_StaleRun: run A commits file x; run B takes the
// source's lock (its saves renew it) and commits four times, keeping x.
// Then A, four saves behind, commits a full refresh that retires x: the
// number it creates was deleted as old by B, but A's commit must still
// fail as a conflict, and leave the file list and x, which B's state
// lists, alone.
func TestCommitObjects_StaleRun(t *testing.T) {
	for name, start := range objectServers {
		t.Run(name, func(t *testing.T) {
			b := newBucket(t, start)
			storeA, storeB := b.openState(t), b.openState(t)
			const x = "acme/employees/part-a-0001.parquet"
			a, err := storeA.Load("acme")
			if err != nil {
				t.Fatal(err)
			}
			if err := b.commit(t, storeA, a, []string{x}, nil); err != nil {
				t.Fatal(err)
			}
			release, err := storeB.Lock("acme")
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			st, err := storeB.Load("acme")
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"b-0001", "b-0002", "b-0003", "b-0004"} {
				if err := b.commit(t, storeB, st, []string{"acme/employees/part-" + k + ".parquet"}, nil); err != nil {
					t.Fatal(err)
				}
			}
			want := b.fileList(t, "acme")
			err = b.commit(t, storeA, a, []string{"acme/employees/part-a-0002.parquet"}, []string{x})
			if !errors.Is(err, state.ErrConflict) {
				t.Fatalf("commit by the stale run = %v, want a conflict", err)
			}
			if got := b.fileList(t, "acme"); !slices.Equal(got.Streams["employees"], want.Streams["employees"]) {
				t.Errorf("file list after the refused commit %v, want B's %v", got.Streams["employees"], want.Streams["employees"])
			}
			if !b.exists(t, x) {
				t.Errorf("the refused commit deleted %s, which B's state lists", x)
			}
		})
	}
}

// failingUploads fails the uploads of the files fail picks.
type failingUploads struct {
	sink.Files
	fail func(f *sink.File) bool
}

var errUpload = errors.New("upload failed: connection reset")

func (f *failingUploads) Publish(file *sink.File) error {
	if f.fail != nil && f.fail(file) {
		return errUpload
	}
	return f.Files.Publish(file)
}

// source returns the run of source "acme" into the fixture's bucket, with
// the incremental streams named, all on one writer.
func (b *bucketFixture) source(t *testing.T, store *state.Store, files sink.Files, streams ...string) (*sourceRun, []*streamRun) {
	t.Helper()
	cfg := &Config{Destination: Destination{Path: b.srv.URL("team/out"), Format: "parquet"}, Sources: []SourceConfig{{Name: "acme", Connector: "tracktik"}}}
	opts := &SyncOptions{Config: cfg, Now: time.Now, Allocator: memory.NewGoAllocator(), FileBytes: DefaultFileBytes, RunID: "r1", Logger: slog.New(slog.DiscardHandler)}
	st, err := store.Load("acme")
	if err != nil {
		t.Fatal(err)
	}
	s := &sourceRun{opts: opts, cfg: &cfg.Sources[0], store: store, dest: b.dest, files: files, format: sink.Parquet, log: opts.Logger, st: st, res: &SourceResult{}}
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	var out []*streamRun
	for _, name := range streams {
		sr, err := s.newStream(protocol.Stream{Name: name, Schema: schema, SyncModes: []protocol.SyncMode{protocol.Incremental}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sr)
	}
	return s, out
}

// startWriters gives the streams a new writer, as a read does.
func startWriters(t *testing.T, streams []*streamRun) *writer {
	t.Helper()
	w := startWriter()
	t.Cleanup(func() { _ = w.stop() })
	for _, sr := range streams {
		sr.w = w
	}
	return w
}

// cursor returns the saved checkpoint of a stream, or "none".
func cursor(st *state.Source, stream string) string {
	if ss := st.Streams[stream]; ss != nil {
		return string(ss.State)
	}
	return "none"
}

// TestPublish_FailedUploadKeepsCursor: stream employees committed page 1;
// its commit of page 2 fails at the upload, and then stream shifts
// commits. The saved state must keep employees at page 1, with its first
// file and without the second: had the save carried page 2, the next run
// would never read again the records the failed upload held.
func TestPublish_FailedUploadKeepsCursor(t *testing.T) {
	for name, start := range objectServers {
		t.Run(name, func(t *testing.T) {
			b := newBucket(t, start)
			store := b.openState(t)
			files := &failingUploads{Files: objectFiles{b.dest}}
			s, streams := b.source(t, store, files, "employees", "shifts")
			a, other := streams[0], streams[1]
			mem := s.opts.Allocator

			w := startWriters(t, streams)
			sendBatch(t, mem, a, 0, 10)
			if err := a.checkpoint(json.RawMessage(`{"page":1}`)); err != nil {
				t.Fatal(err)
			}
			if err := w.stop(); err != nil {
				t.Fatal(err)
			}
			if err := a.commit(); err != nil {
				t.Fatal(err)
			}

			w = startWriters(t, streams)
			sendBatch(t, mem, a, 10, 10)
			if err := a.checkpoint(json.RawMessage(`{"page":2}`)); err != nil {
				t.Fatal(err)
			}
			sendBatch(t, mem, other, 0, 5)
			if err := other.checkpoint(json.RawMessage(`{"page":1}`)); err != nil {
				t.Fatal(err)
			}
			if err := w.stop(); err != nil {
				t.Fatal(err)
			}
			files.fail = func(f *sink.File) bool { return strings.Contains(f.Final, "employees") }
			if err := a.finish(); !errors.Is(err, errUpload) {
				t.Fatalf("finish of employees = %v, want the upload error", err)
			}
			if err := other.finish(); err != nil {
				t.Fatal(err)
			}

			got, err := b.openState(t).Load("acme")
			if err != nil {
				t.Fatal(err)
			}
			if c := cursor(got, "employees"); c != `{"page":1}` {
				t.Errorf("saved employees state %s, want page 1, the last committed", c)
			}
			if c := cursor(got, "shifts"); c != `{"page":1}` {
				t.Errorf("saved shifts state %s, want page 1", c)
			}
			var keys []string
			for _, o := range got.Files {
				keys = append(keys, o.Key)
			}
			want := []string{"acme/employees/part-r1-0001.parquet", "acme/shifts/part-r1-0001.parquet"}
			if !slices.Equal(keys, want) {
				t.Errorf("saved files %v, want %v", keys, want)
			}
			if string(a.res.StateAfter) != `{"page":1}` {
				t.Errorf("employees' result StateAfter %s, want page 1", a.res.StateAfter)
			}
		})
	}
}

// TestRecoverObjects: a run's recovery deletes only the part files that
// the state does not list and that a run it records wrote. A state with no
// record of the source (missing, moved, a new state: location) while the
// bucket holds part files is refused as a config error, and nothing
// changes: not the parts, not the file list.
func TestRecoverObjects(t *testing.T) {
	const (
		committed = "acme/employees/part-r1-0001.parquet" // listed by the state
		crashed   = "acme/employees/part-r2-0001.parquet" // of run r2, which the state records
		foreign   = "acme/employees/part-r0-0001.parquet" // of a run the state does not know
	)
	all := []string{committed, crashed, foreign}
	for name, start := range objectServers {
		for _, tt := range []struct {
			name    string
			st      *state.Source
			wantErr error
			want    []string // the part files left
		}{
			{"no record", &state.Source{Source: "acme"}, protocol.ErrConfig, all},
			{"recorded", &state.Source{Source: "acme", Files: []state.Object{{Key: committed, Rows: 1}}, Runs: []string{"r1", "r2"}}, nil, []string{committed, foreign}},
		} {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				b := newBucket(t, start)
				ctx := context.Background()
				for _, k := range all {
					if err := b.dest.store.Put(ctx, k, []byte(k)); err != nil {
						t.Fatal(err)
					}
				}
				const list = `{"source":"acme","streams":{"employees":[{"key":"` + committed + `"}]}}`
				if err := b.dest.store.Put(ctx, "acme/"+fileListName, []byte(list)); err != nil {
					t.Fatal(err)
				}
				err := recoverObjects(b.dest, objectFiles{b.dest}, tt.st, slog.New(slog.DiscardHandler))
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("recoverObjects = %v, want %v", err, tt.wantErr)
				}
				var left []string
				for _, k := range all {
					if b.exists(t, k) {
						left = append(left, k)
					}
				}
				if !slices.Equal(left, tt.want) {
					t.Errorf("part files left %v, want %v", left, tt.want)
				}
				if got := b.fileList(t, "acme"); len(got.Streams["employees"]) != 1 || got.Streams["employees"][0].Key != committed {
					t.Errorf("file list after recovery %v, want only %s", got.Streams, committed)
				}
			})
		}
	}
}

// TestObjectFiles_PublishMissingStaging: a part whose staging file is gone
// counts as uploaded only if its object exists; otherwise Publish fails,
// and a commit of it saves nothing, rather than listing a missing object.
func TestObjectFiles_PublishMissingStaging(t *testing.T) {
	for name, start := range objectServers {
		t.Run(name, func(t *testing.T) {
			b := newBucket(t, start)
			files := objectFiles{b.dest}
			up := b.stage(t, "acme/employees/part-r1-0001.parquet")
			if err := files.Publish(&up); err != nil {
				t.Fatal(err)
			}
			if err := files.Publish(&up); err != nil {
				t.Errorf("Publish of an uploaded part whose staging file is gone = %v, want nil", err)
			}
			lost := b.stage(t, "acme/employees/part-r1-0002.parquet")
			if err := os.Remove(lost.Temp); err != nil {
				t.Fatal(err)
			}
			if err := files.Publish(&lost); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Publish of a part neither staged nor uploaded = %v, want an error", err)
			}
			store := b.openState(t)
			st, err := store.Load("acme")
			if err != nil {
				t.Fatal(err)
			}
			if committed, err := commitObjects(store, b.dest, files, st, []sink.File{lost}, nil); committed || err == nil {
				t.Errorf("commit of a lost part: committed %v, %v", committed, err)
			}
			if got, err := store.Load("acme"); err != nil || len(got.Files) != 0 {
				t.Errorf("state after the refused commit lists %v, %v", got.Files, err)
			}
		})
	}
}
