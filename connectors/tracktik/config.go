package tracktik

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/auth"
)

// MaxPageSize is the largest limit the API accepts
// (docs/vendors/tracktik.md#paging).
const MaxPageSize = 1000

// MaxConcurrency caps the concurrency key. TrackTik documents no limit on
// parallel requests (docs/vendors/tracktik.md#rate-limits); 16 pages of a
// stream at once is far past what keeps a sync busy, and the per-minute
// limit, "usually in the thousands", is met sooner.
const MaxConcurrency = 16

// Config is the connector's configuration. Its JSON Schema is
// config.schema.json.
type Config struct {
	BaseURL      string      `json:"base_url"`      // the portal, e.g. https://acme.staffr.net
	ClientID     string      `json:"client_id"`     // OAuth client of the API service account
	ClientSecret auth.Secret `json:"client_secret"` // its secret
	Username     string      `json:"username"`      // the API user
	Password     auth.Secret `json:"password"`      // its password
	StartDate    string      `json:"start_date"`    // YYYY-MM-DD: earliest shifts, work sessions and reports
	PageSize     int         `json:"page_size"`     // records per request, 1..1000; default 1000
	Concurrency  int         `json:"concurrency"`   // pages of a stream requested at once, 1..MaxConcurrency; default 4

	start time.Time // StartDate, parsed by Validate
}

// Validate checks what config.schema.json cannot, without contacting
// TrackTik, and trims what users paste after the portal's root from
// base_url (stream.Validator).
func (c *Config) Validate() error {
	c.BaseURL = strings.TrimRight(strings.TrimSuffix(strings.TrimRight(c.BaseURL, "/"), "/rest/v1"), "/")
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("base_url %q is not a portal URL like https://acme.staffr.net: %w", auth.StripQuery(c.BaseURL), sdk.ErrConfig)
	}
	if c.start, err = time.Parse(time.DateOnly, c.StartDate); err != nil {
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
