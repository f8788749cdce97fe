// Command bench measures Quiver's end-to-end throughput against the floor
// of the same work done in one process, for `make bench`.
//
// It starts the TrackTik simulator in-process with one large stream
// (employees, 250,000 records by default), then, for each of -runs rounds,
// times these stages on the same pages:
//
//   - fetch: the pages over loopback HTTP, one keep-alive connection, one
//     page at a time (as the connector asks for them), no decoding;
//   - floor json: fetch + encoding/json into structs, no output;
//   - floor arrow: fetch + sdk/records into Arrow records, no output;
//   - connector: the tracktik connector's Read in-process, batches dropped
//     (the plugin's work without IPC, gRPC or Parquet);
//   - sink: the same Arrow records, decoded beforehand into an Arrow IPC
//     file and read back batch by batch (as the host receives them, so the
//     input is not held in memory), written by host/sink
//     as the host writes them (lineage columns, Parquet with the codec of
//     -compression, zstd by default, fsync);
//   - pipeline: the connector's Read and the sink in this one process,
//     the connector's batches joined as the plugin joins them and written
//     by another goroutine behind a bounded queue, as the host's writer
//     does: end to end without the process boundary (and with Go's
//     default GOGC=100 where a plugin runs at 400);
//   - end to end: `quiver sync` as a child process, through the real plugin
//     process, into Parquet (destination.compression from -compression);
//   - baseline e2e, with -baseline DIR: end to end with the quiver and
//     plugins in DIR (another build), right after this build's, so that a
//     change is measured against the same load on a noisy machine.
//
// The report ends with the computed limit of end to end on this machine:
// with the connector's and the sink's work on two cores, at best
// 1/max(sink s, (connector s + sink s)/2) per byte (the sink runs on one
// goroutine; the two stages' CPU shares two cores), and end to end's share
// of it; then the pipeline stage's share of the limit (the cost of sharing
// the cores) and end to end's share of the pipeline's (the cost of the
// process boundary).
//
// With -rate-limit N it runs the rate bench instead (ratelimit.go): two
// syncs of Capillary customers against the simulator's limit of N requests
// per clock minute, one with the connector's requests_per_minute at N (the
// client paces itself) and one at 4N (the 429s bind), each printing the
// requests the simulator admitted in one whole minute against N.
//
// With -latency the simulator holds every data response that long, as a
// distant vendor would. The report compares the fetch stage, the plain
// sequential pager (one request at a time, no output), with quiver end to
// end on the same records, and gives the host's and the plugin's peak RSS
// at a second size (-rss-records) next to the first, to show whether
// memory grows with the records.
//
// While quiver syncs end to end, this process, where the simulator runs,
// is held to one P (GOMAXPROCS=1): a vendor's server runs elsewhere, and
// the simulator needs less than a core, so that its Go runtime takes as
// little as it can of the cores quiver and its plugin run on.
//
// MB are the JSON bytes the simulator served (MB = 10^6 bytes). The
// in-process stages share the process with the simulator, so their CPU
// and peak RSS include it; end to end reports the host's and the plugin's
// peak RSS separately (VmHWM, polled from /proc).
//
// Usage:
//
//	go run ./internal/bench -quiver ./bin/quiver [-records 250000] [-runs 3] [-latency 50ms] [-rss-records 1000000] [-concurrency 8] [-compression snappy]
//	go run ./internal/bench -quiver ./bin/quiver -stream shifts -partition started_on -span-days 64 -stages "end to end"
//	go run ./internal/bench -quiver ./bin/quiver -rate-limit 120 [-latency 50ms] [-concurrency 2]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/quiver-etl/quiver/sdk/connectortest/fault"

	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/host/sink"
)

// flags are the command-line settings.
type flags struct {
	quiver     string
	pluginDir  string
	stream     string
	records    int
	pageSize   int
	runs       int
	stages     string
	profile    string
	keep       bool
	env        string
	latency    time.Duration
	rssAt      int    // records of the second size for peak RSS; <= 0 skips it
	conc       int    // the connector's concurrency key; 0 leaves its default
	rateLimit  int    // > 0: run the rate bench (ratelimit.go) at this many requests per minute instead
	simCache   bool   // the simulator serves pages from memory in the stages that mark it (stage.cached)
	allStreams bool   // run the all-streams bench (allstreams.go) instead
	baseline   string // the all-streams bench: a folder with another build's quiver and plugins
	// compression and compressionLevel are the Parquet codec and level of
	// the sink and end-to-end stages ("" and 0: quiver's defaults).
	compression      string
	compressionLevel int
	partition        string // destination.partition of the end-to-end config; "" for none
	spanDays         int    // > 0: the simulator's records' dates spread over this many days
}

