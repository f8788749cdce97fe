package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quiver-etl/quiver/connectors/capillary/capillarysim"
	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/connectors/trackunit/trackunitsim"
	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk/connectortest"
)

// TestTrackTik_DayOfUpdates: sync, a day of changes at the vendor
// (statuses, job titles and phones; deactivated clients; a deleted
// position; reassigned, scheduled and back-filled shifts; closed work
// sessions; approved reports), sync again: the latest version of every
// record in the files equals the simulator's, with no id missing or extra
// (the deleted position is gone from the snapshot), and the second run of
// a lookback stream reads only its window and the new records; quiver
// compact then leaves exactly the simulator's records.
func TestTrackTik_DayOfUpdates(t *testing.T) {
	t.Parallel()
	srv := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 23})
	out := t.TempDir()
	cfg := writeConfig(t, out, trackTikConfig(srv, out, ""))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	first, _ := syncJSON(ctx, t, 0, "-c", cfg)
	changes := srv.ApplyDay()
	t.Logf("a day of changes: inserted %v, updated %v, deleted %v", changes.Inserted, changes.Updated, changes.Deleted)
	if changes.Deleted["positions"] != 1 {
		t.Errorf("the day deleted %d positions, want 1: the snapshot must drop it", changes.Deleted["positions"])
	}
	for _, s := range trackTikStreams {
		if changes.Updated[s] == 0 && s != "positions" {
			t.Errorf("the day changed no %s", s)
		}
	}
	second, _ := syncJSON(ctx, t, 0, "-c", cfg)
	for _, name := range trackTikStreams {
		a, b := first.stream(name), second.stream(name)
		t.Logf("%s (%s): first run read %d records, the second %d", name, b.Mode, a.Records, b.Records)
		if _, _, ok := lookbackCursor(name); ok {
			if b.Records == 0 || b.Records*10 > a.Records {
				t.Errorf("%s: the second run read %d records of %d; want the window's, far fewer", name, b.Records, a.Records)
			}
		} else if b.Records != int64(srv.Count(name)) {
			t.Errorf("%s: the second run read %d records, want the whole snapshot, %d", name, b.Records, srv.Count(name))
		}
		checkTrackTikLatest(t, srv, out, name)
	}
	// The back-filled shift: a higher id than every other, an earlier
	// startedOn than the latest ones.
	ids := srv.IDs("shifts")
	back := ids[len(ids)-1]
	found := false
	for _, row := range readStream(t, filepath.Join(out, "data", "acme", "shifts")).rows {
		found = found || row["id"] == back
	}
	if !found {
		t.Errorf("the back-filled shift %d was not read", back)
	}
	// quiver compact leaves exactly the latest version of each record.
	compactAll(ctx, t, cfg)
	for _, name := range trackTikStreams {
		checkTrackTikCompacted(t, srv, out, name)
	}
}

// TestTrackVia_DayOfUpdates: sync, a day of edits, inserts and (in the
// users list, which is read whole) deletes, sync again: the latest version
// of every record equals the simulator's, with no id missing or extra, and
// the second run of a view with "Last Updated" (a cursor stream) writes
// only the records changed or added.
func TestTrackVia_DayOfUpdates(t *testing.T) {
	t.Parallel()
	srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 29})
	out := t.TempDir()
	cfg := writeConfig(t, out, trackViaConfig(srv, out, ""))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	r1 := quiver(ctx, t, trackViaEnv, "sync", "-c", cfg, "--json")
	if r1.code != 0 {
		t.Fatalf("first sync: exit %d\n%s", r1.code, tail(r1.stderr, 30))
	}
	changes := srv.ApplyDay()
	t.Logf("a day of changes: inserted %v, updated %v, deleted %v", changes.Inserted, changes.Updated, changes.Deleted)
	r2 := quiver(ctx, t, trackViaEnv, "sync", "-c", cfg, "--json")
	if r2.code != 0 {
		t.Fatalf("second sync: exit %d\n%s", r2.code, tail(r2.stderr, 30))
	}
	first, second := parseTrackViaResult(t, r1), parseTrackViaResult(t, r2)
	for i, b := range second.Sources[0].Streams {
		a := first.Sources[0].Streams[i]
		t.Logf("%s (%s): first run read %d records, the second %d", b.Name, b.Mode, a.Records, b.Records)
		if b.Mode == "incremental" && a.Records > 100 && b.Records*10 > a.Records {
			t.Errorf("%s: the second run wrote %d records of %d; want only the changed ones", b.Name, b.Records, a.Records)
		}
	}
	if changes.Deleted[trackviasim.UsersViewID] == 0 {
		t.Error("the day deleted no user")
	}
	wants := map[string]map[string]map[string]any{}
	for stream, id := range trackViaViews {
		tb := readStream(t, filepath.Join(out, "data", "tv", stream))
		want := map[string]map[string]any{}
		for i := range srv.Count(id) {
			row, err := connectortest.Expect(tb.schema, srv.Record(id, i))
			if err != nil {
				t.Fatal(err)
			}
			want[fmt.Sprint(row["id"])] = row
		}
		if len(tb.rows) == 0 && len(want) == 0 {
			continue
		}
		diffKeys(t, "trackvia "+stream, want, latest(t, tb.rows, "id"))
		wants[stream] = want
	}
	// quiver compact leaves exactly the latest version of each record.
	compactAll(ctx, t, cfg)
	for stream, want := range wants {
		tb := readStream(t, filepath.Join(out, "data", "tv", stream))
		diffKeys(t, "compacted trackvia "+stream, want, byKey(t, "trackvia "+stream, tb.rows, "id"))
	}
}

