package capillarysim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newClock returns a test clock at this file's start time.
func newClock() *connectortest.Clock {
	return connectortest.NewClock(time.Date(2025, 7, 1, 10, 0, 0, 0, time.UTC))
}

// harness is a simulator plus a client for it.
type harness struct {
	t   *testing.T
	srv *Server
	c   *http.Client
	clk *connectortest.Clock
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	clk := newClock()
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	if opts.RequestsPerMinute == 0 {
		opts.RequestsPerMinute = NoRateLimit
	}
	srv := NewServer(t, opts)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &harness{t: t, srv: srv, c: &http.Client{Transport: tr, Timeout: 10 * time.Second}, clk: clk}
}

// response is one decoded answer.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (h *harness) do(method, rawURL, tok string, body []byte) response {
	h.t.Helper()
	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set(TokenHeader, tok)
	}
	resp, err := h.c.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: read body: %v", method, rawURL, err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		h.t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, rawURL, err, raw)
	}
	return r
}

func (h *harness) tokenResp(key, secret string) response {
	h.t.Helper()
	b, _ := json.Marshal(map[string]string{"key": key, "secret": secret})
	return h.do(http.MethodPost, h.srv.TokenURL, "", b)
}

func (h *harness) token() string {
	h.t.Helper()
	r := h.tokenResp(DefaultKey, DefaultSecret)
	tok, _ := path(r.body, "data", "accessToken").(string)
	if r.status != http.StatusOK || tok == "" {
		h.t.Fatalf("token: status %d body %s", r.status, r.raw)
	}
	return tok
}

func (h *harness) search(tok string, params string) response {
	h.t.Helper()
	return h.do(http.MethodGet, h.srv.URL+SearchPath+"?"+params, tok, nil)
}

func (h *harness) transactions(tok string, params string) response {
	h.t.Helper()
	return h.do(http.MethodGet, h.srv.URL+TransactionsPath+"?format=json&"+params, tok, nil)
}

// path walks decoded JSON by object keys and array indexes.
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// num reads a number that may come as a JSON number or a string.
func num(t *testing.T, v any) float64 {
	t.Helper()
	switch v := v.(type) {
	case float64:
		return v
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("num(%q): %v", v, err)
		}
		return f
	}
	t.Fatalf("num(%v): %T is not a number", v, v)
	return 0
}

// items reads a v1.1 list that may be an array or a bare object.
func listItems(v any) []any {
	switch v := v.(type) {
	case []any:
		return v
	case map[string]any:
		return []any{v}
	}
	return nil
}

func decodeJWT(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	var hdr, claims map[string]any
	for i, dst := range []*map[string]any{&hdr, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("token part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("token part %d: %v", i, err)
		}
	}
	if hdr["alg"] != "HS256" {
		t.Errorf("JWT alg = %v, want HS256", hdr["alg"])
	}
	return claims
}

func TestToken(t *testing.T) {
	tests := []struct {
		name        string
		quirks      Quirks
		key, secret string
		wantStatus  []int // for successive calls
		wantTTL     []bool
		wantErrCode float64
	}{
		{name: "ok plain", quirks: Quirks{OmitTTLSeconds: Plain}, key: DefaultKey, secret: DefaultSecret,
			wantStatus: []int{200, 200}, wantTTL: []bool{true, true}},
		{name: "ok no ttlSeconds", quirks: Quirks{OmitTTLSeconds: Quirky}, key: DefaultKey, secret: DefaultSecret,
			wantStatus: []int{200, 200}, wantTTL: []bool{false, false}},
		{name: "ok mixed", key: DefaultKey, secret: DefaultSecret,
			wantStatus: []int{200, 200, 200}, wantTTL: []bool{true, false, true}},
		{name: "bad secret plain", quirks: Quirks{BadCredentialsOK: Plain}, key: DefaultKey, secret: "nope",
			wantStatus: []int{401, 401}, wantErrCode: CodeBadCredentials},
		{name: "bad key in body", quirks: Quirks{BadCredentialsOK: Quirky}, key: "nope", secret: DefaultSecret,
			wantStatus: []int{200, 200}, wantErrCode: CodeBadCredentials},
		{name: "bad mixed", key: "nope", secret: "nope",
			wantStatus: []int{401, 200, 401}, wantErrCode: CodeBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{Quirks: tt.quirks, TokenTTL: 300 * time.Second})
			for i, want := range tt.wantStatus {
				r := h.tokenResp(tt.key, tt.secret)
				if r.status != want {
					t.Fatalf("call %d: status = %d, want %d; body %s", i, r.status, want, r.raw)
				}
				if tt.wantErrCode != 0 {
					if got := path(r.body, "errors", 0, "code"); got != tt.wantErrCode {
						t.Errorf("call %d: errors[0].code = %v, want %v; body %s", i, got, tt.wantErrCode, r.raw)
					}
					if r.body["data"] != nil {
						t.Errorf("call %d: data = %v, want null", i, r.body["data"])
					}
					continue
				}
				if v, ok := r.body["errors"]; !ok || v != nil {
					t.Errorf("call %d: errors = %v, want null", i, v)
				}
				ttl, hasTTL := path(r.body, "data").(map[string]any)["ttlSeconds"]
				if hasTTL != tt.wantTTL[i] {
					t.Errorf("call %d: ttlSeconds present = %v, want %v", i, hasTTL, tt.wantTTL[i])
				}
				if hasTTL && ttl != 300.0 {
					t.Errorf("call %d: ttlSeconds = %v, want 300", i, ttl)
				}
				claims := decodeJWT(t, path(r.body, "data", "accessToken").(string))
				if got, want := claims["exp"], float64(h.clk.Now().Unix()+300); got != want {
					t.Errorf("call %d: exp = %v, want %v", i, got, want)
				}
				if claims["iss"] != "Capillary" {
					t.Errorf("call %d: iss = %v", i, claims["iss"])
				}
			}
		})
	}
}

