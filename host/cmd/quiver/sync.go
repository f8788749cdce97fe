package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/quiver-etl/quiver/host"
	"github.com/quiver-etl/quiver/internal/sched"
)

// syncFlags are the flags of `quiver sync`.
type syncFlags struct {
	config      string
	streams     []string
	fullRefresh bool
	compact     bool
	allowShrink bool
	maxFileSize string
	progress    time.Duration // between progress log lines when stderr is not a terminal
	shard       string        // I/N: only the sources in shard I of N
	parallel    int           // sources at once
	takeOver    bool          // take over state of another account (quiver demo only)
	batchSched  bool          // run as a batch job (sched.Batch)
}

func newSync(g *globals) *cobra.Command {
	var f syncFlags
	cmd := &cobra.Command{
		Use:   "sync -c FILE",
		Short: "Read every configured source and write its streams to the destination",
		Args:  exactArgs(0, "sync takes no arguments; the config file goes in -c FILE"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := host.LoadConfig(f.config)
			if err != nil {
				return err
			}
			return g.sync(cmd.Context(), cfg, f)
		},
	}
	configFlag(cmd, &f.config)
	cmd.Flags().StringSliceVar(&f.streams, "streams", nil, "only these streams (NAME or SOURCE.NAME, comma separated)")
	cmd.Flags().BoolVar(&f.fullRefresh, "full-refresh", false, "ignore saved state; replace each stream's files when its new snapshot is complete")
	cmd.Flags().BoolVar(&f.allowShrink, "allow-shrink", false, "accept new snapshots with no records or far fewer than the current ones (see min_snapshot_ratio)")
	cmd.Flags().BoolVar(&f.compact, "compact", false, "after a source synced without errors, compact each of its streams (see quiver compact)")
	cmd.Flags().StringVar(&f.maxFileSize, "max-file-size", "256MiB", "start a new output file (and commit state) past this size, e.g. 64MiB")
	cmd.Flags().StringVar(&f.shard, "shard", "", "only the sources in shard I of N (I counts from 0), e.g. 2/3; see quiver plan --shards N")
	cmd.Flags().IntVar(&f.parallel, "parallel", 1, "run up to this many sources at once, each with its own plugin process")
	cmd.Flags().DurationVar(&f.progress, "progress-every", defaultProgressEvery, "time between progress log lines when stderr is not a terminal (a terminal shows bars)")
	cmd.Flags().BoolVar(&f.batchSched, "batch-scheduling", true, "on Linux, run the sync and its plugins under the SCHED_BATCH policy: same CPU share and nice value, fewer preemptions; false keeps the default policy")
	return cmd
}

// sync runs host.Sync with progress and prints the summary.
func (g *globals) sync(ctx context.Context, cfg *host.Config, f syncFlags) error {
	log, err := g.logger()
	if err != nil {
		return err
	}
	fileBytes, err := parseSize(f.maxFileSize)
	if err != nil {
		return &usageError{fmt.Sprintf("--max-file-size %q: %v", f.maxFileSize, err)}
	}
	var shard host.Shard
	if f.shard != "" {
		if shard, err = host.ParseShard(f.shard); err != nil {
			return &usageError{"--" + err.Error()}
		}
	}
	if f.parallel < 1 {
		return &usageError{fmt.Sprintf("--parallel %d: want at least 1", f.parallel)}
	}
	if f.progress <= 0 {
		f.progress = defaultProgressEvery
	}
	var obs host.Observer
	var progress progressObserver
	if !g.quiet {
		progress = g.newProgress(log, f.progress)
		obs = progress
	}
	if f.batchSched {
		// Before any plugin starts: plugins inherit the policy.
		if n, err := sched.Batch(); err != nil {
			log.Debug("could not switch every thread to the batch scheduling policy; the others run under the default one", "error", err)
		} else if n > 0 {
			log.Debug("scheduling policy: SCHED_BATCH", "threads", n)
		}
	}
	plugins, err := g.plugins(log, cfg.File())
	if err != nil {
		return err
	}
	res, err := host.Sync(ctx, host.SyncOptions{
		Config:        cfg,
		Plugins:       plugins,
		Logger:        log,
		Streams:       f.streams,
		FullRefresh:   f.fullRefresh,
		Compact:       f.compact,
		AllowShrink:   f.allowShrink,
		Observer:      obs,
		FileBytes:     fileBytes,
		WrapFiles:     wrapFiles,
		Shard:         shard,
		Parallel:      f.parallel,
		TakeOverState: f.takeOver,
	})
	if progress != nil {
		progress.stop() // the bars end before the summary is printed
	}
	if res != nil {
		if perr := g.printResult(res, func(w io.Writer) { printSummary(w, res) }); perr != nil {
			return perr
		}
		if err != nil && !g.quiet && !g.jsonOut && isTerminal(g.stdout) && isTerminal(g.stderr) {
			return newShownError(err, res)
		}
	}
	return err
}

