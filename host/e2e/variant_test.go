package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/connectors/capillary/capillarysim"
	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/connectors/trackunit/trackunitsim"
	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
	"github.com/quiver-etl/quiver/host"
	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk/records"
)

// A variantSource is one vendor's simulator in both variants, as the
// variant tests sync it.
type variantSource struct {
	name    string // the source's name in the config
	env     []string
	config  func(out string) string // a config writing below out
	streams []variantStream
}

// A variantStream is what the variant tests know of one stream: its
// records as the simulator serves them, in the order they are counted.
type variantStream struct {
	name  string // the stream
	key   string // the JSON key of the primary key
	count int
	raw   func(i int) []byte // record i's JSON as served
	// aliases maps JSON keys that fill a column although the schema names
	// another key (Trackunit's event-time keys) to that column.
	aliases map[string]string
}

// variantSources starts every simulator in variant ("" or "alt") with the
// same seed and small counts, and returns what the tests sync.
func variantSources(t *testing.T, variant string) []variantSource {
	t.Helper()
	tv := trackviasim.NewServer(t, trackviasim.Options{Seed: 21, Variant: variant,
		Records: map[int64]int{trackviasim.ViewAllContacts: 230, trackviasim.ViewWorkOrders: 210, trackviasim.ViewLager: 150}})
	tu := trackunitsim.NewServer(t, trackunitsim.Options{Seed: 22, Variant: variant,
		Counts: map[string]int{"assets": 120, "locations": 10, "fleet_snapshot": 10, "asset_events": 160}})
	cp := capillarysim.NewServer(t, capillarysim.Options{Seed: 23, Variant: variant, Customers: 120,
		RequestsPerMinute: capillarysim.NoRateLimit,
		Quirks:            capillarysim.Quirks{StringNumbers: capillarysim.Plain, BareObjects: capillarysim.Plain}})
	tt := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 24, Variant: variant,
		Counts: map[string]int{"employees": 150, "clients": 20, "positions": 30, "shifts": 250, "work-sessions": 120, "reports": 60}})
	var views []variantStream
	for _, stream := range slices.Sorted(maps.Keys(trackViaViews)) {
		id := trackViaViews[stream]
		views = append(views, variantStream{name: stream, key: "id", count: tv.Count(id),
			raw: func(i int) []byte { return tv.RecordJSON(id, i) }})
	}
	eventTime := map[string]string{"timestamp": "event_time", "occurredAt": "event_time"}
	var tiktok []variantStream
	for _, s := range trackTikStreams {
		tiktok = append(tiktok, variantStream{name: s, key: "id", count: tt.Count(s),
			raw: func(i int) []byte { return tt.RecordJSON(s, i) }})
	}
	return []variantSource{{
		name: "tv", env: trackViaEnv, streams: views,
		config: func(out string) string { return trackViaConfig(tv, out, "      page_size: 100\n") },
	}, {
		name: "fleet", env: trackunitEnv,
		config: func(out string) string {
			return strings.Replace(trackunitConfig(tu, out, "      page_size: 50\n"), "    config:", "    streams: [assets, asset_events]\n    config:", 1)
		},
		streams: []variantStream{
			{name: "assets", key: "id", count: tu.Count("assets"), raw: func(i int) []byte { return tu.RecordJSON("assets", i) }},
			{name: "asset_events", key: "id", count: tu.Count("asset_events"), aliases: eventTime,
				raw: func(i int) []byte { return tu.RecordJSON("asset_events", i) }},
		},
	}, {
		name: "loyal", env: capillaryEnv,
		config: func(out string) string { return capillaryConfig(cp, out, "") },
		streams: []variantStream{
			{name: "customers", key: "userId", count: cp.Count("customers"), raw: func(i int) []byte { return cp.RecordJSON("customers", i) }},
			{name: "transactions", key: "id", count: cp.Count("transactions"), raw: func(i int) []byte { return cp.RecordJSON("transactions", i) }},
		},
	}, {
		name: "acme", env: trackTikEnv, streams: tiktok,
		config: func(out string) string { return trackTikConfig(tt, out, "      page_size: 100\n") },
	}}
}

// variantRun is the part of `quiver sync --json` the variant tests read.
type variantRun struct {
	Status  string `json:"status"`
	Sources []struct {
		Streams []struct {
			Name    string `json:"name"`
			Status  string `json:"status"`
			Records int64  `json:"records"`
			Error   string `json:"error"`
			Drift   *struct {
				Rescued           int64    `json:"rescued"`
				UnknownKeys       []string `json:"unknown_keys"`
				MismatchedColumns []string `json:"mismatched_columns"`
			} `json:"drift"`
		} `json:"streams"`
	} `json:"sources"`
}

