package auth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/quiver-etl/quiver/sdk/auth"
)

// A password grant behind a Cache: the first Token call logs in, later
// calls reuse the token until it nears expiry or is invalidated.
func Example() {
	// A stand-in for the vendor's token endpoint.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"token_type":"Bearer","access_token":"at-1","refresh_token":"rt-1","expires_in":3600}`)
	}))
	defer srv.Close()
	defer srv.Client().CloseIdleConnections()

	tokens := auth.NewCache(&auth.PasswordGrant{
		TokenURL:     srv.URL + "/rest/oauth2/access_token",
		ClientID:     "my-client",
		ClientSecret: "client-secret",
		Username:     "api-user",
		Password:     "hunter2",
		Style:        auth.InParams, // as the vendor documents; never guessed
		HTTPClient:   srv.Client(),
	}, auth.CacheOptions{})

	ctx := context.Background()
	tok, err := tokens.Token(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	again, _ := tokens.Token(ctx)
	fmt.Println("same token:", tok == again, "logins:", tokens.Logins())
	fmt.Println("printed:", tok.Value, "expires in:", tok.ExpiresAt().Sub(tok.Issued))
	fmt.Println("sent:", tok.Value.Reveal())
	// Output:
	// same token: true logins: 1
	// printed: REDACTED expires in: 1h0m0s
	// sent: at-1
}

// Scrub blots credentials out of text before it goes into an error or log.
func ExampleScrub() {
	fmt.Println(auth.Scrub(`login failed for password hunter2: {"access_token":"eyJ","user":"bob"}`, "hunter2"))
	// Output:
	// login failed for password REDACTED: {"access_token":"REDACTED","user":"bob"}
}

// A vendor's own JSON token endpoint: credentials as JSON fields, the token
// in an envelope, its lifetime as a numeric string, refusals in the body.
func ExampleJSONGrant() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var creds struct{ Key, Secret string }
		if json.NewDecoder(r.Body).Decode(&creds) != nil || creds.Secret != "s3cret" {
			io.WriteString(w, `{"data":null,"errors":[{"code":320001,"message":"Invalid client key and secret"}]}`)
			return
		}
		io.WriteString(w, `{"data":{"accessToken":"at-1","ttlSeconds":"300"},"errors":null}`)
	}))
	defer srv.Close()
	defer srv.Client().CloseIdleConnections()

	grant := func(secret auth.Secret) *auth.JSONGrant {
		return &auth.JSONGrant{
			TokenURL:      srv.URL + "/v3/oauth/token/generate",
			Fields:        map[string]auth.Secret{"key": "my-key", "secret": secret},
			Body:          auth.JSON,
			TokenPath:     "data.accessToken",
			ExpiresInPath: "data.ttlSeconds",
			ErrorPath:     "errors",
			HTTPClient:    srv.Client(),
		}
	}
	tok, err := grant("s3cret").Fetch(context.Background(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("token:", tok.Value.Reveal(), "expires in:", tok.ExpiresAt().Sub(tok.Issued))
	_, err = grant("wrong").Fetch(context.Background(), nil)
	fmt.Println(err)
	// Output:
	// token: at-1 expires in: 5m0s
	// auth: token endpoint rejected the credentials (320001: Invalid client key and secret)
}