func TestToken_BadRequests(t *testing.T) {
	h := newHarness(t, Options{})
	if r := h.do(http.MethodPost, h.srv.TokenURL, "", []byte("{not json")); r.status != http.StatusBadRequest || r.body["errors"] == nil {
		t.Errorf("bad body: status %d body %s, want 400 with errors", r.status, r.raw)
	}
	if r := h.do(http.MethodGet, h.srv.TokenURL, "", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", r.status)
	}
	h.srv.Faults.FailNext(1, fault.Reset) // faults are for data endpoints only
	h.token()
	st := h.srv.Stats()
	if st.TokenRequests != 3 || st.AuthFailures != 1 || st.TokensIssued != 1 {
		t.Errorf("Stats = %+v, want 3 token requests, 1 failure, 1 issued", st)
	}
}

func TestSearch_Paging(t *testing.T) {
	tests := []struct {
		name      string
		customers int
		limit     int
		query     string
		wantTotal int
		wantPages []int // items per page until the first short page
	}{
		{name: "last page exactly full", customers: 30, limit: 10, wantTotal: 30, wantPages: []int{10, 10, 10, 0}},
		{name: "last page short", customers: 25, limit: 10, wantTotal: 25, wantPages: []int{10, 10, 5}},
		{name: "no customers", customers: -1, limit: 10, wantTotal: 0, wantPages: []int{0}},
		{name: "star is everything", customers: 5, limit: 100, query: "*", wantTotal: 5, wantPages: []int{5}},
		{name: "no match", customers: 50, limit: 10, query: "zzz", wantTotal: 0, wantPages: []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{Customers: tt.customers})
			tok := h.token()
			var got []float64
			for i, want := range tt.wantPages {
				offset := i * tt.limit
				r := h.search(tok, fmt.Sprintf("q=%s&limit=%d&offset=%d", url.QueryEscape(tt.query), tt.limit, offset))
				if r.status != http.StatusOK {
					t.Fatalf("page %d: status %d body %s", i, r.status, r.raw)
				}
				if total := path(r.body, "pagination", "total"); total != float64(tt.wantTotal) {
					t.Errorf("page %d: total = %v, want %d", i, total, tt.wantTotal)
				}
				if o := path(r.body, "pagination", "offset"); o != float64(offset) {
					t.Errorf("page %d: offset = %v, want %d", i, o, offset)
				}
				data := r.body["data"].([]any)
				if len(data) != want {
					t.Fatalf("page %d: %d items, want %d", i, len(data), want)
				}
				if errs := r.body["errors"].([]any); len(errs) != 0 {
					t.Errorf("page %d: errors = %v, want []", i, errs)
				}
				for _, d := range data {
					got = append(got, path(d, "userId").(float64))
				}
			}
			if tt.query == "" || tt.query == "*" {
				var want []float64
				for _, id := range h.srv.IDs(StreamCustomers) {
					want = append(want, float64(id))
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("userIds mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestSearch_Query(t *testing.T) {
	h := newHarness(t, Options{Customers: 50})
	tok := h.token()
	mobile := h.srv.Record(StreamCustomers, 7)["profiles"].([]any)[0].(map[string]any)["identifiers"].([]any)[0].(map[string]any)["value"].(string)
	r := h.search(tok, "q="+mobile)
	if total := path(r.body, "pagination", "total"); total != 1.0 {
		t.Fatalf("search %s: total = %v, want 1; body %s", mobile, total, r.raw)
	}
	want := []any{map[string]any{"type": "mobile", "value": mobile}}
	if diff := cmp.Diff(want, path(r.body, "data", 0, "matchedIdentifiers")); diff != "" {
		t.Errorf("matchedIdentifiers mismatch (-want +got):\n%s", diff)
	}
}

func TestSearch_BadParams(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token()
	for _, p := range []string{"limit=0", "limit=101", "limit=x", "offset=-1"} {
		r := h.search(tok, p)
		if r.status != http.StatusBadRequest || path(r.body, "errors", 0, "code") != 400.0 {
			t.Errorf("search?%s: status %d body %s, want 400 with errors", p, r.status, r.raw)
		}
	}
}

// customerWith returns the userId and mobile of the first customer with n
// transactions.
func customerWith(t *testing.T, s *Server, n int) (int64, string) {
	t.Helper()
	for i, id := range s.IDs(StreamCustomers) {
		if len(s.CustomerTransactions(id)) == n {
			return id, mobileOf(i)
		}
	}
	t.Fatalf("no customer with %d transactions", n)
	return 0, ""
}

func TestTransactions_Paging(t *testing.T) {
	h := newHarness(t, Options{Customers: 40, MaxTransactions: 9, Quirks: Quirks{StringNumbers: Plain, BareObjects: Plain}})
	tok := h.token()
	for _, n := range []int{0, 1, 6, 9} {
		t.Run(fmt.Sprintf("%d transactions", n), func(t *testing.T) {
			userID, mobile := customerWith(t, h.srv, n)
			for _, limit := range []int{1, 3, 10} {
				var got []int64
				for offset := 0; ; offset += limit {
					r := h.transactions(tok, fmt.Sprintf("mobile=%s&limit=%d&offset=%d", mobile, limit, offset))
					if r.status != http.StatusOK || path(r.body, "response", "status", "code") != 200.0 {
						t.Fatalf("status %d body %s", r.status, r.raw)
					}
					cust := path(r.body, "response", "customer").(map[string]any)
					if cust["user_id"] != float64(userID) || cust["count"] != float64(n) {
						t.Fatalf("user_id %v count %v, want %d %d", cust["user_id"], cust["count"], userID, n)
					}
					list := path(cust, "transactions", "transaction").([]any)
					if cust["rows"] != float64(len(list)) {
						t.Errorf("rows = %v, want %d", cust["rows"], len(list))
					}
					for _, tx := range list {
						got = append(got, int64(path(tx, "id").(float64)))
					}
					if len(list) == 0 || offset+len(list) >= n {
						break
					}
				}
				if diff := cmp.Diff(h.srv.CustomerTransactions(userID), got); diff != "" && n > 0 {
					t.Errorf("limit %d: ids mismatch (-want +got):\n%s", limit, diff)
				}
			}
		})
	}
}

func TestTransactions_Quirks(t *testing.T) {
	tests := []struct {
		name       string
		quirks     Quirks
		wantString bool
		wantBare   bool
	}{
		{"plain", Quirks{StringNumbers: Plain, BareObjects: Plain}, false, false},
		{"quirky", Quirks{StringNumbers: Quirky, BareObjects: Quirky}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{Customers: 20, Quirks: tt.quirks})
			tok := h.token()
			_, mobile := customerWith(t, h.srv, 1)
			r := h.transactions(tok, "mobile="+mobile)
			cust := path(r.body, "response", "customer").(map[string]any)
			if _, isStr := cust["count"].(string); isStr != tt.wantString {
				t.Errorf("count = %#v, want string %v", cust["count"], tt.wantString)
			}
			if _, isStr := path(r.body, "response", "status", "code").(string); isStr != tt.wantString {
				t.Errorf("status.code = %#v, want string %v", path(r.body, "response", "status", "code"), tt.wantString)
			}
			list := path(cust, "transactions", "transaction")
			if _, isObj := list.(map[string]any); isObj != tt.wantBare {
				t.Fatalf("one transaction = %T, want bare object %v", list, tt.wantBare)
			}
			tx := listItems(list)[0].(map[string]any)
			if _, isStr := tx["amount"].(string); isStr != tt.wantString {
				t.Errorf("amount = %#v, want string %v", tx["amount"], tt.wantString)
			}
			if _, isStr := path(tx, "points", "issued").(string); isStr != tt.wantString {
				t.Errorf("points.issued = %#v, want string %v", path(tx, "points", "issued"), tt.wantString)
			}
			// Empty lists stay arrays; single ones follow BareObjects.
			for _, l := range []struct{ wrapper, key string }{{"custom_fields", "field"}, {"extended_fields", "field"}, {"coupons", "coupon"}, {"line_items", "line_item"}} {
				v := path(tx, l.wrapper, l.key)
				if arr, ok := v.([]any); ok && len(arr) == 1 && tt.wantBare {
					t.Errorf("%s.%s is a one-item array in quirky mode", l.wrapper, l.key)
				}
				if _, ok := v.(map[string]any); ok && !tt.wantBare {
					t.Errorf("%s.%s is a bare object in plain mode", l.wrapper, l.key)
				}
			}
			// Zero transactions: an empty array either way.
			_, mobile0 := customerWith(t, h.srv, 0)
			r = h.transactions(tok, "mobile="+mobile0)
			if got := path(r.body, "response", "customer", "transactions", "transaction"); !cmp.Equal(got, []any{}) {
				t.Errorf("no transactions: transaction = %#v, want []", got)
			}
		})
	}
}

// TestTransactions_MixedShapes checks that the default mode produces both
// shapes of each quirk over a small org, and the same ones every time.
func TestTransactions_MixedShapes(t *testing.T) {
	h := newHarness(t, Options{Customers: 60})
	tok := h.token()
	seen := map[string]bool{}
	var first []byte
	for i, id := range h.srv.IDs(StreamCustomers) {
		r := h.transactions(tok, "mobile="+mobileOf(i)+"&limit=1")
		if i == 0 {
			first = r.raw
		}
		cust := path(r.body, "response", "customer").(map[string]any)
		_, s := cust["count"].(string)
		seen[fmt.Sprintf("count string=%v", s)] = true
		if len(h.srv.CustomerTransactions(id)) > 0 {
			_, bare := path(cust, "transactions", "transaction").(map[string]any)
			seen[fmt.Sprintf("bare=%v", bare)] = true
			_, s := path(listItems(path(cust, "transactions", "transaction"))[0], "id").(string)
			seen[fmt.Sprintf("id string=%v", s)] = true
		}
	}
	for _, k := range []string{"count string=true", "count string=false", "bare=true", "bare=false", "id string=true", "id string=false"} {
		if !seen[k] {
			t.Errorf("never saw %s", k)
		}
	}
	if again := h.transactions(tok, "mobile="+mobileOf(0)+"&limit=1"); !bytes.Equal(again.raw, first) {
		t.Errorf("same request, different body:\n%s\n%s", first, again.raw)
	}
}

func TestTransactions_Lookup(t *testing.T) {
	h := newHarness(t, Options{Customers: 20})
	tok := h.token()
	rec := h.srv.Record(StreamCustomers, 0)
	ids := path(rec, "profiles", 0, "identifiers").([]any)
	userID := int64(rec["userId"].(float64))
	for _, id := range ids {
		typ, value := path(id, "type").(string), path(id, "value").(string)
		param := map[string]string{"mobile": "mobile", "email": "email", "externalId": "external_id"}[typ]
		r := h.transactions(tok, param+"="+url.QueryEscape(value))
		if got := path(r.body, "response", "customer", "user_id"); num(t, got) != float64(userID) {
			t.Errorf("%s=%s: user_id = %v, want %d", param, value, got, userID)
		}
	}
	if r := h.transactions(tok, "id="+strconv.FormatInt(userID, 10)); num(t, path(r.body, "response", "customer", "user_id")) != float64(userID) {
		t.Errorf("id=%d: body %s", userID, r.raw)
	}

	r := h.transactions(tok, "mobile=919899999999")
	if r.status != http.StatusOK || path(r.body, "response", "status", "code") != 500.0 ||
		path(r.body, "response", "customer", "item_status", "code") != float64(CodeNotFound) {
		t.Errorf("unknown mobile: status %d body %s, want 200 with codes 500/1012", r.status, r.raw)
	}
	for _, p := range []string{"", "mobile=1&email=a@b", "mobile=1,2", "mobile=" + mobileOf(0) + "&limit=0", "mobile=" + mobileOf(0) + "&start_date=yesterday", "mobile=" + mobileOf(0) + "&order=up"} {
		if r := h.transactions(tok, p); r.status != http.StatusBadRequest || path(r.body, "response", "status", "code") != 400.0 {
			t.Errorf("%q: status %d body %s, want 400", p, r.status, r.raw)
		}
	}
}

func TestTransactions_DatesAndOrder(t *testing.T) {
	h := newHarness(t, Options{Customers: 40, MaxTransactions: 9, Quirks: Quirks{StringNumbers: Plain, BareObjects: Plain}})
	tok := h.token()
	userID, mobile := customerWith(t, h.srv, 6)
	all := h.srv.CustomerTransactions(userID)
	third := h.srv.Record(StreamTransactions, int(all[3]-FirstTransactionID))["billing_time"].(string)
	r := h.transactions(tok, "mobile="+mobile+"&limit=100&order=desc&sort=trans_date&start_date="+url.QueryEscape(third))
	var got []int64
	for _, tx := range path(r.body, "response", "customer", "transactions", "transaction").([]any) {
		got = append(got, int64(path(tx, "id").(float64)))
	}
	want := []int64{all[5], all[4], all[3]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("start_date %s desc mismatch (-want +got):\n%s", third, diff)
	}
	if c := path(r.body, "response", "customer", "count"); c != 3.0 {
		t.Errorf("count = %v, want 3", c)
	}
	r = h.transactions(tok, "mobile="+mobile+"&end_date="+url.QueryEscape(third[:10])+"&start_date=2000-01-01")
	if c := path(r.body, "response", "customer", "count").(float64); c < 0 || c > 3 {
		t.Errorf("end_date %s: count = %v, want at most 3", third[:10], c)
	}
}

func TestTokenErrors(t *testing.T) {
	type shape struct {
		status     int
		codeString bool
	}
	tests := []struct {
		name   string
		quirks Quirks
		want   []shape
	}{
		{"mixed", Quirks{}, []shape{{498, true}, {200, true}, {498, false}, {200, false}, {498, true}}},
		{"status only", Quirks{TokenErrorsInBody: Plain, StringNumbers: Plain}, []shape{{498, false}, {498, false}}},
		{"body only", Quirks{TokenErrorsInBody: Quirky, StringNumbers: Quirky}, []shape{{200, true}, {200, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{Quirks: tt.quirks, TokenTTL: 10 * time.Second})
			tok := h.token()
			if r := h.search(tok, ""); r.status != http.StatusOK {
				t.Fatalf("fresh token: status %d", r.status)
			}
			h.clk.Advance(10 * time.Second)
			for i, want := range tt.want {
				var r response
				if i%2 == 0 {
					r = h.search(tok, "")
				} else {
					r = h.transactions(tok, "mobile="+mobileOf(0))
				}
				st := path(r.body, "response", "status").(map[string]any)
				_, isStr := st["code"].(string)
				if r.status != want.status || isStr != want.codeString || num(t, st["code"]) != CodeTokenExpired {
					t.Errorf("error %d: HTTP %d code %#v, want HTTP %d string %v code 498", i, r.status, st["code"], want.status, want.codeString)
				}
				if st["success"] != true && st["success"] != "true" {
					t.Errorf("error %d: success = %#v, want the documented true", i, st["success"])
				}
				if msg, _ := st["message"].(string); !strings.HasPrefix(msg, "Token expired at ") {
					t.Errorf("error %d: message = %q", i, msg)
				}
			}
			if got := h.srv.Stats().ExpiredTokens; got != len(tt.want) {
				t.Errorf("Stats.ExpiredTokens = %d, want %d", got, len(tt.want))
			}
			if r := h.search(h.token(), ""); r.status != http.StatusOK {
				t.Errorf("new token: status %d", r.status)
			}
		})
	}
}

func TestTokenErrors_Switches(t *testing.T) {
	h := newHarness(t, Options{Quirks: Quirks{TokenErrorsInBody: Plain}})
	tok := h.token()
	h.srv.ExpireTokens()
	if r := h.search(tok, ""); r.status != CodeTokenExpired {
		t.Errorf("after ExpireTokens: status %d, want 498", r.status)
	}
	tok2 := h.token()
	if r := h.search(tok2, ""); r.status != http.StatusOK {
		t.Errorf("token issued after ExpireTokens: status %d, want 200", r.status)
	}
	h.srv.RevokeTokens()
	r := h.search(tok2, "")
	if r.status != http.StatusUnauthorized || num(t, path(r.body, "response", "status", "code")) != CodeInvalidToken {
		t.Errorf("after RevokeTokens: status %d body %s, want 401", r.status, r.raw)
	}
	for _, bad := range []string{"", "garbage"} {
		if r := h.search(bad, ""); r.status != http.StatusUnauthorized {
			t.Errorf("token %q: status %d, want 401", bad, r.status)
		}
	}
	h.srv.SetTokenTTL(2 * time.Second)
	tok3 := h.token()
	if exp, iat := decodeJWT(t, tok3)["exp"], decodeJWT(t, tok3)["iat"]; exp.(float64)-iat.(float64) != 2 {
		t.Errorf("SetTokenTTL(2s): exp-iat = %v", exp.(float64)-iat.(float64))
	}
	h.clk.Advance(2 * time.Second)
	if r := h.search(tok3, ""); r.status != CodeTokenExpired {
		t.Errorf("2s token after 2s: status %d, want 498", r.status)
	}
	if st := h.srv.Stats(); st.InvalidTokens != 3 || st.ExpiredTokens != 2 {
		t.Errorf("Stats = %+v, want 3 invalid and 2 expired", st)
	}
}

func TestRateLimit(t *testing.T) {
	tests := []struct {
		name          string
		omitRetry     bool
		wantRetryHdr  string
		advanceBefore time.Duration
	}{
		{name: "retry after", wantRetryHdr: "45", advanceBefore: 15 * time.Second},
		{name: "bare", omitRetry: true, advanceBefore: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{RequestsPerMinute: 3, Quirks: Quirks{OmitRetryAfter: tt.omitRetry}})
			tok := h.token()
			h.clk.Advance(tt.advanceBefore)
			for i := range 3 {
				if r := h.search(tok, ""); r.status != http.StatusOK {
					t.Fatalf("request %d: status %d", i, r.status)
				}
			}
			r := h.transactions(tok, "mobile="+mobileOf(0))
			if r.status != http.StatusTooManyRequests {
				t.Fatalf("4th request: status %d, want 429", r.status)
			}
			if got := r.header.Get("Retry-After"); got != tt.wantRetryHdr {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetryHdr)
			}
			h.clk.Advance(time.Minute)
			if r := h.search(tok, ""); r.status != http.StatusOK {
				t.Errorf("next minute: status %d, want 200", r.status)
			}
			h.srv.SetRequestsPerMinute(0)
			for i := range 5 {
				if r := h.search(tok, ""); r.status != http.StatusOK {
					t.Fatalf("limit off, request %d: status %d", i, r.status)
				}
			}
			if got := h.srv.Stats().RateLimited; got != 1 {
				t.Errorf("Stats.RateLimited = %d, want 1", got)
			}
		})
	}
}

