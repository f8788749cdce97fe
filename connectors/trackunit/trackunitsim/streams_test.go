package trackunitsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func idsOf(t *testing.T, content []any, key func(map[string]any) any) []string {
	t.Helper()
	var out []string
	for _, c := range content {
		out = append(out, fmt.Sprint(key(c.(map[string]any))))
	}
	return out
}

func field(name string) func(map[string]any) any {
	return func(m map[string]any) any { return m[name] }
}

func TestAssets_Paging(t *testing.T) {
	tests := []struct {
		name      string
		count     int
		size      int
		wantPages int // pages requested by a client that stops at number >= totalPages-1
	}{
		{"empty", 0, 20, 1},
		{"one short page", 7, 20, 1},
		{"last page exactly full", 40, 20, 2},
		{"short last page", 45, 20, 3},
		{"max size", 1001, 1000, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newLoggedIn(t, Options{Seed: 2, Counts: map[string]int{StreamAssets: tt.count}})
			var got []string
			pages := 0
			for page := 0; ; page++ {
				r := c.get(fmt.Sprintf("%s?page=%d&size=%d", AssetsPath, page, tt.size))
				if r.status != http.StatusOK {
					t.Fatalf("page %d: status %d %s", page, r.status, r.body)
				}
				pages++
				m := r.json(t)
				content := m["content"].([]any)
				wantTotalPages := (tt.count + tt.size - 1) / tt.size
				if m["totalPages"] != float64(wantTotalPages) || m["totalElements"] != float64(tt.count) ||
					m["number"] != float64(page) || m["size"] != float64(tt.size) || m["numberOfElements"] != float64(len(content)) {
					t.Fatalf("page %d envelope: %v", page, envelope(m))
				}
				got = append(got, idsOf(t, content, field("id"))...)
				if page >= wantTotalPages-1 {
					break
				}
			}
			if pages != tt.wantPages {
				t.Errorf("pages = %d, want %d", pages, tt.wantPages)
			}
			if diff := cmp.Diff(srv.IDs(StreamAssets), got, cmpNilEmpty); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
			// Past the end: an empty page, not an error.
			r := c.get(fmt.Sprintf("%s?page=%d&size=%d", AssetsPath, tt.wantPages+1, tt.size))
			if m := r.json(t); r.status != 200 || len(m["content"].([]any)) != 0 {
				t.Errorf("past the end: status %d content %v", r.status, m["content"])
			}
		})
	}
}

var cmpNilEmpty = cmp.Comparer(func(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return cmp.Equal([]string(a), []string(b))
})

func envelope(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k != "content" && k != "Equipment" && k != "equipment" {
			out[k] = v
		}
	}
	return out
}

