package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"

	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/host/sink"
)

// TestTrackTik_Compression syncs two sources with destination.compression
// snappy, one overriding it with gzip at level 9: every column chunk of
// every file has its source's codec, and quiver's own reader reads the
// files back with the simulator's records. After a day of changes, a
// second sync and quiver compact, the compacted files keep the codecs.
func TestTrackTik_Compression(t *testing.T) {
	t.Parallel()
	srv := tracktiksim.NewServer(t, tracktiksim.Options{
		Seed:   31,
		Counts: map[string]int{"employees": 120, "clients": 20, "positions": 30, "shifts": 200, "work-sessions": 150, "reports": 80},
	})
	out := t.TempDir()
	cfg := writeConfig(t, out, "sources:\n"+
		trackTikSource("acme", srv.URL, "      page_size: 50\n")+
		trackTikSource("beta", srv.URL, "      page_size: 50\n    compression: gzip\n    compression_level: 9\n")+
		fmt.Sprintf("destination:\n  path: %s\n  compression: snappy\nstate: %s\n", filepath.Join(out, "data"), filepath.Join(out, "state")))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	codecs := map[string]compress.Compression{"acme": compress.Codecs.Snappy, "beta": compress.Codecs.Gzip}

	if r := quiver(ctx, t, trackTikEnv, "sync", "-c", cfg); r.code != 0 {
		t.Fatalf("quiver sync exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, tail(r.stderr, 30))
	}
	for _, s := range trackTikStreams {
		checkStream(t, srv, out, s)
		for src, codec := range codecs {
			if n, _ := checkCodec(t, filepath.Join(out, "data", src, s), codec); n != int64(srv.Count(s)) {
				t.Errorf("%s.%s: quiver's reader read %d records, want %d", src, s, n, srv.Count(s))
			}
		}
	}

	srv.ApplyDay()
	if r := quiver(ctx, t, trackTikEnv, "sync", "-c", cfg); r.code != 0 {
		t.Fatalf("second quiver sync exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, tail(r.stderr, 30))
	}
	compactAll(ctx, t, cfg)
	for _, s := range trackTikStreams {
		checkTrackTikCompacted(t, srv, out, s)
		for src, codec := range codecs {
			n, compacted := checkCodec(t, filepath.Join(out, "data", src, s), codec)
			if n != int64(srv.Count(s)) {
				t.Errorf("%s.%s after compaction: quiver's reader read %d records, want %d", src, s, n, srv.Count(s))
			}
			if _, _, lookback := lookbackCursor(s); lookback && compacted == 0 {
				t.Errorf("%s.%s: no compacted file after two syncs of a lookback stream", src, s)
			}
		}
	}
}

// checkCodec checks that every column chunk of every Parquet file of the
// stream folder dir is compressed with want, and reads the files with
// quiver's own reader (sink.OpenFile). It returns the rows read and the
// number of files that quiver compact wrote.
func checkCodec(t *testing.T, dir string, want compress.Compression) (rows int64, compacted int) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no Parquet files in %s (%v)", dir, err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, p := range paths {
		pf, err := file.OpenParquetFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		md := pf.MetaData()
		for g, rg := range md.RowGroups {
			for _, cc := range rg.Columns {
				if got := compress.Compression(cc.MetaData.Codec); got != want {
					t.Errorf("%s: row group %d column %v codec %v, want %v", p, g, cc.MetaData.PathInSchema, got, want)
				}
			}
		}
		if v := md.KeyValueMetadata().FindValue("quiver:compacted"); v != nil && *v == "true" {
			compacted++
		}
		pf.Close()

		rd, err := sink.OpenFile(context.Background(), p, mem)
		if err != nil {
			t.Fatal(err)
		}
		for rd.Next() {
			rows += rd.Record().NumRows()
		}
		if err := rd.Err(); err != nil {
			t.Errorf("read %s: %v", p, err)
		}
		rd.Close()
	}
	return rows, compacted
}