func TestRateLimit_DefaultIs100(t *testing.T) {
	clk := newClock()
	h := newHarness(t, Options{Now: clk.Now, RequestsPerMinute: 0})
	h.srv.SetRequestsPerMinute(DefaultRequestsPerMinute) // newHarness turns it off; restore the default
	tok := h.token()
	for i := range DefaultRequestsPerMinute {
		if r := h.search(tok, "limit=1"); r.status != http.StatusOK {
			t.Fatalf("request %d: status %d", i, r.status)
		}
	}
	if r := h.search(tok, "limit=1"); r.status != http.StatusTooManyRequests {
		t.Errorf("request 101: status %d, want 429", r.status)
	}
}

func TestFaultsAndBusy(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token()
	h.srv.Faults.FailNext(1, fault.ServerError)
	if r := h.search(tok, ""); r.status < 500 {
		t.Errorf("scripted server error: status %d", r.status)
	}
	h.srv.Faults.FailNext(1, fault.RateLimit)
	if r := h.transactions(tok, "mobile="+mobileOf(0)); r.status != http.StatusTooManyRequests {
		t.Errorf("scripted rate limit: status %d", r.status)
	}
	h.srv.BusyNext(1)
	r := h.search(tok, "")
	if r.status != CodeSearchBusy || path(r.body, "errors", 0, "code") != float64(CodeSearchBusy) {
		t.Errorf("BusyNext: status %d body %s, want 461", r.status, r.raw)
	}
	if r := h.search(tok, ""); r.status != http.StatusOK {
		t.Errorf("after busy: status %d", r.status)
	}
	st := h.srv.Stats()
	want := map[string]int{StreamCustomers: 2, StreamTransactions: 0}
	if diff := cmp.Diff(want, st.Requests, cmp.Comparer(func(a, b map[string]int) bool {
		return a[StreamCustomers] == b[StreamCustomers] && a[StreamTransactions] == b[StreamTransactions]
	})); diff != "" {
		t.Errorf("Stats.Requests mismatch (faults happen before the simulator sees a request) (-want +got):\n%s", diff)
	}
	if st.Busy != 1 || st.Pages[StreamCustomers] != 1 || h.srv.Faults.Total() != 2 {
		t.Errorf("Stats = %+v, faults %d", st, h.srv.Faults.Total())
	}
}

