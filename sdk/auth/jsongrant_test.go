package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

// jsonGrantStart is the clock of the JSONGrant tests.
var jsonGrantStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testAPIKey is a header credential; like the others it must appear in no
// error.
const testAPIKey = "ak-77aa88bb99cc"

// testJWT returns an unsigned JWT whose payload is claims.
func testJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(claims)) + ".c2lnbmF0dXJl"
}

// capillaryStyle is a JSONGrant configured as Capillary's token/generate.
func capillaryStyle() *JSONGrant {
	return &JSONGrant{
		Fields:        map[string]Secret{"key": "client-1", "secret": testClientSecret},
		Body:          JSON,
		TokenPath:     "data.accessToken",
		ExpiresInPath: "data.ttlSeconds",
		ErrorPath:     "errors",
		Now:           func() time.Time { return jsonGrantStart },
	}
}

// rfcStyle is a JSONGrant with the default paths.
func rfcStyle() *JSONGrant {
	return &JSONGrant{
		Fields: map[string]Secret{"username": "api-user", "password": testPassword},
		Header: map[string]Secret{"X-Api-Key": testAPIKey},
		Now:    func() time.Time { return jsonGrantStart },
	}
}

func TestJSONGrantParseResponse(t *testing.T) {
	t.Parallel()
	jwt := testJWT(`{"sub":"x","exp":1772370000}`) // 2026-03-01T13:00:00Z
	tests := []struct {
		name   string
		grant  func() *JSONGrant
		status int
		body   string
		class  error     // nil: a token
		expiry time.Time // for a token; zero: none given
		quote  string    // for an error: text it must hold
	}{
		{"JWT with exp, no lifetime", capillaryStyle, 200, `{"data":{"accessToken":"` + jwt + `"},"errors":null}`, nil, time.Unix(1772370000, 0), ""},
		{"ttlSeconds as a number", capillaryStyle, 200, `{"data":{"accessToken":"abc","ttlSeconds":300},"errors":null}`, nil, jsonGrantStart.Add(5 * time.Minute), ""},
		{"ttlSeconds as a string", capillaryStyle, 200, `{"data":{"accessToken":"abc","ttlSeconds":"60"},"errors":[]}`, nil, jsonGrantStart.Add(time.Minute), ""},
		{"lifetime beats the JWT's exp", capillaryStyle, 200, `{"data":{"accessToken":"` + jwt + `","ttlSeconds":60}}`, nil, jsonGrantStart.Add(time.Minute), ""},
		{"no lifetime and not a JWT", capillaryStyle, 200, `{"data":{"accessToken":"abc"},"errors":{}}`, nil, time.Time{}, ""},
		{"expires_in as a number", rfcStyle, 200, `{"access_token":"abc","token_type":"Bearer","expires_in":3600}`, nil, jsonGrantStart.Add(time.Hour), ""},
		{"expires_in as a string", rfcStyle, 200, `{"access_token":"abc","expires_in":"3600"}`, nil, jsonGrantStart.Add(time.Hour), ""},
		{"expires_in not a number: the JWT's exp", rfcStyle, 200, `{"access_token":"` + jwt + `","expires_in":"soon"}`, nil, time.Unix(1772370000, 0), ""},
		{"expires_at in Unix seconds", rfcStyle, 200, `{"access_token":"abc","expires_at":1772370000}`, nil, time.Unix(1772370000, 0), ""},
		{"expires_at in RFC 3339", rfcStyle, 200, `{"access_token":"abc","expires_at":"2026-03-01T13:00:00Z"}`, nil, time.Unix(1772370000, 0), ""},
		{"error list with 200", capillaryStyle, 200, `{"data":null,"errors":[{"code":320001,"message":"Invalid client key and secret"}]}`, protocol.ErrAuth, time.Time{}, "320001: Invalid client key and secret"},
		{"error list with 401, string code", capillaryStyle, 401, `{"data":null,"errors":[{"code":"320001","message":"Invalid client key and secret"}]}`, protocol.ErrAuth, time.Time{}, "320001"},
		{"error as a bare object", capillaryStyle, 400, `{"data":null,"errors":{"code":400,"message":"Invalid request body"}}`, protocol.ErrAuth, time.Time{}, "Invalid request body"},
		{"error without a code, 200", capillaryStyle, 200, `{"errors":[{"message":"Key disabled"}]}`, protocol.ErrAuth, time.Time{}, "HTTP 200: Key disabled"},
		{"RFC 6749 error with 200", rfcStyle, 200, `{"error":"invalid_grant","error_description":"Bad password"}`, protocol.ErrAuth, time.Time{}, "invalid_grant: Bad password"},
		{"error echoing the credentials", rfcStyle, 200, `{"error":"invalid_grant","error_description":"password ` + testPassword + ` for key ` + testAPIKey + ` is wrong"}`, protocol.ErrAuth, time.Time{}, "invalid_grant"},
		{"temporary error code with 200", rfcStyle, 200, `{"error":"temporarily_unavailable"}`, protocol.ErrTemporary, time.Time{}, "temporarily_unavailable"},
		{"error on 404: not the endpoint", capillaryStyle, 404, `{"errors":[{"code":404,"message":"No route"}]}`, protocol.ErrConfig, time.Time{}, "No route"},
		{"token missing", capillaryStyle, 200, `{"data":{},"errors":null}`, protocol.ErrConfig, time.Time{}, "no data.accessToken"},
		{"token not a string", rfcStyle, 200, `{"access_token":42}`, protocol.ErrConfig, time.Time{}, "no access_token"},
		{"HTML on 404", capillaryStyle, 404, `<html>Not Found</html>`, protocol.ErrConfig, time.Time{}, "HTTP 404"},
		{"HTML on 200", capillaryStyle, 200, `<html>Login</html>`, protocol.ErrConfig, time.Time{}, "HTTP 200"},
		{"empty 200", capillaryStyle, 200, ``, protocol.ErrConfig, time.Time{}, "an empty body"},
		{"gateway refusal", capillaryStyle, 403, `Forbidden`, protocol.ErrAuth, time.Time{}, "HTTP 403: Forbidden"},
		{"JSON refusal without an error value", rfcStyle, 401, `{"message":"Unauthorized"}`, protocol.ErrAuth, time.Time{}, "HTTP 401"},
		{"cut off", capillaryStyle, 200, `{"data":{"accessTok`, protocol.ErrTemporary, time.Time{}, "cut off"},
		{"429", capillaryStyle, 429, `{"errors":[{"code":429,"message":"Slow down"}]}`, protocol.ErrTemporary, time.Time{}, "Slow down"},
		{"503", capillaryStyle, 503, `oops`, protocol.ErrTemporary, time.Time{}, "HTTP 503"},
		{"a JWT in an error body", rfcStyle, 500, `{"message":"bad token ` + jwt + `"}`, protocol.ErrTemporary, time.Time{}, "HTTP 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok, err := tt.grant().ParseResponse(tt.status, []byte(tt.body))
			if tt.class == nil {
				if err != nil {
					t.Fatalf("ParseResponse = %v", err)
				}
				if tok.Value.Reveal() == "" || !tok.Issued.Equal(jsonGrantStart) || !tok.Expiry.Equal(tt.expiry) {
					t.Errorf("token issued %v, expires %v; want issued %v, expires %v", tok.Issued, tok.Expiry, jsonGrantStart, tt.expiry)
				}
				return
			}
			var te *TokenError
			if !errors.Is(err, tt.class) || !errors.As(err, &te) {
				t.Fatalf("ParseResponse = %v (%s), want a TokenError of %v", err, classOf(err), tt.class)
			}
			if !strings.Contains(err.Error(), tt.quote) {
				t.Errorf("error %q does not hold %q", err, tt.quote)
			}
			checkNoSecrets(t, "error", err.Error())
			for _, s := range []string{testAPIKey, jwt} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q holds %q", err, s)
				}
			}
		})
	}
}

