package e2e

// The host against quiver-misbehave, a plugin built on the SDK that breaks
// the rules on purpose (see host/e2e/misbehave): it must neither write
// outside its folders nor double, lose or miscount data.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// misbehaveConfig returns a config whose sources (YAML list entries, each
// "- name: ..." with 4-space indented lines) write to out/data with state in
// out/state.
func misbehaveConfig(out string, sources ...string) string {
	return fmt.Sprintf("sources:\n%s\ndestination:\n  path: %s\nstate: %s\n",
		strings.Join(sources, "\n"), filepath.Join(out, "data"), filepath.Join(out, "state"))
}

// misbehaveSource returns a source entry named name whose config is the
// given YAML flow mapping (e.g. "{mode: normal, rows: 10}"); extra lines
// (4-space indent) follow it.
func misbehaveSource(name, config, extra string) string {
	return fmt.Sprintf("  - name: %s\n    connector: misbehave\n    config: %s\n%s", name, config, extra)
}

// misbehaveSync runs `quiver sync --json` with args against the config in
// out and wants exit code want; it returns the parsed summary (nil when
// there is none) and the raw result.
func misbehaveSync(ctx context.Context, t *testing.T, want int, args ...string) (*runResult, result) {
	t.Helper()
	r := quiver(ctx, t, nil, append([]string{"sync", "--json"}, args...)...)
	if r.code != want {
		t.Fatalf("quiver sync %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, tail(r.stderr, 30))
	}
	if r.stdout == "" {
		return nil, r
	}
	var res runResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	return &res, r
}

func misbehaveContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestMisbehave_StreamSelectedTwice: a stream named twice by --streams (as
// NAME and SOURCE.NAME) is read once, incrementally and under
// --full-refresh; one listed twice in a source's streams is a config error
// (exit 2) at its line. (In the first case the test plugin is honest, so
// the others see its misbehaviour alone.)
func TestMisbehave_StreamSelectedTwice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		streams string // the source's streams line
		args    []string
	}{
		{name: "once"},
		{name: "config", streams: "    streams:\n      - items\n      - items\n"},
		{name: "flag", args: []string{"--streams", "items,m.items"}},
		{name: "flag twice", args: []string{"--streams", "items", "--streams", "items"}},
		{name: "full refresh", args: []string{"--full-refresh", "--streams", "m.items,items"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := misbehaveContext(t)
			out := t.TempDir()
			cfg := writeConfig(t, out, misbehaveConfig(out, misbehaveSource("m", "{rows: 150, batch: 50}", tt.streams)))
			if tt.streams != "" {
				_, r := misbehaveSync(ctx, t, 2, append([]string{"-c", cfg}, tt.args...)...)
				if want := cfg + `:7: sources[0].streams[1]: stream "items" is listed twice`; !strings.Contains(r.stderr, want) {
					t.Errorf("the error does not say %q:\n%s", want, tail(r.stderr, 5))
				}
				return
			}
			res, _ := misbehaveSync(ctx, t, 0, append([]string{"-c", cfg}, tt.args...)...)
			if n := len(res.Sources[0].Streams); n != 1 {
				t.Errorf("the summary lists %d streams, want 1", n)
			}
			if st := res.stream("items"); st == nil || st.Status != "complete" || st.Records != 150 {
				t.Errorf("items: %+v, want complete with 150 records", st)
			}
			if ids := streamIDs(t, filepath.Join(out, "data", "m", "items")); len(ids) != 150 {
				t.Errorf("items holds %d rows, want 150", len(ids))
			}
		})
	}
}