func TestPaging_BadParams(t *testing.T) {
	srv, c := newLoggedIn(t, Options{})
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantCode                 string
	}{
		{"size too big", "GET", AssetsPath + "?size=1001", "", 400, "constraint_violation"},
		{"size zero", "GET", AssetsPath + "?size=0", "", 400, "constraint_violation"},
		{"negative page", "GET", AssetsPath + "?page=-1", "", 400, "constraint_violation"},
		{"page not a number", "GET", AssetsPath + "?page=x", "", 400, "constraint_violation"},
		{"limit too big", "GET", LocationsPath + "?limit=1001", "", 400, "constraint_violation"},
		{"bad cursor", "GET", LocationsPath + "?after=bm9wZQ==", "", 400, "invalid_cursor"},
		{"fleet page 0", "GET", FleetPath + "0", "", 400, "bad_request"},
		{"fleet page past last", "GET", FleetPath + "4", "", 404, "not_found"},
		{"events without window", "POST", EventLogPath, `{"type":["ALERT"]}`, 400, "constraint_violation"},
		{"events bad time", "POST", EventLogPath, `{"fromTime":"2025-01-01T00:00:000Z","toTime":"2025-01-07T00:00:00Z"}`, 400, "constraint_violation"},
		{"events reversed window", "POST", EventLogPath, `{"fromTime":"2025-01-07T00:00:00Z","toTime":"2025-01-01T00:00:00Z"}`, 400, "constraint_violation"},
		{"events bad type", "POST", EventLogPath, `{"fromTime":"2025-01-01T00:00:00Z","toTime":"2025-01-07T00:00:00Z","type":["FIRE"]}`, 400, "constraint_violation"},
		{"events not json", "POST", EventLogPath, `{"fromTime":`, 400, "bad_request"},
		{"unknown path", "GET", "/api/nope", "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do(tt.method, srv.URL+tt.path, tt.body, nil)
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; %s", r.status, tt.wantStatus, r.body)
			}
			m := r.json(t)
			if m["code"] != tt.wantCode || m["status"] != float64(tt.wantStatus) || m["message"] == "" {
				t.Errorf("body %s, want code %q", r.body, tt.wantCode)
			}
			if tt.wantCode == "constraint_violation" {
				if vs, _ := m["violations"].([]any); len(vs) == 0 {
					t.Errorf("constraint violation without violations: %s", r.body)
				}
			}
		})
	}
	r := c.do("POST", srv.URL+EventLogPath, `{}`, map[string]string{"Content-Type": "text/plain"})
	if r.status != http.StatusUnsupportedMediaType {
		t.Errorf("events with text/plain: status %d, want 415", r.status)
	}
}

func TestLocations_Paging(t *testing.T) {
	modes := []struct {
		name string
		mode CursorEnd
	}{{"always", CursorAlways}, {"null", CursorNull}, {"omit", CursorOmit}}
	counts := []struct {
		name  string
		count int
	}{{"empty", 0}, {"short", 7}, {"exactly full", 40}, {"short last page", 45}}
	for _, m := range modes {
		for _, cnt := range counts {
			t.Run(m.name+"/"+cnt.name, func(t *testing.T) {
				srv, c := newLoggedIn(t, Options{Seed: 4, CursorEnd: m.mode, LocationInterval: -1, Counts: map[string]int{StreamLocations: cnt.count}})
				const limit = 20
				var got []string
				requests := 0
				after := ""
				for {
					path := LocationsPath + "?limit=" + strconv.Itoa(limit)
					if after != "" {
						path += "&after=" + url.QueryEscape(after)
					}
					r := c.get(path)
					if r.status != http.StatusOK {
						t.Fatalf("status %d %s", r.status, r.body)
					}
					requests++
					page := r.json(t)
					content := page["content"].([]any)
					if page["limit"] != float64(limit) {
						t.Errorf("limit = %v", page["limit"])
					}
					got = append(got, idsOf(t, content, func(f map[string]any) any {
						return f["properties"].(map[string]any)["assetId"]
					})...)
					a, present := page["after"]
					if m.mode == CursorOmit && present && a == nil {
						t.Errorf("CursorOmit served \"after\": null")
					}
					if m.mode != CursorOmit && !present {
						t.Errorf("mode %v left out \"after\"", m.mode)
					}
					next, _ := a.(string)
					// A robust client stops on a missing/null cursor or a short page.
					if next == "" || len(content) < limit {
						break
					}
					after = next
				}
				if diff := cmp.Diff(srv.IDs(StreamLocations), got, cmpNilEmpty); diff != "" {
					t.Errorf("ids mismatch (-want +got):\n%s", diff)
				}
				wantRequests := cnt.count/limit + 1
				if m.mode != CursorAlways && cnt.count%limit == 0 && cnt.count > 0 {
					wantRequests-- // the last full page already says there is no more
				}
				if requests != wantRequests {
					t.Errorf("requests = %d, want %d", requests, wantRequests)
				}
			})
		}
	}
}

