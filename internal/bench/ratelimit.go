package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/quiver-etl/quiver/connectors/capillary/capillarysim"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// The rate bench (-rate-limit N) syncs Capillary customers against the
// simulator's per-key limit of N data requests per clock minute and counts
// the requests the simulator admitted in one whole clock minute of the
// sync. The simulator's clock is shifted so that a minute starts rateLead
// after quiver starts: the sync has started (plugin, token, first pages, a
// first burst and its 429s) when the measured minute begins, and that
// minute is exactly one window of the vendor's limit, so the allowed
// figure is N, with no partial window at either end.
const (
	rateLead      = 20 * time.Second
	rateWindow    = time.Minute
	ratePageSize  = 100 // capillary's largest page
	rateOverLimit = 4   // the second run's connector limit, times the simulator's
)

// rateRun is one rate-limited sync: the simulator's limit and the
// connector's own requests_per_minute.
type rateRun struct {
	name      string
	simRPM    int
	clientRPM int
}

// rateResult is what the simulator counted during one rateRun.
type rateResult struct {
	admitted int           // data requests the limit let through in the measured minute
	refused  int           // 429s in the measured minute
	elapsed  time.Duration // the measured minute, as timed
	total    int           // admitted over the whole run
	refusedT int           // 429s over the whole run
	seconds  float64       // the whole run until quiver was stopped
}

// admitted is the number of data requests the simulator's rate limit let
// through: token errors are refused before the limit counts them.
func admitted(s capillarysim.Stats) int {
	n := 0
	for _, v := range s.Requests {
		n += v
	}
	return n - s.RateLimited - s.InvalidTokens - s.ExpiredTokens
}

// shiftFor returns what to add to the real clock so that a clock minute
// starts exactly lead after start.
func shiftFor(start time.Time, lead time.Duration) time.Duration {
	at := start.Add(lead)
	return at.Truncate(time.Minute).Add(time.Minute).Sub(at)
}

// rateRecords is how many customers keep a sync busy for the whole run,
// whatever the client's pace: at most two windows' worth of pages, plus
// a margin.
func rateRecords(rpm int) int {
	return (2*rpm + rpm/2 + 10) * ratePageSize
}

// rateBench runs the two rate-limited syncs and prints their figures.
func rateBench(ctx context.Context, out io.Writer, f flags, quiver, tmp string) error {
	n := f.rateLimit
	runs := []rateRun{
		{name: "connector paces itself", simRPM: n, clientRPM: n},
		{name: "429s bind", simRPM: n, clientRPM: rateOverLimit * n},
	}
	conc := "default"
	if f.conc > 0 {
		conc = fmt.Sprint(f.conc)
	}
	fmt.Fprintf(out, "quiver rate bench: Capillary customers, pages of %d, %d customers, simulator limit %d requests per clock minute, latency %s, concurrency %s\n",
		ratePageSize, rateRecords(n), n, f.latency, conc)
	fmt.Fprintf(out, "measured: the simulator's admitted data requests in one whole clock minute of its limit, from %s after quiver starts\n", rateLead)
	fmt.Fprintf(out, "%-24s %8s %8s %9s %8s %9s %6s %6s %9s %9s %6s\n", "RUN", "SIM RPM", "CONN RPM", "ADMITTED", "SECONDS", "RATE/MIN", "RATIO", "429S", "RUN 429S", "RUN ADM", "RUN S")
	for i, r := range runs {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := rateSync(ctx, f, quiver, filepath.Join(tmp, fmt.Sprintf("rate-%d", i+1)), r)
		if err != nil {
			return fmt.Errorf("rate run %q: %w", r.name, err)
		}
		perMin := float64(res.admitted) / res.elapsed.Minutes()
		fmt.Fprintf(out, "%-24s %8d %8d %9d %8.1f %9.1f %6.3f %6d %9d %9d %6.1f\n", r.name, r.simRPM, r.clientRPM,
			res.admitted, res.elapsed.Seconds(), perMin, float64(res.admitted)/float64(r.simRPM), res.refused, res.refusedT, res.total, res.seconds)
	}
	fmt.Fprintf(out, "RATIO = ADMITTED / SIM RPM (the minute's allowance); RATE/MIN = ADMITTED / SECONDS x 60; 429S in the minute; RUN 429S, RUN ADM (admitted) and RUN S over the whole run from quiver's start (plugin start included; its first %s is a partial window)\n", rateLead)
	return nil
}

