package harvestsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/quiver-etl/quiver/examples/harvest/harvestsim"
	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// get sends an authenticated GET of rawURL (absolute, or a path under
// srv.URL) and returns the status and decoded body.
func get(t *testing.T, srv *harvestsim.Server, rawURL string, header map[string]string) (int, map[string]any) {
	t.Helper()
	if rawURL[0] == '/' {
		rawURL = srv.URL + rawURL
	}
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+harvestsim.Token)
	req.Header.Set("Harvest-Account-Id", harvestsim.AccountID)
	req.Header.Set("User-Agent", "harvestsim test (test@example.com)")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("GET %s: %d, body %q is not a JSON object: %v", rawURL, resp.StatusCode, raw, err)
	}
	return resp.StatusCode, body
}

// listAll follows links.next from path and returns the ids in the order
// served and every page's envelope.
func listAll(t *testing.T, srv *harvestsim.Server, stream, path string) ([]int64, []map[string]any) {
	t.Helper()
	var ids []int64
	var pages []map[string]any
	next := path
	for next != "" {
		code, page := get(t, srv, next, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %v", next, code, page)
		}
		pages = append(pages, page)
		for _, rec := range page[stream].([]any) {
			ids = append(ids, int64(rec.(map[string]any)["id"].(float64)))
		}
		next, _ = page["links"].(map[string]any)["next"].(string)
		if len(pages) > 1000 {
			t.Fatal("paging does not end")
		}
	}
	return ids, pages
}

// records returns srv.Records(stream) or fails t.
func records(t *testing.T, srv *harvestsim.Server, stream string) []map[string]any {
	t.Helper()
	recs, err := srv.Records(stream)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestAuth(t *testing.T) {
	t.Parallel()
	srv := harvestsim.NewServer(t, harvestsim.Options{Seed: 1})
	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"good", nil, http.StatusOK},
		{"wrong token", map[string]string{"Authorization": "Bearer nope"}, http.StatusUnauthorized},
		{"no token", map[string]string{"Authorization": ""}, http.StatusUnauthorized},
		{"other account", map[string]string{"Harvest-Account-Id": "42"}, http.StatusUnauthorized},
		{"no account", map[string]string{"Harvest-Account-Id": ""}, http.StatusUnauthorized},
		{"no user agent", map[string]string{"User-Agent": ""}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, srv, "/v2/users?per_page=1", tt.header)
			if code != tt.want {
				t.Fatalf("status %d, want %d (%v)", code, tt.want, body)
			}
			if code == http.StatusUnauthorized && body["error"] != "invalid_token" {
				t.Errorf("401 body %v, want error invalid_token", body)
			}
		})
	}
	if got := srv.Stats().Unauthorized; got != 4 {
		t.Errorf("Stats().Unauthorized = %d, want 4", got)
	}
	srv.RevokeToken()
	if code, _ := get(t, srv, "/v2/users/me", nil); code != http.StatusUnauthorized {
		t.Errorf("after RevokeToken: status %d, want 401", code)
	}
}

// TestPaging lists every stream in both paging shapes and page sizes and
// checks that following links.next gives every record once, newest first,
// with the shape's page fields.
func TestPaging(t *testing.T) {
	t.Parallel()
	for _, variant := range []string{"", harvestsim.VariantAlt} {
		srv := harvestsim.NewServer(t, harvestsim.Options{Seed: 7, Variant: variant, Counts: map[string]int{"time_entries": 950}})
		for _, stream := range harvestsim.Streams() {
			for _, per := range []int{0, 7, 100} {
				t.Run(variant+"/"+stream+"/"+strconv.Itoa(per), func(t *testing.T) {
					path := "/v2/" + stream
					if per > 0 {
						path += "?per_page=" + strconv.Itoa(per)
					}
					ids, pages := listAll(t, srv, stream, path)
					var want []int64
					for _, rec := range records(t, srv, stream) {
						want = append(want, int64(rec["id"].(float64)))
					}
					got := slices.Clone(ids)
					slices.Sort(got)
					if !slices.Equal(got, want) {
						t.Fatalf("listed %d ids, want each of %d once", len(ids), len(want))
					}
					checkPages(t, variant, pages, len(want))
				})
			}
		}
	}
}

