package trackunit

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/auth"
)

// Config defaults (docs/vendors/trackunit.md#auth,
// docs/vendors/trackunit.md#paging).
const (
	DefaultAPIURL   = "https://iris.trackunit.com"
	DefaultTokenURL = "https://auth.trackunit.com/token"
	DefaultScope    = "api"
	// MaxPageSize is the largest page the IRIS REST APIs serve.
	MaxPageSize = 1000
	// MaxConcurrency caps the concurrency key: Trackunit may restrict an
	// integration that loads the platform excessively
	// (docs/vendors/trackunit.md#rate-limits), and the account's rate
	// limiter binds before more pages in flight would help.
	MaxConcurrency = 8
)

// Config is the connector's configuration. Its JSON Schema is
// config.schema.json.
type Config struct {
	APIURL       string      `json:"api_url"`       // the IRIS API host; default DefaultAPIURL
	TokenURL     string      `json:"token_url"`     // the authorization server's token URL; default DefaultTokenURL
	ClientID     string      `json:"client_id"`     // OAuth client id of the API user
	ClientSecret auth.Secret `json:"client_secret"` // its secret, sent in HTTP Basic
	Username     string      `json:"username"`      // the API user
	Password     auth.Secret `json:"password"`      // its password
	// Scope is the requested scope; default "api". With "api
	// offline_access" tokens are renewed with the (rotating) refresh token,
	// else by logging in again.
	Scope     string `json:"scope"`
	StartDate string `json:"start_date"` // YYYY-MM-DD: the earliest asset events
	PageSize  int    `json:"page_size"`  // records per request, 1..1000; default 1000
	// Concurrency is how many pages of a stream are requested at once,
	// 1..MaxConcurrency; default 4.
	Concurrency int `json:"concurrency"`
}

// Validate checks what config.schema.json cannot, without contacting
// Trackunit, and normalises api_url and scope (stream.Validator).
func (c *Config) Validate() error {
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	c.Scope = strings.Join(strings.Fields(c.Scope), " ")
	for _, u := range []struct{ key, val, example string }{
		{"api_url", c.APIURL, DefaultAPIURL},
		{"token_url", c.TokenURL, DefaultTokenURL},
	} {
		if err := checkURL(u.key, u.val, u.example); err != nil {
			return err
		}
	}
	if !slices.Contains(strings.Fields(c.Scope), "api") {
		return fmt.Errorf("scope %q lacks \"api\", which every IRIS API requires (add \"offline_access\" for refresh tokens): %w", c.Scope, sdk.ErrConfig)
	}
	if _, err := time.Parse(time.DateOnly, c.StartDate); err != nil {
		return fmt.Errorf("start_date %q is not a date like 2024-01-01: %w", c.StartDate, sdk.ErrConfig)
	}
	if c.PageSize < 1 || c.PageSize > MaxPageSize {
		return fmt.Errorf("page_size %d is outside 1..%d: %w", c.PageSize, MaxPageSize, sdk.ErrConfig)
	}
	if c.Concurrency < 1 || c.Concurrency > MaxConcurrency {
		return fmt.Errorf("concurrency %d is outside 1..%d: %w", c.Concurrency, MaxConcurrency, sdk.ErrConfig)
	}
	return nil
}

// checkURL checks an absolute https URL, or http to a loopback host (a
// simulator): credentials and tokens must not travel in clear text.
func checkURL(key, val, example string) error {
	u, err := url.Parse(val)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%s %q is not a URL like %s: %w", key, auth.StripQuery(val), example, sdk.ErrConfig)
	}
	if u.Scheme == "http" && !auth.IsLoopback(u.Hostname()) {
		return fmt.Errorf("%s %q uses plain http; only https is accepted (plain http only for loopback hosts): %w", key, auth.StripQuery(val), sdk.ErrConfig)
	}
	return nil
}
