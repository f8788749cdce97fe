package trackunitsim

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestToken(t *testing.T) {
	srv := NewServer(t, Options{})
	c := newClient(t, srv)
	form := "application/x-www-form-urlencoded"
	goodBasic := basic(DefaultClientID, DefaultClientSecret)
	tests := []struct {
		name       string
		method     string
		body       url.Values
		hdr        map[string]string
		wantStatus int
		wantError  string // the OAuth2 "error" code, "" for success
	}{
		{"password grant", "POST", passwordForm("api"), nil, 200, ""},
		{"offline access", "POST", passwordForm("api offline_access"), nil, 200, ""},
		{"wrong password", "POST", url.Values{"grant_type": {"password"}, "username": {DefaultUsername}, "password": {"nope"}, "scope": {"api"}}, nil, 400, "invalid_grant"},
		{"wrong user", "POST", url.Values{"grant_type": {"password"}, "username": {"x"}, "password": {DefaultPassword}, "scope": {"api"}}, nil, 400, "invalid_grant"},
		{"missing password", "POST", url.Values{"grant_type": {"password"}, "username": {DefaultUsername}, "scope": {"api"}}, nil, 400, "invalid_request"},
		{"wrong secret", "POST", passwordForm("api"), map[string]string{"Authorization": basic(DefaultClientID, "nope")}, 401, "invalid_client"},
		{"wrong client id", "POST", passwordForm("api"), map[string]string{"Authorization": basic("nope", DefaultClientSecret)}, 401, "invalid_client"},
		{"no client auth", "POST", passwordForm("api"), map[string]string{"Authorization": ""}, 401, "invalid_client"},
		{"client in body", "POST", withClient(passwordForm("api")), map[string]string{"Authorization": ""}, 401, "invalid_client"},
		{"client in body and basic", "POST", withClient(passwordForm("api")), nil, 400, "invalid_request"},
		{"no scope", "POST", passwordForm(""), nil, 400, "invalid_scope"},
		{"unknown scope", "POST", passwordForm("api admin"), nil, 400, "invalid_scope"},
		{"offline without api", "POST", passwordForm("offline_access"), nil, 400, "invalid_scope"},
		{"client credentials", "POST", url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}}, nil, 400, "unsupported_grant_type"},
		{"no grant type", "POST", url.Values{"scope": {"api"}}, nil, 400, "invalid_request"},
		{"bad refresh token", "POST", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rt.nope"}}, nil, 400, "invalid_grant"},
		{"json body", "POST", passwordForm("api"), map[string]string{"Content-Type": "application/json"}, 400, "invalid_request"},
		{"GET", "GET", nil, nil, 405, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{"Authorization": goodBasic, "Content-Type": form, "Accept": ""}
			for k, v := range tt.hdr {
				hdr[k] = v
			}
			r := c.do(tt.method, srv.TokenURL, tt.body.Encode(), hdr)
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.wantStatus, r.body)
			}
			m := r.json(t)
			if tt.wantError != "" {
				if m["error"] != tt.wantError || m["error_description"] == "" || m["error_description"] == nil {
					t.Errorf("body = %s, want error %q with a description", r.body, tt.wantError)
				}
				if tt.wantStatus == 401 && r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				return
			}
			if m["token_type"] != "Bearer" || m["expires_in"] != 3600.0 || m["access_token"] == "" {
				t.Errorf("token response %s", r.body)
			}
			if got := r.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			_, hasRefresh := m["refresh_token"]
			if want := strings.Contains(tt.body.Get("scope"), "offline_access"); hasRefresh != want || m["scope"] != tt.body.Get("scope") {
				t.Errorf("scope %q: refresh token %v (want %v), scope %v", tt.body.Get("scope"), hasRefresh, want, m["scope"])
			}
			if parts := strings.Split(m["access_token"].(string), "."); len(parts) != 3 {
				t.Errorf("access token has %d parts, want a JWT shape", len(parts))
			}
		})
	}
	st := srv.Stats()
	if st.TokenRequests != len(tests) || st.PasswordGrants != 2 || st.TokenFailures != len(tests)-2 {
		t.Errorf("Stats = %+v, want %d requests, 2 grants, %d failures", st, len(tests), len(tests)-2)
	}
}

func withClient(v url.Values) url.Values {
	v.Set("client_id", DefaultClientID)
	v.Set("client_secret", DefaultClientSecret)
	return v
}

