package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// trackViaEnv holds the simulator's credentials as the config references
// them.
var trackViaEnv = []string{
	"TV_USER_KEY=" + trackviasim.DefaultUserKey,
	"TV_TOKEN=" + trackviasim.DefaultAccessToken,
}

func trackViaConfig(srv *trackviasim.Server, out, extra string) string {
	return fmt.Sprintf(`sources:
  - name: tv
    connector: trackvia
    config:
      base_url: %s
      user_key: ${TV_USER_KEY}
      access_token: ${TV_TOKEN}
%sdestination:
  path: %s
state: %s
`, srv.URL, extra, filepath.Join(out, "data"), filepath.Join(out, "state"))
}

// trackViaViews are the simulator's views (and users) by stream name.
var trackViaViews = map[string]int64{
	"users":                  trackviasim.UsersViewID,
	"all_contacts":           trackviasim.ViewAllContacts,
	"all_contacts_102":       trackviasim.ViewAllContactsDash,
	"work_orders":            trackviasim.ViewWorkOrders,
	"grossenubersicht_lager": trackviasim.ViewLager,
	"leere_ansicht":          trackviasim.ViewEmpty,
}

// trackViaTypes is the Arrow type each TrackVia field type must have in
// the files.
var trackViaTypes = map[trackviasim.FieldType]string{
	trackviasim.ShortAnswer: "utf8", trackviasim.Paragraph: "utf8", trackviasim.Email: "utf8", trackviasim.URL: "utf8",
	trackviasim.Number: "float64", trackviasim.Currency: "float64", trackviasim.Percentage: "float64",
	trackviasim.AutoIncrement: "int64", trackviasim.DropDown: "utf8", trackviasim.Checkbox: "list<utf8>",
	trackviasim.Date: "date32", trackviasim.DateTime: "timestamp[us, tz=UTC]",
	trackviasim.Document: "utf8", trackviasim.Image: "utf8", trackviasim.User: "utf8", trackviasim.UserGroup: "utf8",
	trackviasim.UserStatus: "utf8", trackviasim.TimeZone: "utf8", trackviasim.Identifier: "utf8", trackviasim.Relationship: "utf8",
	trackviasim.Point: "struct<latitude: float64, longitude: float64>",
}

// checkTrackViaRows checks rows (from files of schema) against the
// simulator's view: every record exactly once, each field a column of the
// type its TrackVia type calls for, holding the record's value.
func checkTrackViaRows(t *testing.T, srv *trackviasim.Server, stream string, schema *arrow.Schema, rows []map[string]any) {
	t.Helper()
	id := trackViaViews[stream]
	n := srv.Count(id)
	if len(rows) != n {
		t.Errorf("%s: %d rows, want %d", stream, len(rows), n)
	}
	if n == 0 {
		return
	}
	for _, f := range srv.Structure(id) {
		got, ok := schema.FieldsByName(f.Name)
		if f.Name == "id" {
			continue
		}
		if !ok || typeName(got[0].Type) != trackViaTypes[f.Type] {
			t.Errorf("%s: column %q (%s) is %v, want %s", stream, f.Name, f.Type, got, trackViaTypes[f.Type])
		}
	}
	byID := map[int64]map[string]any{}
	for _, row := range rows {
		rid := row["id"].(int64)
		if byID[rid] != nil {
			t.Errorf("%s: id %d written twice", stream, rid)
		}
		if row["_quiver_run_id"] == nil {
			t.Errorf("%s: id %d lacks lineage columns", stream, rid)
		}
		delete(row, "_quiver_run_id")
		delete(row, "_quiver_extracted_at")
		noneRescued(t, stream, rid, row)
		byID[rid] = row
	}
	for i := range n {
		want, err := connectortest.Expect(schema, srv.Record(id, i))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, byID[want["id"].(int64)]); diff != "" {
			t.Fatalf("%s record %v mismatch (-want +got):\n%s", stream, want["id"], diff)
		}
	}
}

// typeName names dt, lists by their element type only: Parquet readers
// name the element field as they please ("item", "list", "element").
func typeName(dt arrow.DataType) string {
	if l, ok := dt.(*arrow.ListType); ok {
		return "list<" + typeName(l.Elem()) + ">"
	}
	return dt.String()
}

// trackViaResult is the part of `quiver sync --json` the tests read.
type trackViaResult struct {
	Status  string
	Sources []struct {
		Streams []struct {
			Name          string
			Status        string
			Mode          string
			Records       int64
			Files         []string
			Error         string
			SchemaChanged bool `json:"schema_changed"`
		}
	}
}

func parseTrackViaResult(t *testing.T, r result) trackViaResult {
	t.Helper()
	var res trackViaResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	return res
}