func main() {
	var f flags
	flag.StringVar(&f.quiver, "quiver", "./bin/quiver", "the quiver binary to run end to end")
	flag.StringVar(&f.pluginDir, "plugin-dir", "", "folder of the plugins (default: the quiver binary's folder)")
	flag.StringVar(&f.stream, "stream", "employees", "the TrackTik stream to sync")
	flag.IntVar(&f.records, "records", 250_000, "records in the stream")
	flag.IntVar(&f.pageSize, "page-size", 1000, "records per request (1..1000)")
	flag.IntVar(&f.runs, "runs", 3, "rounds; the table shows medians")
	flag.StringVar(&f.stages, "stages", "", "comma-separated stages to run (default all): "+stageList())
	flag.StringVar(&f.profile, "profile", "", "write a CPU profile of each in-process stage's last run into this folder")
	flag.BoolVar(&f.keep, "keep", false, "keep the end-to-end output folder")
	flag.StringVar(&f.env, "env", "", "comma-separated NAME=VALUE settings for quiver's environment, e.g. GOGC=400")
	flag.DurationVar(&f.latency, "latency", 0, "added by the simulator to every data response, e.g. 50ms (a distant vendor)")
	flag.IntVar(&f.rssAt, "rss-records", 1_000_000, "records of one more end-to-end run, at a second size, for peak RSS (0: skip)")
	flag.IntVar(&f.conc, "concurrency", 0, "the connector's concurrency config key: pages of a stream requested at once (0: its default)")
	flag.IntVar(&f.rateLimit, "rate-limit", 0, "instead of the stages, sync Capillary customers against a simulator limit of this many requests per minute (e.g. 120) and print the share of it quiver uses")
	flag.BoolVar(&f.simCache, "sim-cache", true, "in the connector and end-to-end stages, the simulator serves each page from memory after rendering it once, so that its CPU does not compete with quiver's for the cores (a vendor's server runs elsewhere); false renders every page")
	flag.BoolVar(&f.allStreams, "all-streams", false, "instead of the stages, sync every TrackTik stream at once, each holding -records records, and time it")
	flag.StringVar(&f.baseline, "baseline", "", "a folder holding another build's quiver and plugins (e.g. an older commit's bin/), run alternately with this one: with -all-streams, and as the stage \"baseline e2e\" after \"end to end\"")
	flag.StringVar(&f.compression, "compression", "", "the Parquet codec of the sink and end-to-end stages: zstd, snappy, gzip or none (default: quiver's, zstd)")
	flag.IntVar(&f.compressionLevel, "compression-level", 0, "the level of -compression zstd (1..22) or gzip (1..9) (0: the codec's default)")
	flag.StringVar(&f.partition, "partition", "", "end to end: the destination's partition setting, e.g. started_on (dt= folders by a date column of the stream) or extracted")
	flag.IntVar(&f.spanDays, "span-days", 0, "spread the dates of the records (of shifts, work-sessions, reports, clients) over this many days (0: two years), e.g. with -partition started_on to write that many partitions")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, f); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, f flags) error {
	if f.records <= 0 || f.runs <= 0 || f.pageSize < 1 || f.pageSize > 1000 || f.latency < 0 {
		return fmt.Errorf("-records and -runs must be positive, -page-size within 1..1000 and -latency not negative")
	}
	stages, err := selectStages(f.stages)
	if err != nil {
		return err
	}
	if f.baseline != "" && !f.allStreams && f.rateLimit == 0 {
		if stages, err = withBaseline(stages, f.baseline); err != nil {
			return err
		}
	}
	if err := checkCompression(&f); err != nil {
		return err
	}
	quiver, err := filepath.Abs(f.quiver)
	if err != nil {
		return err
	}
	if f.pluginDir == "" {
		f.pluginDir = filepath.Dir(quiver)
	}
	tmp, err := os.MkdirTemp("", "quiver-bench-")
	if err != nil {
		return err
	}
	if !f.keep {
		defer os.RemoveAll(tmp)
	}
	if f.rateLimit > 0 {
		return rateBench(ctx, out, f, quiver, tmp)
	}
	if f.allStreams {
		return allStreamsBench(ctx, out, f, quiver, tmp)
	}
	env, stopEnv, err := newBench(ctx, f, quiver, tmp)
	if err != nil {
		return err
	}
	defer stopEnv()
	conc := "default"
	if f.conc > 0 {
		conc = strconv.Itoa(f.conc)
	}
	fmt.Fprintf(out, "quiver bench: TrackTik %s, %d records, pages of %d, %.1f MB of JSON (%d B/record), latency %s, concurrency %s, compression %s, simulator page cache %s, %d runs, GOMAXPROCS=%d%s\n",
		f.stream, f.records, f.pageSize, float64(env.jsonBytes)/1e6, env.jsonBytes/int64(f.records), f.latency, conc, compressionName(f), onOff(f.simCache), f.runs, procs(), partitionNote(f))

	results := map[string][]result{}
	for i := range f.runs {
		for _, s := range stages {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := env.measure(ctx, s, i == f.runs-1)
			if err != nil {
				return fmt.Errorf("run %d stage %s: %w", i+1, s.name, err)
			}
			results[s.name] = append(results[s.name], r)
		}
	}
	report(out, env, stages, results)
	if e2e, ok := results["end to end"]; ok && f.rssAt > 0 && f.rssAt != f.records {
		second, err := rssAt(ctx, f, quiver, tmp)
		if err != nil {
			return fmt.Errorf("peak RSS at %d records: %w", f.rssAt, err)
		}
		reportRSS(out, f.records, e2e, f.rssAt, second)
	}
	if f.keep {
		fmt.Fprintf(out, "end-to-end output kept in %s\n", tmp)
	}
	return nil
}

