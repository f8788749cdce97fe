package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

// AuthStyle says how a client authenticates to a token endpoint. There is
// no auto-detection: x/oauth2's AuthStyleAutoDetect re-sends a rejected
// password in the other style, doubling failed logins towards a lockout.
type AuthStyle int

const (
	// InParams sends client_id and client_secret in the request body.
	InParams AuthStyle = iota + 1
	// InHeader sends them as HTTP Basic authentication (RFC 6749 §2.3.1).
	InHeader
)

// BodyStyle is the encoding of a token request body.
type BodyStyle int

const (
	// Form is application/x-www-form-urlencoded, the RFC 6749 encoding.
	Form BodyStyle = iota
	// JSON is application/json, which some vendors require.
	JSON
)

// Token request defaults.
const (
	// DefaultTokenTimeout bounds one token request: token endpoints answer
	// in well under a second, so 30 s means the endpoint is down.
	DefaultTokenTimeout = 30 * time.Second
	// DefaultTokenAttempts is how many times a token request is tried on
	// 429, 5xx and network errors: enough to ride out a blip, few enough
	// that an outage is reported within a minute.
	DefaultTokenAttempts = 3
	// DefaultTokenRetryWait is the first wait between token request
	// attempts; it grows exponentially with jitter.
	DefaultTokenRetryWait = time.Second
	// maxTokenBody bounds a token response we read: real ones are < 10 KiB.
	maxTokenBody = 1 << 20
	// descriptionLen bounds an error_description quoted in an error.
	descriptionLen = 200
)

// PasswordGrant is the OAuth2 resource owner password grant (RFC 6749 §4.3)
// with refresh (§6). With a previous token that has a refresh token, Fetch
// first sends grant_type=refresh_token; if the endpoint rejects it, Fetch
// falls back to one password grant. Refresh tokens are treated as single-use
// and rotating: the new token's refresh token replaces the old one, and a
// response without one means the next Fetch logs in with the password.
//
// A rejected password costs exactly one request: rejections are never
// retried. 429, 5xx and network errors are retried a few times with
// exponential backoff.
type PasswordGrant struct {
	TokenURL     string
	ClientID     string
	ClientSecret Secret
	Username     string
	Password     Secret
	Scope        string    // sent only when not empty
	Style        AuthStyle // required: InParams or InHeader
	Body         BodyStyle // Form (default) or JSON
	// HTTPClient sends token requests; it must have timeouts. Default: a
	// client with a DefaultTokenTimeout timeout over http.DefaultTransport.
	// Redirects to another host are refused either way, so credentials are
	// never re-sent elsewhere.
	HTTPClient *http.Client
	// AllowHTTP permits a plain http:// TokenURL on a host other than
	// loopback. Leave it off: the request carries the password.
	AllowHTTP bool
	// Attempts bounds tries per token request on temporary failures;
	// default DefaultTokenAttempts.
	Attempts int
	// RetryWait is the first wait between tries; default
	// DefaultTokenRetryWait.
	RetryWait time.Duration
	// Logger receives a Debug line per retry or refresh fallback; default:
	// discard.
	Logger *slog.Logger
}

// Fetch implements Grant.
func (g *PasswordGrant) Fetch(ctx context.Context, refresh *Token) (*Token, error) {
	e := newEndpoint(g.TokenURL, g.ClientID, g.ClientSecret, g.Style, g.Body, g.HTTPClient, g.AllowHTTP, g.Attempts, g.RetryWait, g.Logger)
	e.secrets = append(e.secrets, g.Password)
	if refresh != nil && refresh.Refresh != "" {
		e.secrets = append(e.secrets, refresh.Refresh)
		tok, err := e.request(ctx, "refresh_token", map[string]string{"refresh_token": refresh.Refresh.Reveal()})
		if err == nil || !errors.Is(err, protocol.ErrAuth) {
			return tok, err
		}
		e.log.DebugContext(ctx, "auth: refresh token rejected; logging in with the password", "error", err)
	}
	params := map[string]string{"username": g.Username, "password": g.Password.Reveal()}
	if g.Scope != "" {
		params["scope"] = g.Scope
	}
	return e.request(ctx, "password", params)
}

// ClientCredentials is the OAuth2 client credentials grant (RFC 6749 §4.4).
// It has no refresh tokens: each Fetch requests a new token. Errors and
// retries are as for PasswordGrant.
type ClientCredentials struct {
	TokenURL     string
	ClientID     string
	ClientSecret Secret
	Scope        string       // sent only when not empty
	Style        AuthStyle    // required: InParams or InHeader
	Body         BodyStyle    // Form (default) or JSON
	HTTPClient   *http.Client // as for PasswordGrant
	AllowHTTP    bool         // as for PasswordGrant
	Attempts     int          // as for PasswordGrant
	RetryWait    time.Duration
	Logger       *slog.Logger
}

