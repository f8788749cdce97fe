package capillary

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/auth"
	"github.com/quiver-etl/quiver/sdk/records"
)

// Config limits and defaults.
const (
	// MaxPageSize is the largest limit /v2/customers/search accepts
	// (docs/vendors/capillary.md#customer-search); transactions use
	// the same page size.
	MaxPageSize = 100
	// DefaultRequestsPerMinute is what Capillary allows per API key on its
	// demo and test clusters (docs/vendors/capillary.md#rate-limits);
	// brands may have more.
	DefaultRequestsPerMinute = 100
	// MaxConcurrency caps the concurrency key: requests are spaced by the
	// key's per-minute limit (docs/vendors/capillary.md#rate-limits), so
	// pages in flight beyond a few only wait on the limiter.
	MaxConcurrency = 4
	// DefaultSettleMinutes: transactions billed in the last hour are left to
	// the next run, so that bills a till uploads a little late are not
	// missed by a window that has already moved past them.
	DefaultSettleMinutes = 60
)

// Config is the connector's configuration. Its JSON Schema is
// config.schema.json.
type Config struct {
	BaseURL           string      `json:"base_url"`            // the cluster host, e.g. https://eu.api.capillarytech.com
	Key               string      `json:"key"`                 // API client key
	Secret            auth.Secret `json:"secret"`              // API client secret
	StartDate         string      `json:"start_date"`          // YYYY-MM-DD: earliest transactions (org time)
	PageSize          int         `json:"page_size"`           // records per request, 1..100; default 100
	Till              string      `json:"till"`                // till code to attribute requests to; "" for the client's default till
	RequestsPerMinute int         `json:"requests_per_minute"` // the key's rate limit; default 100
	Concurrency       int         `json:"concurrency"`         // customer pages requested at once, 1..MaxConcurrency; default 2
	Timezone          string      `json:"timezone"`            // the org's IANA time zone; default UTC
	SettleMinutes     *int        `json:"settle_minutes"`      // minutes of recent transactions left to the next run; default 60
	// CustomerQuery is the customer search's q that lists every customer.
	// Unset (nil), an empty q is tried first and "*" second (see
	// searchForms); set, it is used as it is, "" included.
	CustomerQuery *string `json:"customer_query"`

	loc *time.Location // Timezone, loaded
}

// Validate checks what config.schema.json cannot, without contacting
// Capillary, trims base_url and loads the time zone (stream.Validator).
func (c *Config) Validate() error {
	c.BaseURL = cleanBaseURL(c.BaseURL)
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("base_url %q is not a cluster URL like https://eu.api.capillarytech.com: %w", auth.StripQuery(c.BaseURL), sdk.ErrConfig)
	}
	if _, err := time.Parse(time.DateOnly, c.StartDate); err != nil {
		return fmt.Errorf("start_date %q is not a date like 2024-01-01: %w", c.StartDate, sdk.ErrConfig)
	}
	if c.PageSize < 1 || c.PageSize > MaxPageSize {
		return fmt.Errorf("page_size %d is outside 1..%d: %w", c.PageSize, MaxPageSize, sdk.ErrConfig)
	}
	if c.Concurrency < 1 || c.Concurrency > MaxConcurrency {
		return fmt.Errorf("capillary: config: concurrency %d is outside 1..%d: %w", c.Concurrency, MaxConcurrency, sdk.ErrConfig)
	}
	if c.RequestsPerMinute < 1 {
		return fmt.Errorf("requests_per_minute %d is not positive: %w", c.RequestsPerMinute, sdk.ErrConfig)
	}
	if c.SettleMinutes != nil && *c.SettleMinutes < 0 {
		return fmt.Errorf("settle_minutes %d is negative: %w", *c.SettleMinutes, sdk.ErrConfig)
	}
	loc, err := records.ParseZone(c.Timezone)
	if err != nil {
		return fmt.Errorf("timezone %w: %w", err, sdk.ErrConfig)
	}
	c.loc = loc
	return nil
}

// settle returns how long recent transactions are left to the next run.
func (c *Config) settle() time.Duration {
	if c.SettleMinutes == nil {
		return DefaultSettleMinutes * time.Minute
	}
	return time.Duration(*c.SettleMinutes) * time.Minute
}

// cleanBaseURL trims what users paste after the cluster host.
func cleanBaseURL(u string) string {
	u = strings.TrimRight(u, "/")
	for _, suffix := range []string{"/v1.1", "/v2", "/v3"} {
		u = strings.TrimSuffix(u, suffix)
	}
	return strings.TrimRight(u, "/")
}
