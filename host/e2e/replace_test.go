package e2e

// Replacing a stream's set of files: the full-refresh commit killed at
// every step, the shrink guard, and `quiver compact`.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
)

// killEnv is the variable that makes quiver-fault kill itself after that
// many file operations of the commit protocol.
const killEnv = "QUIVER_TEST_KILL_AFTER"

// quiverKilled runs quiver-fault (quiver built with the quiverfault tag)
// in a process group of its own, so that its kill takes the plugin too.
func quiverKilled(ctx context.Context, t *testing.T, env []string, args ...string) result {
	t.Helper()
	_, done := startQuiverWith(ctx, t, func(cmd *exec.Cmd) {
		cmd.Path = filepath.Join(binDir, "quiver-fault")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}, env, args...)
	return <-done
}

// savedState is the part of a state file these tests look at.
type savedState struct {
	Pending []json.RawMessage `json:"pending"`
	Retire  []string          `json:"retire"`
}

func readState(t *testing.T, path string) savedState {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st savedState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return st
}

// TestReplace_KillAtEveryStep kills a full refresh that replaces a
// 3-file snapshot with a 4-file one (SIGKILL of quiver and its plugin)
// after each file operation of the commit: before the first publish,
// after each of the 4 publishes, and after each of the 3 removals of the
// old files. The next run, a sync of another stream of the source,
// finishes the commit: the stream then holds exactly the new snapshot (its
// 4 files, every id once) and nothing pending. (employees is a snapshot
// stream, which every run replaces, so the next run syncs clients only.)
func TestReplace_KillAtEveryStep(t *testing.T) {
	t.Parallel()
	const oldFiles, newFiles = 3, 4
	for after := 0; after <= oldFiles+newFiles; after++ {
		t.Run(fmt.Sprintf("killed after %d operations", after), func(t *testing.T) {
			t.Parallel()
			// A page at a time, each long after the one before: the
			// plugin then sends each page alone, not joined with the next
			// (batch.JoinWait), and --max-file-size 1 makes a file of each.
			srv, out, cfg := uxSetup(t, uxOptions{counts: map[string]int{"employees": 300}, pageSize: 100, streams: "[employees, clients]",
				slow: 300 * time.Millisecond, config: "      concurrency: 1\n"})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dir := filepath.Join(out, "data", "acme", "employees")
			stateFile := filepath.Join(out, "state", "acme.json")

			syncJSON(ctx, t, 0, "-c", cfg, "--full-refresh", "--max-file-size", "1", "--streams", "employees")
			old := files(t, dir)
			if len(old) != oldFiles {
				t.Fatalf("first snapshot: %d files %v, want %d", len(old), old, oldFiles)
			}
			srv.Append("employees", 50)
			r := quiverKilled(ctx, t, append([]string{fmt.Sprintf("%s=%d", killEnv, after)}, trackTikEnv...),
				"sync", "-c", cfg, "--full-refresh", "--max-file-size", "1", "--streams", "employees")
			if r.code != -1 {
				t.Fatalf("quiver-fault exited %d; want it killed\n%s", r.code, tail(r.stderr, 20))
			}
			if st := readState(t, stateFile); len(st.Pending) != newFiles || len(st.Retire) != oldFiles {
				t.Errorf("the killed run's state has %d pending and %d retired files, want %d and %d",
					len(st.Pending), len(st.Retire), newFiles, oldFiles)
			}

			next, _ := syncJSON(ctx, t, 0, "-c", cfg, "--streams", "clients")
			if st := next.stream("employees"); st != nil {
				t.Errorf("the next run read employees: %+v; want clients only", st)
			}
			got := files(t, dir)
			if len(got) != newFiles {
				t.Errorf("files after the next run: %v, want the %d of the new snapshot", got, newFiles)
			}
			for _, f := range got {
				if strings.Contains(strings.Join(old, " "), f) {
					t.Errorf("file %s of the old snapshot is still there", f)
				}
			}
			if diff := cmp.Diff(srv.IDs("employees"), sortedIDs(streamIDs(t, dir))); diff != "" {
				t.Errorf("ids after the next run (-want +got):\n%s", diff)
			}
			if tmp := temps(dir); len(tmp) != 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
			if st := readState(t, stateFile); len(st.Pending) != 0 || len(st.Retire) != 0 {
				t.Errorf("state still has pending %v, retire %v", st.Pending, st.Retire)
			}
		})
	}
}