func TestToken_RefreshRotation(t *testing.T) {
	srv := NewServer(t, Options{})
	c := newClient(t, srv)
	first := c.login()["refresh_token"].(string)
	refresh := func(rt string) response {
		return c.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	}
	r := refresh(first)
	if r.status != http.StatusOK {
		t.Fatalf("refresh: status %d %s", r.status, r.body)
	}
	m := r.json(t)
	second, _ := m["refresh_token"].(string)
	if second == "" || second == first || m["scope"] != "api offline_access" {
		t.Fatalf("refresh answer %s: want a new refresh token and the original scope", r.body)
	}
	if r := refresh(first); r.status != 400 || r.json(t)["error"] != "invalid_grant" {
		t.Errorf("reusing a refresh token: status %d %s, want 400 invalid_grant", r.status, r.body)
	}
	c.token = m["access_token"].(string)
	if r := c.get(AssetsPath); r.status != http.StatusOK {
		t.Errorf("refreshed access token: status %d", r.status)
	}
	if r := c.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second}, "scope": {"api admin"}}); r.status != 400 {
		t.Errorf("refresh with a wider scope: status %d, want 400", r.status)
	}
	srv.RevokeRefreshTokens()
	if r := refresh(second); r.status != 400 {
		t.Errorf("refresh after RevokeRefreshTokens: status %d, want 400", r.status)
	}
	if st := srv.Stats(); st.RefreshGrants != 1 {
		t.Errorf("RefreshGrants = %d, want 1", st.RefreshGrants)
	}
}

// The connector uses x/oauth2 with AuthStyleInHeader; check the simulator
// speaks its dialect, and that AuthStyleInParams is refused.
func TestToken_OAuth2Library(t *testing.T) {
	clock := newClock()
	srv := NewServer(t, Options{Now: clock.Now})
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: tr})
	conf := oauth2.Config{
		ClientID: DefaultClientID, ClientSecret: DefaultClientSecret,
		Endpoint: oauth2.Endpoint{TokenURL: srv.TokenURL, AuthStyle: oauth2.AuthStyleInHeader},
		Scopes:   []string{"api", "offline_access"},
	}
	tok, err := conf.PasswordCredentialsToken(ctx, DefaultUsername, DefaultPassword)
	if err != nil {
		t.Fatalf("PasswordCredentialsToken: %v", err)
	}
	if tok.RefreshToken == "" || tok.Expiry.IsZero() {
		t.Fatalf("token %+v: want a refresh token and an expiry", tok)
	}
	tok.Expiry = time.Now().Add(-time.Minute) // make the library refresh
	next, err := conf.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatalf("refresh through TokenSource: %v", err)
	}
	if next.AccessToken == tok.AccessToken || next.RefreshToken == tok.RefreshToken {
		t.Error("refresh did not rotate both tokens")
	}

	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	_, err = conf.PasswordCredentialsToken(ctx, DefaultUsername, DefaultPassword)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Errorf("AuthStyleInParams: err = %v, want RetrieveError invalid_client", err)
	}
}

func TestAPI_Auth(t *testing.T) {
	clock := newClock()
	srv := NewServer(t, Options{Now: clock.Now, TokenTTL: 10 * time.Minute})
	c := newClient(t, srv)
	check := func(name string, wantStatus int, wantCode string) {
		t.Helper()
		r := c.get(AssetsPath)
		if r.status != wantStatus {
			t.Fatalf("%s: status %d, want %d; %s", name, r.status, wantStatus, r.body)
		}
		if wantStatus != http.StatusUnauthorized {
			return
		}
		m := r.json(t)
		if m["status"] != 401.0 || m["code"] != wantCode || m["message"] == "" {
			t.Errorf("%s: body %s, want IRIS error with code %q", name, r.body, wantCode)
		}
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", name, r.header.Get("WWW-Authenticate"))
		}
	}
	check("no token", 401, "unauthorized")
	c.token = "not-a-token"
	check("unknown token", 401, "invalid_token")
	m := c.login()
	if m["expires_in"] != 600.0 {
		t.Errorf("expires_in = %v, want 600", m["expires_in"])
	}
	check("fresh token", 200, "")
	clock.Advance(10*time.Minute - time.Second)
	check("just before expiry", 200, "")
	clock.Advance(time.Second)
	check("at expiry", 401, "invalid_token")

	srv.SetTokenTTL(time.Hour)
	c.login()
	check("new token", 200, "")
	srv.ExpireTokens()
	check("after ExpireTokens", 401, "invalid_token")
	if got := srv.Stats().AuthFailures; got != 4 {
		t.Errorf("AuthFailures = %d, want 4", got)
	}
}
