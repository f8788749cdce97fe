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
//   - sink: the same Arrow records, already decoded, written by host/sink
//     as the host writes them (lineage columns, Parquet zstd, fsync);
//   - end to end: `quiver sync` as a child process, through the real plugin
//     process, into Parquet.
//
// MB are the JSON bytes the simulator served (MB = 10^6 bytes). The
// in-process stages share the process with the simulator, so their CPU
// and peak RSS include it; end to end reports the host's and the plugin's
// peak RSS separately (VmHWM, polled from /proc).
//
// Usage:
//
//	go run ./internal/bench -quiver ./bin/quiver [-records 250000] [-runs 3]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
)

// flags are the command-line settings.
type flags struct {
	quiver    string
	pluginDir string
	stream    string
	records   int
	pageSize  int
	runs      int
	stages    string
	profile   string
	keep      bool
	env       string
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
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, f); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, f flags) error {
	if f.records <= 0 || f.runs <= 0 || f.pageSize < 1 || f.pageSize > 1000 {
		return fmt.Errorf("-records and -runs must be positive and -page-size within 1..1000")
	}
	stages, err := selectStages(f.stages)
	if err != nil {
		return err
	}
	quiver, err := filepath.Abs(f.quiver)
	if err != nil {
		return err
	}
	if f.pluginDir == "" {
		f.pluginDir = filepath.Dir(quiver)
	}
	srv, err := tracktiksim.Start("127.0.0.1:0", tracktiksim.Options{
		Seed:   1,
		Counts: map[string]int{f.stream: f.records},
	})
	if err != nil {
		return fmt.Errorf("start the simulator: %w", err)
	}
	defer srv.Close()
	tmp, err := os.MkdirTemp("", "quiver-bench-")
	if err != nil {
		return err
	}
	if !f.keep {
		defer os.RemoveAll(tmp)
	}
	env := &bench{srv: srv, flags: f, quiver: quiver, tmp: tmp}
	defer env.close()
	if err := env.setup(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "quiver bench: TrackTik %s, %d records, pages of %d, %.1f MB of JSON (%d B/record), %d runs, GOMAXPROCS=%d\n",
		f.stream, f.records, f.pageSize, float64(env.jsonBytes)/1e6, env.jsonBytes/int64(f.records), f.runs, procs())

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
	if f.keep {
		fmt.Fprintf(out, "end-to-end output kept in %s\n", tmp)
	}
	return nil
}

// procs returns GOMAXPROCS without changing it.
func procs() int { return runtimeProcs() }

// since is time.Since as a float of seconds.
func since(t time.Time) float64 { return time.Since(t).Seconds() }