// compactResult is the --json output of `quiver compact`.
type compactResult struct {
	RunID   string `json:"run_id"`
	Status  string `json:"status"`
	Streams []struct {
		Source        string   `json:"source"`
		Stream        string   `json:"stream"`
		Status        string   `json:"status"`
		FilesBefore   int      `json:"files_before"`
		RecordsBefore int64    `json:"records_before"`
		FilesAfter    int      `json:"files_after"`
		RecordsAfter  int64    `json:"records_after"`
		Files         []string `json:"files"`
	} `json:"streams"`
}

// compactJSON runs `quiver compact --json` with args, wants exit code 0
// and returns the result.
func compactJSON(ctx context.Context, t *testing.T, args ...string) *compactResult {
	t.Helper()
	r := quiver(ctx, t, nil, append([]string{"compact", "--json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("quiver compact %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, tail(r.stderr, 20))
	}
	var res compactResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || len(res.Streams) != 1 {
		t.Fatalf("compact --json output: %v\n%s", err, r.stdout)
	}
	return &res
}

// readTwice syncs shifts, forgets their state and syncs them again (with
// 20 more), so that every earlier id has two versions. It returns the
// second run's id.
func readTwice(ctx context.Context, t *testing.T, srv *tracktiksim.Server, cfg string, args ...string) string {
	t.Helper()
	syncJSON(ctx, t, 0, "-c", cfg, "--max-file-size", "1")
	if r := quiver(ctx, t, nil, "state", "reset", "acme", "shifts", "-c", cfg); r.code != 0 {
		t.Fatalf("state reset: exit %d\n%s", r.code, r.stderr)
	}
	srv.Append("shifts", 20)
	second, _ := syncJSON(ctx, t, 0, append([]string{"-c", cfg, "--max-file-size", "1"}, args...)...)
	return second.RunID
}

// shiftsSetup is the simulator and config of the compaction tests: 300
// shifts read in pages of 100.
func shiftsSetup(t *testing.T) (*tracktiksim.Server, string, string) {
	t.Helper()
	return uxSetup(t, uxOptions{counts: map[string]int{"shifts": 300}, pageSize: 100, streams: "[shifts]"})
}

// latestOnly checks that a stream folder holds every id of the simulator
// once, each as the given run read it.
func latestOnly(t *testing.T, dir string, ids []int64, run string) {
	t.Helper()
	if diff := cmp.Diff(ids, sortedIDs(streamIDs(t, dir))); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	for _, row := range readStream(t, dir).rows {
		if row["_quiver_run_id"] != run {
			t.Errorf("id %v is the version of run %v, want the latest, %s", row["id"], row["_quiver_run_id"], run)
			break
		}
	}
}

// TestCompact_KillAtEveryStep kills `quiver compact` (SIGKILL) before it
// publishes the new file, after it does, and after each removal of an old
// file. The next `quiver compact` finishes the commit: the stream holds
// one file with the latest version of every key, and nothing is left to
// do.
func TestCompact_KillAtEveryStep(t *testing.T) {
	t.Parallel()
	// The files two reads of shifts leave; every subtest makes the same.
	srv, out, cfg := shiftsSetup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	readTwice(ctx, t, srv, cfg)
	oldFiles := len(files(t, filepath.Join(out, "data", "acme", "shifts")))
	const newFiles = 1
	if oldFiles < 3 {
		t.Fatalf("two reads of shifts left %d files; the test wants several", oldFiles)
	}
	for after := 0; after <= oldFiles+newFiles; after++ {
		t.Run(fmt.Sprintf("killed after %d operations", after), func(t *testing.T) {
			t.Parallel()
			srv, out, cfg := shiftsSetup(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dir := filepath.Join(out, "data", "acme", "shifts")
			latest := readTwice(ctx, t, srv, cfg)
			if n := len(files(t, dir)); n != oldFiles {
				t.Fatalf("%d files before the compaction, want %d", n, oldFiles)
			}

			r := quiverKilled(ctx, t, []string{fmt.Sprintf("%s=%d", killEnv, after)}, "compact", "-c", cfg)
			if r.code != -1 {
				t.Fatalf("quiver-fault compact exited %d; want it killed\n%s", r.code, tail(r.stderr, 20))
			}
			if st := readState(t, filepath.Join(out, "state", "acme.json")); len(st.Pending) != newFiles || len(st.Retire) != oldFiles {
				t.Errorf("the killed compaction's state has %d pending and %d retired files, want %d and %d",
					len(st.Pending), len(st.Retire), newFiles, oldFiles)
			}
			next := compactJSON(ctx, t, "-c", cfg, "acme.shifts")
			if cp := next.Streams[0]; cp.Status != "unchanged" || cp.FilesBefore != newFiles || cp.RecordsBefore != 320 {
				t.Errorf("the next compaction: %+v; want it to find the killed one's single file of 320 records", cp)
			}
			if got := files(t, dir); len(got) != newFiles {
				t.Errorf("files after the next run: %v", got)
			}
			latestOnly(t, dir, srv.IDs("shifts"), latest)
			if tmp := temps(dir); len(tmp) != 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
		})
	}
}

// TestCompact_SyncCompact: `quiver sync --compact` leaves one file per
// stream with the latest version of every key; after a later sync adds
// files, `quiver compact` merges them again.
func TestCompact_SyncCompact(t *testing.T) {
	t.Parallel()
	srv, out, cfg := shiftsSetup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(out, "data", "acme", "shifts")
	// The compaction rolls files at --max-file-size too: this one is large.
	latest := readTwice(ctx, t, srv, cfg, "--compact", "--max-file-size", "64MiB")
	if got := files(t, dir); len(got) != 1 {
		t.Errorf("files after sync --compact: %v, want one", got)
	}
	latestOnly(t, dir, srv.IDs("shifts"), latest)

	srv.Append("shifts", 5)
	syncJSON(ctx, t, 0, "-c", cfg)
	cp := compactJSON(ctx, t, "-c", cfg).Streams[0]
	if cp.Status != "compacted" || cp.FilesBefore < 2 || cp.RecordsAfter != 325 || cp.FilesAfter != 1 {
		t.Errorf("compaction after another sync: %+v", cp)
	}
	if diff := cmp.Diff(srv.IDs("shifts"), sortedIDs(streamIDs(t, dir))); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}

// TestCompact_LockAndFormats: a compaction refuses to start while a sync
// of the source runs (exit 75, naming the holder); compact and sync
// --compact refuse a destination whose files cannot be read back (exit 2).
func TestCompact_LockAndFormats(t *testing.T) {
	t.Parallel()
	t.Run("lock", func(t *testing.T) {
		t.Parallel()
		_, out, cfg := uxSetup(t, uxOptions{counts: map[string]int{"shifts": 1000}, slow: 100 * time.Millisecond, streams: "[shifts]"})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd, done := startQuiver(ctx, t, trackTikEnv, "sync", "-c", cfg, "--max-file-size", "1")
		dir := filepath.Join(out, "data", "acme", "shifts")
		waitFor(t, time.Minute, "the sync's files", func() bool { return len(files(t, dir)) >= 2 })
		r := quiver(ctx, t, nil, "compact", "-c", cfg)
		holder := fmt.Sprintf("(pid %d) holds the lock on source \"acme\"", cmd.Process.Pid)
		if r.code != 75 || !strings.Contains(r.stderr, holder) {
			t.Errorf("compact during a sync: exit %d, want 75 naming the holder\n%s", r.code, r.stderr)
		}
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		if r := <-done; r.code != 130 {
			t.Errorf("the sync exited %d after SIGINT; want 130 (it was still running)", r.code)
		}
	})
	for _, format := range []string{"jsonl", "csv"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			_, _, cfg := uxSetup(t, uxOptions{streams: "[shifts]", dest: "  format: " + format + "\n"})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for _, args := range [][]string{{"compact", "-c", cfg}, {"sync", "-c", cfg, "--compact"}} {
				r := quiver(ctx, t, trackTikEnv, args...)
				if r.code != 2 || !strings.Contains(r.stderr, "only parquet and arrow files allow exactly") {
					t.Errorf("quiver %s with %s files: exit %d, want 2 with the reason\n%s", strings.Join(args, " "), format, r.code, tail(r.stderr, 5))
				}
			}
		})
	}
}

