package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quiver-etl/quiver/connectors/capillary/capillarysim"
	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/connectors/trackunit/trackunitsim"
	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
	"github.com/quiver-etl/quiver/host"
	"github.com/quiver-etl/quiver/host/blobstore"
	"github.com/quiver-etl/quiver/internal/s3test"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// lakeEnv is the environment of a sync into the bucket: the simulators'
// secrets, the test AWS credentials, and a short lease, so that a rerun
// after a killed one waits seconds, not minutes, for its lease to expire.
func lakeEnv(t *testing.T) []string {
	t.Helper()
	env := append(slices.Clone(trackTikEnv), capillaryEnv...)
	env = append(env, trackViaEnv...)
	env = append(env, trackunitEnv...)
	return append(env, append(s3test.Env(t), "QUIVER_LEASE_TTL=2s")...)
}

// sourcesOf returns the source entries of a config text written by one of
// the connector tests' config functions.
func sourcesOf(t *testing.T, text string) string {
	t.Helper()
	_, rest, ok := strings.Cut(text, "sources:\n")
	src, _, ok2 := strings.Cut(rest, "destination:")
	if !ok || !ok2 {
		t.Fatalf("no sources in %q", text)
	}
	return src
}

// demoLake starts the four vendor simulators, as the demo does, and
// returns the source entries of a config reading them.
func demoLake(t *testing.T, out string) string {
	t.Helper()
	tt := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 1})
	cp := capillarysim.NewServer(t, capillarysim.Options{Seed: 1, RequestsPerMinute: capillarysim.NoRateLimit})
	tv := trackviasim.NewServer(t, trackviasim.Options{Seed: 1})
	tu := trackunitsim.NewServer(t, trackunitsim.Options{Seed: 1})
	return sourcesOf(t, trackTikConfig(tt, out, "")) + sourcesOf(t, capillaryConfig(cp, out, "")) +
		sourcesOf(t, trackViaConfig(tv, out, "")) + sourcesOf(t, trackunitConfig(tu, out, ""))
}

// lookbackStreams re-read a window of records on every incremental run, by
// design (see docs/incremental.md): after a resumed run they may hold an
// identical second copy of a record, never a missing one.
var lookbackStreams = map[string]bool{"shifts": true, "reports": true, "work-sessions": true}

// volatileColumns hold the time of the request, which differs between two
// runs over the same data.
var volatileColumns = []string{"snapshot_time"}

