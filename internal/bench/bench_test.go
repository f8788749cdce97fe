package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/host"
	"github.com/quiver-etl/quiver/schemas"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMedianSpread(t *testing.T) {
	sec := func(r result) float64 { return r.seconds }
	for _, tc := range []struct {
		name       string
		secs       []float64
		median     float64
		spreadText string
	}{
		{"none", nil, 0, "-"},
		{"one", []float64{2}, 2, "-"},
		{"odd", []float64{3, 1, 2}, 2, "100%"},
		{"even", []float64{4, 1, 2, 3}, 2.5, "120%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rs []result
			for _, s := range tc.secs {
				rs = append(rs, result{seconds: s})
			}
			if got := median(rs, sec); got != tc.median {
				t.Errorf("median = %v, want %v", got, tc.median)
			}
			if got := spread(rs); got != tc.spreadText {
				t.Errorf("spread = %q, want %q", got, tc.spreadText)
			}
		})
	}
}

// TestPageType decodes a simulator page into the encoding/json struct of
// the floor and checks it holds every field of the record.
func TestPageType(t *testing.T) {
	srv := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 1, Counts: map[string]int{"employees": 3}})
	sc, err := schemas.Load("tracktik", "employees")
	if err != nil {
		t.Fatal(err)
	}
	want := srv.Record("employees", 0)
	page, err := json.Marshal(map[string]any{"meta": map[string]any{"count": 1}, "data": []any{want}})
	if err != nil {
		t.Fatal(err)
	}
	v := reflect.New(pageType(sc.Schema))
	if err := json.Unmarshal(page, v.Interface()); err != nil {
		t.Fatal(err)
	}
	data := v.Elem().Field(0)
	if data.Len() != 1 {
		t.Fatalf("%d records decoded, want 1", data.Len())
	}
	// Encoding the struct back gives the record's JSON keys with their
	// values (numbers as float64 after a round trip through any).
	b, err := json.Marshal(data.Index(0).Interface())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for k, g := range got {
		w, ok := want[k]
		if !ok {
			t.Errorf("decoded key %q is not in the record", k)
			continue
		}
		if w == nil {
			continue // null decodes to the zero value
		}
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("field %s (-record +decoded):\n%s", k, diff)
		}
	}
	if len(got) != sc.Schema.NumFields() {
		t.Errorf("%d keys decoded, want one per schema field (%d)", len(got), sc.Schema.NumFields())
	}
}

// TestStages runs every in-process stage once on a small stream and
// checks that each handles every record.
func TestStages(t *testing.T) {
	ctx := context.Background()
	b := newTestBench(t, 2_500, 1000) // the last page is short
	for _, s := range allStages() {
		if s.child {
			continue // needs the built binaries; host/e2e covers the sync
		}
		t.Run(s.name, func(t *testing.T) {
			r, err := b.measure(ctx, s, false)
			if err != nil {
				t.Fatal(err)
			}
			if r.records != 2_500 || r.seconds <= 0 {
				t.Errorf("records = %d, seconds = %v; want 2500 and > 0", r.records, r.seconds)
			}
		})
	}
	if b.pages != 3 || b.jsonBytes < 2_500*100 {
		t.Errorf("pages = %d, bytes = %d; want 3 pages of about 400 B a record", b.pages, b.jsonBytes)
	}
}

func newTestBench(tb testing.TB, records, pageSize int) *bench {
	tb.Helper()
	srv := tracktiksim.NewServer(tb, tracktiksim.Options{Seed: 1, Counts: map[string]int{"employees": records}})
	b := &bench{
		flags: flags{stream: "employees", records: records, pageSize: pageSize},
		srv:   srv,
		tmp:   tb.TempDir(),
	}
	if err := b.setup(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.close)
	return b
}

