package tracktik

import (
	"fmt"
	"net/url"
	"time"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/auth"
)

// MaxPageSize is the largest limit the API accepts
// (docs/vendors/tracktik.md#paging).
const MaxPageSize = 1000

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
}

// ParseConfig validates a raw JSON config against config.schema.json,
// applies its defaults, decodes it and checks what the schema cannot. Errors wrap
// sdk.ErrConfig and never quote secret values.
func ParseConfig(raw []byte) (*Config, error) {
	var c Config
	if err := sdk.DecodeConfig(raw, &c, configSchema); err != nil {
		return nil, fmt.Errorf("tracktik: %w", err)
	}
	c.BaseURL = cleanBaseURL(c.BaseURL)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks what config.schema.json cannot, without contacting
// TrackTik; ParseConfig has checked the schema.
func (c *Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("tracktik: config: base_url %q is not a portal URL like https://acme.staffr.net: %w", auth.StripQuery(c.BaseURL), sdk.ErrConfig)
	}
	if _, err := time.Parse(time.DateOnly, c.StartDate); err != nil {
		return fmt.Errorf("tracktik: config: start_date %q is not a date like 2024-01-01: %w", c.StartDate, sdk.ErrConfig)
	}
	if c.PageSize < 1 || c.PageSize > MaxPageSize {
		return fmt.Errorf("tracktik: config: page_size %d is outside 1..%d: %w", c.PageSize, MaxPageSize, sdk.ErrConfig)
	}
	return nil
}
