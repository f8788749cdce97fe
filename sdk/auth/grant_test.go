package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

func passwordGrant(ts *tokenServer) *PasswordGrant {
	return &PasswordGrant{
		TokenURL:     ts.URL + "/oauth2/access_token",
		ClientID:     "client-1",
		ClientSecret: testClientSecret,
		Username:     "api-user",
		Password:     testPassword,
		Style:        InParams,
		HTTPClient:   ts.Client(),
		RetryWait:    time.Millisecond,
	}
}

const badPassword = `{"error":"invalid_grant","error_description":"The user credentials were incorrect.","hint":"","message":"The user credentials were incorrect."}`

func TestPasswordGrantRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(g *PasswordGrant)
		want  map[string]string
		basic bool
		ctype string
	}{
		{
			name:  "params form",
			edit:  func(*PasswordGrant) {},
			want:  map[string]string{"grant_type": "password", "client_id": "client-1", "client_secret": testClientSecret, "username": "api-user", "password": testPassword},
			ctype: "application/x-www-form-urlencoded",
		},
		{
			name:  "basic header with scope",
			edit:  func(g *PasswordGrant) { g.Style, g.Scope = InHeader, "api offline_access" },
			want:  map[string]string{"grant_type": "password", "username": "api-user", "password": testPassword, "scope": "api offline_access"},
			basic: true,
			ctype: "application/x-www-form-urlencoded",
		},
		{
			name:  "json body",
			edit:  func(g *PasswordGrant) { g.Body = JSON },
			want:  map[string]string{"grant_type": "password", "client_id": "client-1", "client_secret": testClientSecret, "username": "api-user", "password": testPassword},
			ctype: "application/json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTokenServer(t, func(int, tokenRequest) (int, string) { return 200, okToken(testAccess, testRefresh, 3600) })
			g := passwordGrant(ts)
			tt.edit(g)
			tok, err := g.Fetch(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tok.Value.Reveal() != testAccess || tok.Refresh.Reveal() != testRefresh || tok.Type != "Bearer" {
				t.Errorf("token = %+v", tok)
			}
			if d := tok.Expiry.Sub(tok.Issued); d != time.Hour {
				t.Errorf("Expiry-Issued = %v, want 1h", d)
			}
			reqs := ts.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			if diff := cmp.Diff(tt.want, reqs[0].Fields); diff != "" {
				t.Errorf("request fields mismatch (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(reqs[0].ContentType, tt.ctype) {
				t.Errorf("Content-Type = %q, want %q", reqs[0].ContentType, tt.ctype)
			}
			if tt.basic && (reqs[0].BasicID != "client-1" || reqs[0].BasicPwd != testClientSecret) {
				t.Errorf("Basic auth = %q/%q, want the client credentials", reqs[0].BasicID, reqs[0].BasicPwd)
			}
		})
	}
}

func TestPasswordGrantWrongPasswordOneRequest(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 401} {
		ts := newTokenServer(t, func(int, tokenRequest) (int, string) { return status, badPassword })
		log, buf := logBuffer()
		g := passwordGrant(ts)
		g.Logger = log
		c := NewCache(g, CacheOptions{Logger: log})
		for range 3 {
			_, err := c.Token(context.Background())
			if !errors.Is(err, protocol.ErrAuth) {
				t.Fatalf("status %d: err = %v, want ErrAuth", status, err)
			}
			want := "auth: token endpoint rejected the credentials (invalid_grant: The user credentials were incorrect.)"
			if err.Error() != want {
				t.Errorf("status %d: err = %q, want %q", status, err, want)
			}
			var te *TokenError
			if !errors.As(err, &te) || te.Code != "invalid_grant" || te.StatusCode != status {
				t.Errorf("status %d: errors.As TokenError = %+v", status, te)
			}
		}
		if n := len(ts.Requests()); n != 1 {
			t.Errorf("status %d: a wrong password made %d token requests, want exactly 1", status, n)
		}
		checkNoSecrets(t, "log", buf.String())
	}
}

