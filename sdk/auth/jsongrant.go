package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

// jsonGrantName is the grant of a JSONGrant's TokenErrors and log lines.
const jsonGrantName = "json"

// JSONGrant is a token endpoint outside RFC 6749 that answers JSON: a
// vendor's login or token-generate call that takes credentials as fields of
// a JSON or form body (or in headers), returns the token at a path of its
// own, gives its lifetime as seconds, as a time, or only as the JWT's exp
// claim, and reports refusals in a body of its own shape, often with HTTP
// 200. A new vendor needs only configuration; Capillary's token/generate
// is
//
//	&auth.JSONGrant{
//		TokenURL:      baseURL + "/v3/oauth/token/generate",
//		Fields:        map[string]auth.Secret{"key": auth.Secret(cfg.Key), "secret": cfg.Secret},
//		Body:          auth.JSON,
//		TokenPath:     "data.accessToken",
//		ExpiresInPath: "data.ttlSeconds",
//		ErrorPath:     "errors",
//	}
//
// There are no refresh tokens: each Fetch logs in again. A refusal costs
// exactly one request; 408, 429, 5xx, network errors and a cut-off JSON
// body are retried as for PasswordGrant. Errors are TokenErrors (wrapped)
// and hold no value of Fields, Header or BasicPassword, nor any token.
type JSONGrant struct {
	// TokenURL is the endpoint, POSTed to.
	TokenURL string
	// Fields are the body's fields, e.g. {"key": ..., "secret": ...}. Every
	// value is a Secret and is scrubbed from errors.
	Fields map[string]Secret
	// Body is the body's encoding: Form (the default, as for the other
	// grants) or JSON.
	Body BodyStyle
	// Header holds request headers, e.g. {"X-Api-Key": key}; values are
	// scrubbed from errors.
	Header map[string]Secret
	// BasicUser, when not empty, is sent with BasicPassword as HTTP Basic
	// authentication, unescaped.
	BasicUser     string
	BasicPassword Secret

	// The paths below are keys into the JSON response, joined by dots:
	// "data.accessToken" is the accessToken field of the data object.

	// TokenPath is the access token (a string); default "access_token".
	TokenPath string
	// TypePath is the token type, e.g. "Bearer"; default "token_type".
	TypePath string
	// ExpiresInPath is the token's lifetime in seconds, a number or a
	// numeric string; default "expires_in".
	ExpiresInPath string
	// ExpiresAtPath is the token's expiry as Unix seconds (number or
	// numeric string) or an RFC 3339 time; default "expires_at". Without
	// either, a JWT access token's exp claim gives the expiry, and without
	// that the Cache assumes DefaultLifetime.
	ExpiresAtPath string
	// ErrorPath is the vendor's error value; default "error". Any value but
	// null, false, "", [] and {} is a refusal whatever the HTTP status. A
	// string or number is an error code; an object gives its code and
	// message from the first of the usual keys (code, error, errorCode,
	// error_code; message, error_description, description, detail, msg);
	// a list is its first entry.
	ErrorPath string
	// DescriptionPath is the message that goes with a string or number
	// error code; default "error_description".
	DescriptionPath string

	// HTTPClient, AllowHTTP, Attempts, RetryWait and Logger are as for
	// PasswordGrant.
	HTTPClient *http.Client
	AllowHTTP  bool
	Attempts   int
	RetryWait  time.Duration
	Logger     *slog.Logger
	// Now is the clock for Token.Issued and lifetimes; default time.Now.
	Now func() time.Time
	// Timer times the waits between attempts, for tests; default a real
	// one.
	Timer backoff.Timer
}

// Fetch implements Grant. It ignores refresh.
func (g *JSONGrant) Fetch(ctx context.Context, _ *Token) (*Token, error) {
	u, err := checkTokenURL(g.TokenURL, g.AllowHTTP)
	if err != nil {
		return nil, err
	}
	fields := make(map[string]string, len(g.Fields))
	for k, v := range g.Fields {
		fields[k] = v.Reveal()
	}
	body, ctype := encodeBody(g.Body, fields)
	client := tokenHTTPClient(g.HTTPClient)
	e := newEndpoint(g.TokenURL, "", "", InParams, g.Body, nil, g.AllowHTTP, g.Attempts, g.RetryWait, g.Logger)
	return retry(ctx, jsonGrantName, e.attempts, e.wait, g.Timer, e.log, func() (*Token, error) {
		reply, err := post(ctx, client, u, jsonGrantName, body, ctype, g.authorize)
		if err != nil {
			return nil, err
		}
		return g.ParseResponse(reply.statusCode, reply.body)
	})
}

// authorize puts the configured headers and Basic credentials on req.
func (g *JSONGrant) authorize(req *http.Request) {
	for k, v := range g.Header {
		req.Header.Set(k, v.Reveal())
	}
	if g.BasicUser != "" {
		req.SetBasicAuth(g.BasicUser, g.BasicPassword.Reveal())
	}
}

