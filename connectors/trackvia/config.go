package trackvia

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/auth"
)

// Config defaults and limits (docs/vendors/trackvia.md#auth,
// docs/vendors/trackvia.md#paging).
const (
	// DefaultBaseURL is TrackVia's public cloud; government, HIPAA and
	// private instances have hosts of their own.
	DefaultBaseURL = "https://go.trackvia.com"
	// DefaultPageSize is the vendor's default page size for view records.
	DefaultPageSize = 1000
	// MaxPageSize is the vendor's absolute maximum; more is an error.
	MaxPageSize = 100000
	// ExpiryWarning is how long before token_expires the connector starts
	// warning: two weeks give a Super Admin time to issue a new token.
	ExpiryWarning = 14 * 24 * time.Hour
)

// Config is the connector's configuration. Its JSON Schema is
// config.schema.json.
type Config struct {
	BaseURL     string      `json:"base_url"`     // default https://go.trackvia.com
	UserKey     auth.Secret `json:"user_key"`     // the account's API key, sent as ?user_key=
	AccessToken auth.Secret `json:"access_token"` // a long-lived auth token, sent as Authorization: Bearer
	// Views selects the views to read, by id or exact name; empty means
	// every view the token can read.
	Views []ViewRef `json:"views"`
	// PageSize is the records per request, 1..100000; default 1000.
	PageSize int `json:"page_size"`
	// TokenExpires is the auth token's expiration date (YYYY-MM-DD), to
	// warn before the token stops working; optional.
	TokenExpires string `json:"token_expires"`

	expires time.Time // TokenExpires, parsed; zero when not set
}

// A ViewRef names a view in Config.Views: its id (a JSON number or a string
// of digits) or its exact name.
type ViewRef string

// UnmarshalJSON accepts a string or an integer.
func (v *ViewRef) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*v = ViewRef(s)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("a view is an id or a name, not %s", b)
	}
	*v = ViewRef(strconv.FormatInt(n, 10))
	return nil
}

// id returns the view id v names, if it is all digits.
func (v ViewRef) id() (int64, bool) {
	n, err := strconv.ParseInt(string(v), 10, 64)
	return n, err == nil && n > 0
}

// Validate checks what config.schema.json cannot, without contacting
// TrackVia, and trims base_url (stream.Validator).
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf(format+": %w", append(args, sdk.ErrConfig)...)
	}
	c.BaseURL = cleanBaseURL(c.BaseURL)
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return bad("base_url %q is not a URL like %s", auth.StripQuery(c.BaseURL), DefaultBaseURL)
	}
	if c.PageSize < 1 || c.PageSize > MaxPageSize {
		return bad("page_size %d is outside 1..%d", c.PageSize, MaxPageSize)
	}
	for i, v := range c.Views {
		if strings.TrimSpace(string(v)) == "" {
			return bad("views[%d] is empty; give a view id or its exact name", i)
		}
	}
	if c.TokenExpires != "" {
		t, err := time.Parse(time.DateOnly, c.TokenExpires)
		if err != nil {
			return bad("token_expires %q is not a date like 2030-01-31", c.TokenExpires)
		}
		c.expires = t
	}
	return nil
}

// expiryWarning returns a warning when the auth token expires within
// ExpiryWarning of now or has expired, or "". TrackVia tokens stop working
// at midnight UTC on their expiration date; the start of that day is taken,
// the earlier reading.
func (c *Config) expiryWarning(now time.Time) string {
	if c.expires.IsZero() {
		return ""
	}
	left := c.expires.Sub(now)
	switch {
	case left <= 0:
		return fmt.Sprintf("the auth token expired at midnight UTC on %s (token_expires); requests will fail until a Super Admin issues a new token and access_token is set to it", c.TokenExpires)
	case left <= ExpiryWarning:
		return fmt.Sprintf("the auth token expires in %s, at midnight UTC on %s (token_expires); ask a Super Admin to issue a new one before then", roundDays(left), c.TokenExpires)
	}
	return ""
}

// roundDays writes d as days, or hours when under two days.
func roundDays(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// cleanBaseURL trims what users paste after the host: a trailing slash and
// the /openapi prefix.
func cleanBaseURL(u string) string {
	u = strings.TrimRight(u, "/")
	u = strings.TrimSuffix(u, "/openapi")
	return strings.TrimRight(u, "/")
}

// key identifies the config, for conn's memory of discovered schemas: a
// hash of what selects the account and its views.
func (c *Config) key() string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%q %q %q %q", c.BaseURL, c.UserKey.Reveal(), c.AccessToken.Reveal(), c.Views))
	return hex.EncodeToString(sum[:])
}
