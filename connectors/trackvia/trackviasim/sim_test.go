package trackviasim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"

	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func creds() url.Values {
	return url.Values{"user_key": {DefaultUserKey}, "access_token": {DefaultAccessToken}}
}
func viewPath(id int64) string { return "/openapi/views/" + strconv.FormatInt(id, 10) }
func pageQuery(start, n int) string {
	return "start=" + strconv.Itoa(start) + "&max=" + strconv.Itoa(n)
}

// get performs GET srv.URL+path with query q and headers hdr.
func get(t *testing.T, srv *Server, path string, q url.Values, hdr http.Header) (int, http.Header, []byte) {
	t.Helper()
	u := srv.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp.StatusCode, resp.Header, body
}

type envelope struct {
	Structure  []map[string]any `json:"structure"`
	Data       []map[string]any `json:"data"`
	TotalCount int              `json:"totalCount"`
}

// getPage fetches one page of view id with the default credentials.
func getPage(t *testing.T, srv *Server, id int64, start, n int) (envelope, []byte) {
	t.Helper()
	q := creds()
	q.Set("start", strconv.Itoa(start))
	q.Set("max", strconv.Itoa(n))
	path := viewPath(id)
	if id == UsersViewID {
		path = "/openapi/users"
	}
	code, _, body := get(t, srv, path, q, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s %s = %d %s", path, pageQuery(start, n), code, body)
	}
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("GET %s: decode: %v", path, err)
	}
	return e, body
}

// all walks every page of view id with page size n.
func all(t *testing.T, srv *Server, id int64, n int) []map[string]any {
	t.Helper()
	var out []map[string]any
	for start := 0; ; start += n {
		e, _ := getPage(t, srv, id, start, n)
		out = append(out, e.Data...)
		if len(e.Data) == 0 || start+n >= e.TotalCount {
			return out
		}
	}
}

func TestAuth(t *testing.T) {
	c := connectortest.NewClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	srv := NewServer(t, Options{
		Now:               c.Now,
		Tokens:            []Token{{Value: "dated-token-123456", Expires: time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)}},
		ExpiredTokens:     []string{"old-token-123456789"},
		DeactivatedTokens: []string{"off-token-123456789"},
	})
	srv.Expire("expired-by-call-123456")
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	key := url.Values{"user_key": {DefaultUserKey}}
	tests := []struct {
		name     string
		q        url.Values
		hdr      http.Header
		wantCode int
		wantBody string // substring
	}{
		{"query token", creds(), nil, 200, `"structure"`},
		{"bearer token", key, bearer(DefaultAccessToken), 200, `"structure"`},
		{"lower-case bearer", key, http.Header{"Authorization": {"bearer " + DefaultAccessToken}}, 200, `"totalCount"`},
		{"user_key header", url.Values{"access_token": {DefaultAccessToken}}, http.Header{"User_key": {DefaultUserKey}}, 200, `"data"`},
		{"dated token before its date", key, bearer("dated-token-123456"), 200, `"data"`},
		{"no user_key", url.Values{"access_token": {DefaultAccessToken}}, nil, 401, "Authentication parameters missing"},
		{"wrong user_key", url.Values{"user_key": {"nope"}, "access_token": {DefaultAccessToken}}, nil, 403, "Authentication failed"},
		{"no token", key, nil, 401, `{"error":"unauthorized","error_description":"Full authentication is required to access this resource"}`},
		{"unknown token", key, bearer("who-is-this-token"), 401, `{"error":"invalid_token","error_description":"Invalid access token: who-****"}`},
		{"deactivated token", key, bearer("off-token-123456789"), 401, `"Invalid access token: off-****"`},
		{"expired token", url.Values{"user_key": {DefaultUserKey}, "access_token": {"old-token-123456789"}}, nil, 401, `{"error":"invalid_token","error_description":"Access token expired: old-****"}`},
		{"expired by Expire", key, bearer("expired-by-call-123456"), 401, "Access token expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, body := get(t, srv, viewPath(ViewAllContacts), tt.q, tt.hdr)
			if code != tt.wantCode || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("GET = %d %s, want %d containing %s", code, body, tt.wantCode, tt.wantBody)
			}
			if code == 401 && strings.Contains(string(body), "invalid_token") && !strings.Contains(hdr.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("WWW-Authenticate = %q, want invalid_token", hdr.Get("WWW-Authenticate"))
			}
			if code != 200 && (strings.Contains(string(body), DefaultAccessToken) || strings.Contains(string(body), "123456789")) {
				t.Errorf("body %s echoes a token", body)
			}
		})
	}
	st := srv.Stats()
	if st.BearerAuth != 3 || st.QueryAuth != 2 || st.AuthFailures != 7 || st.ExpiredToken != 2 || st.InvalidToken != 2 ||
		st.MissingUserKey != 1 || st.BadUserKey != 1 || st.MissingToken != 1 {
		t.Errorf("Stats() = %+v", st)
	}

	t.Run("dated token after midnight UTC", func(t *testing.T) {
		c.Set(time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC))
		code, _, body := get(t, srv, viewPath(ViewAllContacts), key, bearer("dated-token-123456"))
		if code != 401 || !strings.Contains(string(body), "Access token expired") {
			t.Errorf("GET = %d %s, want 401 Access token expired", code, body)
		}
		if err := srv.Reactivate("dated-token-123456"); err == nil {
			t.Error("Reactivate(expired) = nil, want error")
		}
	})
	t.Run("deactivate and reactivate", func(t *testing.T) {
		srv.Deactivate(DefaultAccessToken)
		if code, _, _ := get(t, srv, "/openapi/apps", creds(), nil); code != 401 {
			t.Errorf("deactivated: GET apps = %d, want 401", code)
		}
		if err := srv.Reactivate(DefaultAccessToken); err != nil {
			t.Fatalf("Reactivate: %v", err)
		}
		if code, _, _ := get(t, srv, "/openapi/apps", creds(), nil); code != 200 {
			t.Errorf("reactivated: GET apps = %d, want 200", code)
		}
	})
}

