package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
)

// writeConfig writes the quiver.yaml that end-to-end runs use. Secrets are
// ${VAR} references; endToEnd passes the simulator's values in the
// environment. The destination and state folders are per run (env vars).
func (b *bench) writeConfig() error {
	text := fmt.Sprintf(`# Written by the Quiver benchmark.
sources:
  - name: bench
    connector: tracktik
    config:
      base_url: %q
      client_id: %q
      client_secret: "${TRACKTIK_CLIENT_SECRET}"
      username: %q
      password: "${TRACKTIK_PASSWORD}"
      start_date: "2023-12-31"
      page_size: %d%s
%s
destination:
  path: "${BENCH_OUT}"
  format: parquet%s
state: "${BENCH_STATE}"
`, b.srv.URL, tracktiksim.ClientID, tracktiksim.Username, b.pageSize, b.concurrencyKey(), b.streamsKey(), b.compressionKeys()+b.partitionKey())
	b.config = filepath.Join(b.tmp, "quiver.yaml")
	return os.WriteFile(b.config, []byte(text), 0o644)
}

// streamsKey is the config's streams line: b.stream, or every stream when
// it is empty (the all-streams bench).
func (b *bench) streamsKey() string {
	if b.stream == "" {
		return "    # every stream"
	}
	return "    streams: [" + b.stream + "]"
}

// concurrencyKey is the config line of -concurrency, if set, after the
// line before it.
func (b *bench) concurrencyKey() string {
	if b.conc <= 0 {
		return ""
	}
	return fmt.Sprintf("\n      concurrency: %d", b.conc)
}

// compressionKeys are the destination's lines of -compression and
// -compression-level, if set, after the line before them.
func (b *bench) compressionKeys() string {
	var s string
	if b.compression != "" {
		s += "\n  compression: " + b.compression
	}
	if b.compressionLevel != 0 {
		s += fmt.Sprintf("\n  compression_level: %d", b.compressionLevel)
	}
	return s
}

// partitionKey is the destination's partition line of -partition, if set,
// after the line before it.
func (b *bench) partitionKey() string {
	if b.partition == "" {
		return ""
	}
	return fmt.Sprintf("\n  partition: %q", b.partition)
}

// syncResult is the part of `quiver --json sync`'s output the bench reads.
type syncResult struct {
	Status  string `json:"status"`
	Sources []struct {
		Status  string `json:"status"`
		Streams []struct {
			Name    string  `json:"name"`
			Status  string  `json:"status"`
			Records int64   `json:"records"`
			Bytes   int64   `json:"bytes"`
			Seconds float64 `json:"seconds"`
		} `json:"streams"`
	} `json:"sources"`
}

// endToEnd runs `quiver sync` on a fresh destination and measures it (see
// runSync), and checks that it read the stream exactly as the floor did.
func (b *bench) endToEnd(ctx context.Context, _ any, r *result) (int64, error) {
	return b.syncChecked(ctx, b.quiver, b.pluginDir, r)
}

// baselineEndToEnd is endToEnd with the quiver and plugins of -baseline.
func (b *bench) baselineEndToEnd(ctx context.Context, _ any, r *result) (int64, error) {
	dir, err := baselineDir(b.baseline)
	if err != nil {
		return 0, err
	}
	return b.syncChecked(ctx, filepath.Join(dir, "quiver"), dir, r)
}

// syncChecked runs `quiver sync` of the bench's stream with the quiver
// binary and plugin folder given, and checks that it read the stream
// exactly as the floor did.
func (b *bench) syncChecked(ctx context.Context, quiver, pluginDir string, r *result) (int64, error) {
	before := b.srv.Stats().DataRequests
	res, err := b.runSync(ctx, quiver, pluginDir, r)
	if err != nil {
		return 0, err
	}
	if len(res.Sources) != 1 || len(res.Sources[0].Streams) != 1 {
		return 0, fmt.Errorf("quiver sync synced %d sources, want one of one stream", len(res.Sources))
	}
	st := res.Sources[0].Streams[0]
	r.wall, r.out = st.Seconds, st.Bytes
	if got := b.srv.Stats().DataRequests - before; got != b.pages {
		return 0, fmt.Errorf("quiver made %d data requests, want %d: the bytes served differ from the floor's", got, b.pages)
	}
	if st.Records != int64(b.records) {
		return 0, fmt.Errorf("quiver sync wrote %d records, want %d", st.Records, b.records)
	}
	return st.Records, nil
}