func TestPasswordGrantRefresh(t *testing.T) {
	t.Parallel()
	ts := newTokenServer(t, func(n int, r tokenRequest) (int, string) {
		switch r.Fields["grant_type"] {
		case "password":
			return 200, okToken("access-pw", "refresh-1", "3600") // expires_in as a string
		case "refresh_token":
			if r.Fields["refresh_token"] == "refresh-1" {
				return 200, okToken("access-r", "refresh-2", 3600)
			}
			return 400, `{"error":"invalid_grant","error_description":"Token has been revoked"}`
		}
		return 400, `{"error":"unsupported_grant_type"}`
	})
	log, logs := logBuffer()
	g := passwordGrant(ts)
	g.Logger = log
	c := NewCache(g, CacheOptions{Logger: log})
	ctx := context.Background()
	t1, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := t1.Expiry.Sub(t1.Issued); d != time.Hour {
		t.Errorf("expires_in as a string: lifetime %v, want 1h", d)
	}
	c.Invalidate(t1)
	t2, err := c.Token(ctx)
	if err != nil || t2.Value.Reveal() != "access-r" || t2.Refresh.Reveal() != "refresh-2" {
		t.Fatalf("after refresh: %v, %v", t2, err)
	}
	c.Invalidate(t2)
	// refresh-2 is unknown to the server: rejected, then one password login.
	t3, err := c.Token(ctx)
	if err != nil || t3.Value.Reveal() != "access-pw" {
		t.Fatalf("after rejected refresh: %v, %v", t3, err)
	}
	var got []string
	for _, r := range ts.Requests() {
		got = append(got, r.Fields["grant_type"]+":"+r.Fields["refresh_token"])
	}
	want := []string{"password:", "refresh_token:refresh-1", "refresh_token:refresh-2", "password:"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token requests mismatch (-want +got):\n%s", diff)
	}
	for _, s := range []string{"access-pw", "access-r", "refresh-1", "refresh-2", testPassword, testClientSecret} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log contains secret %q:\n%s", s, logs)
		}
	}
	if !strings.Contains(logs.String(), "refresh token rejected") {
		t.Errorf("the refresh fallback was not logged:\n%s", logs)
	}
}

func TestPasswordGrantRefreshAndPasswordRejected(t *testing.T) {
	t.Parallel()
	ts := newTokenServer(t, func(int, tokenRequest) (int, string) { return 400, badPassword })
	g := passwordGrant(ts)
	_, err := g.Fetch(context.Background(), &Token{Value: "old", Refresh: testRefresh})
	if !errors.Is(err, protocol.ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	if n := len(ts.Requests()); n != 2 {
		t.Errorf("%d requests, want 2 (refresh, then one password grant)", n)
	}
	checkNoSecrets(t, "error", err.Error())
}

func TestGrantTemporaryErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		responses []int // status per request; the last repeats
		wantErr   error
		wantReqs  int
	}{
		{"503 then ok", []int{503, 502, 200}, nil, 3},
		{"429 then ok", []int{429, 200}, nil, 2},
		{"always 500", []int{500}, protocol.ErrTemporary, 3},
		{"404 is config", []int{404}, protocol.ErrConfig, 1},
		{"403 is auth", []int{403}, protocol.ErrAuth, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTokenServer(t, func(n int, _ tokenRequest) (int, string) {
				s := tt.responses[min(n, len(tt.responses))-1]
				if s == 200 {
					return 200, okToken(testAccess, "", 60)
				}
				return s, `<html>` + strings.Repeat("x", 5000) + testPassword + `</html>`
			})
			g := &ClientCredentials{TokenURL: ts.URL, ClientID: "c", ClientSecret: testClientSecret, Style: InHeader, HTTPClient: ts.Client(), RetryWait: time.Millisecond}
			_, err := g.Fetch(context.Background(), nil)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v (class %s), want %v", err, classOf(err), tt.wantErr)
			}
			if n := len(ts.Requests()); n != tt.wantReqs {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
			if err != nil {
				checkNoSecrets(t, "error", err.Error())
				if len(err.Error()) > 400 {
					t.Errorf("error quotes too much of the body (%d bytes): %s", len(err.Error()), err)
				}
			}
		})
	}
}