func TestUsersNeedSuperAdmin(t *testing.T) {
	srv := NewServer(t, Options{Tokens: []Token{{Value: "plain-api-user-token", NotSuperAdmin: true}}})
	q := url.Values{"user_key": {DefaultUserKey}, "access_token": {"plain-api-user-token"}}
	if code, _, body := get(t, srv, viewPath(ViewWorkOrders), q, nil); code != 200 {
		t.Errorf("view with non-admin token = %d %s, want 200", code, body)
	}
	code, _, body := get(t, srv, "/openapi/users", q, nil)
	if code != 401 || !strings.Contains(string(body), `"error":"access_denied"`) {
		t.Errorf("users with non-admin token = %d %s, want 401 access_denied", code, body)
	}
	e, _ := getPage(t, srv, UsersViewID, 0, 1000)
	if e.TotalCount != DefaultUsers || len(e.Data) != DefaultUsers {
		t.Errorf("users: totalCount %d, %d rows, want %d", e.TotalCount, len(e.Data), DefaultUsers)
	}
	if e.Structure[0]["name"] != "id" {
		t.Errorf("users structure[0] = %v, want the id field", e.Structure[0])
	}
	wantKeys := []string{"Created", "Status", "Time Zone", "email", "first_name", "id", "last_name"}
	if diff := cmp.Diff(wantKeys, keys(e.Data[0])); diff != "" {
		t.Errorf("user keys mismatch (-want +got):\n%s", diff)
	}
	if srv.Stats().NotSuperAdmin != 1 {
		t.Errorf("Stats().NotSuperAdmin = %d, want 1", srv.Stats().NotSuperAdmin)
	}
}

// sanitise is what a connector might do to a view name to get a stream name.
func sanitise(s string) string {
	return reNotSimple.ReplaceAllString(strings.ToLower(s), "_")
}

func TestAppsAndViews(t *testing.T) {
	srv := NewServer(t, Options{})
	code, _, body := get(t, srv, "/openapi/apps", creds(), nil)
	want := `[{"id":"1","name":"CRM"},{"id":"2","name":"Field Ops"},{"id":"3","name":"Inventar Übersicht"}]`
	if code != 200 || string(body) != want {
		t.Errorf("GET apps = %d %s, want %s", code, body, want)
	}
	code, _, body = get(t, srv, "/openapi/views", creds(), nil)
	var views []map[string]any
	if err := json.Unmarshal(body, &views); code != 200 || err != nil {
		t.Fatalf("GET views = %d %s (%v)", code, body, err)
	}
	if len(views) != 5 {
		t.Fatalf("GET views: %d views, want 5", len(views))
	}
	if diff := cmp.Diff(map[string]any{"id": "301", "name": "Größenübersicht – Lager 📦", "applicationName": "Inventar Übersicht"}, views[3]); diff != "" {
		t.Errorf("views[3] mismatch (-want +got):\n%s", diff)
	}
	if a, b := sanitise(views[0]["name"].(string)), sanitise(views[1]["name"].(string)); a != b {
		t.Errorf("sanitised names %q and %q should collide", a, b)
	}
	q := creds()
	q.Set("name", "Work Orders")
	_, _, body = get(t, srv, "/openapi/views", q, nil)
	if want := `[{"id":"201","name":"Work Orders","applicationName":"Field Ops"}]`; string(body) != want {
		t.Errorf("GET views?name=Work Orders = %s, want %s", body, want)
	}
	q.Set("name", "work orders")
	if _, _, body = get(t, srv, "/openapi/views", q, nil); string(body) != "[]" {
		t.Errorf("GET views?name=work orders = %s, want [] (exact match)", body)
	}

	alt := NewServer(t, Options{Shapes: ShapesAlternate})
	if _, _, body = get(t, alt, "/openapi/apps", creds(), nil); !strings.HasPrefix(string(body), `[{"id":1,`) {
		t.Errorf("alternate shapes: GET apps = %s, want numeric ids", body)
	}
	st := srv.Stats()
	if st.AppLists != 1 || st.ViewLists != 3 {
		t.Errorf("Stats() lists = %d apps, %d views; want 1, 3", st.AppLists, st.ViewLists)
	}
}