// switchProxy forwards every request to one of several simulators, the
// one chosen last: a vendor whose data changes between runs at the same
// URL (so the state's account fingerprint stays the same).
type switchProxy struct {
	URL     string
	backend atomic.Pointer[url.URL]
}

func newSwitchProxy(t *testing.T, first string) *switchProxy {
	t.Helper()
	p := &switchProxy{}
	p.use(t, first)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(p.backend.Load())
		r.Out.Host = r.In.Host
	}}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// use sends the following requests to the server at rawURL.
func (p *switchProxy) use(t *testing.T, rawURL string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p.backend.Store(u)
}

// TestShrinkGuard: a snapshot stream (employees, 300 records) whose next
// read returns none, or fewer than min_snapshot_ratio of them, keeps its
// files, is reported suspicious with both counts (summary, --json,
// manifest) and the run exits 3; --allow-shrink accepts the new snapshot.
// A smaller snapshot above the ratio replaces the old one, and an
// incremental stream (shifts) that reads nothing is fine.
func TestShrinkGuard(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		ratio      string // min_snapshot_ratio, "" for the default
		next       int    // employees the vendor has on the second run
		suspicious bool
	}{
		{"empty", "", 0, true},
		{"empty with ratio 0", "0", 0, true},
		{"a third", "", 100, true},
		{"two thirds", "", 200, false},
		{"two thirds with ratio 0.9", "0.9", 200, true},
		{"a third with ratio 0", "0", 100, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var source string
			if tt.ratio != "" {
				source = "    min_snapshot_ratio: " + tt.ratio + "\n"
			}
			first, out, cfg := uxSetup(t, uxOptions{counts: map[string]int{"employees": 300, "shifts": 40}, pageSize: 100,
				streams: "[employees, shifts]", source: source})
			second := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 17, Counts: map[string]int{"employees": tt.next, "shifts": 0}})
			proxy := newSwitchProxy(t, first.URL)
			text, err := os.ReadFile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(string(text), first.URL, proxy.URL)), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			emp := filepath.Join(out, "data", "acme", "employees")
			shifts := filepath.Join(out, "data", "acme", "shifts")

			syncJSON(ctx, t, 0, "-c", cfg)
			before, beforeShifts := files(t, emp), files(t, shifts)
			proxy.use(t, second.URL)
			if !tt.suspicious {
				syncJSON(ctx, t, 0, "-c", cfg)
				if diff := cmp.Diff(second.IDs("employees"), sortedIDs(streamIDs(t, emp))); diff != "" {
					t.Errorf("employees after a shrink within the ratio (-want +got):\n%s", diff)
				}
				return
			}
			res, r := syncJSON(ctx, t, 3, "-c", cfg)
			st := res.stream("employees")
			want := fmt.Sprintf(`"suspicious":{"records":%d,"snapshot_records":300,`, tt.next)
			if st.Status != "suspicious" || res.Status != "partial" || !strings.Contains(compact([]byte(r.stdout)), want) {
				t.Errorf("run %s, employees %+v; want partial and suspicious with both counts:\n%s", res.Status, st, r.stdout)
			}
			manifest, err := os.ReadFile(filepath.Join(out, "data", "_runs", res.RunID+".json"))
			if err != nil || !strings.Contains(compact(manifest), want) {
				t.Errorf("the manifest does not report the suspicious stream (%v):\n%s", err, manifest)
			}
			if diff := cmp.Diff(before, files(t, emp)); diff != "" {
				t.Errorf("the current snapshot's files changed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(first.IDs("employees"), sortedIDs(streamIDs(t, emp))); diff != "" {
				t.Errorf("the current snapshot's ids changed (-want +got):\n%s", diff)
			}
			if tmp := temps(emp); len(tmp) != 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
			if st := res.stream("shifts"); st.Status != "complete" || st.Records != 0 || !slices.Equal(beforeShifts, files(t, shifts)) {
				t.Errorf("shifts, incremental with nothing new: %+v", st)
			}

			// The summary table says it too.
			r = quiver(ctx, t, trackTikEnv, "sync", "-c", cfg, "--streams", "employees")
			if r.code != 3 || !strings.Contains(r.stdout, "suspicious") ||
				!strings.Contains(r.stdout, fmt.Sprintf("the new snapshot has %d records, the current one 300", tt.next)) ||
				!strings.Contains(r.stdout, "--allow-shrink") {
				t.Errorf("summary of a suspicious run: exit %d\n%s", r.code, r.stdout)
			}

			syncJSON(ctx, t, 0, "-c", cfg, "--allow-shrink")
			if got := streamIDs(t, emp); len(got) != tt.next {
				t.Errorf("--allow-shrink: %d employees, want the new snapshot's %d", len(got), tt.next)
			}
		})
	}
}

