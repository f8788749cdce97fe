package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// trackTikEnv holds the simulator's secrets as the config references them.
var trackTikEnv = []string{
	"TT_SECRET=" + tracktiksim.ClientSecret,
	"TT_PASSWORD=" + tracktiksim.Password,
}

func trackTikConfig(srv *tracktiksim.Server, out, extra string) string {
	return "sources:\n" + trackTikSource("acme", srv.URL, extra) + destinationAt(out)
}

// trackTikSource is one TrackTik source of a config, reading the simulator
// at baseURL; extra follows its config keys (indented by 6 for more config
// keys, by 4 for keys of the source).
func trackTikSource(name, baseURL, extra string) string {
	return fmt.Sprintf(`  - name: %s
    connector: tracktik
    config:
      base_url: %s
      client_id: %s
      client_secret: ${TT_SECRET}
      username: %s
      password: ${TT_PASSWORD}
      start_date: "2024-01-01"
%s`, name, baseURL, tracktiksim.ClientID, tracktiksim.Username, extra)
}

// destinationAt is the destination and state keys of a config writing
// under out.
func destinationAt(out string) string {
	return fmt.Sprintf("destination:\n  path: %s\nstate: %s\n", filepath.Join(out, "data"), filepath.Join(out, "state"))
}

// checkStream compares a stream's Parquet rows with the simulator's records:
// every record exactly once, with the schema's types and the same values.
func checkStream(t *testing.T, srv *tracktiksim.Server, out, stream string) {
	t.Helper()
	st, err := schemas.Load("tracktik", stream)
	if err != nil {
		t.Fatal(err)
	}
	tb := readStream(t, filepath.Join(out, "data", "acme", stream))
	n := srv.Count(stream)
	if len(tb.rows) != n {
		t.Errorf("%s: %d rows in %d files, want %d", stream, len(tb.rows), tb.files, n)
	}
	for _, f := range st.Schema.Fields() {
		got, ok := tb.schema.FieldsByName(f.Name)
		if !ok || !arrow.TypeEqual(got[0].Type, f.Type) {
			t.Errorf("%s: column %s has type %v, want %v", stream, f.Name, got, f.Type)
		}
	}
	byID := map[int64]map[string]any{}
	for _, row := range tb.rows {
		id := row["id"].(int64)
		if byID[id] != nil {
			t.Errorf("%s: id %d written twice", stream, id)
		}
		if row["_quiver_run_id"] == nil || row["_quiver_extracted_at"] == nil {
			t.Errorf("%s: id %d lacks lineage columns", stream, id)
		}
		delete(row, "_quiver_run_id")
		delete(row, "_quiver_extracted_at")
		noneRescued(t, stream, id, row)
		byID[id] = row
	}
	for i := range n {
		want := expected(t, st, srv.Record(stream, i))
		id := want["id"].(int64)
		if diff := cmp.Diff(want, byID[id]); diff != "" {
			t.Errorf("%s record %d mismatch (-want +got):\n%s", stream, id, diff)
			return
		}
	}
}

// expected converts a simulator record (decoded JSON) into the values the
// Parquet file should hold, following the stream's schema.
func expected(t *testing.T, st *schemas.Stream, rec map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, f := range st.Schema.Fields() {
		key := f.Name
		if k, ok := f.Metadata.GetValue("quiver:json"); ok {
			key = k
		}
		out[f.Name] = convert(t, f.Type, rec[key])
	}
	return out
}

func convert(t *testing.T, dt arrow.DataType, v any) any {
	t.Helper()
	if v == nil {
		return nil
	}
	switch dt.ID() {
	case arrow.INT64:
		return int64(v.(float64))
	case arrow.FLOAT64, arrow.BOOL, arrow.STRING:
		return v
	case arrow.DATE32:
		d, err := time.Parse("2006-01-02", v.(string))
		if err != nil {
			t.Fatal(err)
		}
		return d
	case arrow.TIMESTAMP:
		ts, err := time.Parse(time.RFC3339, v.(string))
		if err != nil {
			t.Fatal(err)
		}
		return ts.UTC()
	case arrow.LIST:
		var out []any
		for _, e := range v.([]any) {
			out = append(out, convert(t, dt.(*arrow.ListType).Elem(), e))
		}
		if out == nil {
			out = []any{}
		}
		return out
	}
	t.Fatalf("no conversion for %s", dt)
	return nil
}

var trackTikStreams = []string{"employees", "clients", "positions", "shifts", "work-sessions", "reports"}

