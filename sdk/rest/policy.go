package rest

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Policy defaults. Each is used when the Policy field is zero.
const (
	// DefaultMaxAttempts: eight tries (seven retries) ride out a restart or
	// a minute-long rate limit window without hiding a real outage.
	DefaultMaxAttempts = 8
	// DefaultInitialInterval: half a second is long enough for a busy
	// server to recover from a blip and short enough not to slow a sync.
	DefaultInitialInterval = 500 * time.Millisecond
	// DefaultMaxInterval caps one backoff step (before ±50% jitter), so late
	// retries still happen within a minute.
	DefaultMaxInterval = 30 * time.Second
	// DefaultMaxElapsed: after five minutes of failures for one page the
	// vendor is down; fail the stream and let the next run resume.
	DefaultMaxElapsed = 5 * time.Minute
	// DefaultLagGrace: TrackTik's read replicas may not know a new token
	// for up to about a minute
	// (docs/vendors/tracktik.md#replication-lag-401), so a 401 on a
	// younger token is retried with the same token, for the whole window,
	// instead of logging in again.
	DefaultLagGrace = 60 * time.Second
	// DefaultMaxRetryAfter: a vendor asking for more than two minutes is
	// better answered by failing the run as temporary (exit 75) than by
	// stalling it; a buggy "Retry-After: 86400" would stall a day.
	DefaultMaxRetryAfter = 120 * time.Second
	// DefaultRateLimitFloor is the least wait after a 429 without
	// Retry-After: rate limit windows are seconds to a minute long, so
	// retrying in half a second would only be refused again.
	DefaultRateLimitFloor = 5 * time.Second
	// DefaultMalformedRetries: a cut connection can deliver a short but
	// well-framed body; two more tries tell that from a broken endpoint.
	DefaultMalformedRetries = 2
	// DefaultAttemptTimeout bounds one attempt (connect, headers, body):
	// TrackTik cuts requests at 30 s, and a 64 MiB page over a slow link
	// takes about a minute.
	DefaultAttemptTimeout = 2 * time.Minute
	// DefaultMaxBodyBytes bounds a response body held in memory: pages are
	// a few MiB; more means a page size far too large.
	DefaultMaxBodyBytes = 64 << 20
)

// Policy decides how a Client retries. The zero value gives the defaults
// above; a negative LagRetries or MalformedRetries means none, a negative
// MaxElapsed no time limit.
type Policy struct {
	// MaxAttempts bounds the tries of one request, first try included,
	// not counting replication-lag retries, which LagGrace bounds.
	MaxAttempts int
	// InitialInterval, MaxInterval and MaxElapsed shape the exponential
	// backoff (multiplier 1.5, ±50% jitter) of one request.
	InitialInterval, MaxInterval, MaxElapsed time.Duration
	// LagGrace is how young a token must be for a 401 to be taken as
	// replication lag: retried with the same token, with backoff (from
	// InitialInterval, times 1.5 a step, at most MaxInterval), until the
	// token is LagGrace old; then the token is replaced once. If the fresh
	// token, too, is refused through its own grace, the request fails
	// with protocol.ErrTemporary: the login accepted the credentials, so
	// the vendor is behind, and a later run may succeed.
	LagGrace time.Duration
	// LagRetries, if positive, bounds those same-token retries per token;
	// zero means as many as fit in LagGrace.
	LagRetries int
	// MaxRetryAfter caps a vendor's Retry-After; asking for more fails the
	// request with an error wrapping protocol.ErrTemporary.
	MaxRetryAfter time.Duration
	// RateLimitFloor is the least wait after a 429 without Retry-After.
	RateLimitFloor time.Duration
	// MalformedRetries is how many times a page whose decode fails with
	// ErrMalformed is fetched again before the error is final.
	MalformedRetries int
	// AttemptTimeout bounds one attempt, body included.
	AttemptTimeout time.Duration
	// Classify, if set, sees every response before the built-in rules and
	// may override them; it returns Default to keep them. It is how a
	// connector handles vendor quirks such as a "token expired" code in a
	// 200 body. It must not keep resp.
	Classify func(resp *Response) Verdict
	// Timer replaces the backoff waits' timer, for tests. It is used by
	// every request of the Client in turn, so only set it in tests that do
	// not make requests concurrently.
	Timer backoff.Timer
	// Now is the clock for token ages and elapsed time; default time.Now.
	Now func() time.Time
	// WarnWait, if positive, logs at Warn every retry whose wait, and every
	// rate limiter wait, of at least this long, even a request's first: a
	// vendor's rate limit is slowing the sync, and the user should know
	// why. Zero keeps the rule of Debug for a first retry, Warn after.
	WarnWait time.Duration
}

// withDefaults returns p with zero fields set to their defaults.
func (p Policy) withDefaults() Policy {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&p.InitialInterval, DefaultInitialInterval)
	def(&p.MaxInterval, DefaultMaxInterval)
	def(&p.MaxElapsed, DefaultMaxElapsed)
	def(&p.LagGrace, DefaultLagGrace)
	def(&p.MaxRetryAfter, DefaultMaxRetryAfter)
	def(&p.RateLimitFloor, DefaultRateLimitFloor)
	def(&p.AttemptTimeout, DefaultAttemptTimeout)
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.MalformedRetries == 0 {
		p.MalformedRetries = DefaultMalformedRetries
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return p
}

// A Verdict is Policy.Classify's decision about a response.
type Verdict int