func TestPaging(t *testing.T) {
	srv := NewServer(t, Options{Seed: 3, Records: map[int64]int{ViewAllContactsDash: 200}})
	t.Run("walks", func(t *testing.T) {
		for _, id := range []int64{ViewAllContacts, ViewAllContactsDash, ViewWorkOrders, ViewLager, ViewEmpty, UsersViewID} {
			for _, n := range []int{1, 7, 100, 1000} {
				if n == 1 && id != UsersViewID && id != ViewEmpty {
					continue // hundreds of one-record requests add nothing
				}
				t.Run(strconv.FormatInt(id, 10)+"/"+strconv.Itoa(n), func(t *testing.T) {
					var got []int64
					for _, r := range all(t, srv, id, n) {
						got = append(got, int64(r["id"].(float64)))
					}
					if diff := cmp.Diff(srv.IDs(id), got, cmpopts.EquateEmpty()); diff != "" {
						t.Errorf("ids mismatch (-IDs +paged):\n%s", diff)
					}
				})
			}
		}
	})
	t.Run("last page exactly full", func(t *testing.T) {
		var sizes []int
		for start := 0; start <= 200; start += 100 {
			e, _ := getPage(t, srv, ViewAllContactsDash, start, 100)
			if e.TotalCount != 200 {
				t.Errorf("start %d: totalCount %d, want 200", start, e.TotalCount)
			}
			sizes = append(sizes, len(e.Data))
		}
		if diff := cmp.Diff([]int{100, 100, 0}, sizes); diff != "" {
			t.Errorf("page sizes mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("empty view", func(t *testing.T) {
		_, body := getPage(t, srv, ViewEmpty, 0, 1000)
		if !bytes.HasSuffix(body, []byte(`,"data":[],"totalCount":0}`)) {
			t.Errorf("empty view page = %s", body)
		}
	})
	t.Run("default max is 1000", func(t *testing.T) {
		q := creds()
		_, _, body := get(t, srv, viewPath(ViewWorkOrders), q, nil)
		var e envelope
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatal(err)
		}
		if len(e.Data) != DefaultPageSize || e.TotalCount != DefaultWorkOrders {
			t.Errorf("no max: %d rows, totalCount %d; want %d, %d", len(e.Data), e.TotalCount, DefaultPageSize, DefaultWorkOrders)
		}
	})
	t.Run("max 0 gives the count only", func(t *testing.T) {
		e, _ := getPage(t, srv, ViewLager, 0, 0)
		if len(e.Data) != 0 || e.TotalCount != DefaultLager || len(e.Structure) == 0 {
			t.Errorf("max=0: %d rows, totalCount %d, %d fields", len(e.Data), e.TotalCount, len(e.Structure))
		}
	})
	t.Run("max 100000 is allowed", func(t *testing.T) {
		e, _ := getPage(t, srv, ViewWorkOrders, 0, MaxPageSize)
		if len(e.Data) != DefaultWorkOrders {
			t.Errorf("max=%d: %d rows, want %d", MaxPageSize, len(e.Data), DefaultWorkOrders)
		}
	})
}

func TestBadRequests(t *testing.T) {
	srv := NewServer(t, Options{})
	tests := []struct {
		name, path, query string
		wantCode          int
		wantBody          string
	}{
		{"max too large", viewPath(ViewAllContacts), "max=100001", 400, `{"errors":["max must be between 0 and 100000"],"message":"max must be between 0 and 100000","name":"BadRequest","code":"400","stackTrace":""}`},
		{"negative max", viewPath(ViewAllContacts), "max=-1", 400, "max must be"},
		{"text start", viewPath(ViewAllContacts), "start=abc", 400, "start must be"},
		{"negative start", "/openapi/users", "start=-5", 400, "start must be"},
		{"unknown view", viewPath(999), "", 404, `"name":"NotFound"`},
		{"view 0", viewPath(0), "", 404, "View not found"},
		{"text view id", "/openapi/views/abc", "", 404, "View not found"},
		{"unknown record", viewPath(ViewAllContacts) + "/records/999999", "", 404, "Record not found"},
		{"unknown path", "/openapi/tables", "", 404, "No handler"},
		{"legacy v1 path", "/api/v1/views/101/records", "", 404, "No handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			for k, v := range creds() {
				q[k] = v
			}
			code, hdr, body := get(t, srv, tt.path, q, nil)
			if code != tt.wantCode || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("GET %s?%s = %d %s, want %d containing %s", tt.path, tt.query, code, body, tt.wantCode, tt.wantBody)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

func TestStructure(t *testing.T) {
	srv := NewServer(t, Options{})
	types := map[string]bool{}
	for _, v := range srv.Views() {
		e, body := getPage(t, srv, v.ID, 0, 5)
		prefix := `{"structure":[{"name":"Record ID","type":"identifier","required":false,"unique":true,"canRead":true,"canUpdate":false,"canCreate":false,"choices":[],"fieldMetaId":`
		if !bytes.HasPrefix(body, []byte(prefix)) {
			t.Errorf("view %d page starts %.200s, want %s", v.ID, body, prefix)
		}
		want := srv.Structure(v.ID)
		if len(e.Structure) != len(want) {
			t.Fatalf("view %d: %d fields, Structure() has %d", v.ID, len(e.Structure), len(want))
		}
		for i, fd := range e.Structure {
			if diff := cmp.Diff([]string{"canCreate", "canRead", "canUpdate", "choices", "fieldMetaId", "name", "required", "type", "unique"}, keys(fd)); diff != "" {
				t.Errorf("view %d field %d keys mismatch (-want +got):\n%s", v.ID, i, diff)
			}
			if fd["name"] != want[i].Name || fd["type"] != string(want[i].Type) || fd["fieldMetaId"] != float64(want[i].FieldMetaID) {
				t.Errorf("view %d field %d = %v, want %+v", v.ID, i, fd, want[i])
			}
			types[fd["type"].(string)] = true
		}
		for _, r := range e.Data {
			wantKeys := []string{"id"}
			for _, fd := range want {
				wantKeys = append(wantKeys, fd.Name)
			}
			if diff := cmp.Diff(sorted(wantKeys), keys(r)); diff != "" {
				t.Errorf("view %d record keys mismatch (-structure +data):\n%s", v.ID, diff)
			}
		}
	}
	for _, ft := range FieldTypes() {
		if !types[string(ft)] {
			t.Errorf("no view has a %s field", ft)
		}
	}
}

var (
	reDate      = regexp.MustCompile(`^\d{4}-\d\d-\d\d$`)
	reOffset    = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-07:00$`)
	reUTC       = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	reNumeric   = regexp.MustCompile(`^-?\d+(\.\d+)?$`)
	reNotSimple = regexp.MustCompile(`[^a-z0-9]+`)
)

// kind names the JSON shape of a decoded value, with string formats told apart.
func kind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		for _, e := range x {
			if _, ok := e.(string); !ok {
				return "array-of-other"
			}
		}
		return "array"
	case map[string]any:
		if _, ok := x["latitude"].(float64); ok && len(x) == 2 {
			if _, ok := x["longitude"].(float64); ok {
				return "point"
			}
		}
		return "object"
	case string:
		switch {
		case reDate.MatchString(x):
			return "date"
		case reOffset.MatchString(x):
			return "datetime-offset"
		case reUTC.MatchString(x):
			return "datetime-utc"
		case reNumeric.MatchString(x):
			return "numeric-string"
		}
		return "string"
	}
	return "?"
}

func TestValueShapes(t *testing.T) {
	num, numStr := "number", "numeric-string"
	// canonical and alternate shape of each type; text types have one shape.
	shapes := map[FieldType][2]string{
		Number: {num, numStr}, Currency: {num, numStr}, Percentage: {num, numStr}, AutoIncrement: {num, numStr},
		User: {num, numStr}, UserGroup: {num, numStr}, Relationship: {num, numStr},
		Identifier: {numStr, num},
		Date:       {"date", "datetime-offset"}, DateTime: {"datetime-offset", "datetime-utc"},
		Checkbox: {"array", "array"}, Point: {"point", "point"}, Document: {num, num}, Image: {num, num},
	}
	for _, mode := range []Shapes{ShapesMixed, ShapesCanonical, ShapesAlternate} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			srv := NewServer(t, Options{Seed: 11, Shapes: mode})
			seen := map[FieldType]map[string]int{}
			longText := 0
			for _, v := range append(srv.Views(), View{ID: UsersViewID}) {
				fields := srv.Structure(v.ID)
				for _, r := range all(t, srv, v.ID, 1000) {
					if kind(r["id"]) != num {
						t.Fatalf("view %d: id %v is not a number", v.ID, r["id"])
					}
					for _, fd := range fields {
						if fd.Name == "id" {
							continue // the users' internal id, always a number
						}
						val := r[fd.Name]
						k := kind(val)
						if seen[fd.Type] == nil {
							seen[fd.Type] = map[string]int{}
						}
						seen[fd.Type][k]++
						if fd.Type == Identifier && val != nil && kind(val) == numStr && val.(string) != strconv.FormatFloat(r["id"].(float64), 'f', -1, 64) {
							t.Errorf("view %d: Record ID %v differs from id %v", v.ID, val, r["id"])
						}
						if s, ok := val.(string); ok && len(s) > 10*1024 {
							longText++
							if fd.Type != Paragraph {
								t.Errorf("view %d: %d-byte value in %s field %q", v.ID, len(s), fd.Type, fd.Name)
							}
						}
						if fd.Type == DropDown && val != nil && !contains(fd.Choices, val.(string)) {
							t.Errorf("view %d: dropDown %q value %q is not a choice", v.ID, fd.Name, val)
						}
					}
				}
			}
			for ft, pair := range shapes {
				got := seen[ft]
				allowed := map[string]bool{"null": true, pair[0]: mode != ShapesAlternate, pair[1]: mode != ShapesCanonical}
				if pair[0] == pair[1] {
					allowed[pair[0]] = true
				}
				for k, n := range got {
					if !allowed[k] {
						t.Errorf("%s: %d values of shape %s, allowed %v", ft, n, k, allowed)
					}
				}
				if mode == ShapesMixed && (got[pair[0]] == 0 || got[pair[1]] == 0) {
					t.Errorf("%s: shapes seen %v, want both %s and %s", ft, got, pair[0], pair[1])
				}
			}
			for _, ft := range []FieldType{DropDown, Checkbox, Point, Document, ShortAnswer, Paragraph, Date, User} {
				if seen[ft]["null"] == 0 {
					t.Errorf("%s: no nulls in %v", ft, seen[ft])
				}
			}
			if longText == 0 {
				t.Error("no text value over 10 KB")
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return sorted(out)
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func TestRecordMatchesPage(t *testing.T) {
	srv := NewServer(t, Options{Seed: 5})
	for _, id := range []int64{ViewAllContacts, ViewLager, UsersViewID} {
		rows := all(t, srv, id, 1000)
		for i, r := range rows {
			if diff := cmp.Diff(r, srv.Record(id, i)); diff != "" {
				t.Fatalf("view %d: Record(%d) mismatch (-page +Record):\n%s", id, i, diff)
			}
		}
		if srv.Record(id, len(rows)) != nil || srv.Record(id, -1) != nil {
			t.Errorf("view %d: Record out of range is not nil", id)
		}
		if id == UsersViewID {
			continue // users have no single-record endpoint
		}
		code, _, body := get(t, srv, viewPath(id)+"/records/"+strconv.FormatFloat(rows[3]["id"].(float64), 'f', -1, 64), creds(), nil)
		var one struct {
			Structure []map[string]any `json:"structure"`
			Data      map[string]any   `json:"data"`
		}
		if err := json.Unmarshal(body, &one); code != 200 || err != nil {
			t.Fatalf("GET record = %d %s (%v)", code, body, err)
		}
		if diff := cmp.Diff(rows[3], one.Data); diff != "" {
			t.Errorf("view %d: single record mismatch (-page +record):\n%s", id, diff)
		}
	}
}

func TestDeterminism(t *testing.T) {
	page := func(seed uint64) []byte {
		srv := NewServer(t, Options{Seed: seed})
		_, body := getPage(t, srv, ViewLager, 0, 1000)
		return body
	}
	a, b, c := page(42), page(42), page(43)
	if !bytes.Equal(a, b) {
		t.Error("same seed, different pages")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds, same page")
	}
	if !json.Valid(a) {
		t.Error("page is not valid JSON")
	}
}

func TestStructureChange(t *testing.T) {
	srv := NewServer(t, Options{Seed: 9})
	before := all(t, srv, ViewAllContactsDash, 1000)

	fd, err := srv.AddField(ViewAllContactsDash, "Größe der Firma", Number)
	if err != nil {
		t.Fatalf("AddField: %v", err)
	}
	if err := srv.RemoveField(ViewAllContactsDash, "Lead Score"); err != nil {
		t.Fatalf("RemoveField: %v", err)
	}
	if err := srv.RenameField(ViewAllContactsDash, "Zip Code", "Postleitzahl"); err != nil {
		t.Fatalf("RenameField: %v", err)
	}
	e, _ := getPage(t, srv, ViewAllContactsDash, 0, 1000)
	last := e.Structure[len(e.Structure)-1]
	if last["name"] != "Größe der Firma" || last["type"] != "number" || last["fieldMetaId"] != float64(fd.FieldMetaID) {
		t.Errorf("added field = %v, want %+v", last, fd)
	}
	nulls := 0
	for i, r := range e.Data {
		if _, ok := r["Lead Score"]; ok {
			t.Fatalf("record %d still has Lead Score", i)
		}
		if _, ok := r["Größe der Firma"]; !ok {
			t.Fatalf("record %d lacks the added field", i)
		}
		if r["Größe der Firma"] == nil {
			nulls++
		}
		if r["Postleitzahl"] != before[i]["Zip Code"] || r["Account"] != before[i]["Account"] {
			t.Fatalf("record %d: renamed or kept values changed: %v vs %v", i, r, before[i])
		}
	}
	if nulls == len(e.Data) {
		t.Error("added field is null everywhere")
	}

	t.Run("SetStructure", func(t *testing.T) {
		fields := srv.Structure(ViewAllContactsDash)
		fields = append(fields[:2], Field{Name: "Neu ✨", Type: DropDown})
		if err := srv.SetStructure(ViewAllContactsDash, fields); err != nil {
			t.Fatalf("SetStructure: %v", err)
		}
		got := srv.Structure(ViewAllContactsDash)
		if len(got) != 3 || got[2].FieldMetaID == 0 || len(got[2].Choices) != 3 {
			t.Errorf("Structure after SetStructure = %+v", got)
		}
		r := srv.Record(ViewAllContactsDash, 0)
		if diff := cmp.Diff([]string{"Account", "Neu ✨", "Record ID", "id"}, keys(r)); diff != "" {
			t.Errorf("record keys mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name string
			err  error
		}{
			{"duplicate name", srv.SetStructure(ViewEmpty, []Field{{Name: "a", Type: Number}, {Name: "a", Type: Email}})},
			{"empty name", srv.SetStructure(ViewEmpty, []Field{{Type: Number}})},
			{"no type", srv.SetStructure(ViewEmpty, []Field{{Name: "x"}})},
			{"unknown view", srv.SetStructure(999, nil)},
			{"remove unknown", srv.RemoveField(ViewEmpty, "nope")},
			{"rename onto existing", srv.RenameField(ViewEmpty, "Name", "Record ID")},
			{"add existing", func() error { _, err := srv.AddField(ViewEmpty, "Name", Email); return err }()},
		}
		for _, tt := range tests {
			if tt.err == nil {
				t.Errorf("%s: err = nil, want an error", tt.name)
			}
		}
	})
}

func TestMutations(t *testing.T) {
	c := connectortest.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	srv := NewServer(t, Options{Now: c.Now, Records: map[int64]int{ViewAllContacts: 10}})
	if err := srv.Append(ViewAllContacts, 3); err != nil {
		t.Fatalf("Append: %v", err)
	}
	ids := srv.IDs(ViewAllContacts)
	if len(ids) != 13 || ids[12] != 13 {
		t.Fatalf("IDs after Append = %v", ids)
	}
	if got := srv.RecordByID(ViewAllContacts, 12)["Created"]; got != "2026-03-03T22:06:07-07:00" && got != "2026-03-04T05:06:07.000Z" {
		t.Errorf("appended record Created = %v, want the Append time", got)
	}
	c.Set(c.Now().Add(time.Hour))
	if err := srv.Update(ViewAllContacts, 5, "Status", "Closed"); err != nil {
		t.Fatalf("Update: %v", err)
	}
	r := srv.RecordByID(ViewAllContacts, 5)
	if r["Status"] != "Closed" || (r["Last Updated"] != "2026-03-03T23:06:07-07:00" && r["Last Updated"] != "2026-03-04T06:06:07.000Z") {
		t.Errorf("updated record = Status %v, Last Updated %v", r["Status"], r["Last Updated"])
	}
	if err := srv.Update(ViewAllContacts, 5, "Notes", nil); err != nil || srv.RecordByID(ViewAllContacts, 5)["Notes"] != nil {
		t.Errorf("Update to nil: %v", err)
	}
	if err := srv.Delete(ViewAllContacts, 1); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := srv.Delete(ViewAllContacts, 7); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	want := []int64{2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13}
	if diff := cmp.Diff(want, srv.IDs(ViewAllContacts)); diff != "" {
		t.Errorf("IDs after Delete mismatch (-want +got):\n%s", diff)
	}
	var paged []int64
	for _, r := range all(t, srv, ViewAllContacts, 4) {
		paged = append(paged, int64(r["id"].(float64)))
	}
	if diff := cmp.Diff(want, paged); diff != "" {
		t.Errorf("paged ids after Delete mismatch (-want +got):\n%s", diff)
	}
	if srv.Count(ViewAllContacts) != 11 || srv.Record(ViewAllContacts, 0)["id"] != 2.0 {
		t.Errorf("Count = %d, Record(0) = %v", srv.Count(ViewAllContacts), srv.Record(ViewAllContacts, 0)["id"])
	}
	if code, _, _ := get(t, srv, viewPath(ViewAllContacts)+"/records/7", creds(), nil); code != 404 {
		t.Errorf("GET deleted record = %d, want 404", code)
	}
	for name, err := range map[string]error{
		"update deleted":  srv.Update(ViewAllContacts, 7, "Status", "Open"),
		"update id":       srv.Update(ViewAllContacts, 5, "Record ID", "x"),
		"update no field": srv.Update(ViewAllContacts, 5, "Nope", 1),
		"delete twice":    srv.Delete(ViewAllContacts, 7),
		"append unknown":  srv.Append(999, 1),
		"append negative": srv.Append(ViewAllContacts, -1),
		"unmarshalable":   srv.Update(ViewAllContacts, 5, "Status", func() {}),
	} {
		if err == nil {
			t.Errorf("%s: err = nil, want an error", name)
		}
	}
}

func TestFaults(t *testing.T) {
	srv := NewServer(t, Options{})
	srv.Faults.FailNext(1, fault.RateLimit)
	if code, _, _ := get(t, srv, "/openapi/apps", creds(), nil); code != 200 {
		t.Errorf("GET apps with a fault pending = %d, want 200 (lists are not faulted)", code)
	}
	code, hdr, _ := get(t, srv, viewPath(ViewWorkOrders), creds(), nil)
	if code != 429 || hdr.Get("Retry-After") == "" {
		t.Errorf("first page = %d Retry-After %q, want 429 with Retry-After", code, hdr.Get("Retry-After"))
	}
	if code, _, _ := get(t, srv, viewPath(ViewWorkOrders), creds(), nil); code != 200 {
		t.Errorf("retried page = %d, want 200", code)
	}
	srv.Faults.FailNext(1, fault.ServerError)
	if code, _, _ := get(t, srv, "/openapi/users", creds(), nil); code < 500 {
		t.Errorf("users with a server error = %d, want 5xx", code)
	}
	if got := srv.Stats().Faults; got != 2 {
		t.Errorf("Stats().Faults = %d, want 2", got)
	}

	t.Run("random faults always let retries through", func(t *testing.T) {
		srv := NewServer(t, Options{Faults: fault.Options{Rate: 1, Kinds: []fault.Kind{fault.RateLimitBare}, MaxConsecutive: 2}})
		codes := []int{}
		for range 3 {
			code, _, _ := get(t, srv, viewPath(ViewLager), creds(), nil)
			codes = append(codes, code)
		}
		if diff := cmp.Diff([]int{429, 429, 200}, codes); diff != "" {
			t.Errorf("codes mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestStart(t *testing.T) {
	srv, err := Start("127.0.0.1:0", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %q", srv.URL)
	}
	srv.Close()
	srv.Close()
	if _, err := Start("127.0.0.1:-1", Options{}); err == nil {
		t.Error("Start on a bad address: err = nil")
	}
}

func TestAppendString(t *testing.T) {
	tests := []string{"", "plain", `q"uote`, `back\slash`, "nl\n\r\t", "\x00\x1f", "Größe 📦", "bad\xffutf8", "\u2028"}
	for _, s := range tests {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("appendString(%q) = %s: %v", s, b, err)
			continue
		}
		want, _ := json.Marshal(s)
		var w string
		_ = json.Unmarshal(want, &w)
		if got != w {
			t.Errorf("appendString(%q) decodes to %q, want %q", s, got, w)
		}
	}
}

// BenchmarkPage measures building one 1000-record page of the widest view.
func BenchmarkPage(b *testing.B) {
	s := newServer(Options{Seed: 1})
	v := s.views[ViewLager]
	s.mu.RLock()
	defer s.mu.RUnlock()
	buf, _ := s.appendPage(nil, v, 0, 1000)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf, _ = s.appendPage(buf[:0], v, 0, 1000)
	}
}

// BenchmarkPageHTTP measures a 1000-record page over loopback HTTP.
func BenchmarkPageHTTP(b *testing.B) {
	srv := NewServer(b, Options{Seed: 1, Records: map[int64]int{ViewWorkOrders: 100000}})
	u := srv.URL + viewPath(ViewWorkOrders) + "?" + creds().Encode() + "&max=1000"
	client := &http.Client{}
	defer client.CloseIdleConnections()
	var n int64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		resp, err := client.Get(u + "&start=" + strconv.Itoa(i%100*1000))
		if err != nil {
			b.Fatal(err)
		}
		m, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		n = m
	}
	b.SetBytes(n)
}

