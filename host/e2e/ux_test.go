package e2e

// Day-to-day use of `quiver sync` through the real binaries against the
// TrackTik simulator: incremental runs, full refreshes, interrupted and
// resumed runs, the state lock, progress, the run summary, output formats
// and partitions.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// uxOptions shape a test's simulator and config.
type uxOptions struct {
	counts   map[string]int // records per stream; streams left out get 5
	slow     time.Duration  // every data request waits this long
	pageSize int            // default 10
	config   string         // more connector config lines (6-space indent), e.g. "      concurrency: 1\n"
	streams  string         // the source's streams list, e.g. "[employees]"
	source   string         // more source lines (4-space indent), e.g. "    partition: x\n"
	dest     string         // more destination lines (2-space indent)
}

// uxSetup starts a simulator and writes a config for it into a new
// folder; it returns the simulator, the folder and the config's path.
func uxSetup(t *testing.T, o uxOptions) (*tracktiksim.Server, string, string) {
	t.Helper()
	counts := map[string]int{}
	for _, s := range trackTikStreams {
		counts[s] = 5
	}
	for k, v := range o.counts {
		counts[k] = v
	}
	opts := tracktiksim.Options{Seed: 17, Counts: counts}
	if o.slow > 0 {
		opts.Faults = slowFaults(o.slow)
	}
	srv := tracktiksim.NewServer(t, opts)
	if o.pageSize == 0 {
		o.pageSize = 10
	}
	extra := fmt.Sprintf("      page_size: %d\n", o.pageSize) + o.config
	if o.streams != "" {
		extra += "    streams: " + o.streams + "\n"
	}
	extra += o.source
	out := t.TempDir()
	text := trackTikConfig(srv, out, extra)
	if o.dest != "" {
		text = strings.Replace(text, "destination:\n", "destination:\n"+o.dest, 1)
	}
	return srv, out, writeConfig(t, out, text)
}

// slowFaults delays every data request by d, to make runs long enough to
// watch and interrupt.
func slowFaults(d time.Duration) fault.Options {
	return fault.Options{Rate: 1, Kinds: []fault.Kind{fault.Slow}, SlowDelay: d, MaxConsecutive: 1 << 30}
}