// TestMisbehave_StreamsNamingNothing: --streams entries that name no stream
// are a usage error (exit 2) that lists the streams there are, and nothing
// is written.
func TestMisbehave_StreamsNamingNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		arg  string
		want []string // in the error: the streams there are
	}{
		{"nosuch", []string{"m.items", "other.alpha", "other.beta"}},
		{"items,nosuch", []string{"m.items", "other.alpha", "other.beta"}},
		{"m.nosuch", []string{"m.items"}},
		{"other.nosuch", []string{"other.alpha", "other.beta"}},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			t.Parallel()
			ctx := misbehaveContext(t)
			out := t.TempDir()
			cfg := writeConfig(t, out, misbehaveConfig(out,
				misbehaveSource("m", "{rows: 10}", ""),
				misbehaveSource("other", "{streams: [alpha, beta], rows: 10}", "")))
			_, r := misbehaveSync(ctx, t, 2, "-c", cfg, "--streams", tt.arg)
			for _, want := range append(tt.want, "nosuch") {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("the error does not name %s:\n%s", want, tail(r.stderr, 10))
				}
			}
			if ids, _ := filepath.Glob(filepath.Join(out, "data", "*", "*", "part-*")); len(ids) > 0 {
				t.Errorf("files written: %v", ids)
			}
		})
	}
}