// TestApplyDay: a day of changes is the same for the same seed (Options.Days
// at start or ApplyDay later), edits and adds records in every view, and
// deletes only where no "Last Updated" field could show an edit (users).
func TestApplyDay(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) }
	a := NewServer(t, Options{Seed: 4, Days: 1, Now: now})
	b := NewServer(t, Options{Seed: 4, Now: now})
	c := b.ApplyDay()
	for _, vid := range []int64{UsersViewID, ViewAllContacts, ViewWorkOrders, ViewLager} {
		if c.Updated[vid] == 0 || c.Inserted[vid] == 0 {
			t.Errorf("view %d: %+v; want edits and inserts", vid, c)
		}
		if diff := cmp.Diff(a.IDs(vid), b.IDs(vid)); diff != "" {
			t.Fatalf("view %d ids differ between Days: 1 and ApplyDay (-a +b):\n%s", vid, diff)
		}
		for i := range a.Count(vid) {
			if diff := cmp.Diff(a.Record(vid, i), b.Record(vid, i)); diff != "" {
				t.Fatalf("view %d record %d differs (-a +b):\n%s", vid, i, diff)
			}
		}
	}
	if c.Deleted[UsersViewID] != 1 || c.Deleted[ViewAllContacts] != 0 {
		t.Errorf("deleted %v; want one user and no record of a view with Last Updated", c.Deleted)
	}
}