func TestDeterminism(t *testing.T) {
	get := func(seed uint64) (string, string) {
		h := newHarness(t, Options{Seed: seed, Customers: 30})
		tok := h.token()
		return string(h.search(tok, "limit=30").raw), string(h.transactions(tok, "mobile="+mobileOf(1)).raw)
	}
	a1, b1 := get(1)
	a2, b2 := get(1)
	a3, b3 := get(2)
	if a1 != a2 || b1 != b2 {
		t.Error("same seed, different pages")
	}
	if a1 == a3 || b1 == b3 {
		t.Error("different seeds, same pages")
	}
}

// TestRecord checks that Record equals what the plain-mode pages carry.
func TestRecord(t *testing.T) {
	h := newHarness(t, Options{Customers: 15, Quirks: Quirks{StringNumbers: Plain, BareObjects: Plain}})
	tok := h.token()
	r := h.search(tok, "limit=15")
	for i, d := range r.body["data"].([]any) {
		if diff := cmp.Diff(h.srv.Record(StreamCustomers, i), d); diff != "" {
			t.Errorf("customer %d mismatch (-Record +page):\n%s", i, diff)
		}
	}
	n := 0
	for i, id := range h.srv.IDs(StreamCustomers) {
		r := h.transactions(tok, "limit=100&mobile="+mobileOf(i))
		for _, tx := range path(r.body, "response", "customer", "transactions", "transaction").([]any) {
			g := int(path(tx, "id").(float64)) - int(FirstTransactionID)
			if diff := cmp.Diff(h.srv.Record(StreamTransactions, g), tx); diff != "" {
				t.Errorf("transaction %d mismatch (-Record +page):\n%s", g, diff)
			}
			if u, ok := h.srv.TransactionUser(FirstTransactionID + int64(g)); !ok || u != id {
				t.Errorf("TransactionUser(%d) = %d, %v, want %d", g, u, ok, id)
			}
			n++
		}
	}
	if n != h.srv.Count(StreamTransactions) || n == 0 {
		t.Errorf("pages carried %d transactions, Count says %d", n, h.srv.Count(StreamTransactions))
	}
	if h.srv.Record(StreamCustomers, 15) != nil || h.srv.Record("nope", 0) != nil {
		t.Error("Record out of range is not nil")
	}
}