// TestObjectStore_KillAndResume syncs the four demo simulators into s3://
// on a loopback versitygw, with a part file per checkpoint; the runs are
// killed (SIGKILL, plugins included) after 3, 12 and 25 uploads or deletes
// of the commit protocol, each rerun after the killed one's lease expired;
// a last run completes. Then, reading the bucket: every part object is one
// a source's _files.json lists, and every listed one exists; every
// record is there exactly once (the same rows as one uninterrupted run
// into a local folder; a lookback stream's re-read window may hold
// identical copies); DuckDB reads the Parquet files; no secret (vendor or
// AWS) is in the bucket or the logs.
func TestObjectStore_KillAndResume(t *testing.T) {
	srv := s3test.Versity(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	sources := demoLake(t, tmp)
	env := lakeEnv(t)
	lake := fmt.Sprintf("sources:\n%sdestination:\n  path: %s\nstate: %s\n", sources, srv.URL("lake/out"), srv.URL("lake/state"))
	cfg := writeConfig(t, mkdir(t, filepath.Join(tmp, "lake")), lake)

	var results []result
	for _, after := range []int{3, 12, 25} {
		r := untilUnlocked(ctx, t, func() result {
			return quiverKilled(ctx, t, append([]string{fmt.Sprintf("%s=%d", killEnv, after)}, env...),
				"sync", "-c", cfg, "--max-file-size", "1", "--log-level", "info")
		})
		results = append(results, r)
		if r.code != -1 {
			t.Fatalf("quiver-fault (kill after %d) exited %d; want it killed\n%s", after, r.code, tail(r.stderr, 20))
		}
	}
	r := untilUnlocked(ctx, t, func() result {
		return quiver(ctx, t, env, "sync", "-c", cfg, "--max-file-size", "1", "--json", "--log-level", "info")
	})
	results = append(results, r)
	if r.code != 0 {
		t.Fatalf("the run after the kills: exit %d\n%s", r.code, tail(r.stderr, 30))
	}
	if !strings.Contains(strings.Join(stderrs(results), ""), "removed an uncommitted file left by an interrupted run") {
		t.Errorf("no run removed an uncommitted upload; the kills should have left some")
	}

	// One uninterrupted run into a local folder, for the rows to expect.
	local := filepath.Join(tmp, "local")
	localCfg := writeConfig(t, mkdir(t, local), fmt.Sprintf("sources:\n%s", sources)+destinationAt(local))
	if r := quiver(ctx, t, env, "sync", "-c", localCfg, "-q"); r.code != 0 {
		t.Fatalf("local sync: exit %d\n%s", r.code, tail(r.stderr, 20))
	}

	bucket := downloadBucket(ctx, t, srv.URL("lake"), filepath.Join(tmp, "bucket"))
	out := filepath.Join(bucket, "out")
	streams := checkFileLists(t, out)
	if len(streams) < 10 {
		t.Fatalf("the file lists name %d streams, want those of all four connectors: %v", len(streams), streams)
	}
	for _, s := range streams {
		got := rowKeys(t, filepath.Join(out, s), volatileColumns...)
		want := rowKeys(t, filepath.Join(local, "data", s), volatileColumns...)
		if len(want) == 0 {
			t.Errorf("%s: the local run wrote no rows", s)
		}
		if lookbackStreams[path.Base(s)] {
			got, want = slices.Compact(got), slices.Compact(want)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d rows in the bucket, %d in the uninterrupted run; want the same rows", s, len(got), len(want))
		}
	}
	duckDBCounts(t, out, streams)
	secrets := []string{s3test.SecretKey, tracktiksim.ClientSecret, tracktiksim.Password, capillarysim.DefaultSecret,
		trackviasim.DefaultUserKey, trackviasim.DefaultAccessToken, trackunitsim.DefaultClientSecret, trackunitsim.DefaultPassword}
	checkNoLeaks(t, bucket, secrets, results...)
}

// TestObjectStore_TwoHostsRace starts two hosts at once on the same source
// and state in the bucket: one takes the lease and commits, the other
// exits 75 at once; no file is lost or doubled; and once the first has
// finished, a rerun gets the lease and finds nothing to fix; quiver state
// show and reset read and write the state in the bucket.
func TestObjectStore_TwoHostsRace(t *testing.T) {
	srv := s3test.Versity(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tt := tracktiksim.NewServer(t, tracktiksim.Options{
		Seed: 5, Counts: map[string]int{"employees": 200, "clients": 40},
		Faults: fault.Options{Latency: 20 * time.Millisecond},
	})
	tmp := t.TempDir()
	env := append(slices.Clone(trackTikEnv), s3test.Env(t)...)
	text := "sources:\n" + trackTikSource("acme", tt.URL, "      page_size: 20\n    streams: [employees, clients]\n") +
		fmt.Sprintf("destination:\n  path: %s\nstate: %s\n", srv.URL("race/out"), srv.URL("race/state"))
	cfg := writeConfig(t, tmp, text)

	var done []<-chan result
	for range 2 {
		_, ch := startQuiver(ctx, t, env, "sync", "-c", cfg, "--max-file-size", "1", "--json")
		done = append(done, ch)
	}
	a, b := <-done[0], <-done[1]
	codes := []int{a.code, b.code}
	slices.Sort(codes)
	if !slices.Equal(codes, []int{0, 75}) {
		t.Fatalf("exit codes %d and %d, want 0 and 75\nfirst:\n%s\nsecond:\n%s", a.code, b.code, tail(a.stderr, 10), tail(b.stderr, 10))
	}
	loser := a
	if a.code == 0 {
		loser = b
	}
	if !strings.Contains(loser.stderr, "holds the lock on source \"acme\"") {
		t.Errorf("the run that exited 75 does not say who holds the lock:\n%s", tail(loser.stderr, 10))
	}
	again := quiver(ctx, t, env, "sync", "-c", cfg, "--json")
	if again.code != 0 || strings.Contains(again.stderr, "uncommitted") {
		t.Fatalf("the rerun: exit %d\n%s", again.code, tail(again.stderr, 10))
	}
	out := filepath.Join(downloadBucket(ctx, t, srv.URL("race"), filepath.Join(tmp, "bucket")), "out")
	checkFileLists(t, out)
	for _, s := range []string{"employees", "clients"} {
		// streamIDs fails the test on an id written twice.
		if ids := streamIDs(t, filepath.Join(out, "acme", s)); len(ids) != tt.Count(s) {
			t.Errorf("%s: %d rows, want the simulator's %d", s, len(ids), tt.Count(s))
		}
	}
	// quiver state show and reset work on state in the bucket.
	show := quiver(ctx, t, env, "state", "show", "-c", cfg, "--json")
	if show.code != 0 || !strings.Contains(show.stdout, `"employees"`) {
		t.Fatalf("state show: exit %d\n%s\n%s", show.code, show.stdout, tail(show.stderr, 5))
	}
	if r := quiver(ctx, t, env, "state", "reset", "acme", "employees", "-c", cfg); r.code != 0 {
		t.Fatalf("state reset: exit %d\n%s", r.code, tail(r.stderr, 5))
	}
	show = quiver(ctx, t, env, "state", "show", "-c", cfg, "--json")
	if show.code != 0 || strings.Contains(show.stdout, `"employees"`) || !strings.Contains(show.stdout, `"clients"`) {
		t.Errorf("state show after resetting employees: exit %d\n%s", show.code, show.stdout)
	}
}

// untilUnlocked runs run until it does not exit 75 (the lease of a killed
// run has not expired yet).
func untilUnlocked(ctx context.Context, t *testing.T, run func() result) result {
	t.Helper()
	for {
		r := run()
		if r.code != 75 {
			return r
		}
		if ctx.Err() != nil {
			t.Fatalf("still locked when the test timed out:\n%s", tail(r.stderr, 5))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func stderrs(rs []result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.stderr)
	}
	return out
}

// downloadBucket copies every object under location into dir, as the
// files of a local folder.
func downloadBucket(ctx context.Context, t *testing.T, location, dir string) string {
	t.Helper()
	s3test.SetEnv(t)
	bs, err := blobstore.Open(ctx, location)
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	objs, err := bs.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		data, err := bs.Read(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(o.Key))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// checkFileLists checks a downloaded destination: every part file is
// listed by its source's _files.json and every listed file exists with
// the listed size. It returns the streams, as SOURCE/STREAM.
func checkFileLists(t *testing.T, out string) []string {
	t.Helper()
	listed := map[string]bool{}
	var streams []string
	lists, err := filepath.Glob(filepath.Join(out, "*", "_files.json"))
	if err != nil || len(lists) == 0 {
		t.Fatalf("no _files.json in %s: %v", out, err)
	}
	for _, l := range lists {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		var fl host.FileList
		if err := json.Unmarshal(b, &fl); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		for stream, objs := range fl.Streams {
			streams = append(streams, fl.Source+"/"+stream)
			for _, o := range objs {
				listed[o.Key] = true
				st, err := os.Stat(filepath.Join(out, filepath.FromSlash(o.Key)))
				if err != nil || st.Size() != o.Bytes {
					t.Errorf("%s lists %s (%d bytes), which the bucket does not hold so: %v", l, o.Key, o.Bytes, err)
				}
			}
		}
	}
	err = filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasPrefix(info.Name(), "part-") {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		if !listed[filepath.ToSlash(rel)] {
			t.Errorf("the bucket holds %s, which no file list names (an uncommitted upload left behind)", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(streams)
	return streams
}

// duckDBCounts reads every stream's Parquet files with DuckDB (the
// node setup of examples/duckdb) and checks its row count against Go's.
// It is skipped when that setup is not installed (make demo-check
// installs it), unless $QUIVER_REQUIRE_DUCKDB is set, as CI sets it.
func duckDBCounts(t *testing.T, out string, streams []string) {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "examples", "duckdb")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api")); err != nil {
		if os.Getenv("QUIVER_REQUIRE_DUCKDB") != "" {
			t.Fatalf("DuckDB is not installed in %s and $QUIVER_REQUIRE_DUCKDB is set: run make %s/node_modules/.package-lock.json", dir, filepath.Join("examples", "duckdb"))
		}
		t.Logf("DuckDB is not installed in %s (npm install --prefix examples/duckdb); not reading the files with it", dir)
		return
	}
	var globs []string
	for _, s := range streams {
		globs = append(globs, filepath.Join(out, filepath.FromSlash(s), "*.parquet"))
	}
	script := `import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const out = {};
for (const g of JSON.parse(process.argv[1])) {
  const r = await c.runAndReadAll("SELECT count(*)::INTEGER AS n FROM read_parquet('" + g.replaceAll("'", "''") + "')");
  out[g] = r.getRowObjects()[0].n;
}
console.log(JSON.stringify(out));`
	gj, _ := json.Marshal(globs)
	cmd := exec.Command("node", "--input-type=module", "-e", script, string(gj))
	cmd.Dir = dir
	b, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("duckdb: %v\n%s", err, ee.Stderr)
	}
	if err != nil {
		t.Fatal(err)
	}
	var counts map[string]int
	if err := json.Unmarshal(b, &counts); err != nil {
		t.Fatalf("duckdb output %q: %v", b, err)
	}
	for i, s := range streams {
		if want := len(readStream(t, filepath.Join(out, filepath.FromSlash(s))).rows); counts[globs[i]] != want {
			t.Errorf("%s: DuckDB counts %d rows, Go %d", s, counts[globs[i]], want)
		}
	}
}

// TestObjectStore_ReplaceAndShrink: full refreshes of a snapshot stream in
// the bucket, in several files each (uploaded as they are finished). The
// second replaces the first: the file list names only its files and the
// first's are deleted. The third, from a vendor with a third of the
// records, is refused by the shrink guard (exit 3): the file list and the
// records stay the second's, and its own uploads are deleted at once.
func TestObjectStore_ReplaceAndShrink(t *testing.T) {
	srv := s3test.Versity(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	first := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 8, Counts: map[string]int{"employees": 300}})
	second := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 9, Counts: map[string]int{"employees": 100}})
	proxy := newSwitchProxy(t, first.URL)
	tmp := t.TempDir()
	env := append(slices.Clone(trackTikEnv), s3test.Env(t)...)
	text := "sources:\n" + trackTikSource("acme", proxy.URL, "      page_size: 50\n    streams: [employees]\n") +
		fmt.Sprintf("destination:\n  path: %s\nstate: %s\n", srv.URL("snap/out"), srv.URL("snap/state"))
	cfg := writeConfig(t, tmp, text)

	var lists [][]string
	for run := range 3 {
		want := 0
		if run == 2 {
			proxy.use(t, second.URL)
			want = 3
		}
		r := quiver(ctx, t, env, "sync", "-c", cfg, "--max-file-size", "1", "--json")
		if r.code != want {
			t.Fatalf("run %d: exit %d, want %d\n%s", run+1, r.code, want, tail(r.stderr, 10))
		}
		out := filepath.Join(downloadBucket(ctx, t, srv.URL("snap"), filepath.Join(tmp, fmt.Sprintf("bucket%d", run))), "out")
		checkFileLists(t, out)
		var keys []string
		objs, err := filepath.Glob(filepath.Join(out, "acme", "employees", "part-*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			keys = append(keys, filepath.Base(o))
		}
		lists = append(lists, keys)
		if ids := streamIDs(t, filepath.Join(out, "acme", "employees")); len(ids) != 300 {
			t.Errorf("run %d: %d employees in the bucket, want the 300 of the kept snapshot", run+1, len(ids))
		}
	}
	if len(lists[0]) < 2 || slices.ContainsFunc(lists[1], func(k string) bool { return slices.Contains(lists[0], k) }) {
		t.Errorf("the second snapshot's files %v still hold the first's %v (want several files, all replaced)", lists[1], lists[0])
	}
	if !slices.Equal(lists[1], lists[2]) {
		t.Errorf("files after the refused snapshot %v, want the kept snapshot's %v", lists[2], lists[1])
	}
}

// TestObjectStore_MixedLocations: the destination in the bucket with the
// state in a local folder, and the reverse. Two runs of each: every record
// exactly once, and in the bucket only the files the file list names.
func TestObjectStore_MixedLocations(t *testing.T) {
	srv := s3test.Versity(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tt := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 6, Counts: map[string]int{"employees": 120, "clients": 30}})
	env := append(slices.Clone(trackTikEnv), s3test.Env(t)...)
	for _, mix := range []struct{ name, dest, state string }{
		{"remote destination", srv.URL("mixed-a/out"), "state"},
		{"remote state", "out", srv.URL("mixed-b/state")},
	} {
		t.Run(mix.name, func(t *testing.T) {
			tmp := t.TempDir()
			text := "sources:\n" + trackTikSource("acme", tt.URL, "      page_size: 25\n    streams: [employees, clients]\n") +
				fmt.Sprintf("destination:\n  path: %s\nstate: %s\n", mix.dest, mix.state)
			cfg := writeConfig(t, tmp, text)
			for run := range 2 {
				if r := quiver(ctx, t, env, "sync", "-c", cfg, "--max-file-size", "1"); r.code != 0 {
					t.Fatalf("run %d: exit %d\n%s", run+1, r.code, tail(r.stderr, 10))
				}
			}
			out := filepath.Join(tmp, "out")
			if strings.HasPrefix(mix.dest, "s3://") {
				out = filepath.Join(downloadBucket(ctx, t, srv.URL("mixed-a"), filepath.Join(tmp, "bucket")), "out")
				checkFileLists(t, out)
			}
			for _, s := range []string{"employees", "clients"} {
				if ids := streamIDs(t, filepath.Join(out, "acme", s)); len(ids) != tt.Count(s) {
					t.Errorf("%s: %d rows, want the simulator's %d", s, len(ids), tt.Count(s))
				}
			}
		})
	}
}

// TestObjectStore_LocalStateLost: a destination in the bucket with its
// state in a local folder. After `quiver state reset acme` the next sync
// removes nothing as uncommitted: the reset kept the list of committed
// files, so the full refresh of employees replaces the old snapshot and
// shifts appends, every part listed. With the state folder gone, the next
// sync refuses (exit 2, saying what to do) and the bucket is unchanged.
func TestObjectStore_LocalStateLost(t *testing.T) {
	srv := s3test.Versity(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tt := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 7, Counts: map[string]int{"employees": 60, "shifts": 60}})
	env := append(slices.Clone(trackTikEnv), s3test.Env(t)...)
	tmp := t.TempDir()
	text := "sources:\n" + trackTikSource("acme", tt.URL, "      page_size: 25\n    streams: [employees, shifts]\n") +
		fmt.Sprintf("destination:\n  path: %s\nstate: state\n", srv.URL("lost/out"))
	cfg := writeConfig(t, tmp, text)
	sync := func(want int) result {
		t.Helper()
		r := quiver(ctx, t, env, "sync", "-c", cfg, "--max-file-size", "1", "--log-level", "info")
		if r.code != want {
			t.Fatalf("sync: exit %d, want %d\n%s", r.code, want, tail(r.stderr, 10))
		}
		if strings.Contains(r.stderr, "removed an uncommitted file") {
			t.Errorf("the sync removed files as uncommitted:\n%s", tail(r.stderr, 10))
		}
		return r
	}
	bucket := func(name string, check bool) []string {
		t.Helper()
		out := filepath.Join(downloadBucket(ctx, t, srv.URL("lost"), filepath.Join(tmp, name)), "out")
		if check {
			checkFileLists(t, out)
		}
		var keys []string
		err := filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
			if err == nil && strings.HasPrefix(info.Name(), "part-") {
				rel, _ := filepath.Rel(out, p)
				keys = append(keys, filepath.ToSlash(rel))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	sync(0)
	first := bucket("first", true)
	if r := quiver(ctx, t, env, "state", "reset", "acme", "-c", cfg); r.code != 0 {
		t.Fatalf("state reset: exit %d\n%s", r.code, r.stderr)
	}
	sync(0)
	second := bucket("second", true)
	for _, k := range first {
		if strings.Contains(k, "/shifts/") && !slices.Contains(second, k) {
			t.Errorf("shifts' file %s is gone after the reset and a sync", k)
		}
		if strings.Contains(k, "/employees/") && slices.Contains(second, k) {
			t.Errorf("employees' file %s of the replaced snapshot is still there", k)
		}
	}
	if err := os.RemoveAll(filepath.Join(tmp, "state")); err != nil {
		t.Fatal(err)
	}
	r := sync(2)
	if !strings.Contains(r.stderr, "has no record of them") || !strings.Contains(r.stderr, "Point state: at the state that lists them") {
		t.Errorf("the refusal does not say what to do:\n%s", tail(r.stderr, 10))
	}
	if third := bucket("third", false); !slices.Equal(third, second) {
		t.Errorf("the refused sync changed the bucket: %v, was %v", third, second)
	}
}