// BenchmarkStages runs each in-process stage on 20,000 TrackTik employees;
// MB/s is JSON bytes per second, as in `make bench`.
func BenchmarkStages(b *testing.B) {
	ctx := context.Background()
	bn := newTestBench(b, 20_000, 1000)
	for _, s := range allStages() {
		if s.child {
			continue
		}
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(bn.jsonBytes)
			for b.Loop() {
				b.StopTimer()
				var in any
				if s.prepare != nil {
					var err error
					if in, err = s.prepare(bn, ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if _, err := s.run(bn, ctx, in, &result{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestNewBench_Latency: with -latency the simulator holds every data
// response, so fetching the pages one at a time takes at least a latency
// per page.
func TestNewBench_Latency(t *testing.T) {
	const latency = 40 * time.Millisecond
	f := flags{stream: "employees", records: 1_500, pageSize: 500, latency: latency}
	b, stop, err := newBench(context.Background(), f, "quiver", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	t0 := time.Now()
	if _, err := b.fetchOnly(context.Background(), nil, &result{}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); b.pages != 3 || took < 3*latency {
		t.Errorf("%d pages in %v; want 3 pages taking at least 3 x %v", b.pages, took, latency)
	}
}

// TestReport_PagerAndRSS: the report puts quiver end to end next to the
// sequential pager, and the peak RSS at two sizes, smaller first.
func TestReport_PagerAndRSS(t *testing.T) {
	b := &bench{flags: flags{records: 1000}, jsonBytes: 1e6}
	stages, err := selectStages("fetch,end to end")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	report(&out, b, stages, map[string][]result{
		"fetch":      {{records: 1000, seconds: 2}},
		"end to end": {{records: 1000, seconds: 1, rss: 40 << 20, plugin: 30 << 20}},
	})
	reportRSS(&out, 1000, []result{{rss: 40 << 20, plugin: 30 << 20}}, 500, result{rss: 20 << 20, plugin: 30 << 20})
	for _, want := range []string{
		"sequential pager (fetch: one request at a time, no output) 500 records/s; quiver end to end 1000 records/s; quiver / pager 2.00",
		"peak RSS end to end at 500 and 1000 records: host 20 and 40 MiB (x2.00), plugin 30 and 30 MiB (x1.00)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestSyncedRecords(t *testing.T) {
	t.Parallel()
	var res syncResult
	if err := json.Unmarshal([]byte(`{"status":"ok","sources":[
		{"streams":[{"name":"employees","records":3},{"name":"shifts","records":4}]},
		{"streams":[{"name":"clients","records":5}]}]}`), &res); err != nil {
		t.Fatal(err)
	}
	if got := syncedRecords(res); got != 12 {
		t.Errorf("syncedRecords = %d, want 12 (every stream of every source)", got)
	}
}

// TestSink_Compression: -compression reaches the sink stage's Parquet
// writer (files without compression are larger than zstd's, snappy's in
// between) and the end-to-end config, which quiver accepts as written.
func TestSink_Compression(t *testing.T) {
	ctx := context.Background()
	b := newTestBench(t, 2_000, 1000)
	sinkStage, err := selectStages("sink")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, c := range []string{"", "snappy", "none"} {
		b.compression = c
		r, err := b.measure(ctx, sinkStage[0], false)
		if err != nil {
			t.Fatalf("-compression %q: %v", c, err)
		}
		out[c] = r.out
	}
	if !(out[""] < out["snappy"] && out["snappy"] < out["none"]) {
		t.Errorf("sink output bytes: zstd %d, snappy %d, none %d; want them growing", out[""], out["snappy"], out["none"])
	}

	b.compression, b.compressionLevel = "gzip", 9
	if err := b.writeConfig(); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(b.config)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "  format: parquet\n  compression: gzip\n  compression_level: 9\n") {
		t.Errorf("the end-to-end config lacks the compression keys:\n%s", text)
	}
	t.Setenv("BENCH_OUT", "out")
	t.Setenv("BENCH_STATE", "state")
	if _, err := host.LoadConfigWithoutSecrets(b.config); err != nil {
		t.Errorf("quiver refuses the end-to-end config: %v", err)
	}
}

func TestCheckCompression(t *testing.T) {
	for _, tc := range []struct {
		codec string
		level int
		want  string // the codec's name after the check, or an error's start
	}{
		{"", 0, ""},
		{"SNAPPY", 0, "snappy"},
		{"zstd", 19, "zstd"},
		{"gzip", 9, "gzip"},
		{"lz4", 0, `-compression "lz4": parquet files take zstd, snappy, gzip or none`},
		{"brotli", 0, `-compression: unknown compression "brotli"`},
		{"snappy", 3, "-compression-level 3: snappy takes no compression level"},
		{"", 30, "-compression-level 30: zstd takes a level from 1"},
	} {
		f := flags{compression: tc.codec, compressionLevel: tc.level}
		err := checkCompression(&f)
		got := f.compression
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, tc.want) || (err == nil) != !strings.HasPrefix(tc.want, "-") {
			t.Errorf("checkCompression(%q, %d) = %q, %v; want %q", tc.codec, tc.level, f.compression, err, tc.want)
		}
	}
}

// TestReport_Output: the report gives the bytes each writing stage wrote,
// with the codec, next to the JSON's size.
func TestReport_Output(t *testing.T) {
	b := &bench{flags: flags{records: 1000, compression: "snappy"}, jsonBytes: 4e6}
	stages, err := selectStages("fetch,sink")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	report(&out, b, stages, map[string][]result{
		"fetch": {{records: 1000, seconds: 2}},
		"sink":  {{records: 1000, seconds: 1, out: 1e6}, {records: 1000, seconds: 1, out: 1e6}},
	})
	if want := "sink output: 1.0 MB of Parquet with snappy, 0.25 of the JSON's size"; !strings.Contains(out.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, out.String())
	}
	if strings.Contains(out.String(), "fetch output") {
		t.Errorf("the report gives an output size for fetch, which writes nothing:\n%s", out.String())
	}
}

func TestReport_Limit(t *testing.T) {
	b := &bench{flags: flags{records: 1000}, jsonBytes: 100e6}
	stages, err := selectStages("connector,sink,end to end")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		conn, sink float64
		e2e        float64
		want       string
	}{
		// The sink is slower than the two stages' mean: it is the limit.
		{"sink bound", 0.5, 1, 1.25, "= 100.0 MB/s; end to end 80.0 MB/s is 0.80 of it"},
		// The connector is slower: the two share the cores.
		{"cpu bound", 2, 1, 2, "= 66.7 MB/s; end to end 50.0 MB/s is 0.75 of it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			report(&out, b, stages, map[string][]result{
				"connector":  {{records: 1000, seconds: tc.conn}},
				"sink":       {{records: 1000, seconds: tc.sink}},
				"end to end": {{records: 1000, seconds: tc.e2e}},
			})
			if !strings.Contains(out.String(), "computed limit: 1/max(sink, (connector+sink)/2) "+tc.want) {
				t.Errorf("report lacks the limit %q:\n%s", tc.want, out.String())
			}
		})
	}
}

func TestReport_Pipeline(t *testing.T) {
	b := &bench{flags: flags{records: 1000}, jsonBytes: 100e6}
	stages, err := selectStages("connector,sink,pipeline,end to end")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	report(&out, b, stages, map[string][]result{
		"connector":  {{records: 1000, seconds: 0.5}},
		"sink":       {{records: 1000, seconds: 1}},
		"pipeline":   {{records: 1000, seconds: 0.8}},
		"end to end": {{records: 1000, seconds: 1.25}},
	})
	// The limit is the sink's 1 s: the pipeline's 0.8 s is 1.25 of it, and
	// end to end's 1.25 s is 0.64 of the pipeline's.
	want := "pipeline (the connector and the sink in one process, no plugin): 125.0 MB/s, 1.25 of the computed limit; end to end is 0.64 of it"
	if !strings.Contains(out.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, out.String())
	}
}

func TestWithBaseline(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "quiver"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	stages, err := selectStages("sink,end to end,fetch")
	if err != nil {
		t.Fatal(err)
	}
	got, err := withBaseline(stages, dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.name)
	}
	if want := []string{"sink", "end to end", "baseline e2e", "fetch"}; !reflect.DeepEqual(names, want) {
		t.Errorf("stages = %q, want %q", names, want)
	}
	if _, err := withBaseline(stages[:1], dir); err == nil || !strings.Contains(err.Error(), `add "end to end"`) {
		t.Errorf("without the end-to-end stage: err = %v, want one asking for it", err)
	}
	if _, err := withBaseline(stages, t.TempDir()); err == nil || !strings.Contains(err.Error(), "no quiver binary") {
		t.Errorf("a folder without quiver: err = %v, want one saying so", err)
	}
}