// TestMisbehave_StreamNamesAreNotPaths: stream names a plugin gives are
// checked like source names before any path is built from them, and a
// catalog that lists a stream twice is refused; nothing is written outside
// the destination and no other source's file is removed.
func TestMisbehave_StreamNamesAreNotPaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, config string
		args         []string
		want         string // in the error
	}{
		{name: "escape", config: `{mode: bad_stream_names, streams: ["../../escaped"]}`, want: `"../../escaped"`},
		{name: "other source", config: `{mode: bad_stream_names, streams: ["../victim/s"]}`, args: []string{"--full-refresh"}, want: `"../victim/s"`},
		{name: "dot dot", config: `{mode: bad_stream_names, streams: [".."]}`, args: []string{"--full-refresh"}, want: `".."`},
		{name: "absolute", config: `{mode: bad_stream_names, streams: ["/tmp/abs"]}`, want: `"/tmp/abs"`},
		{name: "hidden", config: `{mode: bad_stream_names, streams: [".hidden"]}`, want: `".hidden"`},
		{name: "duplicate", config: `{mode: duplicate_streams}`, want: `"items" twice`},
		{name: "message", config: `{mode: message_names, send_as: "../../escaped"}`, want: `"../../escaped"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := misbehaveContext(t)
			out := t.TempDir()
			data := filepath.Join(out, "data")
			// A victim source's snapshot, written first.
			victim := filepath.Join(out, "victim.yaml")
			if err := os.WriteFile(victim, []byte(misbehaveConfig(out, misbehaveSource("victim", "{streams: [s], rows: 10}", ""))), 0o600); err != nil {
				t.Fatal(err)
			}
			misbehaveSync(ctx, t, 0, "-c", victim)
			before := treeFiles(t, out)
			cfg := writeConfig(t, out, misbehaveConfig(out, misbehaveSource("m", tt.config, "")))
			_, r := misbehaveSync(ctx, t, 1, append([]string{"-c", cfg}, tt.args...)...)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("the error does not name %s:\n%s", tt.want, tail(r.stderr, 10))
			}
			if _, err := os.Stat(filepath.Join(out, "escaped")); err == nil {
				t.Errorf("the plugin wrote %s", filepath.Join(out, "escaped"))
			}
			after := treeFiles(t, out)
			for f := range before {
				if !after[f] {
					t.Errorf("%s was removed", f)
				}
			}
			for f := range after {
				if !before[f] && !strings.HasPrefix(f, filepath.Join(data, "_runs")+string(filepath.Separator)) && f != cfg {
					t.Errorf("%s was written", f)
				}
			}
			if d := quiver(ctx, t, nil, "discover", "-c", cfg); d.code != 1 || !strings.Contains(d.stderr, tt.want) {
				if tt.name != "message" {
					t.Errorf("quiver discover: exit %d, want 1 naming %s\n%s", d.code, tt.want, tail(d.stderr, 10))
				}
			}
		})
	}
}

// treeFiles lists the regular files below dir, and the state lock files
// aside.
func treeFiles(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".lock") {
			return err
		}
		out[path] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMisbehave_CountsCommittedRecords: records read after the last
// checkpoint of a stream that then fails are not written, so the summary
// and the manifest count only the committed ones and report the rest as
// uncommitted.
func TestMisbehave_CountsCommittedRecords(t *testing.T) {
	t.Parallel()
	ctx := misbehaveContext(t)
	out := t.TempDir()
	cfg := writeConfig(t, out, misbehaveConfig(out, misbehaveSource("m", "{mode: uncommitted_tail, rows: 100, batch: 50}", "")))
	res, _ := misbehaveSync(ctx, t, 1, "-c", cfg)
	st := res.stream("items")
	if st == nil || st.Records != 100 || st.Status != "failed" {
		t.Fatalf("items: %+v, want failed with 100 records", st)
	}
	if ids := streamIDs(t, filepath.Join(out, "data", "m", "items")); len(ids) != 100 {
		t.Errorf("items holds %d rows, want 100", len(ids))
	}
	if got := firstManifestStream(t, out, res.RunID); got.Records != 100 || got.Uncommitted != 50 {
		t.Errorf("manifest: %+v, want 100 records and 50 uncommitted", got)
	}
	// The human summary says so too.
	h := quiver(ctx, t, nil, "sync", "-c", cfg)
	if h.code != 1 || !strings.Contains(h.stdout, "50 records read but not committed") {
		t.Errorf("summary (exit %d) does not report the uncommitted records:\n%s", h.code, h.stdout)
	}
}

// TestStateOwner: two configs that share a state folder and a source name
// but not the account or the destination do not use each other's state: the
// second is refused with exit 2 and told how to go on, and state written
// before owners were recorded is adopted.
func TestStateOwner(t *testing.T) {
	t.Parallel()
	ctx := misbehaveContext(t)
	out := t.TempDir()
	write := func(name, account, dest string) string {
		t.Helper()
		path := filepath.Join(out, name)
		text := fmt.Sprintf("sources:\n%s\ndestination:\n  path: %s\nstate: %s\n",
			misbehaveSource("m", fmt.Sprintf("{rows: 100, account: %s}", account), ""), filepath.Join(out, dest), filepath.Join(out, "state"))
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	first := write("first.yaml", "acme", "data")
	misbehaveSync(ctx, t, 0, "-c", first)
	stateFile := filepath.Join(out, "state", "m.json")
	saved, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, account, dest, want string }{
		{"other account", "globex", "data", "another account (this source's is identified by account)"},
		{"other destination", "acme", "data2", "destination ../data, not ../data2"},
	} {
		cfg := write(tt.name+".yaml", tt.account, tt.dest)
		_, r := misbehaveSync(ctx, t, 2, "-c", cfg)
		for _, want := range []string{tt.want, stateFile, "quiver state reset m -c " + cfg} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s: the error does not say %q:\n%s", tt.name, want, tail(r.stderr, 5))
			}
		}
		if now, _ := os.ReadFile(stateFile); !bytes.Equal(now, saved) {
			t.Errorf("%s: the state file changed", tt.name)
		}
		if _, err := os.Stat(filepath.Join(out, "data2", "m")); err == nil {
			t.Errorf("%s: files written to data2", tt.name)
		}
	}
	// The same account, written a little differently, is the same owner.
	misbehaveSync(ctx, t, 0, "-c", write("again.yaml", "'acme/ '", "data"))

	// State from before owners were recorded is adopted.
	var raw map[string]any
	if err := json.Unmarshal(saved, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["owner"] == nil {
		t.Fatalf("the state file records no owner:\n%s", saved)
	}
	delete(raw, "owner")
	old, _ := json.Marshal(raw)
	if err := os.WriteFile(stateFile, old, 0o600); err != nil {
		t.Fatal(err)
	}
	other := write("other.yaml", "globex", "data")
	res, _ := misbehaveSync(ctx, t, 0, "-c", other, "--full-refresh")
	if st := res.stream("items"); st == nil || st.Records != 100 {
		t.Errorf("the run adopting the state: %+v, want 100 records", st)
	}
	// ...and from then on belongs to the config that adopted it.
	misbehaveSync(ctx, t, 2, "-c", first)
	// A reset lets another config take it over.
	if r := quiver(ctx, t, nil, "state", "reset", "m", "-c", first); r.code != 0 {
		t.Fatalf("state reset: exit %d\n%s", r.code, r.stderr)
	}
	misbehaveSync(ctx, t, 0, "-c", first, "--full-refresh")
}

// TestCorruptState: a state file that cannot be read stops the run with
// exit 2 (a person must act), and the hint it gives pairs the reset with a
// full refresh, so that following it does not duplicate the files written.
func TestCorruptState(t *testing.T) {
	t.Parallel()
	ctx := misbehaveContext(t)
	out := t.TempDir()
	cfg := writeConfig(t, out, misbehaveConfig(out, misbehaveSource("m", "{rows: 100}", "")))
	misbehaveSync(ctx, t, 0, "-c", cfg)
	if err := os.WriteFile(filepath.Join(out, "state", "m.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, r := misbehaveSync(ctx, t, 2, "-c", cfg)
	for _, want := range []string{"m.json", "quiver state reset m", "--full-refresh"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the error does not say %q:\n%s", want, tail(r.stderr, 5))
		}
	}
	if s := quiver(ctx, t, nil, "state", "show", "-c", cfg); s.code != 2 {
		t.Errorf("state show: exit %d, want 2\n%s", s.code, s.stderr)
	}
	// Following the hint leaves each record once.
	if r := quiver(ctx, t, nil, "state", "reset", "m", "-c", cfg); r.code != 0 {
		t.Fatalf("state reset: exit %d\n%s", r.code, r.stderr)
	}
	misbehaveSync(ctx, t, 0, "-c", cfg, "--full-refresh")
	if ids := streamIDs(t, filepath.Join(out, "data", "m", "items")); len(ids) != 100 {
		t.Errorf("items holds %d rows after the reset and full refresh, want 100", len(ids))
	}
}

// TestCheckJSON: `quiver check --json` prints one JSON object with a status
// whether the check passes or fails, however early it fails.
func TestCheckJSON(t *testing.T) {
	t.Parallel()
	ctx := misbehaveContext(t)
	out := t.TempDir()
	good := writeConfig(t, out, misbehaveConfig(out, misbehaveSource("m", "{rows: 1}", "")))
	bad := filepath.Join(out, "bad.yaml")
	if err := os.WriteFile(bad, []byte(misbehaveConfig(out, misbehaveSource("m", "{mode: nosuch}", ""))), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, config string
		code         int
		status       string
		sources      int
	}{
		{"ok", good, 0, "ok", 1},
		{"invalid source config", bad, 2, "failed", 1},
		{"no config file", filepath.Join(out, "missing.yaml"), 2, "failed", 0},
	}
	for _, tt := range tests {
		r := quiver(ctx, t, nil, "check", "--json", "-c", tt.config)
		var rep struct {
			Status  string `json:"status"`
			Error   string `json:"error"`
			Sources []struct {
				Source, Status string
			} `json:"sources"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Errorf("%s: stdout is not a JSON object: %v\n%s", tt.name, err, r.stdout)
			continue
		}
		if r.code != tt.code || rep.Status != tt.status || len(rep.Sources) != tt.sources || (tt.status == "failed") != (rep.Error != "") {
			t.Errorf("%s: exit %d, %+v; want exit %d, status %s, %d sources", tt.name, r.code, rep, tt.code, tt.status, tt.sources)
		}
		if strings.Contains(r.stderr, "plugin process exited") {
			t.Errorf("%s: check logs the plugin's life cycle at the default level:\n%s", tt.name, r.stderr)
		}
		for _, s := range rep.Sources {
			if s.Status != tt.status {
				t.Errorf("%s: source %s has status %q, want %q", tt.name, s.Source, s.Status, tt.status)
			}
		}
	}
}

