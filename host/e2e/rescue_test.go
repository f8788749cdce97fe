package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/host"
	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk/records"
)

// The TrackTik simulator's alternative variant puts two keys no schema
// knows on every record ("uri", "customFields") and serves "region" and
// "account" as objects instead of ids in records 100 to 199.
var rescueCounts = map[string]int{"clients": 60, "employees": 150, "shifts": 250}

// rescueConfig is trackTikConfig with the three streams, small pages and
// extra source keys.
func rescueConfig(srv *tracktiksim.Server, out, extra string) string {
	return trackTikConfig(srv, out, "      page_size: 50\n    streams: [clients, employees, shifts]\n"+extra)
}

// members returns the members of the JSON object obj as raw JSON text, as
// it was written.
func members(t *testing.T, obj []byte) map[string]string {
	t.Helper()
	dec := jsontext.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		t.Fatalf("%s is not a JSON object: %v", obj, err)
	}
	out := map[string]string{}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil {
			t.Fatal(err)
		}
		key := name.String()
		v, err := dec.ReadValue()
		if err != nil {
			t.Fatal(err)
		}
		out[key] = string(v)
	}
	return out
}

// checkRescued checks every row of a stream against the record the
// simulator served: each key the schema lacks and each value whose column
// is null while the record had one is in _quiver_rescued with its JSON
// text as served, and nothing else is.
func checkRescued(t *testing.T, srv *tracktiksim.Server, out, stream string) {
	t.Helper()
	st, err := schemas.Load("tracktik", stream)
	if err != nil {
		t.Fatal(err)
	}
	columns := map[string]string{} // JSON key -> column
	for _, f := range st.Schema.Fields() {
		key := f.Name
		if k, ok := f.Metadata.GetValue(schemas.MetaJSON); ok {
			key = k
		}
		columns[key] = f.Name
	}
	tb := readStream(t, filepath.Join(out, "data", "acme", stream))
	byID := map[int64]map[string]any{}
	for _, row := range tb.rows {
		byID[row["id"].(int64)] = row
	}
	if len(byID) != srv.Count(stream) {
		t.Errorf("%s: %d records, want %d", stream, len(byID), srv.Count(stream))
	}
	mismatched := 0
	for i := range srv.Count(stream) {
		served := members(t, srv.RecordJSON(stream, i))
		id := srv.Record(stream, i)["id"].(float64)
		row := byID[int64(id)]
		if row == nil {
			t.Errorf("%s: record %v missing", stream, id)
			continue
		}
		text, ok := row[records.RescueColumn].(string)
		if !ok {
			t.Errorf("%s: record %v: %s = %v, want the rescued keys", stream, id, records.RescueColumn, row[records.RescueColumn])
			continue
		}
		want := map[string]string{}
		for key, raw := range served {
			col, known := columns[key]
			switch {
			case !known:
				want[key] = raw
			case row[col] == nil && raw != "null" && raw != `""`:
				want[key] = raw
				mismatched++
			}
		}
		if diff := cmp.Diff(want, members(t, []byte(text))); diff != "" {
			t.Errorf("%s: record %v: rescued values differ from what the API sent (-want +got):\n%s", stream, id, diff)
		}
	}
	if stream == "employees" && mismatched != 50 {
		t.Errorf("%s: %d values rescued from their column, want the 50 regions served as objects", stream, mismatched)
	}
}