func TestJSONGrantFetch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		edit      func(g *JSONGrant)
		responses []string // one per request: "status body"
		class     error    // nil: a token
		want      tokenRequest
		requests  int
	}{
		{
			name:      "JSON body",
			edit:      func(g *JSONGrant) { g.Body = JSON },
			responses: []string{`200 {"access_token":"` + testAccess + `","expires_in":60}`},
			want:      tokenRequest{Fields: map[string]string{"key": "client-1", "secret": testClientSecret}, ContentType: "application/json"},
			requests:  1,
		},
		{
			name: "form body, header and Basic",
			edit: func(g *JSONGrant) {
				g.Header = map[string]Secret{"X-Api-Key": testAPIKey}
				g.BasicUser, g.BasicPassword = "api-user", testClientSecret
			},
			responses: []string{`200 {"access_token":"` + testAccess + `","expires_in":60}`},
			want:      tokenRequest{Fields: map[string]string{"key": "client-1", "secret": testClientSecret}, ContentType: "application/x-www-form-urlencoded", BasicID: "api-user", BasicPwd: testClientSecret, APIKey: testAPIKey},
			requests:  1,
		},
		{
			name:      "5xx then a cut-off body are retried",
			edit:      func(g *JSONGrant) { g.Body = JSON },
			responses: []string{`503 busy`, `200 {"access_token":"at`, `200 {"access_token":"` + testAccess + `"}`},
			want:      tokenRequest{Fields: map[string]string{"key": "client-1", "secret": testClientSecret}, ContentType: "application/json"},
			requests:  3,
		},
		{
			name:      "a refusal is asked once",
			edit:      func(g *JSONGrant) { g.Body = JSON },
			responses: []string{`200 {"error":"invalid_client","error_description":"unknown key client-1 with secret ` + testClientSecret + `"}`},
			class:     protocol.ErrAuth,
			want:      tokenRequest{Fields: map[string]string{"key": "client-1", "secret": testClientSecret}, ContentType: "application/json"},
			requests:  1,
		},
		{
			name:      "unavailable after three tries",
			edit:      func(g *JSONGrant) { g.Body = JSON },
			responses: []string{`502 a`, `502 b`, `502 c`},
			class:     protocol.ErrTemporary,
			want:      tokenRequest{Fields: map[string]string{"key": "client-1", "secret": testClientSecret}, ContentType: "application/json"},
			requests:  3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTokenServer(t, func(n int, _ tokenRequest) (int, string) {
				status, body, _ := strings.Cut(tt.responses[min(n, len(tt.responses))-1], " ")
				code := map[string]int{"200": 200, "502": 502, "503": 503}[status]
				return code, body
			})
			g := &JSONGrant{
				TokenURL:   ts.URL + "/token",
				Fields:     map[string]Secret{"key": "client-1", "secret": testClientSecret},
				HTTPClient: ts.Client(),
				RetryWait:  time.Millisecond,
			}
			tt.edit(g)
			tok, err := g.Fetch(context.Background(), nil)
			reqs := ts.Requests()
			if len(reqs) != tt.requests {
				t.Errorf("%d requests, want %d", len(reqs), tt.requests)
			}
			if len(reqs) > 0 {
				if diff := cmp.Diff(tt.want, reqs[0]); diff != "" {
					t.Errorf("request mismatch (-want +got):\n%s", diff)
				}
			}
			if tt.class != nil {
				if !errors.Is(err, tt.class) {
					t.Fatalf("Fetch = %v (%s), want %v", err, classOf(err), tt.class)
				}
				checkNoSecrets(t, "error", err.Error())
				return
			}
			if err != nil {
				t.Fatalf("Fetch = %v", err)
			}
			if tok.Value.Reveal() != testAccess {
				t.Errorf("token %q, want %q", tok.Value.Reveal(), testAccess)
			}
		})
	}
}