// rateSync starts a simulator limited to r.simRPM, runs `quiver sync` on
// its customers with requests_per_minute r.clientRPM, counts what the
// simulator admitted in the measured minute and then interrupts quiver.
func rateSync(ctx context.Context, f flags, quiver, dir string, r rateRun) (rateResult, error) {
	var shift atomic.Int64
	srv, err := capillarysim.Start("127.0.0.1:0", capillarysim.Options{
		Seed:              1,
		Customers:         rateRecords(r.simRPM),
		MaxTransactions:   -1,
		RequestsPerMinute: r.simRPM,
		Faults:            fault.Options{Latency: f.latency},
		Now:               func() time.Time { return time.Now().Add(time.Duration(shift.Load())) },
	})
	if err != nil {
		return rateResult{}, fmt.Errorf("start the simulator: %w", err)
	}
	defer srv.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return rateResult{}, err
	}
	config := filepath.Join(dir, "quiver.yaml")
	concurrency := ""
	if f.conc > 0 {
		concurrency = fmt.Sprintf("\n      concurrency: %d", f.conc)
	}
	text := fmt.Sprintf(`# Written by the Quiver rate benchmark.
sources:
  - name: bench
    connector: capillary
    config:
      base_url: %q
      key: %q
      secret: "${CAPILLARY_SECRET}"
      start_date: "2024-01-01"
      page_size: %d
      requests_per_minute: %d%s
    streams: [customers]
destination:
  path: %q
  format: parquet
state: %q
`, srv.URL, capillarysim.DefaultKey, ratePageSize, r.clientRPM, concurrency, filepath.Join(dir, "out"), filepath.Join(dir, "state"))
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		return rateResult{}, err
	}
	cmd := exec.CommandContext(ctx, quiver, "--quiet", "--json", "--log-format", "json",
		"--plugin-dir", f.pluginDir, "sync", "-c", config, "--full-refresh")
	cmd.Env = append(os.Environ(), "CAPILLARY_SECRET="+capillarysim.DefaultSecret)
	// quiver commits and stops its plugin on SIGINT.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 30 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	t0 := time.Now()
	shift.Store(int64(shiftFor(t0, rateLead)))
	if err := cmd.Start(); err != nil {
		return rateResult{}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	wait := func(d time.Duration) error {
		select {
		case err := <-done:
			return fmt.Errorf("quiver sync ended %.1f s into the run, before the measured minute was over: %v\n%s%s",
				since(t0), err, tail(stdout.Bytes(), 2000), tail(stderr.Bytes(), 2000))
		case <-ctx.Done():
			<-done
			return ctx.Err()
		case <-time.After(time.Until(t0.Add(d))):
			return nil
		}
	}
	var res rateResult
	if err := wait(rateLead); err != nil {
		return res, err
	}
	a, ta := srv.Stats(), time.Now()
	if err := wait(rateLead + rateWindow); err != nil {
		return res, err
	}
	b, tb := srv.Stats(), time.Now()
	res.seconds = since(t0)
	_ = cmd.Process.Signal(syscall.SIGINT)
	<-done // interrupted: its exit status says so
	res.admitted = admitted(b) - admitted(a)
	res.refused = b.RateLimited - a.RateLimited
	res.elapsed = tb.Sub(ta)
	res.total, res.refusedT = admitted(b), b.RateLimited
	return res, nil
}