// checkNoTrackViaSecrets fails if the API key or token appears in output,
// logs or files.
func checkNoTrackViaSecrets(t *testing.T, dir string, results ...result) {
	t.Helper()
	secrets := []string{trackviasim.DefaultUserKey, trackviasim.DefaultAccessToken}
	for _, r := range results {
		for _, s := range secrets {
			if strings.Contains(r.stdout+r.stderr, s) {
				t.Errorf("a secret appears in quiver's output or logs")
			}
		}
	}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || filepath.Base(path) == "quiver.yaml" {
			return err
		}
		b, err := os.ReadFile(path)
		for _, s := range secrets {
			if err == nil && strings.Contains(string(b), s) {
				t.Errorf("file %s holds a secret", path)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTrackVia_SyncWithFaults is the TrackVia end-to-end check: the real
// plugin against the simulator with 429s, 5xx, cut and broken bodies and
// resets; every record of every view arrives exactly once with the types
// of its fields, and `quiver discover` prints the discovered schemas.
func TestTrackVia_SyncWithFaults(t *testing.T) {
	t.Parallel()
	srv := trackviasim.NewServer(t, trackviasim.Options{
		Seed: 3,
		Faults: fault.Options{Rate: 0.15, Seed: 9, Kinds: []fault.Kind{
			fault.RateLimit, fault.RateLimitDate, fault.ServerError, fault.Truncate, fault.Malformed, fault.Reset, fault.Slow,
		}},
	})
	out := t.TempDir()
	cfg := writeConfig(t, out, trackViaConfig(srv, out, "      page_size: 50\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	d := quiver(ctx, t, trackViaEnv, "discover", "-c", cfg)
	if d.code != 0 {
		t.Fatalf("quiver discover exit %d\n%s\n%s", d.code, d.stdout, tail(d.stderr, 30))
	}
	for _, want := range []string{
		"tv.all_contacts  (primary key: id; cursor: Last Updated; modes: incremental, full_refresh; updates: cursor)",
		"tv.all_contacts_102  (",
		"tv.apps  (primary key: id; cursor: none; modes: full_refresh; updates: snapshot)",
		"tv.users  (primary key: id; cursor: none; modes: full_refresh; updates: snapshot)",
		"    id                               int64 not null",
		"    Größe                            float64",
		"    Preis (€)                        float64",
		"    Standort                         struct<latitude: float64, longitude: float64>",
		"    Etiketten                        list<item: utf8, nullable>",
		"    Lieferdatum                      date32",
		"    Last Updated                     timestamp[us, tz=UTC]",
	} {
		if !strings.Contains(d.stdout, want) {
			t.Errorf("quiver discover does not print %q:\n%s", want, d.stdout)
		}
	}

	r := quiver(ctx, t, trackViaEnv, "sync", "-c", cfg, "--json", "--log-level", "debug")
	if r.code != 0 {
		t.Fatalf("quiver sync exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, tail(r.stderr, 40))
	}
	for stream := range trackViaViews {
		tb := readStream(t, filepath.Join(out, "data", "tv", stream))
		checkTrackViaRows(t, srv, stream, tb.schema, tb.rows)
	}
	apps := readStream(t, filepath.Join(out, "data", "tv", "apps"))
	views := readStream(t, filepath.Join(out, "data", "tv", "views"))
	if len(apps.rows) != 3 || len(views.rows) != 5 {
		t.Errorf("%d apps, %d views; want 3 and 5", len(apps.rows), len(views.rows))
	}
	if n := srv.Faults.Total(); n < 5 {
		t.Errorf("only %d faults were injected; the test does not exercise retries", n)
	}
	res := parseTrackViaResult(t, r)
	if res.Status != "ok" || len(res.Sources) != 1 || len(res.Sources[0].Streams) != 8 {
		t.Errorf("--json result = %+v", res)
	}
	checkNoTrackViaSecrets(t, out, d, r)
}

// parquetSchema returns the Arrow schema stored in a Parquet file.
func parquetSchema(t *testing.T, path string) *arrow.Schema {
	t.Helper()
	f, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fr, err := pqarrow.NewFileReader(f, pqarrow.ArrowReadProperties{}, memory.NewGoAllocator())
	if err != nil {
		t.Fatal(err)
	}
	s, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// streamFiles returns the stream's Parquet files by run: "part-<run>-".
func streamFiles(t *testing.T, dir string) map[string][]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	out := map[string][]string{}
	for _, p := range paths {
		name := strings.TrimPrefix(filepath.Base(p), "part-")
		run := name[:strings.LastIndexByte(name, '-')]
		out[run] = append(out[run], p)
	}
	return out
}

// TestTrackVia_StructureChange changes a view's structure between two
// runs: the first run's files keep the old schema, the second run's have
// the new one, the result says the schema changed, and since the state was
// for the old structure the second run reads the whole view again.
func TestTrackVia_StructureChange(t *testing.T) {
	t.Parallel()
	srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 4})
	out := t.TempDir()
	cfg := writeConfig(t, out, trackViaConfig(srv, out, "      views: [All Contacts, 201]\n    streams: [all_contacts, work_orders]\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r1 := quiver(ctx, t, trackViaEnv, "sync", "-c", cfg, "--json")
	if r1.code != 0 {
		t.Fatalf("first run exit %d\n%s\n%s", r1.code, r1.stdout, tail(r1.stderr, 30))
	}
	const view = trackviasim.ViewAllContacts
	dir := filepath.Join(out, "data", "tv", "all_contacts")
	first := readStream(t, dir)
	checkTrackViaRows(t, srv, "all_contacts", first.schema, first.rows)
	old := first.schema

	if err := srv.RenameField(view, "Revenue", "Umsatz (€)"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddField(view, "Region", trackviasim.DropDown); err != nil {
		t.Fatal(err)
	}
	if err := srv.RemoveField(view, "Notes"); err != nil {
		t.Fatal(err)
	}
	r2 := quiver(ctx, t, trackViaEnv, "sync", "-c", cfg, "--json")
	if r2.code != 0 {
		t.Fatalf("second run exit %d\n%s\n%s", r2.code, r2.stdout, tail(r2.stderr, 30))
	}
	res := parseTrackViaResult(t, r2)
	for _, s := range res.Sources[0].Streams {
		if changed := s.Name == "all_contacts"; s.SchemaChanged != changed || s.Mode != "incremental" {
			t.Errorf("stream %s: mode %s, schema_changed %v; want incremental, %v", s.Name, s.Mode, s.SchemaChanged, changed)
		}
	}
	runs := streamFiles(t, dir)
	if len(runs) != 2 {
		t.Fatalf("files of %d runs, want 2: %v", len(runs), runs)
	}
	var ids []string
	for id := range runs {
		ids = append(ids, id)
	}
	sort.Strings(ids) // run ids start with their time
	for _, p := range runs[ids[0]] {
		if s := parquetSchema(t, p); !s.HasField("Revenue") || !s.HasField("Notes") || s.HasField("Region") {
			t.Errorf("first run's file %s lost its schema:\n%s", filepath.Base(p), s)
		}
	}
	// The second run's rows: every record again, with the new columns.
	newRows := readStream(t, dir)
	var rows []map[string]any
	var schema *arrow.Schema
	for _, row := range newRows.rows {
		if row["_quiver_run_id"] != newRows.rows[0]["_quiver_run_id"] {
			rows = append(rows, row)
		}
	}
	for _, p := range runs[ids[1]] {
		schema = parquetSchema(t, p)
		if !schema.HasField("Umsatz (€)") || !schema.HasField("Region") || schema.HasField("Revenue") || schema.HasField("Notes") {
			t.Errorf("second run's file %s does not have the new schema:\n%s", filepath.Base(p), schema)
		}
	}
	if schema != nil {
		checkTrackViaRows(t, srv, "all_contacts", schema, rows)
	}
	if old.Equal(schema) {
		t.Error("the schema did not change")
	}
}

// TestTrackVia_ExpiredToken: an expired auth token fails the source with
// exit code 4 after one request, saying what to do.
func TestTrackVia_ExpiredToken(t *testing.T) {
	t.Parallel()
	srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 1})
	srv.Expire(trackviasim.DefaultAccessToken)
	out := t.TempDir()
	cfg := writeConfig(t, out, trackViaConfig(srv, out, ""))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := quiver(ctx, t, trackViaEnv, "sync", "-c", cfg)
	if r.code != 4 {
		t.Fatalf("exit code %d, want 4\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, tail(r.stderr, 30))
	}
	for _, want := range []string{"auth token has expired", "a Super Admin must issue a new auth token"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the error does not say %q:\n%s", want, tail(r.stderr, 10))
		}
	}
	if st := srv.Stats(); st.Requests != 1 || st.ExpiredToken != 1 {
		t.Errorf("%d requests, %d with the expired token; want exactly one (no retries)", st.Requests, st.ExpiredToken)
	}
	checkNoTrackViaSecrets(t, out, r)
}

// TestTrackVia_NotSuperAdmin: a token that may not list users fails the
// users stream only (exit code 3, partial), with the reason.
func TestTrackVia_NotSuperAdmin(t *testing.T) {
	t.Parallel()
	const token = "api-user-token-not-super-admin"
	srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 1, Tokens: []trackviasim.Token{{Value: token, NotSuperAdmin: true}}})
	out := t.TempDir()
	cfg := writeConfig(t, out, trackViaConfig(srv, out, "    streams: [users, apps, leere_ansicht]\n"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := quiver(ctx, t, []string{"TV_USER_KEY=" + trackviasim.DefaultUserKey, "TV_TOKEN=" + token}, "sync", "-c", cfg, "--json")
	if r.code != 3 {
		t.Fatalf("exit code %d, want 3\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, tail(r.stderr, 30))
	}
	for _, s := range parseTrackViaResult(t, r).Sources[0].Streams {
		failed := s.Name == "users"
		if (s.Status == "failed") != failed || failed && !strings.Contains(s.Error, "needs a Super Admin's auth token") {
			t.Errorf("stream %s: status %s, error %q", s.Name, s.Status, s.Error)
		}
	}
}