// ParseResponse reads one answer of the token endpoint: HTTP status and
// body. Fetch uses it; a connector that must send the token request itself
// can too. Errors are *TokenError, classed as for Fetch: a refusal wraps
// protocol.ErrAuth, an answer worth asking again (408, 429, 5xx, a
// cut-off JSON body) protocol.ErrTemporary, and an answer that is not a
// token endpoint's (404, HTML, no token) protocol.ErrConfig.
func (g *JSONGrant) ParseResponse(status int, body []byte) (*Token, error) {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	issued := now()
	ok := status >= 200 && status < 300
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		te := &TokenError{Grant: jsonGrantName, StatusCode: status, Description: snippet(Scrub(string(body), g.secrets()...), descriptionLen)}
		te.class = tokenErrorClass(status, "")
		switch {
		case ok && errors.Is(err, io.ErrUnexpectedEOF):
			te.class, te.Description = protocol.ErrTemporary, "the JSON body is cut off"
		case len(bytes.TrimSpace(body)) == 0:
			te.Description = "an empty body"
		}
		return nil, te
	}
	if code, msg, found := g.vendorError(doc); found {
		te := &TokenError{Grant: jsonGrantName, StatusCode: status, Code: snippet(Scrub(code, g.secrets()...), 64), Description: snippet(Scrub(msg, g.secrets()...), descriptionLen)}
		classStatus := status
		if ok {
			classStatus = http.StatusBadRequest // a refusal in a 200 is one
		}
		te.class = tokenErrorClass(classStatus, or(code, "error"))
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			te.class = protocol.ErrConfig // not the token endpoint, whatever it says
		}
		return nil, te
	}
	if !ok {
		te := &TokenError{Grant: jsonGrantName, StatusCode: status, Description: snippet(Scrub(string(body), g.secrets()...), descriptionLen)}
		te.class = tokenErrorClass(status, "")
		return nil, te
	}
	value, _ := lookup(doc, or(g.TokenPath, "access_token")).(string)
	if value == "" {
		return nil, &TokenError{Grant: jsonGrantName, StatusCode: status, class: protocol.ErrConfig, Description: "the response has no " + or(g.TokenPath, "access_token")}
	}
	tok := &Token{Value: Secret(value), Issued: issued}
	tok.Type, _ = lookup(doc, or(g.TypePath, "token_type")).(string)
	if secs, ok := seconds(lookup(doc, or(g.ExpiresInPath, "expires_in"))); ok {
		tok.Expiry = issued.Add(time.Duration(min(secs, math.MaxInt32) * float64(time.Second)))
	} else if at, ok := instant(lookup(doc, or(g.ExpiresAtPath, "expires_at"))); ok {
		tok.Expiry = at
	} else if exp, ok := JWTExpiry(value); ok {
		tok.Expiry = exp
	}
	return tok, nil
}

// secrets returns the values scrubbed from errors.
func (g *JSONGrant) secrets() []Secret {
	s := make([]Secret, 0, len(g.Fields)+len(g.Header)+1)
	for _, v := range g.Fields {
		s = append(s, v)
	}
	for _, v := range g.Header {
		s = append(s, v)
	}
	return append(s, g.BasicPassword)
}

// vendorError finds the error value at ErrorPath and returns its code and
// message; found is false when there is none.
func (g *JSONGrant) vendorError(doc any) (code, msg string, found bool) {
	v := lookup(doc, or(g.ErrorPath, "error"))
	if list, ok := v.([]any); ok {
		if len(list) == 0 {
			return "", "", false
		}
		v = list[0]
	}
	switch v := v.(type) {
	case nil:
		return "", "", false
	case bool:
		if !v {
			return "", "", false
		}
		code = "true"
	case string:
		if v == "" {
			return "", "", false
		}
		code = v
	case json.Number:
		code = v.String()
	case map[string]any:
		if len(v) == 0 {
			return "", "", false
		}
		code = first(v, "code", "error", "errorCode", "error_code")
		msg = first(v, "message", "error_description", "description", "detail", "msg")
		return code, msg, true
	default:
		code = "error"
	}
	msg, _ = lookup(doc, or(g.DescriptionPath, "error_description")).(string)
	return code, msg, true
}

// first returns the first of keys in m that holds a string or a number.
func first(m map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			if v != "" {
				return v
			}
		case json.Number:
			return v.String()
		}
	}
	return ""
}

// lookup returns the value at a dotted path in a decoded JSON document, or
// nil.
func lookup(doc any, path string) any {
	for _, key := range strings.Split(path, ".") {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[key]
	}
	return doc
}

// seconds reads a positive number of seconds sent as a number or a string.
func seconds(v any) (float64, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = v
	default:
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f <= 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// instant reads a time sent as Unix seconds (number or string) or as an
// RFC 3339 string.
func instant(v any) (time.Time, bool) {
	if s, ok := v.(string); ok {
		if t, err := time.Parse(time.RFC3339, strings.TrimSpace(s)); err == nil {
			return t, true
		}
	}
	secs, ok := seconds(v)
	if !ok || secs > math.MaxInt64/2 {
		return time.Time{}, false
	}
	return time.Unix(int64(secs), 0), true
}

// JWTExpiry reads the exp claim of a JWT without verifying the token: it
// only tells when to ask for a new one. ok is false for a token that is not
// a JWT or has no positive exp.
func JWTExpiry(token string) (exp time.Time, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims map[string]any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if dec.Decode(&claims) != nil {
		return time.Time{}, false
	}
	return instant(claims["exp"])
}

// or returns s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Interface guard.
var _ Grant = (*JSONGrant)(nil)