// TestRescue_TrackTikAlt: against the simulator's other shapes, every
// record lands with what the schema cannot take in _quiver_rescued, byte
// for byte; the run exits 0; the summary, --json and the manifest name the
// unknown keys and mismatched columns; each column is warned about once.
func TestRescue_TrackTikAlt(t *testing.T) {
	t.Parallel()
	srv := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 21, Counts: rescueCounts, Variant: tracktiksim.VariantAlt})
	out := t.TempDir()
	cfg := writeConfig(t, out, rescueConfig(srv, out, ""))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	r := quiver(ctx, t, trackTikEnv, "sync", "-c", cfg)
	if r.code != 0 {
		t.Fatalf("quiver sync exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, tail(r.stderr, 30))
	}
	for _, s := range []string{"clients", "employees", "shifts"} {
		checkRescued(t, srv, out, s)
	}
	for _, want := range []string{
		"RESCUED",
		"acme.clients: 120 values kept in _quiver_rescued; keys the schema lacks: customFields, uri\n",
		"acme.employees: 350 values kept in _quiver_rescued; keys the schema lacks: customFields, uri; values that did not fit (the column is null): region\n",
		"values that did not fit (the column is null): account\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	// One warning per stream and column (or key), naming an example record
	// and the shape, not the value.
	for _, want := range []string{
		`"stream":"employees","column":"region","key":"region","shape":"object","record_id":"`,
		`"stream":"shifts","column":"account"`,
		`"stream":"clients","key":"uri","shape":"string","record_id":"`,
	} {
		if n := strings.Count(r.stderr, want); n != 1 {
			t.Errorf("stderr has %d warnings with %q, want 1:\n%s", n, want, tail(r.stderr, 40))
		}
	}
	if strings.Contains(r.stderr, `"regions"`) || strings.Contains(r.stderr, "badge") {
		t.Errorf("a warning shows a value:\n%s", r.stderr)
	}

	// The manifest and --json hold the same drift.
	runs, err := filepath.Glob(filepath.Join(out, "data", "_runs", "*.json"))
	if err != nil || len(runs) != 1 {
		t.Fatalf("manifests: %v, %v", runs, err)
	}
	manifest, err := os.ReadFile(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	r = quiver(ctx, t, trackTikEnv, "sync", "-c", cfg, "--json", "--full-refresh")
	if r.code != 0 {
		t.Fatalf("quiver sync --json exit %d\nstderr:\n%s", r.code, tail(r.stderr, 30))
	}
	wantEmployees := &host.Drift{
		Rescued: 350, UnknownKeys: []string{"customFields", "uri"}, MismatchedColumns: []string{"region"},
		Keys: []host.DriftKey{
			{Key: "customFields", Shapes: []string{"object"}, Count: 150},
			{Key: "region", Column: "region", Shapes: []string{"object"}, Count: 50},
			{Key: "uri", Shapes: []string{"string"}, Count: 150},
		},
	}
	for what, text := range map[string]string{"manifest": string(manifest), "--json": r.stdout} {
		var res host.Result
		if err := json.Unmarshal([]byte(text), &res); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, text)
		}
		drift := map[string]*host.Drift{}
		for _, st := range res.Sources[0].Streams {
			drift[st.Name] = st.Drift
		}
		got := drift["employees"]
		if got != nil {
			for i := range got.Keys {
				if got.Keys[i].RecordID == "" {
					t.Errorf("%s: employees drift %s has no example record", what, got.Keys[i].Key)
				}
				got.Keys[i].RecordID = ""
			}
		}
		if diff := cmp.Diff(wantEmployees, got); diff != "" {
			t.Errorf("%s: employees drift mismatch (-want +got):\n%s", what, diff)
		}
		if d := drift["shifts"]; d == nil || fmt.Sprint(d.MismatchedColumns) != "[account]" || fmt.Sprint(d.UnknownKeys) != "[customFields uri]" {
			t.Errorf("%s: shifts drift = %+v, want account mismatched, customFields and uri unknown", what, d)
		}
	}
}

