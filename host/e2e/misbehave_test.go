package e2e

// The host against quiver-misbehave, a plugin built on the SDK that breaks
// the rules on purpose (see host/e2e/misbehave): it must neither write
// outside its folders nor double, lose or miscount data.

import (
	"context"
	"encoding/json"
	"fmt"
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

// TestMisbehave_Normal: in its normal mode the test plugin is an honest
// connector, so what the other tests see is its misbehaviour alone.
func TestMisbehave_Normal(t *testing.T) {
	t.Parallel()
	ctx := misbehaveContext(t)
	out := t.TempDir()
	cfg := writeConfig(t, out, misbehaveConfig(out, misbehaveSource("m", "{mode: normal, rows: 120, batch: 50}", "")))
	res, _ := misbehaveSync(ctx, t, 0, "-c", cfg)
	if st := res.stream("items"); st == nil || st.Status != "complete" || st.Records != 120 {
		t.Fatalf("items: %+v, want complete with 120 records", st)
	}
	if ids := streamIDs(t, filepath.Join(out, "data", "m", "items")); len(ids) != 120 {
		t.Errorf("items holds %d rows, want 120", len(ids))
	}
}