// Fetch implements Grant. It ignores refresh.
func (g *ClientCredentials) Fetch(ctx context.Context, _ *Token) (*Token, error) {
	e := newEndpoint(g.TokenURL, g.ClientID, g.ClientSecret, g.Style, g.Body, g.HTTPClient, g.AllowHTTP, g.Attempts, g.RetryWait, g.Logger)
	params := map[string]string{}
	if g.Scope != "" {
		params["scope"] = g.Scope
	}
	return e.request(ctx, "client_credentials", params)
}

// Interface guards.
var (
	_ Grant = (*PasswordGrant)(nil)
	_ Grant = (*ClientCredentials)(nil)
)

// A TokenError is a token endpoint's refusal or failure. It wraps
// protocol.ErrAuth (the credentials or grant were rejected),
// protocol.ErrTemporary (429, 5xx, network), or protocol.ErrConfig (the
// endpoint is not a token endpoint). Its text never holds a secret or a raw
// response body.
type TokenError struct {
	Grant       string // grant_type of the request: password, refresh_token, ...
	StatusCode  int    // HTTP status; 0 when no response arrived
	Code        string // RFC 6749 §5.2 error code, e.g. invalid_grant; may be empty
	Description string // error_description, scrubbed and cut to one short line
	class       error
	cause       error
}

// Error describes the failure, e.g. "token endpoint rejected the credentials
// (invalid_grant: The user credentials were incorrect.)".
func (e *TokenError) Error() string {
	detail := e.Code
	switch {
	case e.Code != "" && e.Description != "":
		detail += ": " + e.Description
	case e.Code == "" && e.StatusCode != 0:
		detail = fmt.Sprintf("HTTP %d", e.StatusCode)
		if e.Description != "" {
			detail += ": " + e.Description
		}
	case e.Code == "" && e.cause != nil:
		detail = e.cause.Error()
	}
	switch e.class {
	case protocol.ErrAuth:
		return "token endpoint rejected the credentials (" + detail + ")"
	case protocol.ErrTemporary:
		return "token endpoint unavailable (" + detail + ")"
	default:
		return "token endpoint answered unexpectedly (" + detail + "); check the token URL"
	}
}

// Unwrap returns the error class and the underlying network error, if any.
func (e *TokenError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.class, e.cause}
	}
	return []error{e.class}
}

// endpoint is what the grants share: one token endpoint and how to call it.
type endpoint struct {
	url          string
	clientID     string
	clientSecret Secret
	style        AuthStyle
	body         BodyStyle
	client       *http.Client
	allowHTTP    bool
	attempts     int
	wait         time.Duration
	log          *slog.Logger
	secrets      []Secret // scrubbed from anything we quote
}