func TestAppendUpdate(t *testing.T) {
	h := newHarness(t, Options{Customers: 10, Quirks: Quirks{StringNumbers: Plain, BareObjects: Plain}})
	tok := h.token()
	nTx := h.srv.Count(StreamTransactions)

	ids, err := h.srv.Append(StreamTransactions, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{FirstTransactionID + int64(nTx), FirstTransactionID + int64(nTx) + 1, FirstTransactionID + int64(nTx) + 2}; !cmp.Equal(ids, want) {
		t.Errorf("Append ids = %v, want %v", ids, want)
	}
	since := h.clk.Now().Format(v11Time)
	var found []int64
	for i := range 10 {
		r := h.transactions(tok, "mobile="+mobileOf(i)+"&start_date="+url.QueryEscape(since))
		for _, tx := range path(r.body, "response", "customer", "transactions", "transaction").([]any) {
			found = append(found, int64(path(tx, "id").(float64)))
		}
	}
	if len(found) != 3 {
		t.Errorf("start_date=%s found %v, want the 3 appended", since, found)
	}

	cids, err := h.srv.Append(StreamCustomers, 2)
	if err != nil || len(cids) != 2 || cids[0] != FirstUserID+10 {
		t.Fatalf("Append customers = %v, %v", cids, err)
	}
	r := h.search(tok, "limit=20")
	if total := path(r.body, "pagination", "total"); total != 12.0 {
		t.Errorf("total after append = %v, want 12", total)
	}

	h.clk.Advance(time.Hour)
	if err := h.srv.Update(StreamCustomers, FirstUserID+3, "firstName", "Zed"); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Update(StreamTransactions, ids[0], "amount", 12.5); err != nil {
		t.Fatal(err)
	}
	rec := h.srv.Record(StreamCustomers, 3)
	if got := path(rec, "profiles", 0, "firstName"); got != "Zed" {
		t.Errorf("firstName = %v, want Zed", got)
	}
	if got, want := path(rec, "profiles", 0, "autoUpdateTime"), h.clk.Now().Format(v2Time); got != want {
		t.Errorf("autoUpdateTime = %v, want %v", got, want)
	}
	if got := h.srv.Record(StreamTransactions, nTx)["amount"]; got != 12.5 {
		t.Errorf("amount = %v, want 12.5", got)
	}
	r = h.search(h.token(), "q=zed") // the first token has expired by now
	if got := path(r.body, "data", 0, "profiles", 0, "firstName"); got != "Zed" {
		t.Errorf("search zed: %s", r.raw)
	}

	for _, bad := range []struct {
		stream string
		id     int64
		field  string
		value  any
	}{
		{StreamCustomers, FirstUserID, "mobile", "1"},
		{StreamCustomers, FirstUserID, "firstName", 3},
		{StreamCustomers, FirstUserID + 99, "firstName", "x"},
		{StreamTransactions, FirstTransactionID, "amount", "x"},
		{"nope", 1, "x", 1},
	} {
		if err := h.srv.Update(bad.stream, bad.id, bad.field, bad.value); err == nil {
			t.Errorf("Update(%s, %d, %s, %v) = nil, want error", bad.stream, bad.id, bad.field, bad.value)
		}
	}
	if _, err := h.srv.Append("nope", 1); err == nil {
		t.Error("Append(nope) = nil error")
	}
}

func TestStart_Errors(t *testing.T) {
	if _, err := Start("127.0.0.1:0", Options{Customers: maxCustomers + 1}); err == nil {
		t.Error("Start with too many customers: nil error")
	}
	if _, err := Start("256.0.0.1:0", Options{}); err == nil {
		t.Error("Start on a bad address: nil error")
	}
	s, err := Start("127.0.0.1:0", Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close() // twice is fine
}

func BenchmarkPage(b *testing.B) {
	srv, err := Start("127.0.0.1:0", Options{Customers: 100_000, MaxTransactions: 40, RequestsPerMinute: NoRateLimit})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	resp, err := c.Post(srv.TokenURL, "application/json", strings.NewReader(`{"key":"`+DefaultKey+`","secret":"`+DefaultSecret+`"}`))
	if err != nil {
		b.Fatal(err)
	}
	var tokBody struct{ Data struct{ AccessToken string } }
	_ = json.NewDecoder(resp.Body).Decode(&tokBody)
	resp.Body.Close()
	busiest := 0
	for i := range 100 {
		if n := len(srv.CustomerTransactions(FirstUserID + int64(i))); n > len(srv.CustomerTransactions(FirstUserID+int64(busiest))) {
			busiest = i
		}
	}
	for _, bc := range []struct{ name, url string }{
		{"search100", srv.URL + SearchPath + "?limit=100&offset=50000"},
		{"transactions", srv.URL + TransactionsPath + "?limit=100&mobile=" + mobileOf(busiest)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, bc.url, nil)
			req.Header.Set(TokenHeader, tokBody.Data.AccessToken)
			for b.Loop() {
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
				b.SetBytes(n)
			}
		})
	}
}

