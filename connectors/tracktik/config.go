package tracktik

import (
	"bytes"
	"encoding/json"
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

// ParseConfig decodes and validates a raw JSON config. Errors wrap
// sdk.ErrConfig and never quote secret values.
func ParseConfig(raw []byte) (*Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("tracktik: config: %v: %w", err, sdk.ErrConfig)
	}
	c.BaseURL = cleanBaseURL(c.BaseURL)
	if c.PageSize == 0 {
		c.PageSize = MaxPageSize
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks the config without contacting TrackTik.
func (c *Config) Validate() error {
	missing := func(key string) error {
		return fmt.Errorf("tracktik: config: %s is required: %w", key, sdk.ErrConfig)
	}
	switch {
	case c.BaseURL == "":
		return missing("base_url")
	case c.ClientID == "":
		return missing("client_id")
	case c.ClientSecret == "":
		return missing("client_secret")
	case c.Username == "":
		return missing("username")
	case c.Password == "":
		return missing("password")
	case c.StartDate == "":
		return missing("start_date")
	}
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