// TestVariantAlt_EveryRecordOnce syncs every simulator as it serves by
// default and in its alt variant (display text where ids were expected,
// other event-time keys or none, a customer search that takes only an
// empty q, unknown keys on every record, fields whose JSON type changes
// between pages), through the real plugins, and reads the Parquet back:
// the alt sync exits 0 and lands every record exactly once; each value is
// in its column as in the default sync, or, where the alt variant serves
// a shape its column does not take, null in its column and in
// _quiver_rescued with the JSON text the simulator sent; every key the
// schema does not know is in _quiver_rescued too, byte for byte; and the
// summary (--json, the manifest and the table) names the unknown keys and
// the mismatched columns with the count of rescued values.
//
// Then a full refresh of the alt variant with schema_contract
// {on_mismatch: fail} fails exactly the streams with mismatched values,
// naming stream, record id and field, exits 3 (1 when every stream of the
// run failed), and loses nothing the first sync committed: every stream
// still holds every record with its values.
func TestVariantAlt_EveryRecordOnce(t *testing.T) {
	t.Parallel()
	def, alt := variantSources(t, ""), variantSources(t, trackviasim.VariantAlt)
	for i := range def {
		t.Run(def[i].name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			outs := [2]string{t.TempDir(), t.TempDir()}
			var results [2]result
			for j, src := range []variantSource{def[i], alt[i]} {
				cfg := writeConfig(t, outs[j], src.config(outs[j]))
				results[j] = quiver(ctx, t, src.env, "sync", "-c", cfg, "--json")
				if results[j].code != 0 {
					t.Fatalf("quiver sync (variant %d) exit %d\nstdout:\n%s\nstderr:\n%s", j, results[j].code, results[j].stdout, tail(results[j].stderr, 30))
				}
			}
			var run variantRun
			if err := json.Unmarshal([]byte(results[1].stdout), &run); err != nil || len(run.Sources) != 1 {
				t.Fatalf("--json output: %v\n%s", err, results[1].stdout)
			}
			manifests, _ := filepath.Glob(filepath.Join(outs[1], "data", "_runs", "*.json"))
			if len(manifests) != 1 {
				t.Fatalf("manifests %v, want one", manifests)
			}
			var manifest variantRun
			if b, err := os.ReadFile(manifests[0]); err != nil || json.Unmarshal(b, &manifest) != nil {
				t.Fatalf("manifest %s: %v", manifests[0], err)
			}
			dir := func(out, stream string) string { return filepath.Join(out, "data", def[i].name, stream) }
			failing := map[string][]string{} // stream -> its mismatched columns
			for k, st := range alt[i].streams {
				got := checkVariantStream(t, st, def[i].streams[k], readStream(t, dir(outs[0], st.name)), readStream(t, dir(outs[1], st.name)))
				for _, r := range []variantRun{run, manifest} {
					checkDrift(t, r, st.name, got)
				}
				if len(got.mismatched) > 0 {
					failing[st.name] = got.mismatched
				}
			}

			// The same run, strict about values that do not fit.
			strict := strings.Replace(alt[i].config(outs[1]), "    config:\n", "    schema_contract: {on_mismatch: fail}\n    config:\n", 1)
			cfg := writeConfig(t, outs[1], strict)
			r := quiver(ctx, t, alt[i].env, "sync", "-c", cfg, "--json", "--full-refresh")
			want := 0 // every stream fits
			switch {
			case len(failing) == len(alt[i].streams):
				want = 1 // every stream failed: the run failed
			case len(failing) > 0:
				want = 3 // some did: partial
			}
			if r.code != want {
				t.Fatalf("strict sync exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, tail(r.stderr, 30))
			}
			if err := json.Unmarshal([]byte(r.stdout), &run); err != nil || len(run.Sources) != 1 {
				t.Fatalf("--json output: %v\n%s", err, r.stdout)
			}
			for _, st := range run.Sources[0].Streams {
				cols, fails := failing[st.Name]
				switch {
				case fails != (st.Status == "failed"):
					t.Errorf("strict sync: %s %s (%s), want failed: %v", st.Name, st.Status, st.Error, fails)
				case fails && !(strings.Contains(st.Error, "stream "+st.Name) && strings.Contains(st.Error, "record id=") && containsField(st.Error, cols)):
					t.Errorf("strict sync: %s failed with %q, want the stream, a record id and one of the fields %v named", st.Name, st.Error, cols)
				}
			}
			for k, st := range alt[i].streams {
				checkVariantStream(t, st, def[i].streams[k], readStream(t, dir(outs[0], st.name)), readStream(t, dir(outs[1], st.name)))
			}
		})
	}
}