// TestVariantAlt: the alt variant serves user, group, relationship and
// file fields as display text, keys the structure lacks on every record,
// and currency fields that are numbers on some pages and formatted text on
// others; the default variant serves none of that. Both are repeatable.
func TestVariantAlt(t *testing.T) {
	fieldsOf := func(srv *Server, id int64) map[string]FieldType {
		m := map[string]FieldType{}
		for _, f := range srv.Structure(id) {
			m[f.Name] = f.Type
		}
		return m
	}
	for _, variant := range []string{"", VariantAlt} {
		srv := NewServer(t, Options{Seed: 7, Variant: variant, Records: map[int64]int{ViewWorkOrders: 250, ViewAllContacts: 250}})
		alt := variant == VariantAlt
		textTypes, numberPages := map[FieldType]int{}, map[bool]int{}
		for _, id := range []int64{ViewAllContacts, ViewWorkOrders, ViewLager} {
			types := fieldsOf(srv, id)
			for i, rec := range all(t, srv, id, 100) {
				_, extra := rec["Record Owner"]
				if _, token := rec["Sync Token"]; extra != alt || token != alt {
					t.Fatalf("variant %q view %d record %d: extra keys %v, want %v", variant, id, i, keys(rec), alt)
				}
				for name, v := range rec {
					switch types[name] {
					case User, UserGroup, Relationship, Document, Image:
						if s, ok := v.(string); ok {
							if _, err := strconv.ParseInt(s, 10, 64); err != nil {
								textTypes[types[name]]++
							}
						}
					case Currency:
						if s, ok := v.(string); ok && strings.HasPrefix(strings.TrimPrefix(s, "-"), "$") {
							if i/altBlock%2 == 0 {
								t.Errorf("view %d record %d: formatted currency %q on an even block", id, i, s)
							}
							numberPages[true]++
						} else if v != nil {
							numberPages[false]++
						}
					}
				}
			}
		}
		for _, ft := range []FieldType{User, UserGroup, Relationship, Document, Image} {
			if (textTypes[ft] > 0) != alt {
				t.Errorf("variant %q: %d %s values as display text", variant, textTypes[ft], ft)
			}
		}
		if (numberPages[true] > 0) != alt || numberPages[false] == 0 {
			t.Errorf("variant %q: %d formatted and %d numeric currency values", variant, numberPages[true], numberPages[false])
		}
		raw := srv.RecordJSON(ViewWorkOrders, 3)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || len(m) != len(srv.Record(ViewWorkOrders, 3)) {
			t.Errorf("RecordJSON = %s (%v), want the record's JSON", raw, err)
		}
	}
	if _, err := Start("127.0.0.1:0", Options{Variant: "other"}); err == nil {
		t.Error("Start with an unknown variant succeeded")
	}
}
