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
	Timezone          string      `json:"timezone"`            // the org's IANA time zone; default UTC
	SettleMinutes     *int        `json:"settle_minutes"`      // minutes of recent transactions left to the next run; default 60
	// CustomerQuery is the customer search's q that lists every customer.
	// Unset (nil), an empty q is tried first and "*" second (see
	// searchForms); set, it is used as it is, "" included.
	CustomerQuery *string `json:"customer_query"`

	loc *time.Location // Timezone, loaded
}

// ParseConfig validates a raw JSON config against config.schema.json,
// applies its defaults, decodes it and checks what the schema cannot. Errors wrap
// sdk.ErrConfig and never quote secret values.
func ParseConfig(raw []byte) (*Config, error) {
	var c Config
	if err := sdk.DecodeConfig(raw, &c, configSchema); err != nil {
		return nil, fmt.Errorf("capillary: %w", err)
	}
	c.BaseURL = cleanBaseURL(c.BaseURL)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks what config.schema.json cannot, without contacting
// Capillary, and loads the time zone; ParseConfig has checked the schema.
func (c *Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("capillary: config: base_url %q is not a cluster URL like https://eu.api.capillarytech.com: %w", auth.StripQuery(c.BaseURL), sdk.ErrConfig)
	}
	if _, err := time.Parse(time.DateOnly, c.StartDate); err != nil {
		return fmt.Errorf("capillary: config: start_date %q is not a date like 2024-01-01: %w", c.StartDate, sdk.ErrConfig)
	}
	if c.PageSize < 1 || c.PageSize > MaxPageSize {
		return fmt.Errorf("capillary: config: page_size %d is outside 1..%d: %w", c.PageSize, MaxPageSize, sdk.ErrConfig)
	}
	if c.RequestsPerMinute < 1 {
		return fmt.Errorf("capillary: config: requests_per_minute %d is not positive: %w", c.RequestsPerMinute, sdk.ErrConfig)
	}
	if c.SettleMinutes != nil && *c.SettleMinutes < 0 {
		return fmt.Errorf("capillary: config: settle_minutes %d is negative: %w", *c.SettleMinutes, sdk.ErrConfig)
	}
	loc, err := records.ParseZone(c.Timezone)
	if err != nil {
		return fmt.Errorf("capillary: config: timezone %w: %w", err, sdk.ErrConfig)
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
