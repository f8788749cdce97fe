package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/connectors/trackunit/trackunitsim"
	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// trackunitEnv holds the simulator's secrets as the config references them.
var trackunitEnv = []string{
	"TU_SECRET=" + trackunitsim.DefaultClientSecret,
	"TU_PASSWORD=" + trackunitsim.DefaultPassword,
}

// trackunitSecrets must appear in no output, log or file; "eyJ" starts
// every JWT (the base64 of `{"`), so it finds a leaked token.
var trackunitSecrets = []string{trackunitsim.DefaultClientSecret, trackunitsim.DefaultPassword, "eyJ"}

var trackunitStreams = []string{"assets", "locations", "fleet_snapshot", "asset_events"}

func trackunitConfig(srv *trackunitsim.Server, out, extra string) string {
	return fmt.Sprintf(`sources:
  - name: fleet
    connector: trackunit
    config:
      api_url: %s
      token_url: %s
      client_id: %s
      client_secret: ${TU_SECRET}
      username: %s
      password: ${TU_PASSWORD}
      start_date: "2024-01-01"
%sdestination:
  path: %s
state: %s
`, srv.URL, srv.TokenURL, trackunitsim.DefaultClientID, trackunitsim.DefaultUsername, extra,
		filepath.Join(out, "data"), filepath.Join(out, "state"))
}

