package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/connectors/capillary/capillarysim"
	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// capillaryEnv holds the simulator's secret as the config references it.
var capillaryEnv = []string{"CAP_SECRET=" + capillarysim.DefaultSecret}

func capillaryConfig(srv *capillarysim.Server, out, extra string) string {
	return fmt.Sprintf(`sources:
  - name: loyal
    connector: capillary
    config:
      base_url: %s
      key: %s
      secret: ${CAP_SECRET}
      start_date: "2020-01-01"
      page_size: 4
      requests_per_minute: 60000
      settle_minutes: 0
%sdestination:
  path: %s
state: %s
`, srv.URL, capillarysim.DefaultKey, extra, filepath.Join(out, "data"), filepath.Join(out, "state"))
}

// capillaryFaults are the faults of the Capillary tests: every kind but
// 429s without Retry-After, after which the connector waits 20 s (its unit
// tests cover that wait on a test clock), and never two in a row for one
// request, so that a request's retries take at most a second or so.
func capillaryFaults(rate float64) fault.Options {
	return fault.Options{Rate: rate, Seed: 7, MaxConsecutive: 1, Kinds: []fault.Kind{
		fault.RateLimit, fault.RateLimitDate, fault.ServerError, fault.Truncate, fault.Malformed, fault.Reset, fault.Slow,
	}}
}

// expireTokens expires every token the simulator has issued whenever the
// connector has a new token and has made at least every data requests since
// the last expiry, until stop is closed. Counting requests rather than time
// keeps two expiries from landing within one request's retries (a request
// renews its token only once) however slow the machine is.
func expireTokens(srv *capillarysim.Server, every int, stop <-chan struct{}) {
	requests := func() int {
		n := 0
		for _, r := range srv.Stats().Requests {
			n += r
		}
		return n
	}
	issued, last := srv.Stats().TokensIssued, requests()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		if n, r := srv.Stats().TokensIssued, requests(); n > issued && r-last >= every {
			srv.ExpireTokens()
			issued, last = n, r
		}
	}
}

// TestCapillary_SyncWithTokenExpiry syncs customers and their transactions
// through the real plugin while the simulator expires the tokens every
// 40 requests (498 in the status line and in 200 bodies, as numbers and
// strings, alternately), tokens live two seconds, v1.1 numbers come as
// strings and one-item lists as bare objects (mixed with the plain shapes),
// and faults are on. Every record must arrive exactly once, with the
// schema's types and the simulator's values.
func TestCapillary_SyncWithTokenExpiry(t *testing.T) {
	t.Parallel()
	srv := capillarysim.NewServer(t, capillarysim.Options{
		Seed:              3,
		Customers:         400,
		TokenTTL:          2 * time.Second,
		RequestsPerMinute: capillarysim.NoRateLimit,
		Faults:            capillaryFaults(0.12),
	})
	out := t.TempDir()
	cfg := writeConfig(t, out, capillaryConfig(srv, out, ""))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		expireTokens(srv, 40, stop)
	}()
	r := quiver(ctx, t, capillaryEnv, "sync", "-c", cfg, "--log-level", "debug")
	close(stop)
	wg.Wait()
	if r.code != 0 {
		t.Fatalf("quiver sync exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, tail(r.stderr, 40))
	}
	checkCapillary(t, srv, out, "customers", "user_id")
	checkCapillary(t, srv, out, "transactions", "id")

	st := srv.Stats()
	t.Logf("token requests %d, expired %d, faults %d, pages %v", st.TokenRequests, st.ExpiredTokens, srv.Faults.Total(), st.Pages)
	if st.ExpiredTokens < 4 {
		t.Errorf("%d requests met an expired token; the test wants several, in both forms", st.ExpiredTokens)
	}
	if st.TokensIssued < 4 {
		t.Errorf("%d tokens issued; tokens should have expired several times", st.TokensIssued)
	}
	if n := srv.Faults.Total(); n < 10 {
		t.Errorf("only %d faults were injected", n)
	}
	// Every JWT the simulator issues starts with its fixed header.
	checkNoLeaks(t, out, []string{capillarysim.DefaultSecret, "eyJhbGciOiJIUzI1NiIs"}, r)
}