func TestGrantNetworkError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	g := &ClientCredentials{TokenURL: url + "/token?key=" + testClientSecret, ClientID: "c", ClientSecret: testClientSecret, Style: InParams, Attempts: 2, RetryWait: time.Millisecond}
	_, err := g.Fetch(context.Background(), nil)
	if !errors.Is(err, protocol.ErrTemporary) {
		t.Fatalf("err = %v, want ErrTemporary", err)
	}
	checkNoSecrets(t, "error", err.Error())
}

func TestGrantConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		g    *PasswordGrant
	}{
		{"style unset", &PasswordGrant{TokenURL: "https://127.0.0.1/token"}},
		{"plain http to a remote host", &PasswordGrant{TokenURL: "http://example.com/token", Style: InParams}},
		{"relative URL", &PasswordGrant{TokenURL: "/token", Style: InParams}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.g.Fetch(context.Background(), nil); !errors.Is(err, protocol.ErrConfig) {
				t.Errorf("Fetch() = %v, want ErrConfig", err)
			}
		})
	}
}

func TestGrantRefusesCrossHostRedirect(t *testing.T) {
	t.Parallel()
	other := newTokenServer(t, func(int, tokenRequest) (int, string) { return 200, okToken(testAccess, "", 60) })
	// "localhost" vs "127.0.0.1": another host as far as the client is concerned.
	target := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	defer redirector.Client().CloseIdleConnections()
	g := &PasswordGrant{TokenURL: redirector.URL, ClientID: "c", ClientSecret: testClientSecret, Username: "u", Password: testPassword, Style: InParams, HTTPClient: redirector.Client()}
	_, err := g.Fetch(context.Background(), nil)
	if !errors.Is(err, ErrRedirect) || !errors.Is(err, protocol.ErrConfig) {
		t.Errorf("err = %v, want ErrRedirect and ErrConfig", err)
	}
	if n := len(other.Requests()); n != 0 {
		t.Errorf("the password was re-sent to another host (%d requests)", n)
	}
}

func TestGrantCancelled(t *testing.T) {
	t.Parallel()
	ts := newTokenServer(t, func(int, tokenRequest) (int, string) { return 503, "" })
	g := &ClientCredentials{TokenURL: ts.URL, ClientID: "c", Style: InParams, HTTPClient: ts.Client(), RetryWait: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(ts.Requests()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := g.Fetch(ctx, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestParseTokenResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ctype, body string
		want              tokenResponse
	}{
		{"number", "application/json", `{"access_token":"a","expires_in":3600}`, tokenResponse{AccessToken: "a", ExpiresIn: 3600}},
		{"string", "application/json", `{"access_token":"a","expires_in":"900"}`, tokenResponse{AccessToken: "a", ExpiresIn: 900}},
		{"float", "application/json", `{"access_token":"a","expires_in":1.5e3}`, tokenResponse{AccessToken: "a", ExpiresIn: 1500}},
		{"huge", "application/json", `{"access_token":"a","expires_in":1e30}`, tokenResponse{AccessToken: "a", ExpiresIn: 2147483647}},
		{"negative", "application/json", `{"access_token":"a","expires_in":-5}`, tokenResponse{AccessToken: "a"}},
		{"garbage", "application/json", `{"access_token":"a","expires_in":"soon"}`, tokenResponse{AccessToken: "a"}},
		{"odd type kept loose", "application/json", `{"access_token":"a","token_type":5,"refresh_token":"r"}`, tokenResponse{AccessToken: "a", RefreshToken: "r"}},
		{"form", "application/x-www-form-urlencoded", `access_token=a&token_type=bearer&expires_in=60`, tokenResponse{AccessToken: "a", TokenType: "bearer", ExpiresIn: 60}},
		{"error", "application/json", `{"error":"invalid_client","error_description":"no"}`, tokenResponse{Error: "invalid_client", Description: "no"}},
		{"not json", "text/html", `<html>`, tokenResponse{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseTokenResponse(tt.ctype, []byte(tt.body))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseTokenResponse(%q) mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}