// TestCapillary_DayOfUpdates: sync, a day of changes (customers change tier,
// points or name; new customers; new bills), sync again: the latest
// version of every customer and transaction equals the simulator's, and
// the second run reads only the new transactions (cursor on billing time)
// while the customer snapshot is read whole.
func TestCapillary_DayOfUpdates(t *testing.T) {
	t.Parallel()
	srv := capillarysim.NewServer(t, capillarysim.Options{Seed: 31, Customers: 60, RequestsPerMinute: capillarysim.NoRateLimit})
	out := t.TempDir()
	cfg := writeConfig(t, out, capillaryConfig(srv, out, ""))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	r1 := quiver(ctx, t, capillaryEnv, "sync", "-c", cfg, "--json")
	if r1.code != 0 {
		t.Fatalf("first sync: exit %d\n%s", r1.code, tail(r1.stderr, 30))
	}
	changes := srv.ApplyDay()
	t.Logf("a day of changes: inserted %v, updated %v", changes.Inserted, changes.Updated)
	// New bills are billed now, a second apart; a run's window ends a
	// whole second before the run starts.
	last := time.Now().Add(time.Duration(changes.Inserted[capillarysim.StreamTransactions]+1) * time.Second)
	waitFor(t, 30*time.Second, "the new bills' times to pass", func() bool { return time.Now().After(last) })
	r2 := quiver(ctx, t, capillaryEnv, "sync", "-c", cfg, "--json")
	if r2.code != 0 {
		t.Fatalf("second sync: exit %d\n%s", r2.code, tail(r2.stderr, 30))
	}
	var first, second runResult
	if json.Unmarshal([]byte(r1.stdout), &first) != nil || json.Unmarshal([]byte(r2.stdout), &second) != nil {
		t.Fatalf("--json output:\n%s\n%s", r1.stdout, r2.stdout)
	}
	for _, name := range []string{capillarysim.StreamCustomers, capillarysim.StreamTransactions} {
		a, b := first.stream(name), second.stream(name)
		t.Logf("%s (%s): first run read %d records, the second %d", name, b.Mode, a.Records, b.Records)
	}
	if a, b := first.stream("transactions"), second.stream("transactions"); b.Records != int64(changes.Inserted["transactions"]) || b.Records*10 > a.Records {
		t.Errorf("transactions: the second run read %d of %d; want the %d new ones", b.Records, a.Records, changes.Inserted["transactions"])
	}
	if b := second.stream("customers"); b.Records != int64(srv.Count("customers")) {
		t.Errorf("customers: the second run read %d, want the whole snapshot, %d", b.Records, srv.Count("customers"))
	}
	wants := map[string]map[string]map[string]any{}
	for _, tt := range []struct{ stream, key string }{{"customers", "user_id"}, {"transactions", "id"}} {
		st, err := schemas.Load("capillary", tt.stream)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]any{}
		for i := range srv.Count(tt.stream) {
			rec := srv.Record(tt.stream, i)
			if tt.stream == capillarysim.StreamTransactions {
				user, _ := srv.TransactionUser(int64(rec["id"].(float64)))
				rec["user_id"] = float64(user)
			}
			row := jsonRow(t, st.Schema.Fields(), rfc3339Times(rec).(map[string]any))
			want[fmt.Sprint(row[tt.key])] = row
		}
		tb := readStream(t, filepath.Join(out, "data", "loyal", tt.stream))
		diffKeys(t, "capillary "+tt.stream, want, latest(t, tb.rows, tt.key))
		wants[tt.stream] = want
	}
	// quiver compact leaves exactly the latest version of each record.
	compactAll(ctx, t, cfg)
	for _, tt := range []struct{ stream, key string }{{"customers", "user_id"}, {"transactions", "id"}} {
		tb := readStream(t, filepath.Join(out, "data", "loyal", tt.stream))
		diffKeys(t, "compacted capillary "+tt.stream, wants[tt.stream], byKey(t, "capillary "+tt.stream, tb.rows, tt.key))
	}
}