// TestCapillary_Incremental: a second run reads only the transactions billed
// since the first (selected alone, so the customers are listed for it
// anyway); across both runs every transaction is written once.
func TestCapillary_Incremental(t *testing.T) {
	t.Parallel()
	srv := capillarysim.NewServer(t, capillarysim.Options{
		Seed: 8, Customers: 60, RequestsPerMinute: capillarysim.NoRateLimit,
	})
	out := t.TempDir()
	cfg := writeConfig(t, out, capillaryConfig(srv, out, "    streams: [transactions]\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if r := quiver(ctx, t, capillaryEnv, "sync", "-c", cfg); r.code != 0 {
		t.Fatalf("first run exit %d\n%s", r.code, tail(r.stderr, 30))
	}
	before := srv.Stats().Pages["transactions"]
	appended, err := srv.Append("transactions", 3)
	if err != nil {
		t.Fatal(err)
	}
	// Appended transactions are billed from now on, a second apart; a run's
	// window ends a whole second before the run starts.
	var billed time.Time
	for _, id := range appended {
		b, err := time.Parse(time.DateTime, srv.Record("transactions", int(id-capillarysim.FirstTransactionID))["billing_time"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if b.After(billed) { // the simulator's zone is UTC
			billed = b
		}
	}
	waitFor(t, 10*time.Second, "the last appended billing time to pass", func() bool {
		return time.Now().Truncate(time.Second).After(billed.Add(time.Second))
	})
	r := quiver(ctx, t, capillaryEnv, "sync", "-c", cfg)
	if r.code != 0 {
		t.Fatalf("second run exit %d\n%s", r.code, tail(r.stderr, 30))
	}
	checkCapillary(t, srv, out, "transactions", "id")
	if srv.Stats().Pages["transactions"]-before != 60 {
		t.Errorf("second run read %d transaction pages, want one per customer", srv.Stats().Pages["transactions"]-before)
	}
}

// TestCapillary_WrongSecret: a refused secret fails fast with exit code 4
// after exactly one token request.
func TestCapillary_WrongSecret(t *testing.T) {
	t.Parallel()
	srv := capillarysim.NewServer(t, capillarysim.Options{Seed: 1, RequestsPerMinute: capillarysim.NoRateLimit})
	out := t.TempDir()
	cfg := writeConfig(t, out, capillaryConfig(srv, out, ""))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := quiver(ctx, t, []string{"CAP_SECRET=not-the-secret-42"}, "sync", "-c", cfg)
	if r.code != 4 {
		t.Fatalf("exit code %d, want 4\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, tail(r.stderr, 30))
	}
	if st := srv.Stats(); st.TokenRequests != 1 || st.AuthFailures != 1 {
		t.Errorf("token requests %d, refusals %d; want exactly one each", st.TokenRequests, st.AuthFailures)
	}
	if !strings.Contains(r.stderr, "320001") {
		t.Errorf("the error does not give Capillary's code:\n%s", tail(r.stderr, 10))
	}
	if strings.Contains(r.stderr+r.stdout, "not-the-secret-42") {
		t.Error("the secret appears in the output")
	}
}

// checkCapillary compares a stream's Parquet rows with the simulator's
// records: every record exactly once, with the schema's types and values.
func checkCapillary(t *testing.T, srv *capillarysim.Server, out, stream, key string) {
	t.Helper()
	st, err := schemas.Load("capillary", stream)
	if err != nil {
		t.Fatal(err)
	}
	tb := readStream(t, filepath.Join(out, "data", "loyal", stream))
	n := srv.Count(stream)
	if len(tb.rows) != n {
		t.Errorf("%s: %d rows in %d files, want %d", stream, len(tb.rows), tb.files, n)
	}
	if tb.schema == nil {
		t.Fatalf("%s: no rows", stream)
	}
	for _, f := range st.Schema.Fields() {
		got, ok := tb.schema.FieldsByName(f.Name)
		if !ok || !arrow.TypeEqual(got[0].Type, f.Type) {
			t.Errorf("%s: column %s has type %v, want %v", stream, f.Name, got, f.Type)
		}
	}
	byID := map[int64]map[string]any{}
	for _, row := range tb.rows {
		id := row[key].(int64)
		if byID[id] != nil {
			t.Errorf("%s: %s %d written twice", stream, key, id)
		}
		delete(row, "_quiver_run_id")
		delete(row, "_quiver_extracted_at")
		noneRescued(t, stream, id, row)
		byID[id] = row
	}
	for i := range n {
		rec := srv.Record(stream, i)
		if stream == capillarysim.StreamTransactions {
			user, _ := srv.TransactionUser(int64(rec["id"].(float64)))
			rec["user_id"] = float64(user)
		}
		want := jsonRow(t, st.Schema.Fields(), rfc3339Times(rec).(map[string]any))
		id := want[key].(int64)
		if diff := cmp.Diff(want, byID[id]); diff != "" {
			t.Errorf("%s %d mismatch (-want +got):\n%s", stream, id, diff)
			return
		}
	}
}

// rfc3339Times returns v (decoded JSON) with every v1.1 time, the org's
// wall clock without an offset ("2006-01-02 15:04:05", UTC in these tests),
// rewritten in RFC 3339 as jsonRow expects.
func rfc3339Times(v any) any {
	switch v := v.(type) {
	case string:
		if ts, err := time.Parse(time.DateTime, v); err == nil {
			return ts.Format(time.RFC3339)
		}
	case map[string]any:
		for k, e := range v {
			v[k] = rfc3339Times(e)
		}
	case []any:
		for i, e := range v {
			v[i] = rfc3339Times(e)
		}
	}
	return v
}

// TestCapillary_FullRefreshRollsFiles: customers is a full-refresh stream
// that never checkpoints; the host still writes its batches as they come and
// rolls files by size instead of holding the whole snapshot in memory.
// (The plugin joins pages into batches of up to a MiB, sent 100 ms after
// the first at the latest; the host's slicing of a large batch is
// TestWriteRolling's.)
func TestCapillary_FullRefreshRollsFiles(t *testing.T) {
	t.Parallel()
	srv := capillarysim.NewServer(t, capillarysim.Options{Seed: 4, Customers: 1000, RequestsPerMinute: capillarysim.NoRateLimit})
	out := t.TempDir()
	cfg := writeConfig(t, out, capillaryConfig(srv, out, "    streams: [customers]\n"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := quiver(ctx, t, capillaryEnv, "sync", "-c", cfg, "--max-file-size", "1")
	if r.code != 0 {
		t.Fatalf("quiver sync exit %d\n%s", r.code, tail(r.stderr, 20))
	}
	tb := readStream(t, filepath.Join(out, "data", "loyal", "customers"))
	if tb.files < 4 {
		t.Errorf("%d files for 1000 customers with --max-file-size 1; want several, rolled as the batches came", tb.files)
	}
	checkCapillary(t, srv, out, "customers", "user_id")
}