const (
	// Default applies the built-in rules: 2xx OK; 401 lag grace, then one
	// token refresh; 429 as RateLimited; 408 and 5xx (but 501) retried;
	// the rest permanent.
	Default Verdict = iota
	// OK hands the response to the decoder, whatever its status.
	OK
	// Retry retries with backoff, honouring Retry-After; a 429 retries as
	// RateLimited.
	Retry
	// RefreshToken invalidates the token and retries once at once with a
	// fresh one, without lag grace (Capillary's 498 "token expired"). A
	// second RefreshToken for the same request fails with protocol.ErrAuth.
	RefreshToken
	// Permanent fails the request with a *StatusError.
	Permanent
	// AuthFailed fails the request with a *StatusError wrapping
	// protocol.ErrAuth (TrackVia's expired long-lived token).
	AuthFailed
	// RateLimited retries as a 429 is: the vendor refused the request for
	// its rate limit (Capillary's code 429 in a 200 body). The retry
	// honours Retry-After, or waits at least RateLimitFloor; the client
	// pauses every request for as long, and lowers its adaptive rate when
	// such refusals are frequent.
	RateLimited
)

// String returns the verdict's name.
func (v Verdict) String() string {
	switch v {
	case Default:
		return "Default"
	case OK:
		return "OK"
	case Retry:
		return "Retry"
	case RefreshToken:
		return "RefreshToken"
	case Permanent:
		return "Permanent"
	case AuthFailed:
		return "AuthFailed"
	case RateLimited:
		return "RateLimited"
	}
	return "Verdict(" + strconv.Itoa(int(v)) + ")"
}

// Retry reasons, as passed to Options.OnRetry and logged.
const (
	ReasonNetwork    = "network"     // connection error, timeout, 408
	ReasonServer     = "5xx"         // 5xx other than 501
	ReasonRateLimit  = "429"         // 429 Too Many Requests
	ReasonLag401     = "lag_401"     // 401 on a young token, retried with the same token
	ReasonRefresh401 = "refresh_401" // 401, retried once with a fresh token
	ReasonRefresh    = "refresh"     // Verdict RefreshToken, retried once with a fresh token
	ReasonTruncated  = "truncated"   // body cut short
	ReasonMalformed  = "malformed"   // decoder reported ErrMalformed
	ReasonVendor     = "vendor"      // Verdict Retry
)

// maxRetryAfter saturates absurd Retry-After values; it is far above any
// sane cap and far below time.Duration's range.
const maxRetryAfter = 1 << 31 * time.Second

// parseRetryAfter parses a Retry-After value (RFC 9110 §10.2.3): delay
// seconds or an HTTP-date (all three formats of http.ParseTime), relative to
// now. A date in the past is 0. ok is false for an empty or invalid value.
// The result is never negative and at most maxRetryAfter.
func parseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		if errors.Is(err, strconv.ErrRange) || err == nil && secs >= uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		if err != nil {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxRetryAfter), true
}

// requestWait turns what the vendor asked for into the wait to request:
// asked itself when within limit; otherwise over is true and the request
// should fail instead. The wait is never negative and never above limit.
func requestWait(asked, limit time.Duration) (wait time.Duration, over bool) {
	if asked > limit {
		return limit, true
	}
	return max(asked, 0), false
}

// clockFunc adapts Policy.Now to backoff.Clock.
type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }

// lagMultiplier grows the same-token waits of a replication-lag 401, as
// the exponential backoff does: from half a second, ten tries reach about
// 30 s, so a lag of a few seconds costs little more than itself.
const lagMultiplier = 1.5

// lagWait is the wait before same-token retry n (from 0) of a token that
// is still young for remaining more: growing from initial by lagMultiplier,
// at most maxWait, and never past the end of the grace window.
func lagWait(n int, initial, maxWait, remaining time.Duration) time.Duration {
	d := float64(initial)
	for range n {
		d *= lagMultiplier
		if d >= float64(maxWait) {
			break
		}
	}
	return max(min(time.Duration(d), maxWait, remaining), 0)
}

// policyBackOff is the exponential backoff of one request, adjusted by what
// the last attempt asked for: a Retry-After wait, a floor (429), an
// immediate retry (after a token refresh), or the exact wait of a
// replication-lag retry. It counts retries against MaxAttempts, except
// lag retries, which the grace window bounds. It keeps Stop as Stop.
type policyBackOff struct {
	exp        *backoff.ExponentialBackOff
	last       **failure // the failure of the attempt just made
	retries    int       // retries so far, lag retries excluded
	maxRetries int
}

func newPolicyBackOff(p Policy, last **failure) *policyBackOff {
	exp := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.InitialInterval),
		backoff.WithMaxInterval(p.MaxInterval),
		backoff.WithMaxElapsedTime(max(p.MaxElapsed, 0)),
		backoff.WithClockProvider(clockFunc(p.Now)),
	)
	return &policyBackOff{exp: exp, last: last, maxRetries: p.MaxAttempts - 1}
}

func (b *policyBackOff) NextBackOff() time.Duration {
	f := *b.last
	if f != nil && f.lag {
		// The lag schedule is its own: it neither advances the
		// exponential backoff nor spends an attempt, but MaxElapsed
		// still bounds the request as a whole.
		if limit := b.exp.MaxElapsedTime; limit > 0 && b.exp.GetElapsedTime()+f.wait > limit {
			return backoff.Stop
		}
		return f.wait
	}
	if b.retries++; b.retries > b.maxRetries {
		return backoff.Stop
	}
	d := b.exp.NextBackOff()
	if d == backoff.Stop || f == nil {
		return d
	}
	if f.now {
		return 0
	}
	return max(d, f.wait, f.floor)
}

func (b *policyBackOff) Reset() {
	b.exp.Reset()
	b.retries = 0
}