// TestJSONGrantURL: the token URL is checked before anything is sent.
func TestJSONGrantURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://auth.example.com/token", "auth.example.com/token", "ftp://auth.example.com/token"} {
		g := &JSONGrant{TokenURL: u, Fields: map[string]Secret{"secret": testClientSecret}}
		_, err := g.Fetch(context.Background(), nil)
		if !errors.Is(err, protocol.ErrConfig) {
			t.Errorf("Fetch with %s = %v, want ErrConfig", u, err)
		}
	}
}

// TestJWTExpiry: the exp claim of a JWT, as a number or a string; nothing
// from what is not a JWT.
func TestJWTExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		token string
		want  time.Time
		ok    bool
	}{
		{testJWT(`{"exp":1772370000}`), time.Unix(1772370000, 0), true},
		{testJWT(`{"exp":"1772370000"}`), time.Unix(1772370000, 0), true},
		{testJWT(`{"exp":1772370000.5}`), time.Unix(1772370000, 0), true},
		{testJWT(`{"sub":"no exp"}`), time.Time{}, false},
		{testJWT(`{"exp":-5}`), time.Time{}, false},
		{testJWT(`not json`), time.Time{}, false},
		{"abc.def", time.Time{}, false},
		{"a.!!!.c", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := JWTExpiry(tt.token)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("JWTExpiry(%q) = %v, %v; want %v, %v", tt.token, got, ok, tt.want, tt.ok)
		}
	}
}
