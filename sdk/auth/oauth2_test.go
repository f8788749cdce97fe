package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

func TestOAuth2Grant(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		statuses []int // per request; the last repeats
		wantErr  error
		wantReqs int
	}{
		{"ok", []int{200}, nil, 1},
		{"rejected once", []int{401}, protocol.ErrAuth, 1},
		{"503 then ok", []int{503, 200}, nil, 2},
		{"always 500", []int{500}, protocol.ErrTemporary, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTokenServer(t, func(n int, _ tokenRequest) (int, string) {
				if s := tt.statuses[min(n, len(tt.statuses))-1]; s != 200 {
					return s, `{"error":"invalid_client","error_description":"bad secret ` + testClientSecret + `"}`
				}
				return 200, okToken(testAccess, "", 60)
			})
			cfg := &clientcredentials.Config{ClientID: "c", ClientSecret: testClientSecret, TokenURL: ts.URL, AuthStyle: oauth2.AuthStyleInHeader}
			g := &OAuth2Grant{
				Source: func(ctx context.Context, _ *Token) oauth2.TokenSource {
					return cfg.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, ts.Client()))
				},
				Secrets:   []Secret{testClientSecret},
				RetryWait: time.Millisecond,
			}
			tok, err := g.Fetch(context.Background(), nil)
			if tt.wantErr == nil && (err != nil || tok.Value.Reveal() != testAccess) || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Fetch() = %v, %v; want %v", tok, err, tt.wantErr)
			}
			if err != nil {
				checkNoSecrets(t, "error", err.Error())
			}
			if n := len(ts.Requests()); n != tt.wantReqs {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
		})
	}
}

func TestCacheTokenSource(t *testing.T) {
	t.Parallel()
	var got string
	api := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Header.Get("Authorization") }))
	defer api.Close()
	defer api.Client().CloseIdleConnections()
	c := NewCache(&fakeGrant{}, CacheOptions{})
	hc := &http.Client{Transport: &oauth2.Transport{Source: c.TokenSource(context.Background()), Base: api.Client().Transport}}
	resp, err := hc.Get(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != "Bearer access-1" {
		t.Errorf("Authorization = %q, want Bearer access-1", got)
	}
}