// newEndpoint returns the endpoint a grant's settings describe, with
// defaults applied.
func newEndpoint(tokenURL, clientID string, clientSecret Secret, style AuthStyle, body BodyStyle, client *http.Client, allowHTTP bool, attempts int, wait time.Duration, log *slog.Logger) *endpoint {
	if attempts <= 0 {
		attempts = DefaultTokenAttempts
	}
	if wait <= 0 {
		wait = DefaultTokenRetryWait
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &endpoint{
		url: tokenURL, clientID: clientID, clientSecret: clientSecret, style: style, body: body,
		client: client, allowHTTP: allowHTTP, attempts: attempts, wait: wait, log: log,
		secrets: []Secret{clientSecret},
	}
}

// request makes one token request of grant type grant, retrying temporary
// failures, and returns the token or an error for the caller.
func (e *endpoint) request(ctx context.Context, grant string, params map[string]string) (*Token, error) {
	u, err := e.check()
	if err != nil {
		return nil, err
	}
	client := e.httpClient()
	return retry(ctx, grant, e.attempts, e.wait, nil, e.log, func() (*Token, error) {
		return e.once(ctx, client, u, grant, params)
	})
}

// retry runs one token request, op, retrying errors that wrap
// protocol.ErrTemporary with exponential backoff, attempts times at most.
// timer times the waits; nil is a real one.
func retry(ctx context.Context, grant string, attempts int, wait time.Duration, timer backoff.Timer, log *slog.Logger, op func() (*Token, error)) (*Token, error) {
	b := backoff.NewExponentialBackOff(backoff.WithInitialInterval(wait), backoff.WithMaxElapsedTime(0))
	// WithContext must be outermost: Retry finds the ctx for its waits there.
	policy := backoff.WithContext(backoff.WithMaxRetries(b, uint64(attempts-1)), ctx)
	tries := 0
	tok, err := backoff.RetryNotifyWithTimerAndData(func() (*Token, error) {
		tries++
		tok, err := op()
		if err != nil && !errors.Is(err, protocol.ErrTemporary) {
			return nil, backoff.Permanent(err)
		}
		return tok, err
	}, policy, func(err error, d time.Duration) {
		log.DebugContext(ctx, "auth: retrying token request", "grant", grant, "attempt", tries, "wait", d.String(), "error", err)
	}, timer)
	switch {
	case err == nil:
		return tok, nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("auth: %s token request: %w", grant, ctx.Err())
	case errors.Is(err, protocol.ErrTemporary):
		return nil, fmt.Errorf("auth: %s token request failed %d times: %w", grant, tries, err)
	default:
		return nil, fmt.Errorf("auth: %w", err)
	}
}

// check validates the endpoint's settings.
func (e *endpoint) check() (*url.URL, error) {
	if e.style != InParams && e.style != InHeader {
		return nil, fmt.Errorf("auth: token request: Style must be InParams or InHeader (never guessed): %w", protocol.ErrConfig)
	}
	return checkTokenURL(e.url, e.allowHTTP)
}

// checkTokenURL parses a token URL: absolute http(s), and plain http only
// to loopback unless allowHTTP.
func checkTokenURL(raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("auth: token URL %q is not an absolute http(s) URL: %w", StripQuery(raw), protocol.ErrConfig)
	}
	if u.Scheme == "http" && !allowHTTP && !IsLoopback(u.Hostname()) {
		return nil, fmt.Errorf("auth: token URL %q uses plain http to a non-loopback host; credentials would travel in clear text: %w", StripQuery(raw), protocol.ErrConfig)
	}
	return u, nil
}

// httpClient returns the client for token requests: the configured one (or
// a default with a timeout) that refuses redirects to another host.
func (e *endpoint) httpClient() *http.Client {
	return tokenHTTPClient(e.client)
}

// tokenHTTPClient returns a copy of client (or a default with a timeout)
// that refuses redirects to another host.
func tokenHTTPClient(client *http.Client) *http.Client {
	var c http.Client
	if client != nil {
		c = *client
	} else {
		c.Timeout = DefaultTokenTimeout
	}
	if c.CheckRedirect == nil {
		c.CheckRedirect = SameHostRedirects
	}
	return &c
}

// once makes one token request.
func (e *endpoint) once(ctx context.Context, client *http.Client, u *url.URL, grant string, params map[string]string) (*Token, error) {
	fields := map[string]string{"grant_type": grant}
	for k, v := range params {
		fields[k] = v
	}
	if e.style == InParams {
		fields["client_id"] = e.clientID
		if e.clientSecret != "" {
			fields["client_secret"] = e.clientSecret.Reveal()
		}
	}
	body, ctype := encodeBody(e.body, fields)
	resp, err := post(ctx, client, u, grant, body, ctype, func(req *http.Request) {
		if e.style == InHeader {
			// RFC 6749 §2.3.1: form-encode before Basic, as x/oauth2 does.
			req.SetBasicAuth(url.QueryEscape(e.clientID), url.QueryEscape(e.clientSecret.Reveal()))
		}
	})
	if err != nil {
		return nil, err
	}
	issued := time.Now()
	raw := resp.body
	tr := parseTokenResponse(resp.contentType, raw)
	ok := resp.statusCode >= 200 && resp.statusCode < 300
	if ok && tr.Error == "" {
		if tr.AccessToken == "" {
			return nil, &TokenError{Grant: grant, StatusCode: resp.statusCode, class: protocol.ErrConfig, Description: "the response has no access_token"}
		}
		t := &Token{Value: Secret(tr.AccessToken), Type: tr.TokenType, Issued: issued, Refresh: Secret(tr.RefreshToken)}
		if tr.ExpiresIn > 0 {
			t.Expiry = issued.Add(time.Duration(tr.ExpiresIn) * time.Second)
		}
		return t, nil
	}
	te := &TokenError{Grant: grant, StatusCode: resp.statusCode, Code: snippet(Scrub(tr.Error, e.secrets...), 64)}
	desc := tr.Description
	if desc == "" && te.Code == "" {
		desc = string(raw) // no RFC 6749 fields: quote (a scrubbed start of) the body
	}
	te.Description = snippet(Scrub(desc, e.secrets...), descriptionLen)
	te.class = tokenErrorClass(resp.statusCode, tr.Error)
	return nil, te
}