func TestLocations_Shape(t *testing.T) {
	srv, c := newLoggedIn(t, Options{Seed: 5, LocationInterval: -1})
	r := c.get(LocationsPath + "?limit=1000")
	content := r.json(t)["content"].([]any)
	if len(content) != DefaultLocations {
		t.Fatalf("got %d locations, want %d", len(content), DefaultLocations)
	}
	shapes := map[int]int{}
	for i, f := range content {
		feat := f.(map[string]any)
		if diff := cmp.Diff(srv.Record(StreamLocations, i), feat); diff != "" {
			t.Fatalf("location %d differs from Record (-record +served):\n%s", i, diff)
		}
		geom := feat["geometry"].(map[string]any)
		coords := geom["coordinates"].([]any)
		shapes[len(coords)]++
		lon, lat := coords[0].(float64), coords[1].(float64)
		if feat["type"] != "Feature" || geom["type"] != "Point" || lon < -180 || lon > 180 || lat < -90 || lat > 90 {
			t.Errorf("feature %d: %v", i, feat)
		}
		props := feat["properties"].(map[string]any)
		_, hasSpeed := props["speed"]
		if hasSpeed != (len(coords) == 3) {
			t.Errorf("feature %d: speed present %v with %d coordinates", i, hasSpeed, len(coords))
		}
		if _, err := time.Parse(time.RFC3339Nano, props["updatedAt"].(string)); err != nil {
			t.Errorf("feature %d: updatedAt: %v", i, err)
		}
	}
	if shapes[2] == 0 || shapes[3] == 0 {
		t.Errorf("coordinate shapes %v: want both [lon,lat] and [lon,lat,alt]", shapes)
	}
	// The alternative path prefix serves the same data.
	if alt := c.get(LocationsAltPath + "?limit=1000"); string(alt.body) != string(r.body) {
		t.Error("LocationsAltPath serves different data")
	}
}

func TestLocations_CursorEscaping(t *testing.T) {
	srv, c := newLoggedIn(t, Options{Seed: 6, LocationInterval: -1})
	// Find a cursor with '+' or '/', which a client must URL-encode.
	for i := range srv.Count(StreamLocations) {
		cur := strings.Trim(string(srv.appendCursor(nil, i)), `"`)
		if !strings.Contains(cur, "+") {
			continue
		}
		if _, err := base64.StdEncoding.DecodeString(cur); err != nil {
			t.Fatal(err)
		}
		if r := c.get(LocationsPath + "?after=" + cur); r.status != http.StatusBadRequest {
			t.Errorf("unescaped cursor with '+': status %d, want 400", r.status)
		}
		r := c.get(LocationsPath + "?limit=1&after=" + url.QueryEscape(cur))
		if r.status != http.StatusOK {
			t.Fatalf("escaped cursor: status %d %s", r.status, r.body)
		}
		content := r.json(t)["content"].([]any)
		if want := srv.Record(StreamLocations, i+1); i+1 < srv.Count(StreamLocations) && !cmp.Equal(content[0], any(want)) {
			t.Errorf("after cursor %d: got %v, want record %d", i, content[0], i+1)
		}
		return
	}
	t.Skip("no cursor with '+' for this seed")
}

func TestLocations_RateLimit(t *testing.T) {
	for _, bare := range []bool{false, true} {
		t.Run(fmt.Sprintf("bare=%v", bare), func(t *testing.T) {
			clock := newClock()
			srv, c := newLoggedIn(t, Options{Now: clock.Now, BareRateLimit: bare})
			if r := c.get(LocationsPath); r.status != 200 {
				t.Fatalf("first: status %d", r.status)
			}
			clock.Advance(500 * time.Millisecond)
			r := c.get(LocationsPath)
			if r.status != http.StatusTooManyRequests {
				t.Fatalf("same page within a second: status %d, want 429", r.status)
			}
			if got, want := r.header.Get("Retry-After"), map[bool]string{false: "1", true: ""}[bare]; got != want {
				t.Errorf("Retry-After = %q, want %q", got, want)
			}
			if m := r.json(t); m["status"] != 429.0 || m["code"] != "too_many_requests" {
				t.Errorf("429 body %s", r.body)
			}
			// Another page is not limited by the first.
			cur := strings.Trim(string(c.srv.appendCursor(nil, 19)), `"`)
			if r := c.get(LocationsPath + "?after=" + url.QueryEscape(cur)); r.status != 200 {
				t.Errorf("next page: status %d, want 200", r.status)
			}
			clock.Advance(500 * time.Millisecond)
			if r := c.get(LocationsPath); r.status != 200 {
				t.Errorf("after a second: status %d, want 200", r.status)
			}
			if got := srv.Stats().RateLimited[StreamLocations]; got != 1 {
				t.Errorf("RateLimited = %d, want 1", got)
			}
		})
	}
}