// runSync runs `quiver sync` of b.config with the quiver binary and plugin
// folder given, on a fresh destination, and measures it into r: the
// process's wall time, the CPU time of quiver and its plugin (wait4's
// rusage counts the children quiver reaped) plus this process's (the
// simulator's), and the host's and plugin's peak RSS polled from /proc.
// A run whose status is not "ok" is an error.
func (b *bench) runSync(ctx context.Context, quiver, pluginDir string, r *result) (syncResult, error) {
	var res syncResult
	b.e2eRuns++
	dir := filepath.Join(b.tmp, fmt.Sprintf("e2e-%d", b.e2eRuns))
	if !b.keep || b.e2eRuns > 1 {
		// Keep only the first run's output with -keep.
		defer func() {
			if !b.keep || b.e2eRuns > 1 {
				os.RemoveAll(dir)
			}
		}()
	}
	cmd := exec.CommandContext(ctx, quiver, "--quiet", "--json", "--log-format", "json",
		"--plugin-dir", pluginDir, "sync", "-c", b.config, "--full-refresh")
	cmd.Env = append(os.Environ(),
		"TRACKTIK_CLIENT_SECRET="+tracktiksim.ClientSecret,
		"TRACKTIK_PASSWORD="+tracktiksim.Password,
		"BENCH_OUT="+filepath.Join(dir, "out"),
		"BENCH_STATE="+filepath.Join(dir, "state"),
	)
	if b.env != "" {
		cmd.Env = append(cmd.Env, strings.Split(b.env, ",")...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// The simulator stands for a vendor's server, which runs on other
	// machines: on one P its Go runtime (idle GC workers, threads spinning
	// for work) takes less of the cores that quiver and its plugin run on.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	cpu0 := selfCPU()
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return res, err
	}
	poll := startPoller(cmd.Process.Pid)
	err := cmd.Wait()
	r.seconds = since(t0)
	host, plugin := poll.stop()
	if plugin == 0 && err == nil {
		fmt.Fprintf(os.Stderr, "bench: warning: the plugin's RSS was not sampled (%d child processes seen)\n", poll.children)
	}
	r.simCPU = selfCPU() - cpu0
	if err != nil {
		return res, fmt.Errorf("quiver sync: %w\n%s", err, tail(stderr.Bytes(), 2000))
	}
	ps := cmd.ProcessState
	r.cpu = (ps.UserTime() + ps.SystemTime()).Seconds() + r.simCPU
	r.rss, r.plugin = host, plugin
	if r.rss == 0 {
		r.rss = maxRSS(ps)
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return res, fmt.Errorf("quiver sync output: %w\n%s", err, tail(stdout.Bytes(), 2000))
	}
	if res.Status != "ok" {
		return res, fmt.Errorf("quiver sync: status %q:\n%s", res.Status, tail(stdout.Bytes(), 2000))
	}
	return res, nil
}

// tail returns the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// poller samples the peak RSS (VmHWM) of a process and of its child every
// pollEvery until stopped. VmHWM only grows, so the last sample is the peak
// up to pollEvery before the process ended. Should the process start
// several children one after another, plugin is the largest peak among
// them.
type poller struct {
	pid  int
	done chan struct{}
	wg   sync.WaitGroup

	host, plugin int64
	children     int // children seen
}

// pollEvery is the sampling period. The poller runs on the cores that
// quiver syncs on, and rendering a /proc status file costs this VM about
// 80 µs: every 5 ms, with a fresh open of three files a sample, it took
// about 0.15 CPU-s of a 1.6 s run, which end to end's time then paid.
const pollEvery = 20 * time.Millisecond

func startPoller(pid int) *poller {
	p := &poller{pid: pid, done: make(chan struct{})}
	p.wg.Add(1)
	go p.loop()
	return p
}

func (p *poller) loop() {
	defer p.wg.Done()
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	host := openHWM(p.pid)
	if host == nil {
		return
	}
	defer host.close()
	self := comm(p.pid)
	var child *hwmFile // the current child's status, once it runs the plugin
	childPID := 0
	defer func() {
		if child != nil {
			child.close()
		}
	}()
	for {
		if v := host.read(); v > 0 {
			p.host = v
		}
		if childPID == 0 {
			if childPID = childOf(p.pid); childPID > 0 {
				p.children++
			}
		}
		// Between fork and exec a child still runs the parent's binary
		// and shares its memory: skip it until it is the plugin.
		if child == nil && childPID > 0 && comm(childPID) != self {
			if child = openHWM(childPID); child == nil {
				childPID = 0 // gone: look for the next one
			}
		}
		if child != nil {
			if v := child.read(); v > 0 {
				p.plugin = max(p.plugin, v)
			} else {
				child.close()
				child, childPID = nil, 0 // gone: look for the next one
			}
		}
		select {
		case <-p.done:
			return
		case <-t.C:
		}
	}
}

// stop ends the sampling and returns the peaks in bytes (0: never seen).
func (p *poller) stop() (host, plugin int64) {
	close(p.done)
	p.wg.Wait()
	return p.host, p.plugin
}