// encodeBody encodes the fields of a token request as style says, and
// returns the body and its content type.
func encodeBody(style BodyStyle, fields map[string]string) ([]byte, string) {
	if style == JSON {
		body, _ := json.Marshal(fields) // a map of strings always marshals
		return body, "application/json"
	}
	form := url.Values{}
	for k, v := range fields {
		form.Set(k, v)
	}
	return []byte(form.Encode()), "application/x-www-form-urlencoded"
}

// tokenReply is a token endpoint's answer, read in full.
type tokenReply struct {
	statusCode  int
	contentType string
	body        []byte // at most maxTokenBody bytes
}

// post sends one token request of grant type grant (for errors) and reads
// the answer. auth, if set, adds credentials to the request's headers.
// Errors are TokenErrors, or ctx's error.
func post(ctx context.Context, client *http.Client, u *url.URL, grant string, body []byte, ctype string, auth func(*http.Request)) (*tokenReply, error) {
	reqCtx := ctx
	if client.Timeout == 0 {
		// A client without a timeout would wait for a dead endpoint forever.
		var cancel context.CancelFunc
		reqCtx, cancel = context.WithTimeout(ctx, DefaultTokenTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, &TokenError{Grant: grant, class: protocol.ErrConfig, cause: err}
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	if auth != nil {
		auth(req)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, requestError(ctx, grant, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return nil, &TokenError{Grant: grant, StatusCode: resp.StatusCode, class: protocol.ErrTemporary, cause: fmt.Errorf("reading the response: %w", err)}
	}
	return &tokenReply{statusCode: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: raw}, nil
}

// requestError classifies an error from http.Client.Do.
func requestError(ctx context.Context, grant string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &TokenError{Grant: grant, class: networkClass(err), cause: SanitizeURLError(err)}
}

// tokenErrorClass maps a token endpoint's failure to an error class.
func tokenErrorClass(status int, code string) error {
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500,
		code == "temporarily_unavailable", code == "server_error", code == "slow_down":
		return protocol.ErrTemporary
	case code != "", status == http.StatusBadRequest, status == http.StatusUnauthorized, status == http.StatusForbidden:
		// RFC 6749 §5.2: invalid_request, invalid_client, invalid_grant,
		// unauthorized_client, unsupported_grant_type, invalid_scope. Never
		// retried: each retry of a bad password counts towards a lockout.
		return protocol.ErrAuth
	default:
		return protocol.ErrConfig
	}
}

// tokenResponse holds the fields of RFC 6749 §5.1 and §5.2.
type tokenResponse struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"`
	RefreshToken string    `json:"refresh_token"`
	ExpiresIn    expiresIn `json:"expires_in"`
	Error        string    `json:"error"`
	Description  string    `json:"error_description"`
}

// parseTokenResponse reads a JSON or form-encoded token response. Fields
// that do not parse are left empty.
func parseTokenResponse(contentType string, raw []byte) tokenResponse {
	var tr tokenResponse
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" || mt == "text/plain" {
		if v, err := url.ParseQuery(string(raw)); err == nil {
			tr.AccessToken, tr.TokenType, tr.RefreshToken = v.Get("access_token"), v.Get("token_type"), v.Get("refresh_token")
			tr.Error, tr.Description = v.Get("error"), v.Get("error_description")
			tr.ExpiresIn.parse(v.Get("expires_in"))
			return tr
		}
	}
	if json.Unmarshal(raw, &tr) != nil {
		// Maybe a field has an unexpected type; keep what we can get.
		var loose map[string]any
		if json.Unmarshal(raw, &loose) == nil {
			str := func(k string) string { s, _ := loose[k].(string); return s }
			tr = tokenResponse{AccessToken: str("access_token"), TokenType: str("token_type"), RefreshToken: str("refresh_token"), Error: str("error"), Description: str("error_description")}
		}
	}
	return tr
}

// expiresIn is a lifetime in seconds sent as a number or a string (PayPal
// and others quote it). Invalid or negative values mean unknown (0).
type expiresIn int64

func (e *expiresIn) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	e.parse(s)
	return nil
}

func (e *expiresIn) parse(s string) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f <= 0 || math.IsNaN(f) {
		*e = 0
		return
	}
	*e = expiresIn(min(f, math.MaxInt32)) // as x/oauth2: cap absurd lifetimes
}
