package tracktiksim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newClient returns a client whose idle connections close when the test ends.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// newClock returns a test clock at this file's start time.
func newClock() *connectortest.Clock {
	return connectortest.NewClock(time.Date(2025, 9, 1, 12, 0, 0, 0, time.UTC))
}

type tokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read token response: %v", err)
	}
	return resp, body
}

func passwordForm() url.Values {
	return url.Values{"grant_type": {"password"}, "client_id": {ClientID}, "client_secret": {ClientSecret},
		"username": {Username}, "password": {Password}}
}

// login runs the password grant and returns the tokens.
func login(t *testing.T, c *http.Client, s *Server) tokenResponse {
	t.Helper()
	resp, body := postForm(t, c, s.TokenURL, passwordForm())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("password grant: status %d: %s", resp.StatusCode, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatalf("decode token response %s: %v", body, err)
	}
	return tr
}

func get(t *testing.T, c *http.Client, u, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", u, err)
	}
	return resp.StatusCode, body
}

type listResponse struct {
	Meta struct {
		Count     int            `json:"count"`
		Request   []string       `json:"request"`
		ItemCount int            `json:"itemCount"`
		Security  map[string]any `json:"security"`
		Debug     any            `json:"debug"`
		Resource  string         `json:"resource"`
		Limit     int            `json:"limit"`
		Offset    int            `json:"offset"`
	} `json:"meta"`
	Data []map[string]any `json:"data"`
}

func list(t *testing.T, c *http.Client, s *Server, token, stream, query string) listResponse {
	t.Helper()
	u := s.URL + "/rest/v1/" + stream + "?" + query
	code, body := get(t, c, u, token)
	if code != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", u, code, body)
	}
	var lr listResponse
	if err := json.Unmarshal(body, &lr); err != nil {
		t.Fatalf("GET %s: decode: %v", u, err)
	}
	return lr
}

func ids(recs []map[string]any) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = int64(r["id"].(float64))
	}
	return out
}

