package capillary

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/auth"
	"github.com/quiver-etl/quiver/sdk/rest"
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

// codeBadCredentials is token/generate's error code for an unknown key or a
// wrong secret.
const codeBadCredentials = 320001

// tokenAttempts: a token request is tried three times on 429, 5xx and
// network errors, as auth.DefaultTokenAttempts; a refusal is never retried.
const tokenAttempts = auth.DefaultTokenAttempts

// maxLogins caps the tokens of one run. Capillary has no refresh tokens
// and documents no lockout, and tokens may live only five minutes, so a
// long run needs many; the cap still stops a runaway loop of logins.
const maxLogins = 1000

// grant is Capillary's token endpoint as an auth.Grant: it posts
// {"key","secret"} as JSON and reads data.accessToken and data.ttlSeconds
// (or else the JWT's exp claim). A non-null errors list is a refusal
// whatever the HTTP status. There are no refresh tokens: each Fetch
// generates a new token.
type grant struct {
	client *rest.Client // the token endpoint's own: no token, no rate limit
	key    string
	secret auth.Secret
	now    func() time.Time
}

// Fetch implements auth.Grant. Errors wrap sdk.ErrAuth (the key or secret
// was refused), sdk.ErrTemporary (the endpoint stayed unavailable) or
// sdk.ErrConfig (base_url is not a Capillary cluster); none holds the
// secret.
func (g *grant) Fetch(ctx context.Context, _ *auth.Token) (*auth.Token, error) {
	body, err := json.Marshal(struct {
		Key    string `json:"key"`
		Secret string `json:"secret"`
	}{g.key, g.secret.Reveal()})
	if err != nil {
		return nil, fmt.Errorf("capillary: token request: %w", err)
	}
	var tok *auth.Token
	// Do's errors start "rest: capillary: token request: ".
	err = g.client.Do(ctx, rest.Request{Method: http.MethodPost, Path: tokenPath, Body: body, Label: "token request"},
		func(resp *rest.Response) error {
			var err error
			tok, err = g.parse(resp)
			return err
		})
	if err != nil {
		return nil, err
	}
	return tok, nil
}

// tokenResponse is token/generate's answer (docs/vendors/capillary.md#auth).
type tokenResponse struct {
	Data *struct {
		AccessToken string      `json:"accessToken"`
		TTLSeconds  json.Number `json:"ttlSeconds"` // a number or a numeric string
	} `json:"data"`
	Errors json.RawMessage `json:"errors"` // null, a list, or (XML-converted) one object
}

// apiError is one entry of an errors list.
type apiError struct {
	Code    json.Number `json:"code"`
	Message string      `json:"message"`
}

// parse reads a token response; it is Do's decoder, so it sees every
// response the token policy passes (all but 408, 429 and 5xx).
func (g *grant) parse(resp *rest.Response) (*auth.Token, error) {
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	var tr tokenResponse
	if err := json.Unmarshal(resp.Body, &tr); err != nil {
		var syntax *json.SyntaxError
		switch {
		case ok && errors.As(err, &syntax):
			return nil, fmt.Errorf("%w: %w", rest.ErrMalformed, err) // cut off: ask again
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return nil, fmt.Errorf("the token endpoint refused the key and secret (HTTP %d): %w", resp.StatusCode, sdk.ErrAuth)
		}
		return nil, fmt.Errorf("HTTP %d with no token response: is base_url a Capillary cluster host such as https://eu.api.capillarytech.com? %w", resp.StatusCode, sdk.ErrConfig)
	}
	if errs := apiErrors(tr.Errors); len(errs) > 0 {
		e := errs[0]
		msg := strings.Join(strings.Fields(auth.Scrub(e.Message, g.secret)), " ")
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		if code, _ := e.Code.Int64(); code == codeBadCredentials {
			return nil, fmt.Errorf("the key or secret was rejected (%d %s): %w", code, msg, sdk.ErrAuth)
		}
		return nil, fmt.Errorf("the token endpoint refused to issue a token (HTTP %d, code %s: %s): %w", resp.StatusCode, e.Code, msg, sdk.ErrAuth)
	}
	if tr.Data == nil || tr.Data.AccessToken == "" {
		return nil, fmt.Errorf("HTTP %d without data.accessToken: is base_url a Capillary cluster host? %w", resp.StatusCode, sdk.ErrConfig)
	}
	issued := g.now()
	tok := &auth.Token{Value: auth.Secret(tr.Data.AccessToken), Issued: issued}
	if ttl, err := tr.Data.TTLSeconds.Float64(); err == nil && ttl > 0 {
		tok.Expiry = issued.Add(time.Duration(ttl * float64(time.Second)))
	} else if exp, ok := jwtExpiry(tr.Data.AccessToken); ok {
		tok.Expiry = exp
	}
	return tok, nil
}

// apiErrors decodes an errors value: null or [] is none, a list its
// entries, a bare object one entry. Anything else is one unnamed error.
func apiErrors(raw json.RawMessage) []apiError {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" || s == "[]" {
		return nil
	}
	var list []apiError
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one apiError
	if json.Unmarshal(raw, &one) == nil {
		return []apiError{one}
	}
	return []apiError{{Code: "0", Message: "unreadable errors value"}}
}

// jwtExpiry reads the exp claim of a JWT, without verifying it: it only
// tells when to ask for a new token.
func jwtExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return time.Time{}, false
	}
	exp, err := claims.Exp.Float64()
	if err != nil || exp <= 0 {
		return time.Time{}, false
	}
	return time.Unix(int64(exp), 0), true
}

// tokenPolicy retries the token request on 408, 429, 5xx and network
// errors, and lets the grant judge every other answer, since a refusal can
// come with any HTTP status.
func tokenPolicy(p rest.Policy) rest.Policy {
	p.MaxAttempts = tokenAttempts
	p.Classify = func(resp *rest.Response) rest.Verdict {
		if code := resp.StatusCode; code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 {
			return rest.Default
		}
		return rest.OK
	}
	return p
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

var _ auth.Grant = (*grant)(nil)