// withBaseline returns stages with baselineStage after "end to end", for
// -baseline.
func withBaseline(stages []stage, baseline string) ([]stage, error) {
	if _, err := baselineDir(baseline); err != nil {
		return nil, err
	}
	i := slices.IndexFunc(stages, func(s stage) bool { return s.name == "end to end" })
	if i < 0 {
		return nil, errors.New(`-baseline compares end-to-end runs: add "end to end" to -stages`)
	}
	return slices.Insert(stages, i+1, baselineStage), nil
}

// newBench starts a simulator with f.records records of f.stream and sets
// up a bench on it; stop closes both.
func newBench(ctx context.Context, f flags, quiver, tmp string) (b *bench, stop func(), err error) {
	srv, err := tracktiksim.Start("127.0.0.1:0", tracktiksim.Options{
		Seed:   1,
		Counts: map[string]int{f.stream: f.records},
		Faults: fault.Options{Latency: f.latency},
		Span:   time.Duration(f.spanDays) * 24 * time.Hour,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("start the simulator: %w", err)
	}
	b = &bench{srv: srv, flags: f, quiver: quiver, tmp: tmp}
	stop = func() {
		b.close()
		srv.Close()
	}
	if err := b.setup(ctx); err != nil {
		stop()
		return nil, nil, err
	}
	return b, stop, nil
}

// rssAt runs quiver end to end once on f.rssAt records, in a folder of its
// own under tmp, for its peak RSS.
func rssAt(ctx context.Context, f flags, quiver, tmp string) (result, error) {
	f.records = f.rssAt
	dir := filepath.Join(tmp, "rss")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return result{}, err
	}
	b, stop, err := newBench(ctx, f, quiver, dir)
	if err != nil {
		return result{}, err
	}
	defer stop()
	var r result
	_, err = b.endToEnd(ctx, nil, &r)
	return r, err
}

// checkCompression checks -compression and -compression-level as a
// Parquet destination takes them, and normalizes the codec's name.
func checkCompression(f *flags) error {
	if f.compression != "" {
		c, err := sink.ParseCompression(f.compression)
		if err != nil {
			return fmt.Errorf("-compression: %w", err)
		}
		if err := sink.Parquet.CheckCompression(c); err != nil {
			return fmt.Errorf("-compression %w", err)
		}
		f.compression = string(c)
	}
	if f.compressionLevel != 0 {
		if err := sink.Parquet.CheckLevel(sink.Compression(f.compression), f.compressionLevel); err != nil {
			return fmt.Errorf("-compression-level %w", err)
		}
	}
	return nil
}

// compressionName is the codec and level of the sink and end-to-end
// stages, for the report's header.
func compressionName(f flags) string {
	name := f.compression
	if name == "" {
		name = "zstd (default)"
	}
	if f.compressionLevel != 0 {
		name += fmt.Sprintf(" level %d", f.compressionLevel)
	}
	return name
}

// partitionNote is the report header's note of -partition and -span-days.
func partitionNote(f flags) string {
	s := ""
	if f.partition != "" {
		s += ", partition " + f.partition
	}
	if f.spanDays > 0 {
		s += fmt.Sprintf(", dates over %d days", f.spanDays)
	}
	return s
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// procs returns GOMAXPROCS without changing it.
func procs() int { return runtimeProcs() }

// since is time.Since as a float of seconds.
func since(t time.Time) float64 { return time.Since(t).Seconds() }