// TestRescue_ContractFail: with schema_contract on_mismatch: fail, a stream
// with a value that does not fit fails with the stream, page, record id and
// field; the run exits 3 (partial), the other streams complete, and the
// files committed by an earlier run are all kept.
func TestRescue_ContractFail(t *testing.T) {
	t.Parallel()
	srv := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 22, Counts: rescueCounts, Variant: tracktiksim.VariantAlt})
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := writeConfig(t, out, rescueConfig(srv, out, ""))
	if r := quiver(ctx, t, trackTikEnv, "sync", "-c", cfg); r.code != 0 {
		t.Fatalf("first sync exit %d\n%s", r.code, tail(r.stderr, 30))
	}
	before := map[string]int{}
	for _, s := range []string{"employees", "shifts"} {
		before[s] = len(readStream(t, filepath.Join(out, "data", "acme", s)).rows)
	}

	cfg = writeConfig(t, out, rescueConfig(srv, out, "    schema_contract:\n      on_mismatch: fail\n"))
	r := quiver(ctx, t, trackTikEnv, "sync", "-c", cfg, "--json", "--full-refresh")
	if r.code != 3 {
		t.Fatalf("sync with on_mismatch: fail: exit %d, want 3 (partial)\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, tail(r.stderr, 30))
	}
	var res host.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	status := map[string]*host.StreamResult{}
	for _, st := range res.Sources[0].Streams {
		status[st.Name] = st
	}
	if st := status["clients"]; st == nil || st.Status != "complete" {
		t.Errorf("clients = %+v, want complete (its values all fit; unknown keys are still rescued)", st)
	}
	for stream, field := range map[string]string{"employees": "region", "shifts": "account"} {
		st := status[stream]
		if st == nil || st.Status != "failed" {
			t.Errorf("%s = %+v, want failed", stream, st)
			continue
		}
		// Records 100 to 199 hold objects: the first is on page 3.
		for _, want := range []string{"stream " + stream + " page 3", "record id=", "field " + field + ": want int64, got {\"id\":"} {
			if !strings.Contains(st.Error, want) {
				t.Errorf("%s error %q lacks %q", stream, st.Error, want)
			}
		}
		if n := len(readStream(t, filepath.Join(out, "data", "acme", stream)).rows); n != before[stream] {
			t.Errorf("%s: %d records after the failed run, want the %d committed before", stream, n, before[stream])
		}
	}
}

// TestRescue_DiscoverSample: discover --sample reads the first records of
// every stream and lists the keys the schema lacks and the columns whose
// values do not fit, in the table and in --json.
func TestRescue_DiscoverSample(t *testing.T) {
	t.Parallel()
	srv := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 23, Counts: rescueCounts, Variant: tracktiksim.VariantAlt})
	out := t.TempDir()
	cfg := writeConfig(t, out, rescueConfig(srv, out, ""))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	r := quiver(ctx, t, trackTikEnv, "discover", "-c", cfg, "--sample", "120", "--json")
	if r.code != 0 {
		t.Fatalf("discover --sample exit %d\n%s", r.code, tail(r.stderr, 30))
	}
	var cats []host.SourceCatalog
	if err := json.Unmarshal([]byte(r.stdout), &cats); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	samples := map[string]*host.StreamSample{}
	for _, s := range cats[0].Streams {
		samples[s.Name] = s.Sample
	}
	for stream, want := range map[string]struct {
		records  int64
		rescued  int64
		mismatch string
	}{
		"clients":   {60, 120, "[]"},
		"employees": {120, 260, "[region]"}, // records 100 to 119 have region objects
		"shifts":    {120, 260, "[account]"},
	} {
		s := samples[stream]
		if s == nil || s.Drift == nil {
			t.Errorf("%s: sample %+v, want drift", stream, s)
			continue
		}
		if s.Records != want.records || s.Drift.Rescued != want.rescued || fmt.Sprint(s.Drift.MismatchedColumns) != want.mismatch ||
			fmt.Sprint(s.Drift.UnknownKeys) != "[customFields uri]" {
			t.Errorf("%s: sample %d records, drift %+v; want %d records, %d rescued, mismatched %s, unknown [customFields uri]",
				stream, s.Records, s.Drift, want.records, want.rescued, want.mismatch)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "data", "acme")); !os.IsNotExist(err) {
		t.Errorf("discover --sample wrote output: %v", err)
	}

	r = quiver(ctx, t, trackTikEnv, "discover", "-c", cfg, "--sample", "120")
	if r.code != 0 {
		t.Fatalf("discover --sample exit %d\n%s", r.code, tail(r.stderr, 30))
	}
	for _, want := range []string{
		"  sample: 120 records; 260 values would go to _quiver_rescued:\n",
		"    region                           does not fit column region (object; 20 values, e.g. record ",
		"    uri                              key the schema lacks (string; 120 values, e.g. record ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("discover --sample output lacks %q:\n%s", want, r.stdout)
		}
	}
}