// TestTrackunit_DayOfUpdates: sync, a day at the fleet (assets renamed and
// onboarded, machines moved, operating hours added, new events), sync
// again: the latest version of every record equals the simulator's, with
// no key missing or extra; the second run reads only the new events
// (cursor on event time) and the fleet snapshots whole.
func TestTrackunit_DayOfUpdates(t *testing.T) {
	t.Parallel()
	srv := trackunitsim.NewServer(t, trackunitsim.Options{
		Seed:   37,
		Counts: map[string]int{"assets": 150, "locations": 100, "fleet_snapshot": 120, "asset_events": 500},
	})
	out := t.TempDir()
	cfg := writeConfig(t, out, trackunitConfig(srv, out, "      page_size: 100\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	first, _ := trackunitSync(ctx, t, cfg)
	changes := srv.ApplyDay()
	t.Logf("a day of changes: inserted %v, updated %v", changes.Inserted, changes.Updated)
	second, _ := trackunitSync(ctx, t, cfg)
	for _, name := range trackunitStreams {
		a, b := first.stream(name), second.stream(name)
		t.Logf("%s (%s): first run read %d records, the second %d", name, b.Mode, a.Records, b.Records)
		if name == "asset_events" {
			if b.Records != int64(changes.Inserted[name]) || b.Records*10 > a.Records {
				t.Errorf("asset_events: the second run read %d of %d; want the %d new ones", b.Records, a.Records, changes.Inserted[name])
			}
		} else if b.Records != int64(srv.Count(name)) {
			t.Errorf("%s: the second run read %d, want the whole snapshot, %d", name, b.Records, srv.Count(name))
		}
		if name != "asset_events" && changes.Updated[name] == 0 {
			t.Errorf("the day changed no %s", name)
		}
		tb := readStream(t, filepath.Join(out, "data", "fleet", name))
		rows := latest(t, tb.rows, trackunitKeys[name])
		ids := srv.IDs(name)
		if len(rows) != len(ids) {
			t.Errorf("%s: %d keys in the files, %d in the simulator", name, len(rows), len(ids))
		}
		checkTrackunitValues(t, srv, name, rows)
	}
	// quiver compact leaves exactly the latest version of each record.
	compactAll(ctx, t, cfg)
	for _, name := range trackunitStreams {
		tb := readStream(t, filepath.Join(out, "data", "fleet", name))
		rows := byKey(t, "trackunit "+name, tb.rows, trackunitKeys[name])
		if ids := srv.IDs(name); len(rows) != len(ids) {
			t.Errorf("compacted %s: %d keys, %d in the simulator", name, len(rows), len(ids))
		}
		checkTrackunitValues(t, srv, name, rows)
	}
}

// TestUX_LookbackSetting: the lookback window comes from the stream's
// default (7 days), the source's lookback, or the stream's own in streams:,
// in that order of precedence; a lookback on a stream that has no window
// is a config error at its line.
func TestUX_LookbackSetting(t *testing.T) {
	t.Parallel()
	srv, out, _ := uxSetup(t, uxOptions{counts: map[string]int{"shifts": 400}, pageSize: 100})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	config := func(source string) string {
		return writeConfig(t, out, trackTikConfig(srv, out, "      page_size: 100\n"+source))
	}
	if first, _ := syncJSON(ctx, t, 0, "-c", config("    streams: [shifts]\n")); first.stream("shifts").Records != 400 {
		t.Fatalf("first run: %+v", first.stream("shifts"))
	}
	// 400 shifts over two years: one every 44 hours or so.
	for _, tt := range []struct {
		name, source string
		min, max     int64
	}{
		{"default, 7 days", "    streams: [shifts]\n", 3, 5},
		{"source, 30 days", "    lookback: 30d\n    streams: [shifts]\n", 15, 18},
		{"stream over source, 60 days", "    lookback: 30d\n    streams: [{name: shifts, lookback: 1440h}]\n", 31, 35},
	} {
		res, _ := syncJSON(ctx, t, 0, "-c", config(tt.source))
		st := res.stream("shifts")
		t.Logf("%s: %d shifts read again", tt.name, st.Records)
		if st.Records < tt.min || st.Records > tt.max {
			t.Errorf("%s: %d shifts read, want %d to %d", tt.name, st.Records, tt.min, tt.max)
		}
	}
	checkTrackTikLatest(t, srv, out, "shifts")

	cfg := config("    streams:\n      - shifts\n      - {name: employees, lookback: 72h}\n")
	r := quiver(ctx, t, trackTikEnv, "sync", "-c", cfg)
	if want := "quiver.yaml:14: sources[0].streams[1].lookback: stream employees is not read with a lookback window"; r.code != 2 || !strings.Contains(r.stderr, want) {
		t.Errorf("lookback on a snapshot stream: exit %d, want 2 and %q\n%s", r.code, want, tail(r.stderr, 5))
	}
}

// TestUX_SimDays: `quiver sim VENDOR --days 1` serves the simulator's data
// after a day of changes: a sync against `quiver sim tracktik`, then one
// against `quiver sim tracktik --days 1` on the same address, reads just
// the changes of the lookback streams, and the files end equal to the
// simulator's data after that day.
func TestUX_SimDays(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := t.TempDir()
	// The same seed and days as `quiver sim`, in process, to compare with.
	want := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 1, Days: 1})
	cfg := writeConfig(t, out, strings.Replace(trackTikConfig(want, out, ""), want.URL, "http://"+addr, 1))
	var runs []*runResult
	for _, days := range []string{"0", "1"} {
		cmd, done := startQuiver(ctx, t, nil, "sim", "tracktik", "--addr", addr, "--days", days)
		waitFor(t, 30*time.Second, "the simulator", func() bool {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		res, _ := syncJSON(ctx, t, 0, "-c", cfg)
		runs = append(runs, res)
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		<-done
	}
	for _, name := range []string{"shifts", "work-sessions", "reports"} {
		a, b := runs[0].stream(name), runs[1].stream(name)
		t.Logf("%s: %d records, then %d after a day", name, a.Records, b.Records)
		if b.Records == 0 || b.Records*10 > a.Records {
			t.Errorf("%s: the second sync read %d of %d; want the day's changes only", name, b.Records, a.Records)
		}
	}
	for _, name := range trackTikStreams {
		checkTrackTikLatest(t, want, out, name)
	}
}

// TestTrackTik_LookbackWindow pins how far back a lookback stream sees
// changes, against the real clock: shifts run from 2024 to two months from
// now, so the saved mark (the latest startedOn) is in the future. The next
// run reads from now - 7 days through the end of the data, whatever the
// mark: a scheduled shift reassigned months ahead is read again, a shift
// from last year changed today is not (the documented limit), and nothing
// else is read.
func TestTrackTik_LookbackWindow(t *testing.T) {
	t.Parallel()
	const base = 60 // shifts over 2024-2025, one every 12 days or so
	srv, out, cfg := uxSetup(t, uxOptions{counts: map[string]int{"shifts": base}, pageSize: 100, streams: "[shifts]"})
	start := func(i int) time.Time {
		ts, err := time.Parse(time.RFC3339, srv.Record("shifts", i)["startedOn"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	step := start(base-1).Sub(start(0)) / (base - 1)
	// Appended shifts continue at the same spacing: add them up to 60 days
	// from now.
	srv.Append("shifts", int(time.Now().Add(60*24*time.Hour).Sub(start(base-1))/step)+1)
	n := srv.Count("shifts")
	if !start(n - 1).After(time.Now().Add(59 * 24 * time.Hour)) {
		t.Fatalf("the last shift starts %v; want two months ahead", start(n-1))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	first, _ := syncJSON(ctx, t, 0, "-c", cfg)
	if st := first.stream("shifts"); st.Records != int64(n) {
		t.Fatalf("first run: %d shifts, want %d", st.Records, n)
	}

	ids := srv.IDs("shifts")
	ahead, old := ids[n-2], ids[base/2] // a scheduled shift; one from 2025
	for _, id := range []int64{ahead, old} {
		if err := srv.Update("shifts", id, "status", "REASSIGNED"); err != nil {
			t.Fatal(err)
		}
	}
	from := time.Now().Add(-7 * 24 * time.Hour)
	var window int64
	for i := range n {
		if start(i).After(from) {
			window++
		}
	}
	second, _ := syncJSON(ctx, t, 0, "-c", cfg)
	st := second.stream("shifts")
	t.Logf("first run read %d shifts, the second %d (%d start after now - 7 days)", first.stream("shifts").Records, st.Records, window)
	if st.Records != window {
		t.Errorf("second run read %d shifts, want the %d from now - 7 days on, though the mark is %s", st.Records, window, st.StateBefore)
	}
	rows := latest(t, readStream(t, filepath.Join(out, "data", "acme", "shifts")).rows, "id")
	if got := rows[fmt.Sprint(ahead)]["status"]; got != "REASSIGNED" {
		t.Errorf("the scheduled shift %d (starts %v) has status %v; a change ahead of now must be read", ahead, start(n-2), got)
	}
	if got := rows[fmt.Sprint(old)]["status"]; got == "REASSIGNED" {
		t.Errorf("the shift %d of %v was read again; only the window's should be", old, start(base/2))
	}
}