// containsField reports whether msg names one of columns as a record's
// field.
func containsField(msg string, columns []string) bool {
	for _, c := range columns {
		if strings.Contains(msg, "field "+c) {
			return true
		}
	}
	return false
}

// A variantDrift is what checkVariantStream found rescued in a stream.
type variantDrift struct {
	values     int      // rescued values
	unknown    []string // keys the schema does not know
	mismatched []string // columns some values did not fit
}

// checkDrift checks the drift run reports for stream against what the
// stream's files hold: the same unknown keys and mismatched columns, and
// at least as many rescued values.
func checkDrift(t *testing.T, run variantRun, stream string, want variantDrift) {
	t.Helper()
	for _, st := range run.Sources[0].Streams {
		if st.Name != stream {
			continue
		}
		d := st.Drift
		switch {
		case d == nil && want.values == 0:
			return
		case d == nil:
			t.Errorf("%s: no drift reported, want %d rescued values", stream, want.values)
			return
		}
		// Rescued counts values as read: TrackVia reads a few records of
		// each page twice (the pages overlap), so it may count more than
		// the files hold.
		if d.Rescued < int64(want.values) || !slices.Equal(d.UnknownKeys, want.unknown) || !slices.Equal(d.MismatchedColumns, want.mismatched) {
			t.Errorf("%s: drift %d rescued, unknown %v, mismatched %v; want %d, %v, %v",
				stream, d.Rescued, d.UnknownKeys, d.MismatchedColumns, want.values, want.unknown, want.mismatched)
		}
		return
	}
	t.Errorf("%s: not in the run's result", stream)
}