// BenchmarkEncode measures page encoding alone, without HTTP.
func BenchmarkEncode(b *testing.B) {
	s, err := newServer(Options{Customers: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	d := s.data
	e := enc{b: make([]byte, 0, 256<<10)}
	for b.Loop() {
		e.b = e.b[:0]
		for c := 50_000; c < 50_100; c++ {
			cu := d.customer(c)
			d.writeCustomer(&e, &cu, nil)
			for _, g := range d.customerTx(c) {
				t := d.transaction(g)
				d.writeTransaction(&e, &t, Mixed)
			}
		}
		b.SetBytes(int64(len(e.b)))
	}
}

// TestApplyDay: a day of changes is the same for the same seed (Options.Days
// at start or ApplyDay later) and changes customers and adds bills.
func TestApplyDay(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) }
	a := NewServer(t, Options{Seed: 5, Customers: 40, Days: 1, Now: now})
	b := NewServer(t, Options{Seed: 5, Customers: 40, Now: now})
	c := b.ApplyDay()
	if c.Updated[StreamCustomers] == 0 || c.Inserted[StreamCustomers] == 0 || c.Inserted[StreamTransactions] == 0 {
		t.Errorf("ApplyDay = %+v; want changed and new customers, new transactions", c)
	}
	for _, stream := range []string{StreamCustomers, StreamTransactions} {
		if a.Count(stream) != b.Count(stream) {
			t.Fatalf("%s: %d records after Days: 1, %d after ApplyDay", stream, a.Count(stream), b.Count(stream))
		}
		for i := range a.Count(stream) {
			if diff := cmp.Diff(a.Record(stream, i), b.Record(stream, i)); diff != "" {
				t.Fatalf("%s record %d differs (-a +b):\n%s", stream, i, diff)
			}
		}
	}
}