// checkPages checks the envelopes of one listing.
func checkPages(t *testing.T, variant string, pages []map[string]any, total int) {
	t.Helper()
	for i, p := range pages {
		if int(p["total_entries"].(float64)) != total {
			t.Errorf("page %d: total_entries %v, want %d", i, p["total_entries"], total)
		}
		page, hasPage := p["page"].(float64)
		last := i == len(pages)-1
		switch {
		case variant == "" && (!hasPage || int(page) != i+1):
			t.Errorf("page %d: page %v, want %d", i, p["page"], i+1)
		case variant == harvestsim.VariantAlt && i > 0 && !last && p["page"] != nil:
			t.Errorf("cursor page %d: page %v, want null between the first and last pages", i, p["page"])
		}
		next, _ := p["links"].(map[string]any)["next"].(string)
		u, err := url.Parse(next)
		switch {
		case last && next != "":
			t.Errorf("last page: links.next %q, want null", next)
		case !last && err != nil:
			t.Errorf("page %d: links.next %q: %v", i, next, err)
		case !last && variant == harvestsim.VariantAlt && u.Query().Get("cursor") == "":
			t.Errorf("page %d: links.next %q has no cursor", i, next)
		case !last && variant == "" && u.Query().Get("page") != strconv.Itoa(i+2):
			t.Errorf("page %d: links.next %q, want page=%d", i, next, i+2)
		}
	}
}

func TestOrderNewestFirst(t *testing.T) {
	t.Parallel()
	srv := harvestsim.NewServer(t, harvestsim.Options{Seed: 3})
	_, body := get(t, srv, "/v2/time_entries", nil)
	var prev string
	for i, rec := range body["time_entries"].([]any) {
		d := rec.(map[string]any)["spent_date"].(string)
		if i > 0 && d > prev {
			t.Fatalf("entry %d has spent_date %s after %s: want newest first", i, d, prev)
		}
		prev = d
	}
}

func TestPerPageTooLarge(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		variant string
		max     int
	}{{"", harvestsim.MaxPerPage}, {harvestsim.VariantAlt, harvestsim.MaxPerPageAlt}} {
		srv := harvestsim.NewServer(t, harvestsim.Options{Seed: 1, Variant: tt.variant})
		if code, _ := get(t, srv, "/v2/tasks?per_page="+strconv.Itoa(tt.max), nil); code != http.StatusOK {
			t.Errorf("variant %q: per_page=%d: status %d, want 200", tt.variant, tt.max, code)
		}
		if code, _ := get(t, srv, "/v2/tasks?per_page="+strconv.Itoa(tt.max+1), nil); code != http.StatusUnprocessableEntity {
			t.Errorf("variant %q: per_page=%d: status %d, want 422", tt.variant, tt.max+1, code)
		}
	}
}

// TestUpdatedSince checks the filter is inclusive and that ApplyDay's
// edits and inserts are what a listing from the day's start returns.
func TestUpdatedSince(t *testing.T) {
	t.Parallel()
	srv := harvestsim.NewServer(t, harvestsim.Options{Seed: 5})
	recs := records(t, srv, "time_entries")
	mark := recs[len(recs)/2]["updated_at"].(string)
	want := 0
	for _, rec := range recs {
		if rec["updated_at"].(string) >= mark {
			want++
		}
	}
	ids, _ := listAll(t, srv, "time_entries", "/v2/time_entries?updated_since="+mark)
	if len(ids) != want {
		t.Errorf("updated_since=%s listed %d, want %d (inclusive)", mark, len(ids), want)
	}

	day := harvestsim.Epoch.AddDate(0, 0, 365)
	c := srv.ApplyDay()
	if c.Updated["time_entries"] == 0 || c.Inserted["time_entries"] == 0 {
		t.Fatalf("ApplyDay changed nothing: %+v", c)
	}
	ids, _ = listAll(t, srv, "time_entries", "/v2/time_entries?updated_since="+day.Format(time.RFC3339))
	changed := map[int64]bool{}
	for _, id := range ids {
		changed[id] = true
	}
	// An entry edited twice counts twice in Updated.
	if n := len(changed); n > c.Updated["time_entries"]+c.Inserted["time_entries"] || n < c.Inserted["time_entries"] {
		t.Errorf("after ApplyDay: %d entries updated since the day, want up to %+v", n, c)
	}
	if code, _ := get(t, srv, "/v2/clients?updated_since=yesterday", nil); code != http.StatusUnprocessableEntity {
		t.Errorf("updated_since=yesterday: status %d, want 422", code)
	}
}

