package capillary

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/quiver-etl/quiver/sdk/auth"
)

// API paths and headers (docs/vendors/capillary.md#auth,
// docs/vendors/capillary.md#endpoints).
const (
	tokenPath        = "/v3/oauth/token/generate"
	searchPath       = "/v2/customers/search"
	transactionsPath = "/v1.1/customer/transactions"

	// TokenHeader carries the access token on API requests; Capillary
	// wants no Authorization header with OAuth.
	TokenHeader = "X-CAP-API-OAUTH-TOKEN"
	// Attribution headers: the till that requests are attributed to.
	attributionType = "X-CAP-API-ATTRIBUTION-ENTITY-TYPE"
	attributionCode = "X-CAP-API-ATTRIBUTION-ENTITY-CODE"
)

// tokenAttempts: a token request is tried three times on 429, 5xx and
// network errors, as auth.DefaultTokenAttempts; a refusal is never retried.
const tokenAttempts = auth.DefaultTokenAttempts

// maxLogins caps the tokens of one run. Capillary has no refresh tokens
// and documents no lockout, and tokens may live only five minutes, so a
// long run needs many; the cap still stops a runaway loop of logins.
const maxLogins = 1000

// newGrant is Capillary's token endpoint (docs/vendors/capillary.md#auth):
// it posts {"key","secret"} as JSON and reads data.accessToken and
// data.ttlSeconds (or else the JWT's exp claim). A non-null errors list is
// a refusal whatever the HTTP status; bad credentials are code 320001.
// There are no refresh tokens: each Fetch generates a new token. client
// sends the requests; now and timer are the clock and the retry waits'
// timer (nil: a real one).
func newGrant(cfg *Config, client *http.Client, log *slog.Logger, now func() time.Time, timer backoff.Timer) *auth.JSONGrant {
	return &auth.JSONGrant{
		TokenURL:      cfg.BaseURL + tokenPath,
		Fields:        map[string]auth.Secret{"key": auth.Secret(cfg.Key), "secret": cfg.Secret},
		Body:          auth.JSON,
		TokenPath:     "data.accessToken",
		ExpiresInPath: "data.ttlSeconds",
		ErrorPath:     "errors",
		HTTPClient:    client,
		Attempts:      tokenAttempts,
		Logger:        log,
		Now:           now,
		Timer:         timer,
	}
}

// apply puts the token and Capillary's required headers on an API request.
func (c *Config) apply(req *http.Request, t *auth.Token) {
	if t != nil && t.Value != "" {
		req.Header.Set(TokenHeader, t.Value.Reveal())
	}
	// Capillary's docs require both on every call, GETs included.
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.Till != "" {
		req.Header.Set(attributionType, "TILL")
		req.Header.Set(attributionCode, c.Till)
	}
}
