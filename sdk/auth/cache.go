package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

// Cache defaults.
const (
	// DefaultEarlyRefresh: a minute before expiry leaves room for clock skew
	// and for a long page request that starts just before the token expires.
	DefaultEarlyRefresh = 60 * time.Second
	// DefaultMaxLogins: a healthy run needs a handful of logins (one per
	// token lifetime plus a rejected token or two); ten failures are far
	// below lockout thresholds such as TrackTik's 40 per 2 minutes per IP.
	DefaultMaxLogins = 10
)

// CacheOptions configures a Cache. The zero value gives the defaults.
type CacheOptions struct {
	// EarlyRefresh is how long before expiry a token is replaced; default
	// DefaultEarlyRefresh. It is shortened to half the token's lifetime for
	// short-lived tokens, so a 60 s token is not refreshed on every call.
	EarlyRefresh time.Duration
	// MaxLogins caps the token requests (Grant.Fetch calls) of the Cache's
	// life, normally one run; default DefaultMaxLogins. Beyond it Token
	// fails with an error wrapping protocol.ErrAuth: a loop of logins is how
	// accounts and IP addresses get locked.
	MaxLogins int
	// Now is the clock; default time.Now. Tests set it.
	Now func() time.Time
	// Logger receives a Debug line per token request; default: discard.
	Logger *slog.Logger
}

// A Cache is a Source that holds the token from a Grant and requests a new
// one when it nears expiry or is invalidated. Concurrent callers share one
// request (single-flight). A refresh token is passed to the Grant once and
// then dropped, as single-use rotating refresh tokens require. Once the
// Grant fails with protocol.ErrAuth or protocol.ErrConfig, the Cache returns
// that error from then on without asking again: retrying a wrong password
// only locks the account, and a wrong token URL stays wrong.
//
// A Cache is safe for concurrent use. Create it with NewCache.
type Cache struct {
	grant Grant
	early time.Duration
	max   int
	now   func() time.Time
	log   *slog.Logger

	mu     sync.Mutex
	tok    *Token  // current token; nil when none or invalidated
	last   *Token  // newest token received, kept for its refresh value until the next Fetch
	flight *flight // the token request in progress, if any
	logins int
	fatal  error // a protocol.ErrAuth or ErrConfig failure; sticky
}

// A flight is one Grant.Fetch shared by the callers that wait for it.
type flight struct {
	done chan struct{} // closed when tok and err are set
	tok  *Token
	err  error
}

// NewCache returns a Cache over g.
func NewCache(g Grant, opts CacheOptions) *Cache {
	c := &Cache{grant: g, early: opts.EarlyRefresh, max: opts.MaxLogins, now: opts.Now, log: opts.Logger}
	if c.early <= 0 {
		c.early = DefaultEarlyRefresh
	}
	if c.max <= 0 {
		c.max = DefaultMaxLogins
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Token returns the cached token, or requests a new one when there is none,
// it was invalidated, or it expires within the early-refresh window. Callers
// that arrive during a request wait for it (or for their ctx). Errors are
// those of the Grant, a cap error wrapping protocol.ErrAuth, or ctx.Err().
func (c *Cache) Token(ctx context.Context) (*Token, error) {
	for {
		c.mu.Lock()
		if c.fatal != nil {
			c.mu.Unlock()
			return nil, c.fatal
		}
		if c.tok != nil && !c.due(c.tok) {
			t := c.tok
			c.mu.Unlock()
			return t, nil
		}
		if f := c.flight; f != nil {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("auth: waiting for a token: %w", ctx.Err())
			}
			if f.err != nil && isContextErr(f.err) && ctx.Err() == nil {
				continue // the caller that made the request gave up; we have not
			}
			return f.tok, f.err
		}
		if c.logins >= c.max {
			c.mu.Unlock()
			return nil, fmt.Errorf("auth: %d token requests made, the cap for this run; not requesting another, to avoid locking the account: %w", c.logins, protocol.ErrAuth)
		}
		f := &flight{done: make(chan struct{})}
		c.flight = f
		prev := c.last
		c.last = nil // a refresh token is offered to the grant once, never again
		c.logins++
		n := c.logins
		c.mu.Unlock()
		c.fetch(ctx, f, prev, n)
		return f.tok, f.err
	}
}

// fetch runs the grant for flight f and publishes the result.
func (c *Cache) fetch(ctx context.Context, f *flight, prev *Token, n int) {
	defer func() {
		// Publish even if the grant panicked, so waiters are not stuck.
		c.mu.Lock()
		c.flight = nil
		if f.err == nil && f.tok == nil {
			f.err = errors.New("auth: token request did not finish")
		}
		if f.err == nil {
			c.tok, c.last = f.tok, f.tok
		} else if errors.Is(f.err, protocol.ErrAuth) || errors.Is(f.err, protocol.ErrConfig) {
			c.fatal = f.err // asking again would only fail again, or lock the account
		}
		c.mu.Unlock()
		close(f.done)
	}()
	kind := "login"
	if prev != nil && prev.Refresh != "" {
		kind = "refresh"
	}
	c.log.DebugContext(ctx, "auth: requesting a token", "kind", kind, "request", n)
	tok, err := c.grant.Fetch(ctx, prev)
	switch {
	case err != nil:
		f.err = err
	case tok == nil || tok.Value == "":
		f.err = fmt.Errorf("auth: token request returned no access token: %w", protocol.ErrAuth)
	default:
		if tok.Issued.IsZero() {
			t := *tok
			t.Issued = c.now()
			tok = &t
		}
		f.tok = tok
		c.log.DebugContext(ctx, "auth: token received", "token", tok)
	}
}

// due reports whether t should be replaced now. Called with c.mu held.
func (c *Cache) due(t *Token) bool {
	exp := t.ExpiresAt()
	early := min(c.early, exp.Sub(t.Issued)/2)
	return !c.now().Before(exp.Add(-early))
}

// Invalidate drops the cached token if it is still t; a later Token call
// requests a new one (using t's refresh token, if any). It is a no-op for
// any other token, so concurrent rejections of one token cost one request.
func (c *Cache) Invalidate(t *Token) {
	if t == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok == t {
		c.tok = nil
		c.log.Debug("auth: token invalidated", "token", t)
	}
}

// Logins returns the number of token requests (Grant.Fetch calls) made so
// far, for tests and metrics.
func (c *Cache) Logins() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logins
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