// checkVariantStream checks the alt sync's rows of one stream against the
// records the alt simulator served and the default sync's rows, and
// returns what was rescued.
func checkVariantStream(t *testing.T, alt, def variantStream, defRows, altRows *table) variantDrift {
	t.Helper()
	var drift variantDrift
	if len(altRows.rows) != alt.count || len(defRows.rows) != def.count {
		t.Errorf("%s: %d rows (default %d), want %d (default %d)", alt.name, len(altRows.rows), len(defRows.rows), alt.count, def.count)
	}
	if alt.count == 0 {
		return drift
	}
	colOf := map[string]string{} // JSON key -> column
	for _, f := range altRows.schema.Fields() {
		key := f.Name
		if k, ok := f.Metadata.GetValue(schemas.MetaJSON); ok {
			key = k
		}
		colOf[key] = f.Name
	}
	for k, c := range alt.aliases {
		colOf[k] = c
	}
	pkCol := colOf[alt.key]
	byKey := func(tb *table) map[string]map[string]any {
		m := map[string]map[string]any{}
		for _, row := range tb.rows {
			k := fmt.Sprint(row[pkCol])
			if m[k] != nil {
				t.Errorf("%s: %s %s written twice", alt.name, pkCol, k)
			}
			m[k] = row
		}
		return m
	}
	altBy, defBy := byKey(altRows), byKey(defRows)
	rescuedValues, unknownKeys := 0, 0
	for i := range alt.count {
		var raw, defRaw map[string]json.RawMessage
		if err := json.Unmarshal(alt.raw(i), &raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(def.raw(i), &defRaw); err != nil {
			t.Fatal(err)
		}
		pk := strings.Trim(string(raw[alt.key]), `"`)
		row, defRow := altBy[pk], defBy[pk]
		if row == nil || defRow == nil {
			t.Fatalf("%s: record %s missing (alt %v, default %v)", alt.name, pk, row != nil, defRow != nil)
		}
		var rescued map[string]json.RawMessage
		if s, ok := row[records.RescueColumn].(string); ok {
			if err := json.Unmarshal([]byte(s), &rescued); err != nil {
				t.Fatalf("%s %s: %s is not a JSON object: %v", alt.name, pk, records.RescueColumn, err)
			}
		}
		where := fmt.Sprintf("%s record %s", alt.name, pk)
		for k, v := range raw {
			c, isCol := colOf[k]
			switch {
			case !isCol:
				unknownKeys++
				if !slices.Contains(drift.unknown, k) {
					drift.unknown = append(drift.unknown, k)
				}
				if !bytes.Equal(rescued[k], v) {
					t.Errorf("%s: unknown key %q = %s, rescued as %s", where, k, v, rescued[k])
				}
			case bytes.Equal(v, defRaw[k]):
				if diff := cmp.Diff(defRow[c], row[c]); diff != "" || rescued[k] != nil {
					t.Errorf("%s: %q as in the default variant (%s), but column %s differs (-default +alt):\n%s(rescued %s)", where, k, v, c, diff, rescued[k])
				}
			case row[c] == nil && string(v) != "null":
				rescuedValues++
				if !slices.Contains(drift.mismatched, c) {
					drift.mismatched = append(drift.mismatched, c)
				}
				if !bytes.Equal(rescued[k], v) {
					t.Errorf("%s: %q = %s does not fit column %s, and is rescued as %s", where, k, v, c, rescued[k])
				}
			default:
				// A value in another shape that its column takes: display
				// text in a text column, a time under another key.
				if rescued[k] != nil {
					t.Errorf("%s: %q = %s is in column %s and rescued as %s", where, k, v, c, rescued[k])
				}
				if s, ok := row[c].(string); ok {
					text := string(v) // a number or boolean is kept as its JSON text
					if v[0] == '"' && json.Unmarshal(v, &text) != nil || text != s {
						t.Errorf("%s: column %s = %q, want the JSON %s", where, c, s, v)
					}
				} else if diff := cmp.Diff(defRow[c], row[c]); diff != "" {
					t.Errorf("%s: %q = %s fills %s unlike the default variant's value (-default +alt):\n%s", where, k, v, c, diff)
				}
			}
		}
		for k := range rescued {
			if _, ok := raw[k]; !ok {
				t.Errorf("%s: rescued key %q is not in the record", where, k)
			}
		}
		if len(alt.aliases) > 0 {
			timed := false
			for k := range alt.aliases {
				_, ok := raw[k]
				timed = timed || ok
			}
			if c := "event_time"; !timed && row[c] != nil {
				t.Errorf("%s: no time key, but %s = %v", where, c, row[c])
			}
		}
	}
	if unknownKeys == 0 {
		t.Errorf("%s: no unknown key in the alt variant: the check proves nothing", alt.name)
	}
	t.Logf("%s: %d records, %d unknown keys and %d mismatched values rescued", alt.name, alt.count, unknownKeys, rescuedValues)
	slices.Sort(drift.unknown)
	slices.Sort(drift.mismatched)
	drift.values = unknownKeys + rescuedValues
	return drift
}

// TestCapillary_NoCustomers: a customer search that lists no one (here
// customer_query "*" against a search that takes only an empty q) is not
// an "ok, 0 records" run: customers completes with 0 records and a
// warning naming the query, transactions fails saying why and keeps its
// window, the run exits 3. Unset, customer_query finds the empty q, and
// the same simulator lands every customer and transaction.
func TestCapillary_NoCustomers(t *testing.T) {
	t.Parallel()
	srv := capillarysim.NewServer(t, capillarysim.Options{Seed: 5, Customers: 30, Variant: capillarysim.VariantAlt,
		RequestsPerMinute: capillarysim.NoRateLimit})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := t.TempDir()
	cfg := writeConfig(t, out, capillaryConfig(srv, out, "      customer_query: \"*\"\n"))
	r := quiver(ctx, t, capillaryEnv, "sync", "-c", cfg, "--json")
	if r.code != 3 {
		t.Fatalf("quiver sync exit %d, want 3\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, tail(r.stderr, 30))
	}
	var res runResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	if c := res.stream("customers"); c == nil || c.Status != "complete" || c.Records != 0 {
		t.Errorf("customers: %+v, want complete with 0 records", c)
	}
	tx := res.stream("transactions")
	if tx == nil || tx.Status != "failed" || tx.Records != 0 || strings.Contains(string(tx.StateAfter), "complete") {
		t.Errorf("transactions: %+v, want failed with no records and its window not complete", tx)
	}
	if !strings.Contains(r.stdout, `listed no customers`) || !strings.Contains(r.stdout, "set customer_query") {
		t.Errorf("the summary does not say the customer search listed no one:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "the customer search listed no customers") || !strings.Contains(r.stderr, `"*"`) {
		t.Errorf("no warning naming the query:\n%s", tail(r.stderr, 20))
	}

	out = t.TempDir()
	cfg = writeConfig(t, out, capillaryConfig(srv, out, ""))
	if r := quiver(ctx, t, capillaryEnv, "sync", "-c", cfg, "--log-level", "info"); r.code != 0 {
		t.Fatalf("quiver sync without customer_query: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, tail(r.stderr, 30))
	} else {
		if !strings.Contains(r.stderr, "lists every customer with this form") {
			t.Errorf("the log does not say which search form worked:\n%s", tail(r.stderr, 20))
		}
		// The summary names what was rescued, per stream.
		var line string
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "loyal.transactions:") {
				line = l
			}
		}
		if !strings.Contains(r.stdout, "RESCUED") || !strings.Contains(line, "_quiver_rescued") ||
			!strings.Contains(line, "channel, fraud_check") || !strings.Contains(line, "amount") {
			t.Errorf("the summary does not name the rescued keys and columns of transactions (line %q):\n%s", line, r.stdout)
		}
	}
	if got := len(readStream(t, out+"/data/loyal/customers").rows); got != 30 {
		t.Errorf("%d customers, want 30", got)
	}
}

// TestVariantAlt_DiscoverSample: `quiver discover --sample 100` against the
// alt variant of TrackVia, Trackunit and Capillary reads the first records
// of each stream, writes nothing, and lists per stream the keys the schema
// lacks and the columns whose values do not fit.
func TestVariantAlt_DiscoverSample(t *testing.T) {
	t.Parallel()
	type want struct{ unknown, mismatched []string }
	tvKeys := []string{"Record Owner", "Sync Token"}
	tuKeys := []string{"etag", "tenantRef"}
	wants := map[string]map[string]want{
		"tv": {
			"all_contacts": {tvKeys, []string{"Revenue"}}, "all_contacts_102": {tvKeys, nil},
			"work_orders": {tvKeys, nil}, "grossenubersicht_lager": {tvKeys, []string{"Preis (€)"}}, "users": {tvKeys, nil},
		},
		"fleet": {
			"assets":       {tuKeys, []string{"production_year"}},
			"asset_events": {tuKeys, []string{"time_off"}},
		},
		"loyal": {
			"customers":    {[]string{"referralCount", "tier"}, []string{"loyalty_info"}},
			"transactions": {[]string{"channel", "fraud_check"}, nil}, // amount: see below
		},
	}
	for _, src := range variantSources(t, trackviasim.VariantAlt) {
		if wants[src.name] == nil {
			continue
		}
		t.Run(src.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out := t.TempDir()
			cfg := writeConfig(t, out, src.config(out))
			r := quiver(ctx, t, src.env, "discover", "-c", cfg, "--sample", "100", "--json")
			if r.code != 0 {
				t.Fatalf("discover --sample exit %d\n%s", r.code, tail(r.stderr, 30))
			}
			var cats []host.SourceCatalog
			if err := json.Unmarshal([]byte(r.stdout), &cats); err != nil || len(cats) != 1 {
				t.Fatalf("--json: %v\n%s", err, r.stdout)
			}
			for _, st := range cats[0].Streams {
				w, ok := wants[src.name][st.Name]
				s := st.Sample
				switch {
				case !ok:
					continue
				case s == nil || s.Drift == nil || s.Records < 100 && st.Name != "users":
					t.Errorf("%s: sample %+v, want at least 100 records and drift", st.Name, s)
					continue
				}
				mismatched := s.Drift.MismatchedColumns
				if st.Name == "transactions" {
					// Customers are read several at a time, so which
					// transactions make the sample varies; the amounts that
					// do not fit are on every other run of 50.
					mismatched = slices.DeleteFunc(slices.Clone(mismatched), func(c string) bool { return c == "amount" })
				}
				if !slices.Equal(s.Drift.UnknownKeys, w.unknown) || !slices.Equal(mismatched, w.mismatched) {
					t.Errorf("%s: sample of %d: unknown keys %v, mismatched columns %v; want %v, %v",
						st.Name, s.Records, s.Drift.UnknownKeys, s.Drift.MismatchedColumns, w.unknown, w.mismatched)
				}
			}
			if _, err := os.Stat(filepath.Join(out, "data", src.name)); !os.IsNotExist(err) {
				t.Errorf("discover --sample wrote output: %v", err)
			}
			r = quiver(ctx, t, src.env, "discover", "-c", cfg, "--sample", "100")
			for _, w := range wants[src.name] {
				for _, k := range append(w.unknown, w.mismatched...) {
					if !strings.Contains(r.stdout, k) {
						t.Errorf("discover --sample output does not name %q:\n%s", k, r.stdout)
					}
				}
			}
		})
	}
}