// shownError is the error of a run whose summary, on the same terminal,
// has listed the failures already: main says only what the summary did
// not, so that each error is printed once.
type shownError struct {
	err    error
	status string   // the run's status
	unseen []string // lines of err the summary did not show
}

func (e *shownError) Error() string { return e.err.Error() }

func (e *shownError) Unwrap() error { return e.err }

// newShownError returns err as shown by the summary of res.
func newShownError(err error, res *host.Result) *shownError {
	var shown []string
	for _, s := range res.Sources {
		if s.Error != "" {
			shown = append(shown, s.Error)
		}
		for _, st := range s.Streams {
			if st.Error != "" {
				shown = append(shown, st.Error)
			}
		}
	}
	e := &shownError{err: err, status: res.Status}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !slices.ContainsFunc(shown, func(s string) bool { return strings.HasSuffix(line, s) || strings.Contains(s, line) }) {
			e.unseen = append(e.unseen, line)
		}
	}
	return e
}

// defaultProgressEvery is the time between progress log lines: often
// enough to show a run is alive, rarely enough not to flood a CI log.
const defaultProgressEvery = 5 * time.Second

// parseSize reads a byte size: a number with an optional unit (B, KB, KiB,
// MB, MiB, GB, GiB).
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	num := strings.TrimSpace(s)
	for _, u := range units {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a size like 64MiB")
	}
	return int64(n * float64(mult)), nil
}

// printSummary writes the human table of a run.
func printSummary(w io.Writer, res *host.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SOURCE\tSTREAM\tSTATUS\tRECORDS\tFILES\tBYTES\tSECONDS\tRETRIES\tRESCUED\tAT ONCE\tLIMIT WAIT S\t")
	var records, bytes int64
	var files int
	for _, s := range res.Sources {
		if len(s.Streams) == 0 {
			fmt.Fprintf(tw, "%s\t-\t%s\t0\t0\t0\t-\t-\t-\t-\t-\t\n", s.Name, s.Status)
		}
		for _, st := range s.Streams {
			var rescued int64
			if st.Drift != nil {
				rescued = st.Drift.Rescued
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%.1f\t%s\t%d\t%s\t%s\t\n", s.Name, st.Name, st.Status,
				st.Records, len(st.Files), humanBytes(st.Bytes), st.Seconds, retries(st.Retries), rescued,
				orDash(st.Concurrency > 0, fmt.Sprint(st.Concurrency)), orDash(st.RateLimitWait > 0, fmt.Sprintf("%.1f", st.RateLimitWait)))
			records += st.Records
			bytes += st.Bytes
			files += len(st.Files)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nrun %s: %s, %d records in %d files (%s) in %.1fs\n", res.RunID, res.Status, records, files,
		humanBytes(bytes), res.FinishedAt.Sub(res.StartedAt).Seconds())
	for _, s := range res.Sources {
		if s.Error != "" {
			fmt.Fprintf(w, "  %s: %s\n", s.Name, s.Error)
		}
		for _, st := range s.Streams {
			if st.Error != "" && !strings.Contains(s.Error, st.Error) {
				fmt.Fprintf(w, "  %s.%s: %s\n", s.Name, st.Name, st.Error)
			}
			if st.Uncommitted > 0 {
				fmt.Fprintf(w, "  %s.%s: %d records read but not committed; the next run reads them again\n", s.Name, st.Name, st.Uncommitted)
			}
			if st.SchemaChanged {
				fmt.Fprintf(w, "  %s.%s: the schema changed since the last run; new files have the new columns\n", s.Name, st.Name)
			}
			if d := st.Drift; d != nil {
				fmt.Fprintf(w, "  %s.%s: %s\n", s.Name, st.Name, driftLine(d))
			}
		}
	}
}

// driftLine says what a stream's schema could not take.
func driftLine(d *host.Drift) string {
	var parts []string
	if len(d.UnknownKeys) > 0 {
		parts = append(parts, "keys the schema lacks: "+strings.Join(d.UnknownKeys, ", "))
	}
	if len(d.MismatchedColumns) > 0 {
		parts = append(parts, "values that did not fit (the column is null): "+strings.Join(d.MismatchedColumns, ", "))
	}
	return fmt.Sprintf("%d values kept in %s; %s", d.Rescued, host.RescueColumn, strings.Join(parts, "; "))
}

// orDash returns s if ok, else "-".
func orDash(ok bool, s string) string {
	if !ok {
		return "-"
	}
	return s
}

func retries(m map[string]int64) string {
	if len(m) == 0 {
		return "0"
	}
	var total int64
	for _, n := range m {
		total += n
	}
	return fmt.Sprint(total)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