// TestCompact_DemoResync: `quiver demo --resync` syncs the four simulators,
// applies a day of changes and syncs again, so that the lookback streams
// hold two versions of the records they re-read; `quiver compact` on its
// config then keeps one row per key in every stream of every connector
// (nested lists and structs included, read back from Parquet).
func TestCompact_DemoResync(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "out")
	if r := quiver(ctx, t, nil, "demo", "--out", out, "--resync", "--faults", "0", "-q"); r.code != 0 {
		t.Fatalf("quiver demo --resync: exit %d\n%s", r.code, tail(r.stderr, 20))
	}
	shifts := filepath.Join(out, "demo-tracktik", "shifts")
	rows := readStream(t, shifts).rows
	ids := map[int64]bool{}
	for _, row := range rows {
		ids[row["id"].(int64)] = true
	}
	if len(files(t, shifts)) != 2 || len(rows) <= len(ids) {
		t.Fatalf("shifts after --resync: %d files, %d rows for %d ids; want two runs' files and re-read shifts", len(files(t, shifts)), len(rows), len(ids))
	}
	r := quiver(ctx, t, nil, "compact", "-c", filepath.Join(out, "_demo", "quiver.yaml"), "--json")
	var res compactResult
	if err := json.Unmarshal([]byte(r.stdout), &res); r.code != 0 || err != nil {
		t.Fatalf("quiver compact: exit %d, %v\n%s\n%s", r.code, err, r.stdout, tail(r.stderr, 20))
	}
	compacted := 0
	for _, cp := range res.Streams {
		if cp.Status == "compacted" {
			compacted++
		}
		if cp.Source == "demo-tracktik" && cp.Stream == "shifts" && (cp.Status != "compacted" || cp.RecordsAfter != int64(len(ids))) {
			t.Errorf("shifts: %+v; want %d records after", cp, len(ids))
		}
	}
	if compacted < 3 {
		t.Errorf("only %d streams were compacted: %+v", compacted, res.Streams)
	}
	if got := streamIDs(t, shifts); len(got) != len(ids) {
		t.Errorf("shifts after compact: %d rows, want %d", len(got), len(ids))
	}
}
