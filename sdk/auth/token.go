package auth

import (
	"context"
	"log/slog"
	"time"
)

// DefaultLifetime is how long a token without an expiry is trusted. Vendors
// that omit expires_in still expire tokens; assuming "never" (as x/oauth2
// does) would leave a run failing with 401s until something invalidates the
// token, so we assume a short life and fetch a new one early.
const DefaultLifetime = 15 * time.Minute

// A Token is an access token and what came with it. Values returned by a
// Source are shared: treat them as read-only.
type Token struct {
	Value   Secret    // the access token
	Type    string    // token_type as the vendor sent it, e.g. "Bearer"; may be empty
	Issued  time.Time // when we received it (our clock); zero for static keys
	Expiry  time.Time // when it expires; zero means Issued+DefaultLifetime, never "never"
	Refresh Secret    // refresh token, if any; single-use: never send it twice
}

// ExpiresAt returns when t expires: Expiry, or Issued+DefaultLifetime when
// Expiry is zero.
func (t Token) ExpiresAt() time.Time {
	if !t.Expiry.IsZero() {
		return t.Expiry
	}
	return t.Issued.Add(DefaultLifetime)
}

// LogValue implements slog.LogValuer. It shows the token's type and times,
// never its values (slog's JSON handler would otherwise marshal the struct,
// secrets included).
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("type", t.Type),
		slog.Time("issued", t.Issued),
		slog.Time("expires", t.ExpiresAt()),
		slog.Bool("refreshable", t.Refresh != ""),
	)
}

// A Source supplies access tokens. Implementations are safe for concurrent
// use.
type Source interface {
	// Token returns a token that is valid now. ctx bounds any token request
	// made; a cancelled ctx returns ctx.Err() (wrapped). Other errors wrap
	// protocol.ErrAuth (the credentials were rejected: stop), or
	// protocol.ErrTemporary (the token endpoint is unavailable: try later).
	Token(ctx context.Context) (*Token, error)
	// Invalidate reports that the vendor rejected t. It is a
	// compare-and-clear: the cached token is dropped only if it is still t,
	// so many callers rejecting the same token cause one new token request.
	Invalidate(t *Token)
}

// A Grant makes one token request (with its own bounded retries for
// temporary failures). It does no caching: wrap it in a Cache. A vendor with
// a non-standard token endpoint implements Grant in its own package.
type Grant interface {
	// Fetch requests a new token. refresh is the previous token, whose
	// Refresh value Fetch may use (once: the Cache never passes the same
	// token twice); it is nil for the first login. ctx bounds the request
	// and its retries. Errors wrap protocol.ErrAuth when the credentials
	// were rejected (the Cache then stops asking), protocol.ErrTemporary
	// when the endpoint stayed unavailable, or protocol.ErrConfig when the
	// grant is misconfigured.
	Fetch(ctx context.Context, refresh *Token) (*Token, error)
}

// Static is a Source for a long-lived key or token that is configured, not
// requested (TrackVia's auth token, for example). Its tokens have zero
// Issued and Expiry times and are never refreshed; Invalidate does nothing.
type Static struct {
	Value Secret
}

// Token returns s.Value as a token. It never fails.
func (s Static) Token(context.Context) (*Token, error) {
	return &Token{Value: s.Value}, nil
}

// Invalidate does nothing: a static key cannot be renewed.
func (Static) Invalidate(*Token) {}

// Interface guards.
var (
	_ Source = Static{}
	_ Source = (*Cache)(nil)
)