func TestServer_Paging(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{Seed: 7})
	c := newClient(t)
	tok := login(t, c, s).AccessToken

	for _, stream := range Streams() {
		t.Run(stream, func(t *testing.T) {
			query := "limit=100&sort=id"
			if stream == "reports" {
				query += "&id:gt=0"
			}
			want := s.IDs(stream)
			var got []int64
			for offset := 0; ; offset += 100 {
				lr := list(t, c, s, tok, stream, query+"&offset="+strconv.Itoa(offset))
				if lr.Meta.Count != len(want) || lr.Meta.Limit != 100 || lr.Meta.Offset != offset ||
					lr.Meta.ItemCount != len(lr.Data) || lr.Meta.Resource != stream ||
					!cmp.Equal(lr.Meta.Request, []string{stream}) || lr.Meta.Security["granted"] != true {
					t.Fatalf("offset %d: meta = %+v", offset, lr.Meta)
				}
				if offset == 0 {
					for i := range 3 {
						if diff := cmp.Diff(s.Record(stream, i), lr.Data[i]); diff != "" {
							t.Errorf("record %d mismatch (-Record +page):\n%s", i, diff)
						}
					}
				}
				got = append(got, ids(lr.Data)...)
				if lr.Meta.ItemCount < 100 {
					if want := len(want) - offset; lr.Meta.ItemCount != want {
						t.Errorf("last page itemCount = %d, want %d", lr.Meta.ItemCount, want)
					}
					break
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ids mismatch (-IDs +paged):\n%s", diff)
			}
			for i := 1; i < len(got); i++ {
				if got[i] <= got[i-1] {
					t.Fatalf("ids not ascending at %d: %d, %d", i, got[i-1], got[i])
				}
			}
		})
	}

	t.Run("beyond the end", func(t *testing.T) {
		lr := list(t, c, s, tok, "employees", "offset=10000")
		if lr.Meta.ItemCount != 0 || len(lr.Data) != 0 || lr.Meta.Count != 250 {
			t.Errorf("meta = %+v, %d records; want 0 items of 250", lr.Meta, len(lr.Data))
		}
	})
	t.Run("default limit", func(t *testing.T) {
		lr := list(t, c, s, tok, "shifts", "")
		if lr.Meta.Limit != 100 || lr.Meta.ItemCount != 100 {
			t.Errorf("meta = %+v, want limit 100", lr.Meta)
		}
	})
	t.Run("limit clamped", func(t *testing.T) {
		lr := list(t, c, s, tok, "shifts", "limit=5000")
		if lr.Meta.Limit != 1000 || lr.Meta.ItemCount != 1000 {
			t.Errorf("meta = %+v, want limit clamped to 1000", lr.Meta)
		}
	})
	t.Run("single record", func(t *testing.T) {
		id := s.IDs("clients")[3]
		code, body := get(t, c, s.URL+"/rest/v1/clients/"+strconv.FormatInt(id, 10), tok)
		var one struct {
			Meta map[string]any `json:"meta"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(body, &one); code != 200 || err != nil {
			t.Fatalf("status %d, err %v: %s", code, err, body)
		}
		if diff := cmp.Diff(s.Record("clients", 3), one.Data); diff != "" {
			t.Errorf("record mismatch (-want +got):\n%s", diff)
		}
		if code, _ := get(t, c, s.URL+"/rest/v1/clients/1", tok); code != http.StatusNotFound {
			t.Errorf("unknown id: status %d, want 404", code)
		}
	})
}

func TestServer_BadRequests(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	c := newClient(t)
	tok := login(t, c, s).AccessToken
	tests := []struct {
		name, path string
		want       int
		wantMsg    string
	}{
		{"reports without filter", "/rest/v1/reports", 400, "requires a filter"},
		{"reports with only paging", "/rest/v1/reports?limit=10&offset=0&sort=id", 400, "requires a filter"},
		{"bad limit", "/rest/v1/employees?limit=abc", 400, "limit"},
		{"zero limit", "/rest/v1/employees?limit=0", 400, "limit"},
		{"negative offset", "/rest/v1/employees?offset=-1", 400, "offset"},
		{"unknown field", "/rest/v1/employees?colour=red", 400, "unknown filter field"},
		{"unknown function", "/rest/v1/employees?id:near=3", 400, "unknown filter function"},
		{"bad date", "/rest/v1/shifts?startedOn:after=yesterday", 400, "not a date"},
		{"after on a non-date", "/rest/v1/shifts?status:after=2025-01-01", 400, "not a date"},
		{"unsupported sort", "/rest/v1/employees?sort=name", 400, "sort"},
		{"unknown stream", "/rest/v1/guards", 404, ""},
		{"unknown path", "/rest/v2/employees", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, c, s.URL+tt.path, tok)
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("GET %s: body %s: %v", tt.path, body, err)
			}
			if code != tt.want || e.Code != tt.want || !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("GET %s = %d %s, want %d with %q", tt.path, code, body, tt.want, tt.wantMsg)
			}
		})
	}
}

func TestServer_Filters(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{Seed: 3})
	c := newClient(t)
	tok := login(t, c, s).AccessToken

	at := func(stream string, field string) func(i int) time.Time {
		return func(i int) time.Time {
			v, _ := s.Record(stream, i)[field].(string)
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				t.Fatalf("%s %d %s = %q: %v", stream, i, field, v, err)
			}
			return tm
		}
	}
	cut := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	empIDs := s.IDs("employees")
	tests := []struct {
		name, stream, query string
		keep                func(i int, rec map[string]any) bool
		desc                bool
	}{
		{"id:gt", "employees", "id:gt=" + strconv.FormatInt(empIDs[200], 10),
			func(i int, _ map[string]any) bool { return i > 200 }, false},
		{"id:gt between ids", "employees", "id:gt=" + strconv.FormatInt(empIDs[200]-1, 10),
			func(i int, _ map[string]any) bool { return i >= 200 }, false},
		{"id:in", "clients", "id:in=" + strconv.FormatInt(s.IDs("clients")[5], 10) + ",1," + strconv.FormatInt(s.IDs("clients")[2], 10),
			func(i int, _ map[string]any) bool { return i == 2 || i == 5 }, false},
		{"status equality is case-insensitive", "employees", "status=active",
			func(_ int, r map[string]any) bool { return r["status"] == "ACTIVE" }, false},
		{"status and id", "employees", "status=INACTIVE&id:gt=" + strconv.FormatInt(empIDs[100], 10),
			func(i int, r map[string]any) bool { return i > 100 && r["status"] == "INACTIVE" }, false},
		{"null employee", "shifts", "employee=null",
			func(_ int, r map[string]any) bool { return r["employee"] == nil }, false},
		{"after, vendor format", "shifts", "startedOn:after=2025-03-01+00:00:00",
			func(i int, _ map[string]any) bool { return at("shifts", "startedOn")(i).After(cut) }, false},
		{"after, RFC 3339", "work-sessions", "startedOn:after=2025-03-01T02:00:00%2B02:00",
			func(i int, _ map[string]any) bool { return at("work-sessions", "startedOn")(i).After(cut) }, false},
		{"after, unescaped plus", "work-sessions", "startedOn:after=2025-03-01T02:00:00+02:00",
			func(i int, _ map[string]any) bool { return at("work-sessions", "startedOn")(i).After(cut) }, false},
		{"after, bare date", "reports", "reportDateTime:after=2025-03-01",
			func(i int, _ map[string]any) bool { return at("reports", "reportDateTime")(i).After(cut) }, false},
		{"after on createdOn, descending", "clients", "createdOn:after=2025-03-01&sort=-id",
			func(i int, _ map[string]any) bool { return at("clients", "createdOn")(i).After(cut) }, true},
		{"endedOn after (scanned)", "shifts", "endedOn:after=2025-03-01",
			func(i int, _ map[string]any) bool { return at("shifts", "endedOn")(i).After(cut) }, false},
		{"open sessions", "work-sessions", "status=OPEN",
			func(_ int, r map[string]any) bool { return r["status"] == "OPEN" }, false},
		{"tag", "reports", "tags=incident",
			func(_ int, r map[string]any) bool {
				for _, tg := range r["tags"].([]any) {
					if tg == "incident" {
						return true
					}
				}
				return false
			}, false},
		{"name contains", "employees", "name:contains=SMITH",
			func(_ int, r map[string]any) bool {
				return strings.Contains(strings.ToLower(r["name"].(string)), "smith")
			}, false},
		{"sort -id", "positions", "sort=-id", func(int, map[string]any) bool { return true }, true},
		{"id:sort form", "positions", "id:sort=-id", func(int, map[string]any) bool { return true }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []int64
			all := s.IDs(tt.stream)
			for i := range all {
				if tt.keep(i, s.Record(tt.stream, i)) {
					want = append(want, all[i])
				}
			}
			if tt.desc {
				for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
					want[i], want[j] = want[j], want[i]
				}
			}
			if len(want) == 0 || len(want) == len(all) && !tt.desc {
				t.Fatalf("%d of %d records match: the test filters nothing", len(want), len(all))
			}
			var got []int64
			for offset := 0; ; offset += 37 { // an odd page size crosses every boundary
				lr := list(t, c, s, tok, tt.stream, tt.query+"&limit=37&offset="+strconv.Itoa(offset))
				if lr.Meta.Count != len(want) {
					t.Fatalf("meta.count = %d, want %d", lr.Meta.Count, len(want))
				}
				got = append(got, ids(lr.Data)...)
				if lr.Meta.ItemCount < 37 {
					break
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s?%s mismatch (-want +got):\n%s", tt.stream, tt.query, diff)
			}
		})
	}
}

func TestServer_TokenGrants(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{TokenTTL: 30 * time.Minute})
	c := newClient(t)

	multipartBody := func(v url.Values) (string, io.Reader) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k := range v {
			_ = mw.WriteField(k, v.Get(k))
		}
		_ = mw.Close()
		return mw.FormDataContentType(), &buf
	}
	jsonBody := func(v url.Values) (string, io.Reader) {
		m := map[string]string{}
		for k := range v {
			m[k] = v.Get(k)
		}
		b, _ := json.Marshal(m)
		return "application/json", bytes.NewReader(b)
	}
	formBody := func(v url.Values) (string, io.Reader) {
		return "application/x-www-form-urlencoded", strings.NewReader(v.Encode())
	}
	with := func(k, val string) url.Values {
		v := passwordForm()
		if val == "" {
			v.Del(k)
		} else {
			v.Set(k, val)
		}
		return v
	}
	tests := []struct {
		name      string
		body      func(url.Values) (string, io.Reader)
		params    url.Values
		basic     bool
		wantCode  int
		wantError string
	}{
		{"form", formBody, passwordForm(), false, 200, ""},
		{"multipart", multipartBody, passwordForm(), false, 200, ""},
		{"json", jsonBody, passwordForm(), false, 200, ""},
		{"client in basic auth", formBody, with("client_secret", ""), true, 200, ""},
		{"scope is ignored", formBody, with("scope", "openid"), false, 200, ""},
		{"username is case-insensitive", formBody, with("username", "API-User"), false, 200, ""},
		{"wrong password", formBody, with("password", "nope"), false, 400, "invalid_grant"},
		{"wrong user", jsonBody, with("username", "someone"), false, 400, "invalid_grant"},
		{"wrong client secret", formBody, with("client_secret", "nope"), false, 401, "invalid_client"},
		{"wrong client id", multipartBody, with("client_id", "other"), false, 401, "invalid_client"},
		{"missing password", formBody, with("password", ""), false, 400, "invalid_request"},
		{"missing grant type", formBody, with("grant_type", ""), false, 400, "unsupported_grant_type"},
		{"client credentials grant", formBody, with("grant_type", "client_credentials"), false, 400, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := tt.body(tt.params)
			req, _ := http.NewRequest(http.MethodPost, s.TokenURL, body)
			req.Header.Set("Content-Type", ct)
			if tt.basic {
				req.SetBasicAuth(ClientID, ClientSecret)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.wantCode, raw)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			if tt.wantError != "" {
				var e map[string]string
				if err := json.Unmarshal(raw, &e); err != nil || e["error"] != tt.wantError || e["message"] == "" {
					t.Errorf("body = %s, want error %q", raw, tt.wantError)
				}
				return
			}
			var tr tokenResponse
			if err := json.Unmarshal(raw, &tr); err != nil {
				t.Fatal(err)
			}
			if tr.TokenType != "Bearer" || tr.ExpiresIn != 1800 || len(tr.AccessToken) < 32 ||
				!strings.HasPrefix(tr.RefreshToken, "def502") {
				t.Errorf("token response = %s", raw)
			}
			if code, body := get(t, c, s.URL+"/rest/v1/employees?limit=1", tr.AccessToken); code != 200 {
				t.Errorf("data request with the new token: %d %s", code, body)
			}
		})
	}
	if code, _ := get(t, c, s.TokenURL, ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET token endpoint = %d, want 405", code)
	}
	st := s.Stats()
	if st.PasswordGrants != 6 || st.FailedLogins != 4 {
		t.Errorf("Stats = %+v, want 6 password grants and 4 failed logins", st)
	}
}

func TestServer_RefreshRotation(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	c := newClient(t)
	first := login(t, c, s)
	refresh := func(rt string, body func(url.Values) (string, io.Reader)) (int, []byte) {
		t.Helper()
		v := url.Values{"grant_type": {"refresh_token"}, "client_id": {ClientID}, "client_secret": {ClientSecret}, "refresh_token": {rt}}
		ct, r := body(v)
		resp, err := c.Post(s.TokenURL, ct, r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, raw
	}
	asJSON := func(v url.Values) (string, io.Reader) {
		b, _ := json.Marshal(map[string]string{"grant_type": v.Get("grant_type"), "client_id": v.Get("client_id"),
			"client_secret": v.Get("client_secret"), "refresh_token": v.Get("refresh_token")})
		return "application/json", bytes.NewReader(b)
	}
	asForm := func(v url.Values) (string, io.Reader) {
		return "application/x-www-form-urlencoded", strings.NewReader(v.Encode())
	}

	code, raw := refresh(first.RefreshToken, asJSON)
	if code != 200 {
		t.Fatalf("refresh: %d %s", code, raw)
	}
	var second tokenResponse
	_ = json.Unmarshal(raw, &second)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken ||
		!strings.HasPrefix(second.RefreshToken, "def502") {
		t.Fatalf("refresh did not rotate the tokens: %s", raw)
	}

	code, raw = refresh(first.RefreshToken, asForm)
	want := `{"error":"invalid_grant","error_description":"The refresh token is invalid.","hint":"Token has been revoked","message":"The refresh token is invalid."}`
	if code != 400 || string(raw) != want {
		t.Errorf("reused refresh token = %d %s, want 400 %s", code, raw, want)
	}
	if code, raw = refresh("def502bogus", asForm); code != 400 || !strings.Contains(string(raw), "invalid_grant") {
		t.Errorf("unknown refresh token = %d %s, want 400 invalid_grant", code, raw)
	}
	if code, raw = refresh(second.RefreshToken, asForm); code != 200 {
		t.Errorf("refresh with the rotated token = %d %s, want 200", code, raw)
	}
	// Both access tokens stay valid until they expire.
	for _, tok := range []string{first.AccessToken, second.AccessToken} {
		if code, body := get(t, c, s.URL+"/rest/v1/positions?limit=1", tok); code != 200 {
			t.Errorf("data request: %d %s", code, body)
		}
	}
	st := s.Stats()
	if st.RefreshGrants != 2 || st.RefreshTokensReused != 1 || st.PasswordGrants != 1 || st.TokenRequests != 5 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestServer_Lockout(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := NewServer(t, Options{Now: clk.Now})
	c := newClient(t)
	bad := passwordForm()
	bad.Set("password", "guess")

	// 39 failures spread over more than 2 minutes do not lock.
	for range 39 {
		resp, _ := postForm(t, c, s.TokenURL, bad)
		if resp.StatusCode != 400 {
			t.Fatalf("bad password: status %d, want 400", resp.StatusCode)
		}
		clk.Advance(5 * time.Second)
	}
	login(t, c, s)

	// 40 within 2 minutes lock the IP for 2 hours, good credentials or not.
	// 23 of the failures above are still inside the window, so the 17th
	// failure below locks, and the 23 after it are refused unchecked.
	for range 40 {
		postForm(t, c, s.TokenURL, bad)
	}
	for _, d := range []time.Duration{0, time.Hour, time.Hour - time.Second} {
		clk.Advance(d)
		resp, body := postForm(t, c, s.TokenURL, passwordForm())
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("locked IP: status %d %s, want 403 with Retry-After", resp.StatusCode, body)
		}
	}
	clk.Advance(time.Second)
	login(t, c, s)
	st := s.Stats()
	if st.FailedLogins != 39+17 || st.LockedOut != 23+3 {
		t.Errorf("Stats = %+v, want 56 failed logins and 26 locked out", st)
	}
}

func TestServer_Lag(t *testing.T) {
	t.Parallel()
	t.Run("requests", func(t *testing.T) {
		t.Parallel()
		s := NewServer(t, Options{LagRequests: 2})
		c := newClient(t)
		tok := login(t, c, s).AccessToken
		var codes []int
		for range 4 {
			code, _ := get(t, c, s.URL+"/rest/v1/employees?limit=1", tok)
			codes = append(codes, code)
		}
		if diff := cmp.Diff([]int{401, 401, 200, 200}, codes); diff != "" {
			t.Errorf("status codes mismatch (-want +got):\n%s", diff)
		}
		s.SetLag(1)
		tok = login(t, c, s).AccessToken
		code1, body1 := get(t, c, s.URL+"/rest/v1/employees?limit=1", tok)
		code2, _ := get(t, c, s.URL+"/rest/v1/employees?limit=1", tok)
		if code1 != 401 || code2 != 200 {
			t.Errorf("after SetLag(1): %d, %d; want 401, 200", code1, code2)
		}
		// A lag 401 is indistinguishable from an unknown token's.
		_, body := get(t, c, s.URL+"/rest/v1/employees?limit=1", "unknown")
		if string(body1) != string(body) {
			t.Errorf("lag body %s differs from unknown-token body %s", body1, body)
		}
		if st := s.Stats(); st.Lag401s != 3 || st.Unauthorized != 1 || st.DataRequests != 7 || st.Requests["employees"] != 7 {
			t.Errorf("Stats = %+v", st)
		}
	})
	t.Run("duration", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		s := NewServer(t, Options{LagFor: 30 * time.Second, Now: clk.Now})
		c := newClient(t)
		tok := login(t, c, s).AccessToken
		if code, _ := get(t, c, s.URL+"/rest/v1/shifts?limit=1", tok); code != 401 {
			t.Errorf("within LagFor: %d, want 401", code)
		}
		clk.Advance(30 * time.Second)
		if code, _ := get(t, c, s.URL+"/rest/v1/shifts?limit=1", tok); code != 200 {
			t.Errorf("after LagFor: %d, want 200", code)
		}
	})
}

func TestServer_TokenExpiry(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := NewServer(t, Options{Now: clk.Now})
	c := newClient(t)
	if code, _ := get(t, c, s.URL+"/rest/v1/employees", ""); code != 401 {
		t.Errorf("no token: %d, want 401", code)
	}
	tok := login(t, c, s).AccessToken
	clk.Advance(3599 * time.Second)
	if code, _ := get(t, c, s.URL+"/rest/v1/employees", tok); code != 200 {
		t.Errorf("before expiry: %d, want 200", code)
	}
	clk.Advance(time.Second)
	if code, _ := get(t, c, s.URL+"/rest/v1/employees", tok); code != 401 {
		t.Errorf("at expiry: %d, want 401", code)
	}
	s.SetTokenTTL(time.Minute)
	tr := login(t, c, s)
	if tr.ExpiresIn != 60 {
		t.Errorf("expires_in = %d after SetTokenTTL(1m), want 60", tr.ExpiresIn)
	}
	s.ExpireTokens()
	if code, _ := get(t, c, s.URL+"/rest/v1/employees", tr.AccessToken); code != 401 {
		t.Errorf("after ExpireTokens: %d, want 401", code)
	}
	if st := s.Stats(); st.Unauthorized != 3 {
		t.Errorf("Stats.Unauthorized = %d, want 3", st.Unauthorized)
	}
}

func TestServer_Faults(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{Faults: fault.Options{Rate: 0}})
	c := newClient(t)
	s.Faults.FailNext(1, fault.RateLimit)
	// The token endpoint is not wrapped: the scripted fault waits for data.
	tok := login(t, c, s).AccessToken
	code, _ := get(t, c, s.URL+"/rest/v1/employees?limit=1", tok)
	if code != http.StatusTooManyRequests {
		t.Errorf("first data request = %d, want 429", code)
	}
	if code, _ = get(t, c, s.URL+"/rest/v1/employees?limit=1", tok); code != 200 {
		t.Errorf("second data request = %d, want 200", code)
	}
	if got := s.Faults.Counts()[fault.RateLimit]; got != 1 {
		t.Errorf("Faults.Counts()[RateLimit] = %d, want 1", got)
	}
	if st := s.Stats(); st.DataRequests != 1 {
		t.Errorf("Stats.DataRequests = %d, want 1 (the fault never reached the simulator)", st.DataRequests)
	}

	t.Run("random", func(t *testing.T) {
		s := NewServer(t, Options{Faults: fault.Options{Rate: 1, Kinds: []fault.Kind{fault.ServerError}, MaxConsecutive: 1}})
		c := newClient(t)
		tok := login(t, c, s).AccessToken
		code1, _ := get(t, c, s.URL+"/rest/v1/clients", tok)
		code2, _ := get(t, c, s.URL+"/rest/v1/clients", tok)
		if code1 < 500 || code2 != 200 {
			t.Errorf("status codes %d, %d; want 5xx then 200", code1, code2)
		}
	})
}

func TestServer_Determinism(t *testing.T) {
	t.Parallel()
	page := func(seed uint64) []byte {
		s := NewServer(t, Options{Seed: seed})
		c := newClient(t)
		tok := login(t, c, s).AccessToken
		var all []byte
		for _, stream := range Streams() {
			_, body := get(t, c, s.URL+"/rest/v1/"+stream+"?limit=1000&offset=50&id:gt=0", tok)
			all = append(all, body...)
		}
		return all
	}
	a, b, other := page(42), page(42), page(43)
	if !bytes.Equal(a, b) {
		t.Error("two servers with seed 42 served different pages")
	}
	if bytes.Equal(a, other) {
		t.Error("seeds 42 and 43 served the same pages")
	}
}

// TestServer_Shapes checks every record against the fixed field list:
// keys, value shapes, and that the promised nulls and oddities occur.
func TestServer_Shapes(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{Seed: 11, Counts: map[string]int{"employees": 2000, "reports": 3000}})
	const (
		ts   = "ts"   // "2025-08-13T11:56:11+00:00"
		date = "date" // "2010-01-01"
		i64  = "int"
		f64  = "float"
		str  = "string"
		strs = "strings"
	)
	fields := map[string]map[string]string{
		"employees": {"id": i64, "customId": str, "firstName": str, "lastName": str, "name": str, "jobTitle": str,
			"email": str, "primaryPhone": str, "secondaryPhone": str, "status": str, "region": i64,
			"employmentProfile": i64, "address": i64, "startDate": date, "avatar": str},
		"clients": {"id": i64, "customId": str, "company": str, "name": str, "email": str, "status": str,
			"region": i64, "address": i64, "timeZone": str, "createdOn": ts},
		"positions": {"id": i64, "customId": str, "name": str, "account": i64, "status": str, "payRate": f64, "billRate": f64},
		"shifts": {"id": i64, "startedOn": ts, "endedOn": ts, "hoursCount": f64, "position": i64, "employee": i64,
			"account": i64, "status": str},
		"work-sessions": {"id": i64, "startedOn": ts, "endedOn": ts, "employee": i64, "shift": i64, "position": i64,
			"account": i64, "clockInMethod": str, "status": str},
		"reports": {"id": i64, "reportDateTime": ts, "reportTemplate": i64, "account": i64, "position": i64,
			"createdBy": i64, "status": str, "title": str, "tags": strs},
	}
	seen := map[string]bool{}
	for stream, want := range fields {
		for i := range s.Count(stream) {
			rec := s.Record(stream, i)
			if len(rec) != len(want) {
				t.Fatalf("%s %d has %d keys, want %d: %v", stream, i, len(rec), len(want), rec)
			}
			for k, shape := range want {
				v, ok := rec[k]
				if !ok {
					t.Fatalf("%s %d lacks %q", stream, i, k)
				}
				if v == nil {
					seen[stream+"."+k+"=null"] = true
					continue
				}
				if !shapeOK(shape, v) {
					t.Fatalf("%s %d %s = %#v, want %s", stream, i, k, v, shape)
				}
				if s, ok := v.(string); ok && strings.ContainsFunc(s, func(r rune) bool { return r > 127 }) {
					seen[stream+"."+k+" unicode"] = true
				}
				if l, ok := v.([]any); ok && len(l) == 0 {
					seen[stream+"."+k+"=[]"] = true
				}
			}
			if stream == "work-sessions" && (rec["status"] == "OPEN") != (rec["endedOn"] == nil) {
				t.Errorf("work session %d: status %v with endedOn %v", i, rec["status"], rec["endedOn"])
			}
		}
	}
	for _, k := range []string{"shifts.employee=null", "work-sessions.endedOn=null", "reports.tags=[]",
		"employees.firstName unicode", "employees.lastName unicode", "employees.avatar=null", "clients.email=null"} {
		if !seen[k] {
			t.Errorf("no record has %s", k)
		}
	}
}

func shapeOK(shape string, v any) bool {
	switch shape {
	case "int":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "float":
		_, ok := v.(float64)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "strings":
		l, ok := v.([]any)
		for _, x := range l {
			if _, isStr := x.(string); !isStr {
				return false
			}
		}
		return ok
	case "ts":
		s, _ := v.(string)
		tm, err := time.Parse(time.RFC3339, s)
		return err == nil && strings.HasSuffix(s, "+00:00") && tm.Year() >= 2024 && tm.Year() <= 2026
	case "date":
		s, _ := v.(string)
		_, err := time.Parse(time.DateOnly, s)
		return err == nil
	}
	return false
}

func TestServer_AppendUpdate(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{Seed: 5})
	c := newClient(t)
	tok := login(t, c, s).AccessToken

	before := s.IDs("shifts")
	last := before[len(before)-1]
	lastStart := s.Record("shifts", len(before)-1)["startedOn"].(string)
	s.Append("shifts", 5)
	after := s.IDs("shifts")
	if diff := cmp.Diff(before, after[:len(before)]); diff != "" {
		t.Fatalf("Append changed existing ids (-before +after):\n%s", diff)
	}
	lr := list(t, c, s, tok, "shifts", "id:gt="+strconv.FormatInt(last, 10))
	if diff := cmp.Diff(after[len(before):], ids(lr.Data)); diff != "" {
		t.Errorf("new records mismatch (-want +got):\n%s", diff)
	}
	lr = list(t, c, s, tok, "shifts", "startedOn:after="+url.QueryEscape(lastStart))
	if lr.Meta.Count < 5 {
		t.Errorf("startedOn:after=%s found %d records, want the 5 appended", lastStart, lr.Meta.Count)
	}

	id := s.IDs("employees")[10]
	idStr := strconv.FormatInt(id, 10)
	if err := s.Update("employees", id, "status", "SUSPENDED"); err != nil {
		t.Fatal(err)
	}
	if err := s.Update("employees", id, "nickname", "Ted"); err != nil { // a new field
		t.Fatal(err)
	}
	lr = list(t, c, s, tok, "employees", "status=suspended")
	if len(lr.Data) != 1 || lr.Data[0]["id"] != float64(id) || lr.Data[0]["nickname"] != "Ted" {
		t.Errorf("status=suspended = %v, want only employee %d with the nickname", lr.Data, id)
	}
	if got := s.Record("employees", 10); got["status"] != "SUSPENDED" {
		t.Errorf("Record status = %v, want SUSPENDED", got["status"])
	}
	_, raw := get(t, c, s.URL+"/rest/v1/employees/"+idStr, tok)
	if !strings.Contains(string(raw), `"status":"SUSPENDED"`) || !strings.HasSuffix(string(raw), `,"nickname":"Ted"}}`) {
		t.Errorf("single record = %s", raw)
	}

	// Moving a shift's start out of order is still found by startedOn:after.
	first := s.IDs("shifts")[0]
	if err := s.Update("shifts", first, "startedOn", time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	lr = list(t, c, s, tok, "shifts", "startedOn:after=2026-04-30")
	if len(lr.Data) == 0 || lr.Data[0]["id"] != float64(first) || lr.Data[0]["startedOn"] != "2026-05-01T08:00:00+00:00" {
		t.Errorf("startedOn:after=2026-04-30 = %v, want shift %d first", ids(lr.Data), first)
	}

	if err := s.Update("employees", 1, "status", "X"); err == nil {
		t.Error("Update of an unknown id succeeded")
	}
	if err := s.Update("employees", id, "id", 1); err == nil {
		t.Error("Update of the id succeeded")
	}
	if err := s.Update("guards", id, "status", "X"); err == nil {
		t.Error("Update of an unknown stream succeeded")
	}
}

func TestServer_Large(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{Counts: map[string]int{"shifts": 250000}})
	c := newClient(t)
	tok := login(t, c, s).AccessToken
	lr := list(t, c, s, tok, "shifts", "limit=1000&offset=249500")
	if lr.Meta.Count != 250000 || lr.Meta.ItemCount != 500 {
		t.Errorf("meta = %+v", lr.Meta)
	}
	want := s.IDs("shifts")[249500:]
	if diff := cmp.Diff(want, ids(lr.Data)); diff != "" {
		t.Errorf("last page ids mismatch (-want +got):\n%s", diff)
	}
	// About 340 shifts a day over two years: December has some 10,000.
	lr = list(t, c, s, tok, "shifts", "limit=1&startedOn:after=2025-12-01%2000:00:00")
	if lr.Meta.Count < 9000 || lr.Meta.Count > 11000 {
		t.Errorf("startedOn:after=2025-12-01: count %d, want about 10,000", lr.Meta.Count)
	}
	if got := lr.Data[0]["startedOn"].(string); got <= "2025-12-01T00:00:00+00:00" || got > "2025-12-01T00:15:00+00:00" {
		t.Errorf("first shift after 2025-12-01 starts %s", got)
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`say "hi"\`, `"say \"hi\"\\"`},
		{"tab\tnew\nline\x01", `"tab\tnew\nline\u0001"`},
		{"Zoë 李", `"Zoë 李"`},
		{"bad \xff byte", `"bad \ufffd byte"`},
	}
	for _, tt := range tests {
		if got := string(appendString(nil, tt.in)); got != tt.want {
			t.Errorf("appendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		var back string
		if err := json.Unmarshal(appendString(nil, []byte(tt.in)), &back); err != nil {
			t.Errorf("appendString(%q) is not valid JSON: %v", tt.in, err)
		}
	}
}

func TestAppendTimestamp(t *testing.T) {
	for _, unix := range []int64{0, 951782400, 1704067199, 1709164800, 1767225599, 4102444800, -86401} {
		want := time.Unix(unix, 0).UTC().Format("2006-01-02T15:04:05") + "+00:00"
		if got := string(appendTimestamp(nil, unix)); got != want {
			t.Errorf("appendTimestamp(%d) = %s, want %s", unix, got, want)
		}
	}
}

// BenchmarkPage measures encoding a 1000-record page of each stream.
func BenchmarkPage(b *testing.B) {
	s, err := Start("127.0.0.1:0", Options{Counts: map[string]int{"shifts": 200000, "employees": 200000, "reports": 200000}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, stream := range []string{"employees", "shifts", "reports"} {
		b.Run(stream, func(b *testing.B) {
			si := streamIndex(stream)
			var rw row
			var buf []byte
			n := 0
			for b.Loop() {
				p := &page{lo: 0, hi: 200000, limit: 1000, offset: (n * 1000) % 199000}
				n++
				s.dmu.RLock()
				buf = s.appendPage(buf[:0], &rw, si, p)
				s.dmu.RUnlock()
				b.SetBytes(int64(len(buf)))
			}
		})
	}
}

// BenchmarkPageHTTP measures whole pages over loopback HTTP.
func BenchmarkPageHTTP(b *testing.B) {
	s, err := Start("127.0.0.1:0", Options{Counts: map[string]int{"shifts": 200000}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	resp, err := c.PostForm(s.TokenURL, passwordForm())
	if err != nil {
		b.Fatal(err)
	}
	var tok tokenResponse
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	n := 0
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/rest/v1/shifts?limit=1000&offset="+strconv.Itoa((n*1000)%199000), nil)
		n++
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		m, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		b.SetBytes(m)
	}
}

// TestApplyDay: a day of changes is the same for the same seed (Options.Days
// at start or ApplyDay later), changes what a day at a portal changes, and
// back-fills a shift whose id and startedOn order disagree.
func TestApplyDay(t *testing.T) {
	t.Parallel()
	a := NewServer(t, Options{Seed: 9, Days: 2})
	b := NewServer(t, Options{Seed: 9})
	b.ApplyDay()
	c := b.ApplyDay()
	for _, name := range Streams() {
		if a.Count(name) != b.Count(name) {
			t.Fatalf("%s: %d records after Days: 2, %d after two ApplyDay", name, a.Count(name), b.Count(name))
		}
		for i := range a.Count(name) {
			if diff := cmp.Diff(a.Record(name, i), b.Record(name, i)); diff != "" {
				t.Fatalf("%s record %d differs between Days: 2 and two ApplyDay (-a +b):\n%s", name, i, diff)
			}
		}
	}
	if c.Inserted["shifts"] == 0 || c.Updated["employees"] == 0 || c.Updated["reports"] == 0 {
		t.Errorf("ApplyDay = %+v; want new shifts, changed employees and reports", c)
	}
	if other := NewServer(t, Options{Seed: 10, Days: 2}); cmp.Equal(other.Record("shifts", other.Count("shifts")-1), b.Record("shifts", b.Count("shifts")-1)) {
		t.Error("another seed back-filled the same shift")
	}
	n := b.Count("shifts")
	back, prev := b.Record("shifts", n-1), b.Record("shifts", n-2)
	if back["startedOn"].(string) >= prev["startedOn"].(string) {
		t.Errorf("the last shift (back-filled) starts %v, not before the one before it (%v)", back["startedOn"], prev["startedOn"])
	}
}

// TestServer_VariantAlt: the alt variant leaves meta.count out, adds keys
// no schema knows to every record, and expands account and region into
// objects on every other run of altBlock records; the records are the
// default variant's otherwise.
func TestServer_VariantAlt(t *testing.T) {
	t.Parallel()
	counts := map[string]int{"employees": 250, "shifts": 250}
	def := NewServer(t, Options{Seed: 5, Counts: counts})
	alt := NewServer(t, Options{Seed: 5, Counts: counts, Variant: VariantAlt})
	c := newClient(t)
	tok := login(t, c, alt).AccessToken
	for _, stream := range []string{"employees", "shifts"} {
		_, body := get(t, c, alt.URL+"/rest/v1/"+stream+"?limit=1000", tok)
		if bytes.Contains(body, []byte(`"count":`)) {
			t.Errorf("%s: meta.count served", stream)
		}
		lr := list(t, c, alt, tok, stream, "limit=1000")
		expanded := 0
		for i, rec := range lr.Data {
			plain := def.Record(stream, i)
			if rec["uri"] == nil || rec["customFields"] == nil {
				t.Fatalf("%s record %d lacks the extra keys: %v", stream, i, rec)
			}
			for k, v := range rec {
				switch {
				case k == "uri" || k == "customFields":
				case k == "account" || k == "region":
					if m, ok := v.(map[string]any); ok {
						expanded++
						if i/altBlock%2 != 1 || m["id"] != plain[k] {
							t.Errorf("%s record %d: %s %v, want the id %v expanded on odd blocks only", stream, i, k, v, plain[k])
						}
						continue
					}
					fallthrough
				default:
					if fmt.Sprint(v) != fmt.Sprint(plain[k]) {
						t.Errorf("%s record %d: %s = %v, the default variant's %v", stream, i, k, v, plain[k])
					}
				}
			}
		}
		if expanded == 0 {
			t.Errorf("%s: no expanded id", stream)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(alt.RecordJSON(stream, 150), &raw); err != nil || raw["uri"] == nil {
			t.Errorf("RecordJSON: %v %s", err, raw["uri"])
		}
	}
	if _, err := Start("127.0.0.1:0", Options{Variant: "other"}); err == nil {
		t.Error("Start with an unknown variant succeeded")
	}
}

// TestServer_DeleteAndSortByTime: a deleted record leaves listings (with
// and without filters), the count and single-record requests; sort by the
// time field follows an Update that moves it.
func TestServer_DeleteAndSortByTime(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{Seed: 2, Counts: map[string]int{"positions": 10, "shifts": 10}})
	c := newClient(t)
	tok := login(t, c, s).AccessToken
	all := s.IDs("positions")
	gone := all[4]
	if err := s.Delete("positions", gone); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("positions", gone); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	want := append(slices.Clone(all[:4]), all[5:]...)
	for _, q := range []string{"limit=100", "limit=100&sort=-id", "limit=100&status:in=ACTIVE,INACTIVE", "limit=3&offset=3"} {
		lr := list(t, c, s, tok, "positions", q)
		got := ids(lr.Data)
		w := want
		switch q {
		case "limit=100&sort=-id":
			w = slices.Clone(want)
			slices.Reverse(w)
		case "limit=3&offset=3":
			w = want[3:6]
		}
		if diff := cmp.Diff(w, got); diff != "" || lr.Meta.Count != 9 {
			t.Errorf("%s: count %d, ids mismatch (-want +got):\n%s", q, lr.Meta.Count, diff)
		}
	}
	if n := s.Count("positions"); n != 9 || int64(s.Record("positions", 4)["id"].(float64)) != all[5] {
		t.Errorf("Count = %d, Record(4) = %v; want 9 and id %d", n, s.Record("positions", 4)["id"], all[5])
	}
	if code, _ := get(t, c, fmt.Sprintf("%s/rest/v1/positions/%d", s.URL, gone), tok); code != http.StatusNotFound {
		t.Errorf("GET a deleted position: status %d, want 404", code)
	}

	shifts := s.IDs("shifts")
	if err := s.Update("shifts", shifts[9], "startedOn", time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	got := ids(list(t, c, s, tok, "shifts", "limit=100&sort=startedOn,id").Data)
	if diff := cmp.Diff(append([]int64{shifts[9]}, shifts[:9]...), got); diff != "" {
		t.Errorf("sort=startedOn,id after moving the last shift first (-want +got):\n%s", diff)
	}
	for _, r := range list(t, c, s, tok, "shifts", "limit=100&sort=startedOn,id&startedOn:after="+url.QueryEscape("2024-06-01 00:00:00")).Data {
		if r["startedOn"].(string) < "2024-06-01" {
			t.Errorf("startedOn:after=2024-06-01 listed %v", r)
		}
	}
	if code, body := get(t, c, s.URL+"/rest/v1/shifts?sort=status", tok); code != http.StatusBadRequest {
		t.Errorf("sort=status: %d %s, want 400", code, body)
	}
}

func TestServer_CachePages(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{Seed: 5})
	c := newClient(t)
	tok := login(t, c, s).AccessToken
	page := s.URL + "/rest/v1/employees?limit=10&offset=10"

	_, rendered := get(t, c, page, tok)
	s.CachePages(true)
	_, first := get(t, c, page, tok)
	_, second := get(t, c, page, tok)
	if !bytes.Equal(rendered, first) || !bytes.Equal(first, second) {
		t.Fatalf("cached page differs from the rendered one:\nrendered %s\nfirst    %s\nsecond   %s", rendered, first, second)
	}
	if n := len(s.pages.pages); n != 1 {
		t.Errorf("cache holds %d pages after two requests for one, want 1", n)
	}
	if code, _ := get(t, c, page, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("cached page with a wrong token: status %d, want 401", code)
	}

	id := s.IDs("employees")[12]
	if err := s.Update("employees", id, "status", "SUSPENDED"); err != nil {
		t.Fatal(err)
	}
	_, changed := get(t, c, page, tok)
	if !bytes.Contains(changed, []byte(`"status":"SUSPENDED"`)) {
		t.Errorf("page after Update still served from the cache: %s", changed)
	}

	s.CachePages(false)
	if n := len(s.pages.pages); n != 0 {
		t.Errorf("cache holds %d pages after CachePages(false), want 0", n)
	}
}
