package auth

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/oauth2"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

// OAuth2Grant adapts a golang.org/x/oauth2 token source to a Grant, for
// grants x/oauth2 implements and this package does not (JWT bearer, token
// exchange, a vendor's own oauth2.TokenSource). Set the AuthStyle of any
// oauth2.Config explicitly: AuthStyleAutoDetect re-sends rejected
// credentials. Errors are classified and scrubbed as for PasswordGrant
// (x/oauth2's own error text can hold a whole response body), and
// temporary failures retried the same way.
type OAuth2Grant struct {
	// Source returns a token source for one token request made with ctx,
	// e.g. func(ctx context.Context) oauth2.TokenSource { return cfg.TokenSource(ctx) }
	// for a clientcredentials.Config. It is called for every Fetch, so a
	// caching source (as clientcredentials returns) starts empty each time.
	// refresh is the previous token, or nil.
	Source func(ctx context.Context, refresh *Token) oauth2.TokenSource
	// Secrets are scrubbed from error text, e.g. the client secret.
	Secrets []Secret
	// Attempts, RetryWait and Logger are as for PasswordGrant.
	Attempts  int
	RetryWait time.Duration
	Logger    *slog.Logger
}

// Fetch implements Grant.
func (g *OAuth2Grant) Fetch(ctx context.Context, refresh *Token) (*Token, error) {
	e := newEndpoint("", "", "", InParams, Form, nil, false, g.Attempts, g.RetryWait, g.Logger)
	e.secrets = append(slices.Clone(g.Secrets), refreshSecret(refresh))
	return retry(ctx, "oauth2", e.attempts, e.wait, nil, e.log, func() (*Token, error) {
		t, err := g.Source(ctx, refresh).Token()
		if err != nil {
			return nil, e.oauth2Error(ctx, err)
		}
		if t == nil || t.AccessToken == "" {
			return nil, &TokenError{Grant: "oauth2", class: protocol.ErrConfig, Description: "the token source returned no access token"}
		}
		return &Token{Value: Secret(t.AccessToken), Type: t.TokenType, Issued: time.Now(), Expiry: t.Expiry, Refresh: Secret(t.RefreshToken)}, nil
	})
}

func refreshSecret(t *Token) Secret {
	if t == nil {
		return ""
	}
	return t.Refresh
}

// oauth2Error turns an x/oauth2 error into a TokenError without quoting its
// text, which may hold the response body.
func (e *endpoint) oauth2Error(ctx context.Context, err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return requestError(ctx, "oauth2", err)
	}
	te := &TokenError{Grant: "oauth2", Code: snippet(Scrub(re.ErrorCode, e.secrets...), 64), Description: snippet(Scrub(re.ErrorDescription, e.secrets...), descriptionLen)}
	if re.Response != nil {
		te.StatusCode = re.Response.StatusCode
	}
	te.class = tokenErrorClass(te.StatusCode, re.ErrorCode)
	return te
}

// TokenSource returns c as an oauth2.TokenSource, for libraries that take
// one (oauth2.Transport, say). ctx governs the token requests it makes; it
// is kept, as x/oauth2's own sources keep theirs, because
// oauth2.TokenSource.Token takes no context.
func (c *Cache) TokenSource(ctx context.Context) oauth2.TokenSource {
	return cacheSource{ctx: ctx, c: c}
}

type cacheSource struct {
	ctx context.Context // see Cache.TokenSource
	c   *Cache
}

func (s cacheSource) Token() (*oauth2.Token, error) {
	t, err := s.c.Token(s.ctx)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: t.Value.Reveal(), TokenType: t.Type, RefreshToken: "", Expiry: t.ExpiresAt()}, nil
}

var _ Grant = (*OAuth2Grant)(nil)