// TestTrackTik_SyncWithFaults is the core end-to-end check: the real plugin
// against the simulator with replication-lag 401s, 429s, 5xx and cut bodies.
func TestTrackTik_SyncWithFaults(t *testing.T) {
	t.Parallel()
	srv := tracktiksim.NewServer(t, tracktiksim.Options{
		Seed:        3,
		Counts:      map[string]int{"employees": 180, "clients": 25, "positions": 60, "shifts": 400, "work-sessions": 300, "reports": 150},
		LagRequests: 2,
		Faults: fault.Options{Rate: 0.15, Seed: 9, Kinds: []fault.Kind{
			fault.RateLimit, fault.RateLimitDate, fault.RateLimitBare, fault.ServerError,
			fault.Truncate, fault.Malformed, fault.Reset, fault.Slow,
		}},
	})
	out := t.TempDir()
	cfg := writeConfig(t, out, trackTikConfig(srv, out, "      page_size: 10\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := quiver(ctx, t, trackTikEnv, "sync", "-c", cfg, "--json", "--log-level", "debug")
	if r.code != 0 {
		t.Fatalf("quiver sync exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, tail(r.stderr, 40))
	}
	for _, s := range trackTikStreams {
		checkStream(t, srv, out, s)
	}
	// The plugin is stopped when its read ends, before the streams commit.
	exited, done := strings.Index(r.stderr, "plugin process exited"), strings.Index(r.stderr, "stream done")
	if exited < 0 || done < 0 || exited > done {
		t.Errorf("the plugin exited at byte %d of the log, the first stream was done at byte %d; want the plugin first\n%s", exited, done, tail(r.stderr, 20))
	}
	if n := srv.Faults.Total(); n < 10 {
		t.Errorf("only %d faults were injected; the test does not exercise retries", n)
	}
	stats := srv.Stats()
	if stats.Lag401s == 0 {
		t.Error("no replication-lag 401 was served")
	}
	if stats.PasswordGrants != 1 || stats.RefreshGrants != 0 {
		t.Errorf("token requests: %d password grants, %d refresh grants; want exactly one login (lag 401s retry the same token)",
			stats.PasswordGrants, stats.RefreshGrants)
	}
	var res struct {
		Status  string
		Sources []struct {
			Streams []struct {
				Name    string
				Records int64
				Retries map[string]int64
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	if res.Status != "ok" || len(res.Sources) != 1 || len(res.Sources[0].Streams) != len(trackTikStreams) {
		t.Errorf("--json result = %+v", res)
	}
	checkNoSecrets(t, out, r)
}

// checkNoSecrets fails if a credential appears in output, logs or files.
func checkNoSecrets(t *testing.T, dir string, results ...result) {
	t.Helper()
	secrets := []string{tracktiksim.ClientSecret, tracktiksim.Password}
	for _, r := range results {
		for _, s := range secrets {
			if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
				t.Errorf("a secret appears in quiver's output or logs")
			}
		}
	}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || filepath.Base(path) == "quiver.yaml" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("file %s holds a secret", path)
			}
		}
		if strings.Contains(string(b), "access_token") || strings.Contains(string(b), "def502") {
			t.Errorf("file %s holds a token", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestTrackTik_WrongPassword: a rejected login fails fast with exit code 4
// after exactly one token request.
func TestTrackTik_WrongPassword(t *testing.T) {
	t.Parallel()
	srv := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 1})
	out := t.TempDir()
	cfg := writeConfig(t, out, trackTikConfig(srv, out, ""))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	r := quiver(ctx, t, []string{"TT_SECRET=" + tracktiksim.ClientSecret, "TT_PASSWORD=wrong-password-123"}, "sync", "-c", cfg)
	if r.code != 4 {
		t.Fatalf("exit code %d, want 4\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, tail(r.stderr, 30))
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("a wrong password took %v to fail", d)
	}
	if st := srv.Stats(); st.TokenRequests != 1 || st.FailedLogins != 1 {
		t.Errorf("token requests %d, failed logins %d; want exactly 1 each (no retry storm)", st.TokenRequests, st.FailedLogins)
	}
	if !strings.Contains(r.stderr, "credentials") {
		t.Errorf("the error does not say the credentials were rejected:\n%s", tail(r.stderr, 10))
	}
	if strings.Contains(r.stderr+r.stdout, "wrong-password-123") {
		t.Error("the password appears in the output")
	}
}

// TestTrackTik_RefreshTokenOnce: with tokens that expire during the sync,
// each refresh token is used once and the sync still completes.
func TestTrackTik_RefreshTokenOnce(t *testing.T) {
	t.Parallel()
	srv := tracktiksim.NewServer(t, tracktiksim.Options{
		Seed:     5,
		TokenTTL: 3 * time.Second,
		Counts:   map[string]int{"employees": 400, "clients": 10, "positions": 10, "shifts": 10, "work-sessions": 10, "reports": 10},
		Faults:   fault.Options{Rate: 1, Kinds: []fault.Kind{fault.Slow}, SlowDelay: 150 * time.Millisecond, MaxConsecutive: 1000},
	})
	syncEmployees(t, srv, "      page_size: 10\n")
	st := srv.Stats()
	if st.RefreshGrants == 0 {
		t.Errorf("no refresh grant in a %d-request sync with 3s tokens", st.DataRequests)
	}
	if st.RefreshTokensReused != 0 || st.FailedLogins != 0 {
		t.Errorf("refresh tokens reused %d times, %d failed logins", st.RefreshTokensReused, st.FailedLogins)
	}
}

// TestTrackTik_KillPlugin kills the plugin mid-sync: the run fails naming the
// plugin, committed files and state stay valid, and the next run completes
// the data with every record's latest version, re-reading only the lookback
// window. (It read employees before they became a snapshot stream.)
func TestTrackTik_KillPlugin(t *testing.T) {
	t.Parallel()
	srv := tracktiksim.NewServer(t, tracktiksim.Options{
		Seed:   11,
		Counts: map[string]int{"employees": 10, "clients": 10, "positions": 10, "shifts": 3000, "work-sessions": 10, "reports": 10},
		Faults: fault.Options{Rate: 1, Kinds: []fault.Kind{fault.Slow}, SlowDelay: 40 * time.Millisecond, MaxConsecutive: 1 << 30},
	})
	out := t.TempDir()
	cfg := writeConfig(t, out, trackTikConfig(srv, out, "      page_size: 20\n    streams: [{name: shifts, lookback: 1s}]\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	cmd, done := startQuiver(ctx, t, trackTikEnv, "sync", "-c", cfg, "--max-file-size", "1")
	dataDir := filepath.Join(out, "data", "acme", "shifts")
	waitFor(t, time.Minute, "committed files", func() bool {
		m, _ := filepath.Glob(filepath.Join(dataDir, "*.parquet"))
		return len(m) >= 3
	})
	pid := childPID(t, cmd.Process.Pid, "quiver-tracktik")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code == 0 {
		t.Fatalf("quiver sync exited 0 after its plugin was killed\n%s", tail(r.stderr, 20))
	}
	if !strings.Contains(r.stderr, "quiver-tracktik") {
		t.Errorf("the error does not name the plugin:\n%s", tail(r.stderr, 20))
	}
	partial := readStream(t, dataDir)
	if len(partial.rows) == 0 || len(partial.rows) >= srv.Count("shifts") {
		t.Fatalf("after the kill %d rows are committed, want some but not all %d", len(partial.rows), srv.Count("shifts"))
	}
	if tmp, _ := filepath.Glob(filepath.Join(dataDir, ".*")); len(tmp) != 0 {
		// leftovers are allowed only until the next run cleans them
		t.Logf("temporary files after the kill: %v", tmp)
	}
	var st map[string]any
	b, err := os.ReadFile(filepath.Join(out, "state", "acme.json"))
	if err != nil {
		t.Fatalf("state after the kill: %v", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("state after the kill is not JSON: %v", err)
	}

	srv.Faults.Set(fault.Options{})
	r2 := quiver(ctx, t, trackTikEnv, "sync", "-c", cfg)
	if r2.code != 0 {
		t.Fatalf("second run exit %d\n%s", r2.code, tail(r2.stderr, 30))
	}
	// Every shift's latest version is there; the 1s lookback window reads
	// the last committed one again.
	if rows := checkTrackTikLatest(t, srv, out, "shifts"); rows > srv.Count("shifts")+2 {
		t.Errorf("%d rows for %d shifts: more than the window's were read twice", rows, srv.Count("shifts"))
	}
	if tmp, _ := filepath.Glob(filepath.Join(dataDir, ".*")); len(tmp) != 0 {
		t.Errorf("temporary files left after the second run: %v", tmp)
	}
}

// childPID finds the child process of parent whose executable is named name.
func childPID(t *testing.T, parent int, name string) int {
	t.Helper()
	var pid int
	waitFor(t, 30*time.Second, "plugin process "+name, func() bool {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			n, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
			if err != nil || filepath.Base(exe) != name {
				continue
			}
			stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if err != nil {
				continue
			}
			// Fields after the parenthesised command: state, ppid, ...
			fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
			if len(fields) > 1 && fields[1] == strconv.Itoa(parent) {
				pid = n
				return true
			}
		}
		return false
	})
	return pid
}

// TestTrackTik_SpecCheckDiscover runs the inspection commands a user tries
// first: spec prints the config schema, check logs in once, discover lists
// every stream with its columns.
func TestTrackTik_SpecCheckDiscover(t *testing.T) {
	t.Parallel()
	srv := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 2})
	out := t.TempDir()
	cfg := writeConfig(t, out, trackTikConfig(srv, out, ""))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	spec := quiver(ctx, t, nil, "spec", "tracktik", "--json")
	var sp struct {
		Name         string
		ConfigSchema struct{ Required []string } `json:"config_schema"`
		Streams      []string
	}
	if err := json.Unmarshal([]byte(spec.stdout), &sp); spec.code != 0 || err != nil {
		t.Fatalf("spec: exit %d, %v\n%s", spec.code, err, spec.stderr)
	}
	if sp.Name != "tracktik" || len(sp.Streams) != len(trackTikStreams) || !slices.Contains(sp.ConfigSchema.Required, "password") {
		t.Errorf("spec = %+v", sp)
	}

	if r := quiver(ctx, t, trackTikEnv, "check", "-c", cfg); r.code != 0 || !strings.Contains(r.stdout, "acme") || !strings.Contains(r.stdout, "ok") {
		t.Errorf("check: exit %d\n%s\n%s", r.code, r.stdout, tail(r.stderr, 10))
	}
	if st := srv.Stats(); st.PasswordGrants != 1 {
		t.Errorf("check made %d logins, want 1", st.PasswordGrants)
	}
	bad := quiver(ctx, t, []string{"TT_SECRET=" + tracktiksim.ClientSecret, "TT_PASSWORD=nope-nope"}, "check", "-c", cfg)
	if bad.code != 4 || !strings.Contains(bad.stdout, "FAILED") {
		t.Errorf("check with a wrong password: exit %d, want 4\n%s", bad.code, bad.stdout)
	}
	// Each part of the error is said once ("tracktik: check: ..." used to
	// come out as "tracktik: check: rest: tracktik: check: ...").
	if n := strings.Count(bad.stdout, "check:"); n != 1 {
		t.Errorf("check with a wrong password says \"check:\" %d times, want once:\n%s", n, bad.stdout)
	}

	d := quiver(ctx, t, trackTikEnv, "discover", "-c", cfg)
	if d.code != 0 {
		t.Fatalf("discover: exit %d\n%s", d.code, tail(d.stderr, 10))
	}
	for _, want := range []string{"acme.work-sessions", "started_on", "timestamp[us, tz=UTC]", "acme.reports", "list<item: utf8"} {
		if !strings.Contains(d.stdout, want) {
			t.Errorf("discover output lacks %q:\n%s", want, d.stdout)
		}
	}
}

// TestTrackTik_ReplicationLag: with the vendor's replicas 10 s behind, so
// that every new token is refused for 10 s, the sync waits the lag out with
// the one token the login issued and succeeds (it used to give up after
// four same-token retries and exit 4, "don't retry").
func TestTrackTik_ReplicationLag(t *testing.T) {
	t.Parallel()
	srv := tracktiksim.NewServer(t, tracktiksim.Options{
		Seed:   13,
		LagFor: 10 * time.Second,
		Counts: map[string]int{"employees": 30, "clients": 5, "positions": 5, "shifts": 5, "work-sessions": 5, "reports": 5},
	})
	syncEmployees(t, srv, "")
	st := srv.Stats()
	if st.Lag401s == 0 {
		t.Error("no replication-lag 401 was served")
	}
	if st.PasswordGrants != 1 || st.RefreshGrants != 0 {
		t.Errorf("%d password grants, %d refresh grants; want exactly one login", st.PasswordGrants, st.RefreshGrants)
	}
}

// syncEmployees syncs the employees stream from srv, with extra config
// lines, and checks that it succeeds with every record exactly once.
func syncEmployees(t *testing.T, srv *tracktiksim.Server, extra string) {
	t.Helper()
	out := t.TempDir()
	cfg := writeConfig(t, out, trackTikConfig(srv, out, extra+"    streams: [employees]\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := quiver(ctx, t, trackTikEnv, "sync", "-c", cfg)
	if r.code != 0 {
		t.Fatalf("quiver sync exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, tail(r.stderr, 30))
	}
	checkStream(t, srv, out, "employees")
}