// trackunitSync runs `quiver sync --json` and returns its summary.
func trackunitSync(ctx context.Context, t *testing.T, cfg string) (*runResult, result) {
	t.Helper()
	r := quiver(ctx, t, trackunitEnv, "sync", "-c", cfg, "--json", "--log-level", "debug")
	if r.code != 0 {
		t.Fatalf("quiver sync exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, tail(r.stderr, 40))
	}
	var res runResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	return &res, r
}

// trackunitKeys are the columns that identify each stream's records, as
// trackunitsim's Server.IDs lists them.
var trackunitKeys = map[string]string{"assets": "id", "locations": "asset_id", "fleet_snapshot": "pin", "asset_events": "id"}

// checkOnce reads a stream's Parquet files and checks that they hold every
// record of the simulator exactly once; it returns the rows by key, without
// the lineage columns.
func checkOnce(t *testing.T, srv *trackunitsim.Server, out, stream string) map[string]map[string]any {
	t.Helper()
	tb := readStream(t, filepath.Join(out, "data", "fleet", stream))
	st, err := schemas.Load("trackunit", stream)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range st.Schema.Fields() {
		got, ok := tb.schema.FieldsByName(f.Name)
		if !ok || !arrow.TypeEqual(got[0].Type, f.Type) {
			t.Errorf("%s: column %s has type %v, want %v", stream, f.Name, got, f.Type)
		}
	}
	byKey := map[string]map[string]any{}
	for _, row := range tb.rows {
		key := fmt.Sprint(row[trackunitKeys[stream]])
		if byKey[key] != nil {
			t.Errorf("%s: %s written twice", stream, key)
		}
		if row["_quiver_run_id"] == nil || row["_quiver_extracted_at"] == nil {
			t.Errorf("%s: %s lacks lineage columns", stream, key)
		}
		delete(row, "_quiver_run_id")
		delete(row, "_quiver_extracted_at")
		noneRescued(t, stream, key, row)
		byKey[key] = row
	}
	want := srv.IDs(stream)
	if len(tb.rows) != len(want) {
		t.Errorf("%s: %d rows in %d files, want %d", stream, len(tb.rows), tb.files, len(want))
	}
	for _, id := range want {
		if byKey[id] == nil {
			t.Errorf("%s: %s is missing", stream, id)
			break
		}
	}
	return byKey
}

// checkTrackunitValues compares every row of a stream with the simulator's
// record (PascalCase AEMP keys), converted as the schema says.
func checkTrackunitValues(t *testing.T, srv *trackunitsim.Server, stream string, rows map[string]map[string]any) {
	t.Helper()
	st, err := schemas.Load("trackunit", stream)
	if err != nil {
		t.Fatal(err)
	}
	ids := srv.IDs(stream)
	for i, id := range ids {
		rec := srv.Record(stream, i)
		var want map[string]any
		switch stream {
		case "locations":
			// GeoJSON: the coordinates by position, the properties by key.
			want = jsonRow(t, st.Schema.Fields(), rec["properties"].(map[string]any))
			coords := rec["geometry"].(map[string]any)["coordinates"].([]any)
			want["longitude"], want["latitude"], want["altitude"] = coords[0], coords[1], nil
			if len(coords) > 2 {
				want["altitude"] = coords[2]
			}
		case "fleet_snapshot":
			// The header's columns are at the top; snapshot_time is the
			// simulator's clock.
			want = jsonRow(t, st.Schema.Fields(), rec)
			for k, v := range jsonRow(t, st.Schema.Fields(), rec["EquipmentHeader"].(map[string]any)) {
				if v != nil {
					want[k] = v
				}
			}
			if rows[id]["snapshot_time"] == nil {
				t.Errorf("%s %s: no snapshot_time", stream, id)
			}
			delete(want, "snapshot_time")
			delete(rows[id], "snapshot_time")
		default:
			want = jsonRow(t, st.Schema.Fields(), rec)
		}
		if diff := cmp.Diff(want, rows[id]); diff != "" {
			t.Errorf("%s record %s mismatch (-want +got):\n%s", stream, id, diff)
			return
		}
	}
}

// TestTrackunit_SyncWithFaults is the core end-to-end check: the real
// plugin syncs all four streams from the simulator with 429s, 5xx, cut and
// malformed bodies and resets, with the AEMP and locations rate limits on,
// and with tokens that expire every two seconds; every record arrives
// exactly once with the values the API sent.
func TestTrackunit_SyncWithFaults(t *testing.T) {
	t.Parallel()
	srv := trackunitsim.NewServer(t, trackunitsim.Options{
		Seed:   4,
		Counts: map[string]int{"assets": 230, "locations": 120, "fleet_snapshot": 250, "asset_events": 600},
		Faults: fault.Options{Rate: 0.25, Seed: 6, Kinds: []fault.Kind{
			fault.RateLimit, fault.RateLimitDate, fault.RateLimitBare, fault.ServerError,
			fault.Truncate, fault.Malformed, fault.Reset, fault.Slow,
		}},
	})
	srv.SetTokenTTL(2 * time.Second) // shorter than the sync
	out := t.TempDir()
	cfg := writeConfig(t, out, trackunitConfig(srv, out, "      page_size: 25\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	res, r := trackunitSync(ctx, t, cfg)
	took := time.Since(start)
	for _, s := range trackunitStreams {
		rows := checkOnce(t, srv, out, s)
		checkTrackunitValues(t, srv, s, rows)
	}
	if n := srv.Faults.Total(); n < 10 {
		t.Errorf("only %d faults were injected; the test does not exercise retries", n)
	}
	st := srv.Stats()
	if took > 4*time.Second && st.PasswordGrants < 2 {
		t.Errorf("%d password grants in a %v sync with 2s tokens: tokens were not renewed", st.PasswordGrants, took)
	}
	if st.TokenFailures != 0 || st.AuthFailures > 2 {
		t.Errorf("%d token failures, %d requests answered 401", st.TokenFailures, st.AuthFailures)
	}
	if st.RateLimited["locations"] != 0 {
		t.Errorf("%d locations requests refused: the connector does not keep the per-page limit", st.RateLimited["locations"])
	}
	if res.Status != "ok" || len(res.Sources) != 1 || len(res.Sources[0].Streams) != len(trackunitStreams) {
		t.Fatalf("--json result = %+v", res)
	}
	var retries int64
	for _, s := range res.Sources[0].Streams {
		for _, n := range s.Retries {
			retries += n
		}
	}
	if retries == 0 {
		t.Error("no retries reported")
	}
	warned := false // a rate limit that slows the sync is logged at Warn
	for _, line := range strings.Split(r.stderr, "\n") {
		warned = warned || strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, `"status":429`)
	}
	if !warned {
		t.Error("no Warn line for a rate limit")
	}
	t.Logf("sync took %v: %d password grants, %d faults, %d retries", took, st.PasswordGrants, srv.Faults.Total(), retries)
	checkNoLeaks(t, out, trackunitSecrets, r)
}

// TestTrackunit_Incremental: the other shapes docs/vendors/trackunit.md
// allows (camelCase AEMP keys, a locations cursor that is left out at the
// end) and refresh tokens; a second sync appends only the new asset events
// and replaces the full-refresh streams.
func TestTrackunit_Incremental(t *testing.T) {
	t.Parallel()
	srv := trackunitsim.NewServer(t, trackunitsim.Options{
		Seed:      8,
		Counts:    map[string]int{"assets": 120, "locations": 90, "fleet_snapshot": 140, "asset_events": 333},
		AEMPKeys:  trackunitsim.CamelCase,
		CursorEnd: trackunitsim.CursorOmit,
		Faults:    fault.Options{Rate: 1, Kinds: []fault.Kind{fault.Slow}, SlowDelay: 100 * time.Millisecond, MaxConsecutive: 1 << 20},
	})
	srv.SetTokenTTL(1500 * time.Millisecond)
	out := t.TempDir()
	cfg := writeConfig(t, out, trackunitConfig(srv, out, "      scope: api offline_access\n      page_size: 40\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	first, r1 := trackunitSync(ctx, t, cfg)
	for _, s := range trackunitStreams {
		checkOnce(t, srv, out, s)
	}
	if err := srv.Append("asset_events", 25); err != nil {
		t.Fatal(err)
	}
	if err := srv.Append("assets", 5); err != nil {
		t.Fatal(err)
	}
	second, r2 := trackunitSync(ctx, t, cfg)
	for _, s := range trackunitStreams {
		checkOnce(t, srv, out, s)
	}
	if got := second.stream("asset_events"); got == nil || got.Records != 25 || got.Mode != "incremental" {
		t.Errorf("second sync of asset_events: %+v, want 25 new records, incremental", got)
	}
	if got := second.stream("assets"); got == nil || got.Records != 125 || got.Mode != "full_refresh" {
		t.Errorf("second sync of assets: %+v, want all 125 records, full refresh", got)
	}
	if before, after := compact(second.stream("asset_events").StateBefore), compact(first.stream("asset_events").StateAfter); before != after {
		t.Errorf("the second sync started from %s, want the first's final state %s", before, after)
	}
	st := srv.Stats()
	if st.PasswordGrants != 2 || st.RefreshGrants == 0 || st.TokenFailures != 0 {
		t.Errorf("%d password grants (want one per sync), %d refresh grants, %d token failures", st.PasswordGrants, st.RefreshGrants, st.TokenFailures)
	}
	checkNoLeaks(t, out, trackunitSecrets, r1, r2)
}