// TestVariantAlt: the alt variant's search lists everyone only for an
// empty q ("*" finds no one), its records carry keys no schema knows, and
// loyaltyInfo and amount change their JSON type on every other run of
// altBlock records. SearchAll without "" refuses an empty q.
func TestVariantAlt(t *testing.T) {
	h := newHarness(t, Options{Customers: 120, Variant: VariantAlt})
	tok := h.token()
	for q, want := range map[string]int{"": 10, "*": 0} {
		r := h.search(tok, "q="+url.QueryEscape(q)+"&limit=10")
		if r.status != http.StatusOK || len(r.body["data"].([]any)) != want || path(r.body, "pagination", "total") != nil {
			t.Errorf("q=%q: status %d, %d records, total %v; want %d records and no total", q, r.status, len(r.body["data"].([]any)), path(r.body, "pagination", "total"), want)
		}
	}
	arrays, objects := 0, 0
	for i := range 120 {
		cu := h.srv.Record(StreamCustomers, i)
		if cu["tier"] == nil || cu["referralCount"] == nil {
			t.Fatalf("customer %d lacks the extra keys: %v", i, cu)
		}
		if _, ok := cu["loyaltyInfo"].([]any); ok {
			arrays++
			if i/altBlock%2 != 1 {
				t.Errorf("customer %d: loyaltyInfo an array outside an odd block", i)
			}
		}
	}
	for i := range h.srv.Count(StreamTransactions) {
		tx := h.srv.Record(StreamTransactions, i)
		if tx["channel"] == nil || tx["fraud_check"] == nil {
			t.Fatalf("transaction %d lacks the extra keys", i)
		}
		if _, ok := tx["amount"].(map[string]any); ok {
			objects++
		}
	}
	if arrays == 0 || objects == 0 || objects == h.srv.Count(StreamTransactions) {
		t.Errorf("%d loyaltyInfo arrays, %d of %d amounts objects: want both shapes", arrays, objects, h.srv.Count(StreamTransactions))
	}
	star := newHarness(t, Options{Customers: 5, SearchAll: []string{"*"}})
	if r := star.search(star.token(), "q=&limit=10"); r.status != http.StatusBadRequest {
		t.Errorf("an empty q with SearchAll [*]: status %d, want 400", r.status)
	}
	if _, err := Start("127.0.0.1:0", Options{Variant: "other"}); err == nil {
		t.Error("Start with an unknown variant succeeded")
	}
}