// runResult is the --json summary of `quiver sync`.
type runResult struct {
	RunID      string    `json:"run_id"`
	Status     string    `json:"status"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Sources    []struct {
		Name    string          `json:"name"`
		Status  string          `json:"status"`
		Error   string          `json:"error"`
		Streams []*streamResult `json:"streams"`
	} `json:"sources"`
}

type streamResult struct {
	Name        string           `json:"name"`
	Mode        string           `json:"mode"`
	Status      string           `json:"status"`
	Records     int64            `json:"records"`
	Files       []string         `json:"files"`
	Bytes       int64            `json:"bytes"`
	Seconds     float64          `json:"seconds"`
	Retries     map[string]int64 `json:"retries"`
	StateBefore json.RawMessage  `json:"state_before"`
	StateAfter  json.RawMessage  `json:"state_after"`
}

// stream returns the result of a stream of the first source, or nil.
func (r *runResult) stream(name string) *streamResult {
	if len(r.Sources) == 0 {
		return nil
	}
	for _, s := range r.Sources[0].Streams {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// syncJSON runs `quiver sync --json` with args, wants exit code want, and
// returns the summary.
func syncJSON(ctx context.Context, t *testing.T, want int, args ...string) (*runResult, result) {
	t.Helper()
	r := quiver(ctx, t, trackTikEnv, append([]string{"sync", "--json"}, args...)...)
	if r.code != want {
		t.Fatalf("quiver sync %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, tail(r.stderr, 30))
	}
	var res runResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	return &res, r
}

// compact returns JSON without insignificant space ("" for none).
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// streamIDs reads a stream's committed Parquet files (in its folder and
// its dt= folders) and returns the ids in file order, failing on an id
// that appears twice.
func streamIDs(t *testing.T, dir string) []int64 {
	t.Helper()
	var ids []int64
	seen := map[int64]bool{}
	dirs := []string{dir}
	parts, _ := filepath.Glob(filepath.Join(dir, "dt=*"))
	dirs = append(dirs, parts...)
	for _, d := range dirs {
		for _, row := range readStream(t, d).rows {
			id := row["id"].(int64)
			if seen[id] {
				t.Errorf("%s: id %d written twice", dir, id)
			}
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// sortedIDs returns ids sorted.
func sortedIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// files lists the committed part files of a stream folder (not its
// partition folders), by name.
func files(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "part-*"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	sort.Strings(m)
	return m
}

// temps lists the temporary files under a stream folder.
func temps(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, ".*"))
	n, _ := filepath.Glob(filepath.Join(dir, "*", ".*"))
	return append(m, n...)
}

// TestUX_Incremental: a second run against a simulator whose data grew and
// changed. TrackTik documents no updatedOn filter
// (docs/vendors/tracktik.md#incremental-sync), so
// employees, clients and positions are snapshots, read whole and replaced
// on every run, and shifts, work-sessions and reports are read again over
// a 7-day lookback window on their date filter. (This test used to pin the
// id:gt cursor, and that a changed employee kept its old value until a
// --full-refresh; issue 14 changed both on purpose: the change arrives.)
// The summary shows each stream's state before and after.
func TestUX_Incremental(t *testing.T) {
	t.Parallel()
	srv, out, cfg := uxSetup(t, uxOptions{counts: map[string]int{"employees": 95, "shifts": 40}})
	srv.Faults.Set(fault.Options{Rate: 0.1, Seed: 4, Kinds: []fault.Kind{fault.ServerError, fault.Truncate, fault.Malformed, fault.Reset}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	first, r1 := syncJSON(ctx, t, 0, "-c", cfg)
	if first.RunID == "" || first.Status != "ok" || !first.FinishedAt.After(first.StartedAt) {
		t.Errorf("run: id %q, status %q, %v to %v", first.RunID, first.Status, first.StartedAt, first.FinishedAt)
	}
	var retries int64
	for _, name := range trackTikStreams {
		st := first.stream(name)
		if st == nil {
			t.Fatalf("no result for %s in %s", name, r1.stdout)
		}
		n := srv.Count(name)
		mode, wantState := "full_refresh", "" // a snapshot keeps no state
		if cursor, field, ok := lookbackCursor(name); ok {
			mode, wantState = "incremental", fmt.Sprintf(`{%q:%q}`, cursor, lastTime(t, srv, name, field))
		}
		if st.Mode != mode || st.Status != "complete" || st.Records != int64(n) || len(st.Files) != 1 ||
			st.Bytes <= 0 || st.StateBefore != nil || compact(st.StateAfter) != wantState {
			t.Errorf("first run, %s: %+v; want %s, complete, %d records in 1 file, state after %s",
				name, st, mode, n, wantState)
		}
		for _, n := range st.Retries {
			retries += n
		}
	}
	if n := srv.Faults.Total(); retries != int64(n) {
		t.Errorf("the summary counts %d retries; the simulator injected %d faults", retries, n)
	}

	srv.Faults.Set(fault.Options{})
	changed := srv.IDs("employees")[3]
	srv.Append("employees", 7)
	srv.Append("shifts", 3)
	if err := srv.Update("employees", changed, "firstName", "Renamed"); err != nil {
		t.Fatal(err)
	}
	second, _ := syncJSON(ctx, t, 0, "-c", cfg)
	for _, name := range trackTikStreams {
		st, prev := second.stream(name), first.stream(name)
		n := srv.Count(name)
		if _, field, ok := lookbackCursor(name); ok {
			added := n - int(prev.Records)
			// The window re-reads the records of the 7 days before the
			// mark, and the new ones; the others are not read again.
			if st.Records < int64(added) || st.Records >= int64(n) || compact(st.StateBefore) != compact(prev.StateAfter) ||
				!strings.Contains(compact(st.StateAfter), lastTime(t, srv, name, field)) {
				t.Errorf("second run, %s: %d records, state %s -> %s; want the %d new ones and the window's, fewer than %d",
					name, st.Records, st.StateBefore, st.StateAfter, added, n)
			}
			t.Logf("%s: first run read %d records, the second %d", name, prev.Records, st.Records)
		} else if st.Records != int64(n) || len(st.Files) != 1 {
			t.Errorf("second run, %s: %d records in %d files; want the whole snapshot, %d records in 1 file", name, st.Records, len(st.Files), n)
		}
		checkTrackTikLatest(t, srv, out, name)
	}
	dir := filepath.Join(out, "data", "acme", "employees")
	if n := len(files(t, dir)); n != 1 {
		t.Errorf("employees has %d files, want 1 (a snapshot replaces the last)", n)
	}
	for _, row := range readStream(t, dir).rows {
		if row["id"] == changed && row["first_name"] != "Renamed" {
			t.Errorf("employee %d: first_name %v, want the change, Renamed", changed, row["first_name"])
		}
	}
}

// lookbackCursor returns the cursor column and vendor field of a TrackTik
// lookback stream; ok is false for the snapshot streams.
func lookbackCursor(stream string) (cursor, field string, ok bool) {
	switch stream {
	case "shifts", "work-sessions":
		return "started_on", "startedOn", true
	case "reports":
		return "report_date_time", "reportDateTime", true
	}
	return "", "", false
}

// lastTime returns the latest value of a time field in a simulator stream,
// as the state writes it (RFC 3339, UTC).
func lastTime(t *testing.T, srv *tracktiksim.Server, stream, field string) string {
	t.Helper()
	var last time.Time
	for i := range srv.Count(stream) {
		v, _ := srv.Record(stream, i)[field].(string)
		ts, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t.Fatalf("%s record %d: %s %q: %v", stream, i, field, v, err)
		}
		if ts.After(last) {
			last = ts
		}
	}
	return last.UTC().Format(time.RFC3339Nano)
}

// TestUX_FullRefreshAndStreams: --full-refresh replaces a stream's files
// when its new snapshot is complete, --streams limits a run, and the next
// incremental run goes on from the full refresh's state.
func TestUX_FullRefreshAndStreams(t *testing.T) {
	t.Parallel()
	srv, out, cfg := uxSetup(t, uxOptions{counts: map[string]int{"employees": 45}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	emp := filepath.Join(out, "data", "acme", "employees")
	cli := filepath.Join(out, "data", "acme", "clients")

	first, _ := syncJSON(ctx, t, 0, "-c", cfg, "--full-refresh")
	if st := first.stream("employees"); st.Mode != "full_refresh" || st.Records != 45 {
		t.Errorf("first run employees: %+v", st)
	}
	firstEmp, firstCli := files(t, emp), files(t, cli)

	srv.Append("employees", 5)
	second, _ := syncJSON(ctx, t, 0, "-c", cfg, "--full-refresh", "--streams", "employees")
	if n := len(second.Sources[0].Streams); n != 1 || second.stream("employees") == nil {
		t.Fatalf("--streams employees ran %d streams: %+v", n, second.Sources[0].Streams)
	}
	if st := second.stream("employees"); st.Records != 50 || st.Mode != "full_refresh" || compact(st.StateBefore) != compact(first.stream("employees").StateAfter) {
		t.Errorf("second run employees: %+v", st)
	}
	gotEmp := files(t, emp)
	if len(gotEmp) != 1 || slices.Contains(firstEmp, gotEmp[0]) {
		t.Errorf("employees files %v after a full refresh; want one new file replacing %v", gotEmp, firstEmp)
	}
	if diff := cmp.Diff(srv.IDs("employees"), sortedIDs(streamIDs(t, emp))); diff != "" {
		t.Errorf("employees ids after the full refresh (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(firstCli, files(t, cli)); diff != "" {
		t.Errorf("clients, not selected, changed (-want +got):\n%s", diff)
	}

	// employees is a snapshot stream: a run without --full-refresh reads
	// it whole too (before issue 14 it read only the 2 new records).
	srv.Append("employees", 2)
	third, _ := syncJSON(ctx, t, 0, "-c", cfg, "--streams", "acme.employees")
	if st := third.stream("employees"); st.Mode != "full_refresh" || st.Records != 52 || len(st.Files) != 1 {
		t.Errorf("plain run after a full refresh: %+v; want the whole snapshot, 52 records in 1 file", st)
	}
	if diff := cmp.Diff(srv.IDs("employees"), sortedIDs(streamIDs(t, emp))); diff != "" {
		t.Errorf("employees ids (-want +got):\n%s", diff)
	}

	r := quiver(ctx, t, trackTikEnv, "sync", "-c", cfg, "--streams", "globex.employees")
	if r.code != 2 || !strings.Contains(r.stderr, `no source named "globex"`) {
		t.Errorf("--streams globex.employees: exit %d, want 2 naming the source\n%s", r.code, tail(r.stderr, 5))
	}
}

// TestUX_FullRefreshFailureKeepsSnapshot: a full refresh that fails (a
// rejected login, or faults that exhaust the retries midway) leaves the
// previous snapshot and state as they were, with no temporary files.
func TestUX_FullRefreshFailureKeepsSnapshot(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		code  int
		fail  func(t *testing.T, srv *tracktiksim.Server, dir string, env *[]string)
		extra []string
	}{
		{"wrong password", 4, func(_ *testing.T, _ *tracktiksim.Server, _ string, env *[]string) {
			*env = []string{"TT_SECRET=" + tracktiksim.ClientSecret, "TT_PASSWORD=not-the-password"}
		}, nil},
		{"faults midway", 1, func(t *testing.T, srv *tracktiksim.Server, dir string, _ *[]string) {
			// Once the new snapshot has finished files waiting for the
			// stream to complete, every page comes back cut.
			// (A run that ends first exits 0, and the test fails on that.)
			go func() {
				for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
					if len(temps(dir)) >= 2 {
						srv.Faults.Set(fault.Options{Rate: 1, Kinds: []fault.Kind{fault.Malformed}, MaxConsecutive: 1 << 30})
						return
					}
				}
			}()
		}, []string{"--max-file-size", "1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A page at a time, so that a run lasts long enough (31 pages)
			// for the plugin to send them in several batches, joined for
			// batch.JoinWait at most, and make several files.
			srv, out, cfg := uxSetup(t, uxOptions{counts: map[string]int{"employees": 300}, slow: 20 * time.Millisecond, streams: "[employees]",
				config: "      concurrency: 1\n"})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dir := filepath.Join(out, "data", "acme", "employees")
			stateFile := filepath.Join(out, "state", "acme.json")

			syncJSON(ctx, t, 0, "-c", cfg, "--full-refresh")
			snapshot := files(t, dir)
			stateBefore, err := os.ReadFile(stateFile)
			if err != nil {
				t.Fatal(err)
			}
			srv.Append("employees", 10)
			env := trackTikEnv
			tt.fail(t, srv, dir, &env)
			r := quiver(ctx, t, env, append([]string{"sync", "-c", cfg, "--full-refresh"}, tt.extra...)...)
			if r.code != tt.code {
				t.Fatalf("failing full refresh: exit %d, want %d\n%s", r.code, tt.code, tail(r.stderr, 20))
			}
			if diff := cmp.Diff(snapshot, files(t, dir)); diff != "" {
				t.Errorf("the previous snapshot changed (-want +got):\n%s", diff)
			}
			if n := len(streamIDs(t, dir)); n != 300 {
				t.Errorf("the previous snapshot has %d rows, want 300", n)
			}
			if tmp := temps(dir); len(tmp) != 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
			stateAfter, _ := os.ReadFile(stateFile)
			if diff := cmp.Diff(string(stateBefore), string(stateAfter)); diff != "" {
				t.Errorf("the state changed (-before +after):\n%s", diff)
			}
			if !strings.Contains(r.stderr, "previous snapshot is kept") && tt.code != 4 {
				t.Errorf("the log does not say the previous snapshot is kept:\n%s", tail(r.stderr, 10))
			}
		})
	}
}

// startGroup starts quiver in a process group of its own, so that a test
// can signal the group the way a terminal's Ctrl-C does (the plugin
// receives the SIGINT too).
func startGroup(ctx context.Context, t *testing.T, env []string, args ...string) (*exec.Cmd, <-chan result) {
	t.Helper()
	return startQuiverWith(ctx, t, func(cmd *exec.Cmd) {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}, env, args...)
}

// TestUX_InterruptAndResume: Ctrl-C (SIGINT to the whole process group, as
// a terminal sends it) or SIGTERM (to quiver alone, as a container runtime
// sends it, or to the group, as systemd does) stops the run within seconds with exit code 130 or 143; what
// was committed is valid, and the next run ends with the same data as an
// uninterrupted run: no record lost or written twice.
func TestUX_InterruptAndResume(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		sig   syscall.Signal
		group bool
		code  int
	}{
		{"SIGINT to the terminal's process group", syscall.SIGINT, true, 130},
		{"SIGTERM to quiver", syscall.SIGTERM, false, 143},
		// systemd's default KillMode signals the whole group: the plugin,
		// which ignores only SIGINT, dies at once; the host still commits.
		{"SIGTERM to the process group", syscall.SIGTERM, true, 143},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, out, cfg := uxSetup(t, uxOptions{counts: map[string]int{"shifts": 2000}, slow: 25 * time.Millisecond, pageSize: 20, streams: "[{name: shifts, lookback: 1s}]"})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dir := filepath.Join(out, "data", "acme", "shifts")

			cmd, done := startGroup(ctx, t, trackTikEnv, "sync", "-c", cfg, "--json", "--max-file-size", "1")
			waitFor(t, time.Minute, "committed files", func() bool { return len(files(t, dir)) >= 3 })
			pid := cmd.Process.Pid
			if tt.group {
				pid = -pid
			}
			sent := time.Now()
			if err := syscall.Kill(pid, tt.sig); err != nil {
				t.Fatal(err)
			}
			r := <-done
			stopped := time.Since(sent)
			t.Logf("%v: quiver exited %v after the signal", tt.sig, stopped)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tt.code, tail(r.stderr, 20))
			}
			if stopped > 20*time.Second {
				t.Errorf("quiver took %v to stop", stopped)
			}
			if tt.sig == syscall.SIGINT && strings.Contains(r.stderr, "signal: interrupt") {
				t.Errorf("the plugin died of the terminal's SIGINT; go-plugin plugins ignore it\n%s", tail(r.stderr, 10))
			}
			if !strings.Contains(r.stderr, "the next run goes on from there") || strings.Contains(r.stderr, "context canceled") {
				t.Errorf("the message after %v does not say the run can go on, or reports the cancellation as an error:\n%s", tt.sig, tail(r.stderr, 5))
			}
			var res runResult
			if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
				t.Fatalf("--json after %v: %v\n%s", tt.sig, err, r.stdout)
			}
			st := res.stream("shifts")
			if res.Status != "interrupted" || res.Sources[0].Status != "interrupted" || res.Sources[0].Error != "" || st == nil || st.Status != "incomplete" {
				t.Errorf("summary after %v: status %q, stream %+v", tt.sig, res.Status, st)
			}
			// The committed files hold a prefix of the shifts (by startedOn,
			// which orders them as their ids), each once, and the state is
			// the startedOn of the last of them.
			all := srv.IDs("shifts")
			got := sortedIDs(streamIDs(t, dir))
			if len(got) == 0 || len(got) >= len(all) {
				t.Fatalf("%d of %d records committed; want some but not all", len(got), len(all))
			}
			if diff := cmp.Diff(all[:len(got)], got); diff != "" {
				t.Errorf("committed ids are not the first %d (-want +got):\n%s", len(got), diff)
			}
			lastStart, err := time.Parse(time.RFC3339, srv.Record("shifts", len(got)-1)["startedOn"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf(`{"started_on":%q}`, lastStart.UTC().Format(time.RFC3339Nano)); compact(st.StateAfter) != want {
				t.Errorf("state after the interrupt %s, want %s (the last committed shift's start)", st.StateAfter, want)
			}
			if int64(len(got)) != st.Records {
				t.Errorf("summary says %d records, %d are committed", st.Records, len(got))
			}
			if tmp := temps(dir); len(tmp) != 0 {
				t.Errorf("temporary files left: %v", tmp)
			}

			srv.Faults.Set(fault.Options{})
			// The resumed run reads the rest, and again the shifts of the
			// 1s lookback window before the mark: the last committed one.
			resumed, _ := syncJSON(ctx, t, 0, "-c", cfg)
			rest := int64(len(all) - len(got))
			if rs := resumed.stream("shifts"); compact(rs.StateBefore) != compact(st.StateAfter) || rs.Records < rest || rs.Records > rest+2 {
				t.Errorf("resumed run: %+v; want the other %d records from %s, and the one at the mark", rs, rest, st.StateAfter)
			}
			if rows := checkTrackTikLatest(t, srv, out, "shifts"); rows > len(all)+2 {
				t.Errorf("%d rows for %d shifts: more than the window's were read twice", rows, len(all))
			}
		})
	}
}

// TestUX_Lock: while a run holds the state, a second run and `state reset`
// refuse at once with exit code 75 (EX_TEMPFAIL: a scheduler retries
// later) and a message naming the holder; `state show` says it is held.
func TestUX_Lock(t *testing.T) {
	t.Parallel()
	_, out, cfg := uxSetup(t, uxOptions{counts: map[string]int{"shifts": 1000}, slow: 25 * time.Millisecond, streams: "[shifts]"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, done := startQuiver(ctx, t, trackTikEnv, "sync", "-c", cfg, "--max-file-size", "1")
	dir := filepath.Join(out, "data", "acme", "shifts") // incremental: files appear as it goes
	waitFor(t, time.Minute, "the first run's files", func() bool { return len(files(t, dir)) >= 1 })

	holder := fmt.Sprintf("another quiver run (pid %d) holds the lock on source \"acme\"", cmd.Process.Pid)
	for _, args := range [][]string{
		{"sync", "-c", cfg},
		{"state", "reset", "acme", "-c", cfg},
	} {
		r := quiver(ctx, t, trackTikEnv, args...)
		if r.code != 75 || !strings.Contains(r.stderr, holder) || !strings.Contains(r.stderr, "try again when") {
			t.Errorf("quiver %s while a run holds the lock: exit %d, want 75 with %q\n%s", strings.Join(args, " "), r.code, holder, r.stderr)
		}
	}
	r := quiver(ctx, t, nil, "state", "show", "-c", cfg, "--json")
	var shown struct {
		Sources []struct {
			Source string
			Locked *struct{ PID int }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil || len(shown.Sources) != 1 ||
		shown.Sources[0].Locked == nil || shown.Sources[0].Locked.PID != cmd.Process.Pid {
		t.Errorf("state show while locked: %v\n%s", err, r.stdout)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.code != 130 {
		t.Errorf("first run: exit %d after SIGINT, want 130", r.code)
	}
	if r := quiver(ctx, t, nil, "state", "reset", "acme", "-c", cfg); r.code != 0 {
		t.Errorf("state reset after the run: exit %d\n%s", r.code, r.stderr)
	}
}

// TestUX_State: `quiver state show` lists each stream's mode, state, run
// and time without needing the secrets; `quiver state reset` forgets a
// stream's state so that the next run reads it from the start.
func TestUX_State(t *testing.T) {
	t.Parallel()
	srv, _, cfg := uxSetup(t, uxOptions{counts: map[string]int{"employees": 25}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, _ := syncJSON(ctx, t, 0, "-c", cfg)

	// No TT_* variables: the state commands need no secrets.
	r := quiver(ctx, t, nil, "state", "show", "-c", cfg)
	if r.code != 0 {
		t.Fatalf("state show: exit %d\n%s", r.code, r.stderr)
	}
	shifts := compact(run.stream("shifts").StateAfter)
	if !strings.Contains(shifts, lastTime(t, srv, "shifts", "startedOn")) {
		t.Errorf("shifts state after the run %s, want the last startedOn", shifts)
	}
	for _, want := range []string{"SOURCE", "acme", "employees", "full_refresh", "incremental", run.RunID, shifts} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("state show lacks %q:\n%s", want, r.stdout)
		}
	}
	var shown struct {
		Sources []struct {
			Source  string
			Streams []struct {
				Stream    string
				Mode      string
				RunID     string `json:"run_id"`
				State     json.RawMessage
				UpdatedAt time.Time `json:"updated_at"`
			}
		}
	}
	r = quiver(ctx, t, nil, "state", "show", "-c", cfg, "--json")
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil || len(shown.Sources) != 1 || len(shown.Sources[0].Streams) != len(trackTikStreams) {
		t.Fatalf("state show --json: %v\n%s", err, r.stdout)
	}
	for _, s := range shown.Sources[0].Streams {
		mode := "full_refresh"
		if _, _, ok := lookbackCursor(s.Stream); ok {
			mode = "incremental"
		}
		want := compact(run.stream(s.Stream).StateAfter)
		if mode == "full_refresh" {
			want = "null" // a snapshot keeps no state
		}
		if s.Mode != mode || s.RunID != run.RunID || s.UpdatedAt.IsZero() || compact(s.State) != want {
			t.Errorf("state show --json, %s: %+v", s.Stream, s)
		}
	}

	if r := quiver(ctx, t, nil, "state", "reset", "acme", "shifts", "-c", cfg); r.code != 0 || !strings.Contains(r.stdout, "state reset for shifts") {
		t.Fatalf("state reset: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := quiver(ctx, t, nil, "state", "reset", "globex", "-c", cfg); r.code != 2 {
		t.Errorf("state reset of an unknown source: exit %d, want 2", r.code)
	}
	again, _ := syncJSON(ctx, t, 0, "-c", cfg)
	if st := again.stream("shifts"); st.StateBefore != nil || st.Records != 5 {
		t.Errorf("after a reset shifts: %+v; want every record again", st)
	}
	// Not reset: only the lookback window (the last of 5 records spread
	// over two years) is read again.
	if st := again.stream("work-sessions"); compact(st.StateBefore) != compact(run.stream("work-sessions").StateAfter) || st.Records != 1 {
		t.Errorf("work-sessions, not reset: %+v; want 1 record again, from the saved state", st)
	}

	// --quiet: no progress, no summary, nothing on either stream.
	if r := quiver(ctx, t, trackTikEnv, "sync", "-c", cfg, "-q", "--progress-every", "10ms"); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("sync -q: exit %d, stdout %q, stderr %q; want nothing", r.code, r.stdout, tail(r.stderr, 5))
	}
}

// TestUX_ProgressLines: without a terminal, a log line per running stream
// every --progress-every; plugin log lines carry the source, run and
// stream, and name the connector once.
func TestUX_ProgressLines(t *testing.T) {
	t.Parallel()
	_, _, cfg := uxSetup(t, uxOptions{counts: map[string]int{"employees": 400}, slow: 20 * time.Millisecond, streams: "[employees, clients]"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// 40 pages answered 20 ms late, at most 4 at once (TrackTik's default
	// concurrency), take at least 200 ms however fast the machine: ten
	// progress intervals.
	r := quiver(ctx, t, trackTikEnv, "sync", "-c", cfg, "--progress-every", "20ms", "--log-level", "debug")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, tail(r.stderr, 20))
	}
	var progress, plugin int
	strict := jsonv2.JoinOptions(jsontext.AllowDuplicateNames(false))
	sc := bufio.NewScanner(strings.NewReader(r.stderr))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := jsonv2.Unmarshal(sc.Bytes(), &line, strict); err != nil {
			t.Errorf("log line is not JSON with unique keys: %v\n%s", err, sc.Text())
			continue
		}
		switch {
		case line["msg"] == "progress":
			progress++
			keys := []string{"source", "stream", "records", "pages"}
			if line["records"] != float64(0) {
				// Until the first page arrives the API's total is unknown.
				keys = append(keys, "total", "percent", "records_per_s")
			}
			for _, k := range keys {
				if _, ok := line[k]; !ok && line["stream"] == "employees" {
					t.Errorf("progress line lacks %s: %s", k, sc.Text())
				}
			}
		case line["logger"] == "quiver-tracktik":
			plugin++
			for _, k := range []string{"source", "run_id", "connector"} {
				if line[k] == nil {
					t.Errorf("plugin log line lacks %s: %s", k, sc.Text())
				}
			}
		}
	}
	if progress < 3 || plugin == 0 {
		t.Errorf("%d progress lines and %d plugin lines in a run of at least ten progress intervals; want at least 3 and 1\n%s", progress, plugin, tail(r.stderr, 20))
	}
}

// ansi matches terminal escape sequences.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// TestUX_ProgressBars: on a terminal `quiver sync` draws a live bar per
// stream (records, pages, rate, percent and ETA: TrackTik gives a total),
// and log lines print above the bars without tearing them. It runs quiver
// under a pseudo-terminal with util-linux script(1).
func TestUX_ProgressBars(t *testing.T) {
	t.Parallel()
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) from util-linux is not installed")
	}
	_, _, cfg := uxSetup(t, uxOptions{counts: map[string]int{"employees": 600}, slow: 20 * time.Millisecond, streams: "[employees, clients]"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A fresh pseudo-terminal has no size; a real one does. A terminal
	// shows no INFO lines by default (see TestTerminal); asking for them
	// shows that they do not tear the bars.
	line := fmt.Sprintf("stty rows 40 cols 160 && exec %s sync --log-level info -c %s", filepath.Join(binDir, "quiver"), cfg)
	cmd := exec.CommandContext(ctx, script, "-q", "-e", "-c", line, "/dev/null")
	cmd.Env = append(os.Environ(), trackTikEnv...)
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("quiver under script: %v\n%s", err, raw)
	}
	text := string(raw)
	if !ansi.MatchString(text) {
		t.Fatalf("no terminal control sequences: no bars were drawn\n%s", text)
	}
	var bars, logs int
	for _, l := range strings.Split(ansi.ReplaceAllString(text, ""), "\n") {
		l = strings.Trim(l, "\r")
		switch {
		case strings.Contains(l, "acme.employees") && strings.Contains(l, "records"):
			bars++
			if !strings.HasPrefix(l, "acme.employees") {
				t.Errorf("a bar shares its line: %q", l)
			}
		case strings.Contains(l, "level="):
			logs++
			if !strings.HasPrefix(l, "time=") {
				t.Errorf("a log line is torn: %q", l)
			}
		}
	}
	if bars < 3 {
		t.Errorf("the employees bar was drawn %d times, want it live (3 or more)\n%s", bars, text)
	}
	if logs == 0 {
		t.Errorf("no log lines on the terminal")
	}
	for _, want := range []string{"pages", "/s", "ETA", "%", "complete", "RECORDS"} {
		if !strings.Contains(text, want) {
			t.Errorf("the terminal output lacks %q", want)
		}
	}
}

// TestUX_Formats: each output format is written and reads back with every
// record once.
func TestUX_Formats(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"parquet", "arrow", "jsonl", "csv"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			srv, out, cfg := uxSetup(t, uxOptions{counts: map[string]int{"employees": 33}, streams: "[employees]", dest: "  format: " + format + "\n"})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			syncJSON(ctx, t, 0, "-c", cfg)
			dir := filepath.Join(out, "data", "acme", "employees")
			paths, _ := filepath.Glob(filepath.Join(dir, "part-*."+format))
			if len(paths) != 1 {
				t.Fatalf("files %v, want one .%s file", files(t, dir), format)
			}
			var ids []int64
			switch format {
			case "parquet":
				ids = streamIDs(t, dir)
			case "arrow":
				ids = arrowIDs(t, paths[0])
			case "jsonl":
				ids = jsonlIDs(t, paths[0])
			case "csv":
				ids = csvIDs(t, paths[0])
			}
			if diff := cmp.Diff(srv.IDs("employees"), sortedIDs(ids)); diff != "" {
				t.Errorf("%s ids (-want +got):\n%s", format, diff)
			}
		})
	}
}

func arrowIDs(t *testing.T, path string) []int64 {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
	if err != nil {
		t.Fatalf("arrow file %s: %v", path, err)
	}
	defer r.Close()
	if !r.Schema().HasField("_quiver_run_id") {
		t.Errorf("arrow schema lacks the lineage columns: %s", r.Schema())
	}
	var ids []int64
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.Record(i)
		if err != nil {
			t.Fatal(err)
		}
		col := rec.Column(rec.Schema().FieldIndices("id")[0]).(*array.Int64)
		ids = append(ids, col.Int64Values()...)
	}
	return ids
}

func jsonlIDs(t *testing.T, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var row struct {
			ID    int64  `json:"id"`
			RunID string `json:"_quiver_run_id"`
		}
		if err := json.Unmarshal([]byte(l), &row); err != nil || row.RunID == "" {
			t.Fatalf("jsonl line %q: %v", l, err)
		}
		ids = append(ids, row.ID)
	}
	return ids
}

func csvIDs(t *testing.T, path string) []int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("csv %s: %v", path, err)
	}
	col := slices.Index(rows[0], "id")
	if col < 0 || !slices.Contains(rows[0], "_quiver_extracted_at") {
		t.Fatalf("csv header %v", rows[0])
	}
	var ids []int64
	for _, r := range rows[1:] {
		id, err := strconv.ParseInt(r[col], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// hiveDirs returns the dt values of a stream folder's partition folders,
// as a Hive-partitioning reader (DuckDB's hive_partitioning, pyarrow,
// Spark) discovers them from the paths of **/*.parquet.
func hiveDirs(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	paths, err := filepath.Glob(filepath.Join(dir, "*", "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		key, value, ok := strings.Cut(filepath.Base(filepath.Dir(p)), "=")
		if !ok || key != "dt" {
			t.Errorf("%s is not in a key=value folder", p)
		}
		out[value] = append(out[value], p)
	}
	if top, _ := filepath.Glob(filepath.Join(dir, "*.parquet")); len(top) > 0 {
		t.Errorf("partitioned stream has files outside dt= folders: %v", top)
	}
	return out
}

// TestUX_Partitions: destination.partition puts files under dt=YYYY-MM-DD
// folders, by extraction date or by a record's date column (nulls under
// dt=__HIVE_DEFAULT_PARTITION__); a full refresh replaces every folder's
// files; a stream without the column is a config error.
func TestUX_Partitions(t *testing.T) {
	t.Parallel()
	t.Run("extracted", func(t *testing.T) {
		t.Parallel()
		srv, out, cfg := uxSetup(t, uxOptions{counts: map[string]int{"employees": 30}, dest: "  partition: extracted\n"})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now().UTC()
		syncJSON(ctx, t, 0, "-c", cfg)
		end := time.Now().UTC()
		for _, s := range trackTikStreams {
			dir := filepath.Join(out, "data", "acme", s)
			for day := range hiveDirs(t, dir) {
				if day != start.Format(time.DateOnly) && day != end.Format(time.DateOnly) {
					t.Errorf("%s: partition dt=%s, want the extraction date %s", s, day, start.Format(time.DateOnly))
				}
			}
			if diff := cmp.Diff(srv.IDs(s), sortedIDs(streamIDs(t, dir))); diff != "" {
				t.Errorf("%s ids (-want +got):\n%s", s, diff)
			}
		}
	})
	t.Run("column", func(t *testing.T) {
		t.Parallel()
		srv, out, cfg := uxSetup(t, uxOptions{counts: map[string]int{"work-sessions": 80}, pageSize: 20,
			streams: "[work-sessions]", source: "    partition: ended_on\n"})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		dir := filepath.Join(out, "data", "acme", "work-sessions")
		check := func(run string) {
			t.Helper()
			days := hiveDirs(t, dir)
			seen := map[int64]bool{}
			for day, paths := range days {
				for _, row := range readStream(t, filepath.Dir(paths[0])).rows {
					want := "__HIVE_DEFAULT_PARTITION__"
					if ts, ok := row["ended_on"].(time.Time); ok {
						want = ts.UTC().Format(time.DateOnly)
					}
					if day != want {
						t.Errorf("%s: session %v ended %v is in dt=%s", run, row["id"], row["ended_on"], day)
					}
					seen[row["id"].(int64)] = true
				}
			}
			if len(days) < 2 || days["__HIVE_DEFAULT_PARTITION__"] == nil {
				t.Errorf("%s: partitions %v; want several days and the null partition", run, slices.Sorted(maps.Keys(days)))
			}
			if len(seen) != srv.Count("work-sessions") {
				t.Errorf("%s: %d sessions in the partitions, want %d", run, len(seen), srv.Count("work-sessions"))
			}
			streamIDs(t, dir) // fails on an id written twice
		}
		syncJSON(ctx, t, 0, "-c", cfg)
		check("first run")
		syncJSON(ctx, t, 0, "-c", cfg, "--full-refresh")
		check("full refresh")
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if m, _ := filepath.Glob(filepath.Join(dir, e.Name(), "*")); len(m) == 0 {
				t.Errorf("empty partition folder %s left", e.Name())
			}
		}
	})
	t.Run("missing column", func(t *testing.T) {
		t.Parallel()
		_, _, cfg := uxSetup(t, uxOptions{streams: "[employees]", dest: "  partition: ended_on\n"})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		r := quiver(ctx, t, trackTikEnv, "sync", "-c", cfg)
		if r.code != 2 || !strings.Contains(r.stderr, `destination.partition: stream employees: no date or timestamp column "ended_on"`) ||
			!strings.Contains(r.stderr, "start_date") {
			t.Errorf("exit %d, want 2 naming the stream and its date columns\n%s", r.code, tail(r.stderr, 5))
		}
	})
}

// TestUX_DemoTwice: `make demo` run twice into the same folder works: the
// demo's simulators come up on new ports each time, which changes the
// account fingerprint its state records, and the demo takes its own state
// over instead of refusing it. The full refresh leaves one snapshot, and an
// incremental demo after it (--full-refresh=false --days 1) also works.
func TestUX_DemoTwice(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "out")
	runs := [][]string{
		{"demo", "--out", out, "--faults", "0", "-q"},
		{"demo", "--out", out, "--faults", "0", "-q"},
		{"demo", "--out", out, "--faults", "0", "-q", "--full-refresh=false", "--days", "1"},
	}
	var clients int
	for i, args := range runs {
		if r := quiver(ctx, t, nil, args...); r.code != 0 {
			t.Fatalf("run %d, quiver %s: exit %d\n%s", i+1, strings.Join(args, " "), r.code, tail(r.stderr, 20))
		}
		if i == 1 {
			clients = len(streamIDs(t, filepath.Join(out, "demo-tracktik", "clients")))
		}
	}
	if clients == 0 {
		t.Fatal("no clients after the second demo")
	}
}