// TestMaxFileSize: Parquet files rolled by --max-file-size end within a row
// group (a quarter of the limit) and a footer of it, however small it is.
func TestMaxFileSize(t *testing.T) {
	t.Parallel()
	for _, limit := range []int64{50 << 10, 100 << 10} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			t.Parallel()
			ctx := misbehaveContext(t)
			out := t.TempDir()
			cfg := writeConfig(t, out, misbehaveConfig(out, misbehaveSource("m", "{rows: 300000, batch: 5000}", "")))
			res, _ := misbehaveSync(ctx, t, 0, "-c", cfg, "--max-file-size", fmt.Sprintf("%dB", limit), "--full-refresh")
			st := res.stream("items")
			if st == nil || st.Records != 300000 || len(st.Files) < 2 {
				t.Fatalf("items: %+v, want 300000 records in several files", st)
			}
			for _, f := range st.Files {
				fi, err := os.Stat(f)
				if err != nil {
					t.Fatal(err)
				}
				if max := limit + limit/4 + 8<<10; fi.Size() > max {
					t.Errorf("%s has %d bytes; --max-file-size %d allows %d", filepath.Base(f), fi.Size(), limit, max)
				}
			}
		})
	}
}

// TestMisbehave_StateSaveFails: when the state can no longer be saved (the
// state folder is gone, as on a failing disk) after a stream's first
// commit, the run fails and counts only the committed records; the rest
// are reported as uncommitted, and the files hold exactly the committed
// ones.
func TestMisbehave_StateSaveFails(t *testing.T) {
	t.Parallel()
	ctx := misbehaveContext(t)
	out := t.TempDir()
	stateFile := filepath.Join(out, "state", "m.json")
	cfg := writeConfig(t, out, misbehaveConfig(out, misbehaveSource("m",
		fmt.Sprintf("{mode: break_state, rows: 150, batch: 50, state_file: %q}", stateFile), "")))
	// A file per checkpoint: every checkpoint is a commit.
	r := quiver(ctx, t, nil, "sync", "--json", "-c", cfg, "--max-file-size", "1B")
	if r.code == 0 {
		t.Fatalf("sync with a broken state folder: exit 0\n%s", tail(r.stderr, 10))
	}
	var res runResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--json output: %v\n%s\n%s", err, r.stdout, tail(r.stderr, 10))
	}
	got := firstManifestStream(t, out, res.RunID)
	if st := res.stream("items"); st == nil || st.Records != 50 || got.Records != 50 || got.Uncommitted < 50 {
		t.Errorf("summary %+v, manifest %+v; want 50 records committed and the rest uncommitted", st, got)
	}
	if ids := streamIDs(t, filepath.Join(out, "data", "m", "items")); len(ids) != 50 {
		t.Errorf("items holds %d rows, want the 50 committed", len(ids))
	}
}

// manifestStream is what the misbehave tests read of a stream in a run's
// manifest.
type manifestStream struct {
	Records     int64 `json:"records"`
	Uncommitted int64 `json:"uncommitted"`
}

// firstManifestStream reads the manifest of run runID under out and
// returns its first source's first stream.
func firstManifestStream(t *testing.T, out, runID string) manifestStream {
	t.Helper()
	var manifest struct {
		Sources []struct {
			Streams []manifestStream `json:"streams"`
		} `json:"sources"`
	}
	b, err := os.ReadFile(filepath.Join(out, "data", "_runs", runID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest.Sources) == 0 || len(manifest.Sources[0].Streams) == 0 {
		t.Fatalf("manifest of run %s lists no stream:\n%s", runID, b)
	}
	return manifest.Sources[0].Streams[0]
}
