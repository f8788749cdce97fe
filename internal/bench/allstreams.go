package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// The all-streams bench (-all-streams) times what a tenant's first sync
// does: one `quiver sync` of every TrackTik stream, each holding -records
// records, its streams read at once. With -baseline DIR it alternates each
// run with the quiver and plugins in DIR (another build, such as an older
// commit's bin/), so that both builds meet the same load on a noisy
// machine, and prints this build's throughput against the baseline's.

// build is one quiver build the all-streams bench runs.
type build struct {
	name              string
	quiver, pluginDir string
}

// allStreamsBench runs the all-streams syncs and prints their figures.
func allStreamsBench(ctx context.Context, out io.Writer, f flags, quiver, tmp string) error {
	counts := map[string]int{}
	for _, s := range tracktiksim.Streams() {
		counts[s] = f.records
	}
	srv, err := tracktiksim.Start("127.0.0.1:0", tracktiksim.Options{Seed: 1, Counts: counts, Faults: fault.Options{Latency: f.latency}})
	if err != nil {
		return fmt.Errorf("start the simulator: %w", err)
	}
	defer srv.Close()
	srv.CachePages(f.simCache)
	f.stream = ""
	b := &bench{srv: srv, flags: f, tmp: tmp}
	if err := b.writeConfig(); err != nil {
		return err
	}
	builds := []build{{name: "this", quiver: quiver, pluginDir: f.pluginDir}}
	if f.baseline != "" {
		dir, err := baselineDir(f.baseline)
		if err != nil {
			return err
		}
		builds = append(builds, build{name: "baseline", quiver: filepath.Join(dir, "quiver"), pluginDir: dir})
	}
	fmt.Fprintf(out, "quiver bench: all %d TrackTik streams, %d records each, pages of %d, latency %s, simulator page cache %s, %d runs of %d builds, GOMAXPROCS=%d\n",
		len(counts), f.records, f.pageSize, f.latency, onOff(f.simCache), f.runs, len(builds), procs())
	if f.simCache { // render every page once, untimed
		if _, err := b.runSync(ctx, builds[0].quiver, builds[0].pluginDir, &result{}); err != nil {
			return fmt.Errorf("fill the simulator's page cache: %w", err)
		}
	}
	results := make([][]result, len(builds))
	want := int64(len(counts) * f.records)
	for range f.runs {
		for i, bd := range builds {
			var r result
			res, err := b.runSync(ctx, bd.quiver, bd.pluginDir, &r)
			if err != nil {
				return fmt.Errorf("%s build: %w", bd.name, err)
			}
			r.records = syncedRecords(res)
			if r.records != want {
				return fmt.Errorf("%s build synced %d records, want %d (%d streams of %d)", bd.name, r.records, want, len(counts), f.records)
			}
			results[i] = append(results[i], r)
		}
	}
	reportBuilds(out, builds, results)
	return nil
}

// baselineDir returns the absolute path of the -baseline folder, which
// must hold a quiver binary (its plugins beside it).
func baselineDir(baseline string) (string, error) {
	dir, err := filepath.Abs(baseline)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "quiver")); err != nil {
		return "", fmt.Errorf("-baseline %s: no quiver binary there: %w", baseline, err)
	}
	return dir, nil
}

// syncedRecords is the number of records a sync wrote, over all streams.
func syncedRecords(res syncResult) int64 {
	var n int64
	for _, src := range res.Sources {
		for _, st := range src.Streams {
			n += st.Records
		}
	}
	return n
}

// reportBuilds prints the medians of each build's runs and, with two
// builds, the first's throughput over the second's.
func reportBuilds(w io.Writer, builds []build, results [][]result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "BUILD\tRECORDS\tSECONDS\tRECORDS/S\tCPU S\tSIM CPU S\tPEAK RSS MiB\tPLUGIN RSS MiB\tSPREAD\t")
	secs := make([]float64, len(builds))
	for i, bd := range builds {
		rs := results[i]
		secs[i] = median(rs, func(r result) float64 { return r.seconds })
		sim := median(rs, func(r result) float64 { return r.simCPU })
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t%.2f\t%.2f\t%s\t%s\t%s\t\n",
			bd.name, rs[0].records, secs[i], float64(rs[0].records)/secs[i],
			median(rs, func(r result) float64 { return r.cpu })-sim, sim,
			mib(median(rs, func(r result) float64 { return float64(r.rss) })),
			mib(median(rs, func(r result) float64 { return float64(r.plugin) })), spread(rs))
	}
	tw.Flush()
	if len(builds) == 2 {
		fmt.Fprintf(w, "this / baseline (records/s): %.2f\n", secs[1]/secs[0])
	}
	fmt.Fprintf(w, "\nper run (seconds):\n")
	for i, bd := range builds {
		var xs []string
		for _, r := range results[i] {
			xs = append(xs, fmt.Sprintf("%.2f", r.seconds))
		}
		fmt.Fprintf(w, "  %-9s %s\n", bd.name, strings.Join(xs, " "))
	}
	fmt.Fprintln(w, "\nNotes: medians over the runs; CPU S is quiver's and its plugin's, SIM CPU S the simulator's (this process).")
}