// fleetPages follows the next links from page 1 and returns the equipment
// and the number of pages.
func fleetPages(t *testing.T, c *client, query string, linksKey, equipKey string) ([]map[string]any, int) {
	t.Helper()
	var all []map[string]any
	u := c.srv.URL + FleetPath + "1" + query
	pages := 0
	for u != "" {
		r := c.do(http.MethodGet, u, "", nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: status %d %s", u, r.status, r.body)
		}
		pages++
		m := r.json(t)
		for _, e := range m[equipKey].([]any) {
			all = append(all, e.(map[string]any))
		}
		u = ""
		rels := map[string]bool{}
		for _, l := range m[linksKey].([]any) {
			link := l.(map[string]any)
			rels[link["rel"].(string)] = true
			if link["rel"] == "next" {
				u = link["href"].(string)
			}
		}
		if !rels["self"] || !rels["last"] || rels["prev"] != (pages > 1) {
			t.Errorf("page %d links %v", pages, m[linksKey])
		}
		if pages > 100 {
			t.Fatal("too many pages")
		}
	}
	return all, pages
}

func TestFleet_Paging(t *testing.T) {
	tests := []struct {
		name      string
		count     int
		wantPages int
	}{
		{"empty", 0, 1},
		{"short", 30, 1},
		{"last page exactly full", 200, 2},
		{"short last page", 250, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newLoggedIn(t, Options{Seed: 9, Counts: map[string]int{StreamFleetSnapshot: tt.count}})
			eq, pages := fleetPages(t, c, "?addMetadata=true", "Links", "Equipment")
			if pages != tt.wantPages {
				t.Errorf("pages = %d, want %d", pages, tt.wantPages)
			}
			var pins []string
			for i, e := range eq {
				h := e["EquipmentHeader"].(map[string]any)
				pins = append(pins, h["PIN"].(string))
				if diff := cmp.Diff(srv.Record(StreamFleetSnapshot, i), e); diff != "" {
					t.Fatalf("equipment %d differs from Record (-record +served):\n%s", i, diff)
				}
			}
			if diff := cmp.Diff(srv.IDs(StreamFleetSnapshot), pins, cmpNilEmpty); diff != "" {
				t.Errorf("PINs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFleet_Shape(t *testing.T) {
	for _, tt := range []struct {
		name  string
		keys  KeyCase
		links string
		equip string
		hdr   string
		hours string
		meta  string
	}{
		{"pascal", PascalCase, "Links", "Equipment", "EquipmentHeader", "CumulativeOperatingHours", "Metadata"},
		{"camel", CamelCase, "links", "equipment", "equipmentHeader", "cumulativeOperatingHours", "metadata"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			_, c := newLoggedIn(t, Options{Seed: 10, AEMPKeys: tt.keys, Now: clock.Now})
			r := c.get(FleetPath + "1")
			m := r.json(t)
			if r.header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
			}
			snap := m[map[KeyCase]string{PascalCase: "SnapshotTime", CamelCase: "snapshotTime"}[tt.keys]]
			if snap != clock.Now().Format(time.RFC3339) {
				t.Errorf("snapshot time %v, want the clock", snap)
			}
			eq := m[tt.equip].([]any)
			if len(eq) != DefaultAEMPPageSize {
				t.Fatalf("%d equipment on page 1, want %d", len(eq), DefaultAEMPPageSize)
			}
			sections := map[string]int{}
			for _, e := range eq {
				e := e.(map[string]any)
				for k := range e {
					sections[k]++
				}
				h := e[tt.hours].(map[string]any)
				if _, err := time.Parse(time.RFC3339, h["datetime"].(string)); err != nil {
					t.Errorf("datetime: %v", err)
				}
			}
			if sections[tt.hdr] != len(eq) || sections[tt.hours] != len(eq) || sections[tt.meta] != 0 {
				t.Errorf("sections %v: want header and hours everywhere and no metadata without addMetadata", sections)
			}
			if len(sections) < 6 {
				t.Errorf("sections %v: want Location, idle hours and fuel on some equipment", sections)
			}
			for _, l := range m[tt.links].([]any) {
				if href := l.(map[string]any)["href"].(string); !strings.HasPrefix(href, c.srv.URL+FleetPath) {
					t.Errorf("link %q is not on the API host", href)
				}
			}
		})
	}
}

func TestFleet_Accept(t *testing.T) {
	_, c := newLoggedIn(t, Options{AEMPWindow: -1})
	for _, tt := range []struct {
		accept string
		want   int
	}{
		{"", http.StatusNotAcceptable},
		{"application/xml", http.StatusNotAcceptable},
		{"*/*", http.StatusNotAcceptable},
		{"application/json", http.StatusOK},
		{"application/xml;q=0.5, application/json", http.StatusOK},
	} {
		t.Run(tt.accept, func(t *testing.T) {
			r := c.do(http.MethodGet, c.srv.URL+FleetPath+"1", "", map[string]string{"Accept": tt.accept})
			if r.status != tt.want {
				t.Errorf("Accept %q: status %d, want %d", tt.accept, r.status, tt.want)
			}
		})
	}
}

func TestFleet_RateLimit(t *testing.T) {
	t.Run("per URL with pool", func(t *testing.T) {
		clock := newClock()
		srv, c := newLoggedIn(t, Options{Now: clock.Now, AEMPPool: 2})
		for i := range 3 { // one regular request and two from the pool
			if r := c.get(FleetPath + "1"); r.status != 200 {
				t.Fatalf("request %d: status %d", i, r.status)
			}
		}
		r := c.get(FleetPath + "1")
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "900" {
			t.Fatalf("fourth request: status %d Retry-After %q, want 429 and 900", r.status, r.header.Get("Retry-After"))
		}
		if r := c.get(FleetPath + "2"); r.status != 200 {
			t.Errorf("another URL: status %d, want 200", r.status)
		}
		clock.Advance(15 * time.Minute)
		if r := c.get(FleetPath + "1"); r.status != 200 {
			t.Errorf("after 15 minutes: status %d, want 200", r.status)
		}
		if r := c.get(FleetPath + "1"); r.status != 429 {
			t.Errorf("pool still used: status %d, want 429", r.status)
		}
		clock.Advance(30 * 24 * time.Hour)
		c.login() // the old token expired long ago
		for i := range 3 {
			if r := c.get(FleetPath + "1"); r.status != 200 {
				t.Errorf("after the pool regenerated, request %d: status %d", i, r.status)
			}
		}
		if got := srv.Stats().RateLimited[StreamFleetSnapshot]; got != 2 {
			t.Errorf("RateLimited = %d, want 2", got)
		}
	})
	t.Run("per second", func(t *testing.T) {
		clock := newClock()
		_, c := newLoggedIn(t, Options{Now: clock.Now, AEMPWindow: -1, AEMPPerSecond: 2})
		for i := range 2 {
			if r := c.get(FleetPath + "1"); r.status != 200 {
				t.Fatalf("request %d: status %d", i, r.status)
			}
		}
		if r := c.get(FleetPath + "2"); r.status != 429 || r.header.Get("Retry-After") != "1" {
			t.Errorf("third in a second: status %d Retry-After %q", r.status, r.header.Get("Retry-After"))
		}
		clock.Advance(time.Second)
		if r := c.get(FleetPath + "2"); r.status != 200 {
			t.Errorf("next second: status %d", r.status)
		}
	})
	t.Run("no pool", func(t *testing.T) {
		clock := newClock()
		_, c := newLoggedIn(t, Options{Now: clock.Now, AEMPPool: -1, AEMPWindow: time.Minute})
		c.get(FleetPath + "1")
		clock.Advance(59 * time.Second)
		if r := c.get(FleetPath + "1"); r.status != 429 || r.header.Get("Retry-After") != "1" {
			t.Errorf("second request: status %d Retry-After %q", r.status, r.header.Get("Retry-After"))
		}
	})
}

func eventBody(from, to time.Time, extra string) string {
	return fmt.Sprintf(`{"fromTime":%q,"toTime":%q%s}`, from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano), extra)
}

func TestEvents_Paging(t *testing.T) {
	tests := []struct {
		name      string
		count     int
		lo, hi    int // window [EventTime(lo), EventTime(hi))
		size      int
		wantPages int
	}{
		{"empty stream", 0, 0, 0, 10, 1},
		{"empty window", 50, 20, 20, 10, 1},
		{"exactly full", 50, 10, 30, 10, 2},
		{"short last page", 50, 10, 35, 10, 3},
		{"everything", 50, 0, 50, 1000, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newLoggedIn(t, Options{Seed: 11, Counts: map[string]int{StreamAssetEvents: tt.count}})
			from := srv.EventTime(tt.lo)
			to := srv.EventTime(tt.hi)
			if tt.count == 0 {
				from, to = eventEpoch, eventEpoch.Add(24*time.Hour)
			}
			var got []string
			pages := 0
			for page := 0; ; page++ {
				r := c.do(http.MethodPost, fmt.Sprintf("%s%s?page=%d&size=%d", srv.URL, EventLogPath, page, tt.size), eventBody(from, to, ""), nil)
				if r.status != 200 {
					t.Fatalf("status %d %s", r.status, r.body)
				}
				pages++
				m := r.json(t)
				got = append(got, idsOf(t, m["content"].([]any), field("id"))...)
				if page >= int(m["totalPages"].(float64))-1 {
					break
				}
			}
			if pages != tt.wantPages {
				t.Errorf("pages = %d, want %d", pages, tt.wantPages)
			}
			want := srv.IDs(StreamAssetEvents)
			if tt.count > 0 {
				want = want[tt.lo:tt.hi]
			}
			if diff := cmp.Diff(want, got, cmpNilEmpty); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvents_Filters(t *testing.T) {
	srv, c := newLoggedIn(t, Options{Seed: 12, Counts: map[string]int{StreamAssets: 5, StreamAssetEvents: 300}})
	from, to := srv.EventTime(0), srv.EventTime(300).Add(time.Hour)
	asset := srv.IDs(StreamAssets)[2]
	tests := []struct {
		name  string
		extra string
		keep  func(map[string]any) bool
	}{
		{"type", `,"type":["MACHINE_FAULT"]`, func(m map[string]any) bool { return m["type"] == "MACHINE_FAULT" }},
		{"criticality and status", `,"criticality":["CRITICAL"],"status":["OPEN","CLOSED"]`, func(m map[string]any) bool {
			return m["criticality"] == "CRITICAL" && (m["status"] == "OPEN" || m["status"] == "CLOSED")
		}},
		{"asset", `,"assetIds":["` + asset + `"]`, func(m map[string]any) bool { return m["assetId"] == asset }},
		{"group", `,"groupIds":["00000000-0000-0000-0000-000000123456"]`, func(map[string]any) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for i := range 300 {
				if rec := srv.Record(StreamAssetEvents, i); tt.keep(rec) {
					want = append(want, rec["id"].(string))
				}
			}
			r := c.do(http.MethodPost, srv.URL+EventLogPath+"?size=1000", eventBody(from, to, tt.extra), nil)
			m := r.json(t)
			got := idsOf(t, m["content"].([]any), field("id"))
			if diff := cmp.Diff(want, got, cmpNilEmpty); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
			if m["totalElements"] != float64(len(want)) {
				t.Errorf("totalElements = %v, want %d", m["totalElements"], len(want))
			}
		})
	}
}

func TestEvents_Shape(t *testing.T) {
	srv, c := newLoggedIn(t, Options{Seed: 13})
	r := c.do(http.MethodPost, srv.URL+EventLogPath+"?size=1000", eventBody(eventEpoch, eventEpoch.Add(365*24*time.Hour), ""), nil)
	content := r.json(t)["content"].([]any)
	if len(content) != DefaultAssetEvents {
		t.Fatalf("%d events, want %d", len(content), DefaultAssetEvents)
	}
	var prev time.Time
	nulls := map[string]int{}
	for i, e := range content {
		m := e.(map[string]any)
		if diff := cmp.Diff(srv.Record(StreamAssetEvents, i), m); diff != "" {
			t.Fatalf("event %d differs from Record (-record +served):\n%s", i, diff)
		}
		at, err := time.Parse(time.RFC3339Nano, m["eventTime"].(string))
		if err != nil || !at.After(prev) || !at.Equal(srv.EventTime(i)) {
			t.Fatalf("event %d: eventTime %v (err %v) after %v", i, at, err, prev)
		}
		prev = at
		if m["timeOff"] == nil {
			nulls["timeOff"]++
			if m["status"] != "OPEN" {
				t.Errorf("event %d: no timeOff but status %v", i, m["status"])
			}
		}
		d := m["assetEventDomainDetails"].(map[string]any)
		if d["j1939"] == nil {
			nulls["j1939"]++
		} else if m["type"] != "MACHINE_FAULT" {
			t.Errorf("event %d: j1939 on %v", i, m["type"])
		}
		if (d["faultCode"] != nil) != (m["type"] == "MACHINE_FAULT") {
			t.Errorf("event %d: faultCode %v on %v", i, d["faultCode"], m["type"])
		}
	}
	if nulls["timeOff"] == 0 || nulls["j1939"] == 0 || nulls["j1939"] == len(content) {
		t.Errorf("nulls %v: want both null and set timeOff and j1939", nulls)
	}
}

func TestEvents_RateLimit(t *testing.T) {
	clock := newClock()
	srv, c := newLoggedIn(t, Options{Now: clock.Now, EventLogLimit: 2})
	body := eventBody(eventEpoch, eventEpoch.Add(time.Hour), "")
	for i := range 2 {
		if r := c.do(http.MethodPost, srv.URL+EventLogPath, body, nil); r.status != 200 {
			t.Fatalf("request %d: status %d", i, r.status)
		}
	}
	clock.Advance(10 * time.Minute)
	r := c.do(http.MethodPost, srv.URL+EventLogPath, body, nil)
	if r.status != 429 || r.header.Get("Retry-After") != "1200" {
		t.Fatalf("third request: status %d Retry-After %q, want 429 and 1200", r.status, r.header.Get("Retry-After"))
	}
	clock.Advance(20 * time.Minute)
	if r := c.do(http.MethodPost, srv.URL+EventLogPath, body, nil); r.status != 200 {
		t.Errorf("after the window: status %d", r.status)
	}
}

func TestLocations_Before(t *testing.T) {
	srv, c := newLoggedIn(t, Options{Seed: 14, LocationInterval: -1, Counts: map[string]int{StreamLocations: 50}})
	second := c.get(LocationsPath + "?limit=10&after=" + url.QueryEscape(strings.Trim(string(srv.appendCursor(nil, 9)), `"`))).json(t)
	before := second["before"].(string)
	r := c.get(LocationsPath + "?limit=10&before=" + url.QueryEscape(before))
	got := idsOf(t, r.json(t)["content"].([]any), func(f map[string]any) any { return f["properties"].(map[string]any)["assetId"] })
	if diff := cmp.Diff(srv.IDs(StreamLocations)[:10], got); diff != "" {
		t.Errorf("before the second page (-want +got):\n%s", diff)
	}
	if r := c.get(LocationsPath + "?after=" + url.QueryEscape(before) + "&before=" + url.QueryEscape(before)); r.status != 400 {
		t.Errorf("after and before: status %d, want 400", r.status)
	}
}

// TestVariantAlt: the alt variant serves the event time under another key
// (or none), the same events in the same windows, keys no schema knows on
// every record, productionYear and timeOff in another JSON type on every
// other run of altBlock records, and the locations list under /api only.
func TestVariantAlt(t *testing.T) {
	srv, c := newLoggedIn(t, Options{Seed: 13, Variant: VariantAlt, Counts: map[string]int{StreamAssets: 120, StreamAssetEvents: 120}})
	if r := c.get(LocationsPath); r.status != http.StatusNotFound {
		t.Errorf("GET %s: %d, want 404 (the alt variant serves locations under the other prefix only)", LocationsPath, r.status)
	}
	if r := c.get(LocationsAltPath); r.status != http.StatusOK {
		t.Errorf("GET %s: %d, want 200", LocationsAltPath, r.status)
	}
	r := c.do(http.MethodPost, srv.URL+EventLogPath+"?size=1000", eventBody(eventEpoch, eventEpoch.Add(365*24*time.Hour), ""), nil)
	content := r.json(t)["content"].([]any)
	if len(content) != 120 {
		t.Fatalf("%d events, want 120", len(content))
	}
	keys := map[string]int{}
	objects := 0
	for i, e := range content {
		m := e.(map[string]any)
		if diff := cmp.Diff(srv.Record(StreamAssetEvents, i), m); diff != "" {
			t.Fatalf("event %d differs from Record (-record +served):\n%s", i, diff)
		}
		if _, ok := m["eventTime"]; ok {
			t.Fatalf("event %d has eventTime", i)
		}
		key := "none"
		for _, k := range []string{"timestamp", "occurredAt"} {
			if v, ok := m[k]; ok {
				key = k
				if at, err := time.Parse(time.RFC3339Nano, v.(string)); err != nil || !at.Equal(srv.EventTime(i)) {
					t.Errorf("event %d: %s %v, want %v", i, k, v, srv.EventTime(i))
				}
			}
		}
		keys[key]++
		if m["etag"] == nil || m["tenantRef"] == nil {
			t.Errorf("event %d lacks the extra keys", i)
		}
		if _, ok := m["timeOff"].(map[string]any); ok {
			objects++
			if i/altBlock%2 != 1 {
				t.Errorf("event %d: timeOff an object outside an odd block", i)
			}
		}
	}
	if keys["timestamp"] == 0 || keys["occurredAt"] == 0 || keys["none"] == 0 || objects == 0 {
		t.Errorf("time keys %v, %d timeOff objects: want every shape", keys, objects)
	}
	years := map[string]int{}
	for i := range 120 {
		a := srv.Record(StreamAssets, i)
		if a["etag"] == nil {
			t.Errorf("asset %d lacks the extra keys", i)
		}
		switch a["productionYear"].(type) {
		case string:
			years["text"]++
		case float64:
			years["number"]++
		}
	}
	if years["text"] == 0 || years["number"] == 0 {
		t.Errorf("productionYear shapes %v, want text and numbers", years)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(srv.RecordJSON(StreamAssetEvents, 3), &raw); err != nil || string(raw["etag"]) == "" {
		t.Errorf("RecordJSON: %v, %s", err, raw["etag"])
	}
	if _, err := Start("127.0.0.1:0", Options{Variant: "other"}); err == nil {
		t.Error("Start with an unknown variant succeeded")
	}
}