func TestFromTo(t *testing.T) {
	t.Parallel()
	srv := harvestsim.NewServer(t, harvestsim.Options{Seed: 2})
	_, body := get(t, srv, "/v2/time_entries?from=2024-03-01&to=2024-03-31", nil)
	entries := body["time_entries"].([]any)
	if len(entries) == 0 {
		t.Fatal("no entries in March 2024")
	}
	for _, rec := range entries {
		if d := rec.(map[string]any)["spent_date"].(string); d < "2024-03-01" || d > "2024-03-31" {
			t.Fatalf("spent_date %s outside from/to", d)
		}
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	small := map[string]int{"time_entries": 300}
	a := harvestsim.NewServer(t, harvestsim.Options{Seed: 9, Days: 2, Counts: small})
	b := harvestsim.NewServer(t, harvestsim.Options{Seed: 9, Counts: small})
	b.ApplyDay()
	b.ApplyDay()
	c := harvestsim.NewServer(t, harvestsim.Options{Seed: 10, Counts: small})
	for _, stream := range harvestsim.Streams() {
		ja, _ := json.Marshal(records(t, a, stream))
		jb, _ := json.Marshal(records(t, b, stream))
		jc, _ := json.Marshal(records(t, c, stream))
		if string(ja) != string(jb) {
			t.Errorf("%s: Days: 2 differs from two ApplyDay calls", stream)
		}
		if string(ja) == string(jc) {
			t.Errorf("%s: seeds 9 and 10 give the same records", stream)
		}
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	srv := harvestsim.NewServer(t, harvestsim.Options{Seed: 1, RateLimit: 3, Now: clock.Now})
	for i := range 3 {
		if code, _ := get(t, srv, "/v2/tasks", nil); code != http.StatusOK {
			t.Fatalf("request %d: status %d, want 200", i, code)
		}
		clock.Add(time.Second)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v2/tasks", nil)
	req.Header.Set("Authorization", "Bearer "+harvestsim.Token)
	req.Header.Set("Harvest-Account-Id", harvestsim.AccountID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The first request was 3s ago: the window frees in 12s.
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "12" {
		t.Fatalf("4th request: %d Retry-After %q, want 429 with 12", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	clock.Add(12 * time.Second)
	if code, _ := get(t, srv, "/v2/tasks", nil); code != http.StatusOK {
		t.Fatalf("after the window: status %d, want 200", code)
	}
	if st := srv.Stats(); st.RateLimited != 1 || st.Requests["tasks"] != 4 {
		t.Errorf("Stats = %+v, want 1 rate limited and 4 task lists", st)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	srv := harvestsim.NewServer(t, harvestsim.Options{Seed: 1})
	srv.Faults.FailNext(1, fault.ServerError)
	if code, _ := get(t, srv, "/v2/tasks", nil); code < 500 {
		t.Fatalf("scripted fault: status %d, want 5xx", code)
	}
	if code, _ := get(t, srv, "/v2/tasks", nil); code != http.StatusOK {
		t.Fatalf("after the fault: status %d, want 200", code)
	}
}

func TestBadOptions(t *testing.T) {
	t.Parallel()
	for _, opts := range []harvestsim.Options{
		{Variant: "other"},
		{Counts: map[string]int{"invoices": 1}},
		{Counts: map[string]int{"users": -1}},
	} {
		if srv, err := harvestsim.Start("127.0.0.1:0", opts); err == nil {
			srv.Close()
			t.Errorf("Start(%+v) succeeded, want an error", opts)
		}
	}
	srv := harvestsim.NewServer(t, harvestsim.Options{})
	if _, err := srv.Records("invoices"); err == nil {
		t.Error(`Records("invoices") succeeded, want an error`)
	}
}

// TestRecordsMatchSchemas checks that the connector's schema files parse
// and that every generated record has exactly their columns, nested ones
// included, so that a read rescues nothing.
func TestRecordsMatchSchemas(t *testing.T) {
	t.Parallel()
	srv := harvestsim.NewServer(t, harvestsim.Options{Seed: 1, Days: 1})
	for _, stream := range harvestsim.Streams() {
		raw, err := os.ReadFile(filepath.Join("..", "streams", stream+".json"))
		if err != nil {
			t.Fatal(err)
		}
		sc, err := schemas.Parse(raw)
		if err != nil {
			t.Fatalf("streams/%s.json: %v", stream, err)
		}
		if sc.Name != stream || sc.Path != "/v2/"+stream {
			t.Errorf("streams/%s.json: name %q path %q", stream, sc.Name, sc.Path)
		}
		for _, rec := range records(t, srv, stream) {
			if diff := keyDiff(sc.Schema.Fields(), rec); diff != "" {
				t.Fatalf("%s record %v: %s", stream, rec["id"], diff)
			}
		}
	}
}

// keyDiff compares a record's keys with fields, recursing into structs
// that are not null.
func keyDiff(fields []arrow.Field, rec map[string]any) string {
	names := map[string]bool{}
	for _, f := range fields {
		names[f.Name] = true
		v, ok := rec[f.Name]
		if !ok {
			return "no key " + f.Name
		}
		if st, isStruct := f.Type.(*arrow.StructType); isStruct && v != nil {
			if d := keyDiff(st.Fields(), v.(map[string]any)); d != "" {
				return f.Name + ": " + d
			}
		}
	}
	for k := range rec {
		if !names[k] {
			return "key " + k + " is not in the schema"
		}
	}
	return ""
}
