package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/schemas"
)

// latest reduces rows to the latest version of each key, as a reader of
// the output would: the row with the latest _quiver_extracted_at, ties
// broken by run order (run ids sort by their start). It returns the rows
// by key (the key column's value, printed), without Quiver's own columns
// (_quiver_*).
func latest(t *testing.T, rows []map[string]any, key string) map[string]map[string]any {
	t.Helper()
	type version struct {
		at  time.Time
		run string
		row map[string]any
	}
	best := map[string]version{}
	for _, row := range rows {
		k := fmt.Sprint(row[key])
		at, _ := row["_quiver_extracted_at"].(time.Time)
		run, _ := row["_quiver_run_id"].(string)
		if at.IsZero() || run == "" {
			t.Fatalf("key %s lacks lineage columns: %v", k, row)
		}
		if b, ok := best[k]; ok && (at.Before(b.at) || at.Equal(b.at) && run < b.run) {
			continue
		}
		best[k] = version{at, run, row}
	}
	out := make(map[string]map[string]any, len(best))
	for k, v := range best {
		row := map[string]any{}
		for c, x := range v.row {
			if !strings.HasPrefix(c, "_quiver_") {
				row[c] = x
			}
		}
		out[k] = row
	}
	return out
}

// diffKeys compares the latest rows with the rows a simulator holds now,
// both by key: every key present on both sides with the same values. It
// reports at most a few differences.
func diffKeys(t *testing.T, what string, want, got map[string]map[string]any) {
	t.Helper()
	var missing, extra, changed []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case !cmp.Equal(w, g):
			if len(changed) < 3 {
				t.Errorf("%s key %s: latest version differs from the simulator (-sim +files):\n%s", what, k, cmp.Diff(w, g))
			}
			changed = append(changed, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra)+len(changed) > 0 {
		t.Errorf("%s: %d keys in the simulator, %d in the files: %d missing %.10v, %d extra %.10v, %d with other values",
			what, len(want), len(got), len(missing), missing, len(extra), extra, len(changed))
	}
}

// checkTrackTikLatest checks that the latest version of every record in a
// TrackTik stream's files equals the simulator's record now, with no id
// missing or extra; it returns the number of rows in the files.
func checkTrackTikLatest(t *testing.T, srv *tracktiksim.Server, out, stream string) int {
	t.Helper()
	tb := readStream(t, filepath.Join(out, "data", "acme", stream))
	diffKeys(t, "tracktik "+stream, trackTikWant(t, srv, stream), latest(t, tb.rows, "id"))
	return len(tb.rows)
}

// checkTrackTikCompacted checks that a compacted TrackTik stream holds each
// id once, equal to the simulator's record now.
func checkTrackTikCompacted(t *testing.T, srv *tracktiksim.Server, out, stream string) {
	t.Helper()
	tb := readStream(t, filepath.Join(out, "data", "acme", stream))
	what := "compacted tracktik " + stream
	diffKeys(t, what, trackTikWant(t, srv, stream), byKey(t, what, tb.rows, "id"))
}

// trackTikWant returns the simulator's records of stream now, by id, as
// the files should hold them.
func trackTikWant(t *testing.T, srv *tracktiksim.Server, stream string) map[string]map[string]any {
	t.Helper()
	st, err := schemas.Load("tracktik", stream)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{}
	for i := range srv.Count(stream) {
		row := expected(t, st, srv.Record(stream, i))
		want[fmt.Sprint(row["id"])] = row
	}
	return want
}

// byKey returns rows by key, without Quiver's own columns, failing on a
// key that appears twice: what compacted files must hold.
func byKey(t *testing.T, what string, rows []map[string]any, key string) map[string]map[string]any {
	t.Helper()
	out := make(map[string]map[string]any, len(rows))
	for _, row := range rows {
		k := fmt.Sprint(row[key])
		if out[k] != nil {
			t.Errorf("%s: key %s is in the compacted files twice", what, k)
		}
		clean := map[string]any{}
		for c, v := range row {
			if !strings.HasPrefix(c, "_quiver_") {
				clean[c] = v
			}
		}
		out[k] = clean
	}
	return out
}

// compactAll runs `quiver compact` on every stream of cfg; it needs no
// secrets.
func compactAll(ctx context.Context, t *testing.T, cfg string) {
	t.Helper()
	if r := quiver(ctx, t, nil, "compact", "-c", cfg); r.code != 0 {
		t.Fatalf("quiver compact: exit %d\n%s\n%s", r.code, r.stdout, tail(r.stderr, 20))
	}
}
