package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// report prints the table of medians and the ratios.
func report(w io.Writer, b *bench, stages []stage, results map[string][]result) {
	mb := float64(b.jsonBytes) / 1e6
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "STAGE\tRECORDS\tSECONDS\tRECORDS/S\tMB/S\tCPU S\tPEAK RSS MiB\tPLUGIN RSS MiB\tSPREAD\t")
	for _, s := range stages {
		rs := results[s.name]
		sec := median(rs, func(r result) float64 { return r.seconds })
		plugin := "-"
		if s.child {
			plugin = mib(median(rs, func(r result) float64 { return float64(r.plugin) }))
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t%.1f\t%.2f\t%s\t%s\t%s\t\n",
			s.name, rs[0].records, sec, float64(b.records)/sec, mb/sec,
			median(rs, func(r result) float64 { return r.cpu }),
			mib(median(rs, func(r result) float64 { return float64(r.rss) })), plugin,
			spread(rs))
	}
	tw.Flush()
	for _, s := range stages {
		if out := median(results[s.name], func(r result) float64 { return float64(r.out) }); out > 0 {
			fmt.Fprintf(w, "%s output: %.1f MB of Parquet with %s, %.2f of the JSON's size\n", s.name, out/1e6, compressionName(b.flags), out/float64(b.jsonBytes))
		}
	}

	e2e, ok := results["end to end"]
	if !ok {
		return
	}
	sec := median(e2e, func(r result) float64 { return r.seconds })
	var ratios []string
	for _, name := range []string{"floor json", "floor arrow", "connector"} {
		if rs, ok := results[name]; ok {
			ratios = append(ratios, fmt.Sprintf("%s %.2f", name, median(rs, func(r result) float64 { return r.seconds })/sec))
		}
	}
	if len(ratios) > 0 {
		fmt.Fprintf(w, "\nend to end / floor (throughput ratio): %s\n", strings.Join(ratios, ", "))
	}
	if rs, ok := results["fetch"]; ok {
		pager := float64(b.records) / median(rs, func(r result) float64 { return r.seconds })
		quiver := float64(b.records) / sec
		fmt.Fprintf(w, "sequential pager (fetch: one request at a time, no output) %.0f records/s; quiver end to end %.0f records/s; quiver / pager %.2f\n",
			pager, quiver, quiver/pager)
	}
	if rs, ok := results[baselineStage.name]; ok {
		fmt.Fprintf(w, "end to end / baseline e2e (throughput ratio): %.2f\n", median(rs, func(r result) float64 { return r.seconds })/sec)
	}
	reportLimit(w, mb, sec, results)
	reportPipeline(w, mb, sec, results)
	simCPU := median(e2e, func(r result) float64 { return r.simCPU })
	fmt.Fprintf(w, "end to end: %.2f s wall of which the stream took %.2f s (the rest: plugin start, discover, commit); CPU %.2f s in quiver + plugin, %.2f s in the simulator\n",
		sec, median(e2e, func(r result) float64 { return r.wall }),
		median(e2e, func(r result) float64 { return r.cpu })-simCPU, simCPU)
	fmt.Fprintf(w, "\nper run (seconds):\n")
	for _, s := range stages {
		var xs []string
		for _, r := range results[s.name] {
			xs = append(xs, fmt.Sprintf("%.2f", r.seconds))
		}
		fmt.Fprintf(w, "  %-12s %s\n", s.name, strings.Join(xs, " "))
	}
	fmt.Fprintln(w, `
Notes: medians of each column over the runs; SPREAD is (slowest-fastest)/median.
MB/s is JSON bytes served per second (MB = 10^6 B). In-process stages share this
process with the simulator: their CPU and PEAK RSS include it. End to end: PEAK
RSS is quiver's (the host), PLUGIN RSS the plugin's (VmHWM sampled every 20 ms);
CPU counts quiver, the plugin and the simulator. On a noisy 2-core VM runs vary
by 10-30%: compare medians of several runs, not single figures.`)
}

// computedLimit returns the seconds end to end would take at the limit
// the connector and sink stages allow on two cores, max(sink,
// (connector+sink)/2), from their medians; ok is false without both.
func computedLimit(results map[string][]result) (limit float64, ok bool) {
	conn, ok1 := results["connector"]
	snk, ok2 := results["sink"]
	if !ok1 || !ok2 {
		return 0, false
	}
	c := median(conn, func(r result) float64 { return r.seconds })
	s := median(snk, func(r result) float64 { return r.seconds })
	return max(s, (c+s)/2), true
}

// reportLimit prints the computed limit of end to end, from the connector
// and sink stages, and end to end's share of it: sec is end to end's median
// seconds for mb MB.
func reportLimit(w io.Writer, mb, sec float64, results map[string][]result) {
	limit, ok := computedLimit(results)
	if !ok {
		return
	}
	fmt.Fprintf(w, "computed limit: 1/max(sink, (connector+sink)/2) = %.1f MB/s; end to end %.1f MB/s is %.2f of it\n",
		mb/limit, mb/sec, limit/sec)
}

// reportPipeline prints the pipeline stage (end to end's work in one
// process) against the computed limit, and end to end against it: the
// cost of sharing two cores, then that of the process boundary.
func reportPipeline(w io.Writer, mb, sec float64, results map[string][]result) {
	pipe, ok := results["pipeline"]
	if !ok {
		return
	}
	p := median(pipe, func(r result) float64 { return r.seconds })
	fmt.Fprintf(w, "pipeline (the connector and the sink in one process, no plugin): %.1f MB/s", mb/p)
	if limit, ok := computedLimit(results); ok {
		fmt.Fprintf(w, ", %.2f of the computed limit", limit/p)
	}
	fmt.Fprintf(w, "; end to end is %.2f of it (the process boundary: IPC, gRPC, the plugin's start)\n", p/sec)
}

// reportRSS prints the end-to-end peak RSS of host and plugin at two sizes
// (the runs at n records, one run at m), smaller size first, and how much
// they grow from it to the larger one.
func reportRSS(w io.Writer, n int, runs []result, m int, at result) {
	type size struct {
		records      int
		host, plugin float64
	}
	a := size{n, median(runs, func(r result) float64 { return float64(r.rss) }), median(runs, func(r result) float64 { return float64(r.plugin) })}
	b := size{m, float64(at.rss), float64(at.plugin)}
	if b.records < a.records {
		a, b = b, a
	}
	fmt.Fprintf(w, "peak RSS end to end at %d and %d records: host %s and %s MiB (x%s), plugin %s and %s MiB (x%s)\n",
		a.records, b.records, mib(a.host), mib(b.host), ratio(b.host, a.host),
		mib(a.plugin), mib(b.plugin), ratio(b.plugin, a.plugin))
}

// ratio formats a/b, or "-" when either is unknown.
func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// median returns the median of f over rs (the mean of the middle two for
// an even count).
func median(rs []result, f func(result) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// spread returns (max-min)/median of the runs' seconds as a percentage.
func spread(rs []result) string {
	if len(rs) < 2 {
		return "-"
	}
	sec := func(r result) float64 { return r.seconds }
	lo := slices.MinFunc(rs, func(a, b result) int { return cmp.Compare(a.seconds, b.seconds) }).seconds
	hi := slices.MaxFunc(rs, func(a, b result) int { return cmp.Compare(a.seconds, b.seconds) }).seconds
	m := median(rs, sec)
	if m == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*(hi-lo)/m)
}

// mib formats bytes as MiB, or "-" for none.
func mib(b float64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", b/(1<<20))
}
