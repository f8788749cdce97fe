package auth_test

import (
	"context"
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
