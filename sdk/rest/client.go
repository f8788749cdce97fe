package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"golang.org/x/time/rate"

	"github.com/quiver-etl/quiver/sdk/auth"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// Options configures a Client.
type Options struct {
	// BaseURL is the API root, e.g. https://acme.staffr.net/rest/v1.
	// Request paths are joined to it. It must be https, or http to a
	// loopback host (or anywhere, with AllowHTTP).
	BaseURL string
	// Auth supplies tokens; nil sends none.
	Auth auth.Source
	// Apply puts token t on req; t is nil when Auth is nil. Default: an
	// "Authorization: Bearer <token>" header. Vendors with a custom header
	// or query parameter set their own.
	Apply func(req *http.Request, t *auth.Token)
	// Policy decides retries; the zero value gives the defaults.
	Policy Policy
	// Limiter, if set, is waited on before every attempt. Share one across
	// the streams of an account to keep under the vendor's rate limit.
	Limiter *rate.Limiter
	// HTTPClient sends requests. Default: a client of its own with dial,
	// TLS and idle timeouts; Policy.AttemptTimeout bounds each attempt
	// either way. A client that skips TLS verification is refused.
	// Redirects to another host are refused unless the client sets its own
	// CheckRedirect.
	HTTPClient *http.Client
	// Logger receives a line per retry (Debug for the first, Warn after)
	// and per request (Debug); default: discard. Lines never hold query
	// strings, headers or tokens.
	Logger *slog.Logger
	// UserAgent is sent with every request; default "quiver".
	UserAgent string
	// AllowHTTP permits a plain http BaseURL to a non-loopback host.
	AllowHTTP bool
	// Name is the vendor, e.g. "tracktik", used in errors and logs.
	Name string
	// OnRetry, if set, is called before each retry's wait with its reason
	// (one of the Reason constants), for metrics.
	OnRetry func(ctx context.Context, reason string)
	// MaxBodyBytes bounds a response body; default DefaultMaxBodyBytes. A
	// larger body fails the request.
	MaxBodyBytes int64
}

// A Client makes HTTP requests to one vendor API with authentication, rate
// limiting and one retry loop per request. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	auth      auth.Source
	apply     func(*http.Request, *auth.Token)
	pol       Policy
	limiter   *rate.Limiter
	http      *http.Client
	log       *slog.Logger
	userAgent string
	name      string
	onRetry   func(context.Context, string)
	maxBody   int64
	bodies    bodies // given back by ReuseBody

	pauseMu     sync.Mutex
	pausedUntil time.Time // no attempt starts before it: see pause

	adapt *adaptive // the request rate the vendor's 429s set
}

// New returns a Client for opts. Errors wrap protocol.ErrConfig.
func New(opts Options) (*Client, error) {
	base, err := url.Parse(opts.BaseURL)
	if err != nil || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") {
		return nil, fmt.Errorf("rest: base URL %q is not an absolute http(s) URL: %w", auth.StripQuery(opts.BaseURL), protocol.ErrConfig)
	}
	if base.Scheme == "http" && !opts.AllowHTTP && !auth.IsLoopback(base.Hostname()) {
		return nil, fmt.Errorf("rest: base URL %q uses plain http to a non-loopback host; tokens would travel in clear text: %w", auth.StripQuery(opts.BaseURL), protocol.ErrConfig)
	}
	hc, err := httpClient(opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base: base, auth: opts.Auth, apply: opts.Apply, pol: opts.Policy.withDefaults(),
		limiter: opts.Limiter, http: hc, log: opts.Logger, userAgent: opts.UserAgent,
		name: opts.Name, onRetry: opts.OnRetry, maxBody: opts.MaxBodyBytes,
	}
	c.adapt = newAdaptive(c.pol.Now, c.limiter)
	if c.apply == nil {
		c.apply = bearer
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.userAgent == "" {
		c.userAgent = "quiver"
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	return c, nil
}

// httpClient returns the client to send with: a copy of hc, or a default.
func httpClient(hc *http.Client) (*http.Client, error) {
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone() // dial 30 s, TLS handshake 10 s, idle 90 s
		// Streams of one account run in parallel against one host; the
		// default of 2 idle connections per host would keep redialling.
		t.MaxIdleConnsPerHost = 8
		return &http.Client{Transport: t, CheckRedirect: auth.SameHostRedirects}, nil
	}
	tr := hc.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	if t, ok := tr.(*http.Transport); ok && t.TLSClientConfig != nil && t.TLSClientConfig.InsecureSkipVerify {
		return nil, fmt.Errorf("rest: the HTTP client skips TLS certificate verification; use a CA file for a private CA instead: %w", protocol.ErrConfig)
	}
	c := *hc
	if c.CheckRedirect == nil {
		c.CheckRedirect = auth.SameHostRedirects
	}
	return &c, nil
}

// bearer is the default Options.Apply.
func bearer(req *http.Request, t *auth.Token) {
	if t == nil || t.Value == "" {
		return
	}
	typ := t.Type
	if typ == "" || strings.EqualFold(typ, "bearer") {
		typ = "Bearer"
	}
	req.Header.Set("Authorization", typ+" "+t.Value.Reveal())
}

// Name returns the connector name the Client was made with (Options.Name),
// for errors and logs.
func (c *Client) Name() string { return c.name }

// CloseIdleConnections closes the Client's idle connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// A Request describes one API call.
type Request struct {
	Method string      // default GET
	Path   string      // joined to BaseURL; or an absolute URL on BaseURL's scheme and host (a next link)
	Query  url.Values  // added to the path's own query, replacing parameters of the same name
	Body   []byte      // sent as is; Content-Type defaults to application/json
	Header http.Header // extra headers; Accept defaults to application/json
	Label  string      // names the request in errors and logs, e.g. "stream employees page offset=2000"
	// Limiter, if set, is waited on after Options.Limiter before every
	// attempt: the limit of one endpoint, where Options.Limiter is the
	// account's.
	Limiter *rate.Limiter
}

// A Response is a complete response: the body has been read and closed.
type Response struct {
	StatusCode int
	Header     http.Header
	// Body is the whole body. Its spare capacity may hold an earlier
	// response's bytes (see Client.ReuseBody): never reslice it past its
	// length.
	Body  []byte
	Token *auth.Token // the token the request carried; nil without Auth
	// URL is the URL requested (after redirects), to resolve relative next
	// links against. Its query may hold credentials: never log it.
	URL *url.URL
}

// Do sends req and passes the response to decode, retrying as c's Policy
// says: one retry loop (backoff/v4) per call, each attempt waiting on the
// Limiter, getting a token, sending, reading the whole body and classifying
// the response. decode runs inside the attempt for a response judged OK
// (normally 2xx); if its error wraps ErrMalformed the request is retried
// (Policy.MalformedRetries times), any other error is final. resp is
// decode's to keep. decode may be nil.
//
// Do retries whatever the method, so use it for idempotent requests. ctx
// bounds everything, waits included: cancelling it returns promptly.
//
// Errors name the request (Request.Label, or method and path). They wrap,
// as the case may be: a *StatusError; protocol.ErrTemporary (rate limit,
// 5xx or network failures outlasting the policy, or a Retry-After above
// Policy.MaxRetryAfter); protocol.ErrAuth (401 after a token refresh,
// Verdict AuthFailed, or the token source's own error); ErrMalformed;
// protocol.ErrConfig (a bad path); ctx.Err() with protocol.ErrCanceled; or
// decode's error.
func (c *Client) Do(ctx context.Context, req Request, decode func(resp *Response) error) error {
	u, err := c.resolve(req)
	if err != nil {
		return c.wrap(req, err)
	}
	r := &run{c: c, ctx: ctx, req: req, url: u, decode: decode}
	bo := newPolicyBackOff(c.pol, &r.last)
	// WithContext must be the outermost wrapper: the retry loop looks for
	// the context only there (and through WithMaxRetries), to stop waits.
	policy := backoff.WithContext(bo, ctx)
	err = backoff.RetryNotifyWithTimer(r.attempt, policy, r.notify, c.pol.Timer)
	if err == nil {
		return nil
	}
	return r.fail(err)
}

// resolve returns the URL for req.
func (c *Client) resolve(req Request) (*url.URL, error) {
	var u *url.URL
	if strings.Contains(req.Path, "://") {
		var err error
		u, err = url.Parse(req.Path)
		if err != nil {
			return nil, fmt.Errorf("path %q: %w", auth.StripQuery(req.Path), errors.Join(err, protocol.ErrConfig))
		}
		if u.Scheme != c.base.Scheme || !strings.EqualFold(u.Host, c.base.Host) {
			return nil, fmt.Errorf("refusing %s://%s: requests (and their credentials) go only to %s://%s: %w", u.Scheme, u.Host, c.base.Scheme, c.base.Host, protocol.ErrConfig)
		}
	} else {
		p, rawQuery, _ := strings.Cut(req.Path, "?")
		u = c.base.JoinPath(p)
		u.RawQuery = joinQuery(c.base.RawQuery, rawQuery)
	}
	u.Fragment = ""
	if len(req.Query) > 0 {
		q := u.Query()
		for k, vs := range req.Query {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
	}
	return u, nil
}

func joinQuery(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "&" + b
}

// label names req in errors and logs.
func (c *Client) label(req Request) string {
	if req.Label != "" {
		return req.Label
	}
	return method(req) + " " + auth.StripQuery(req.Path)
}

func method(req Request) string {
	if req.Method == "" {
		return http.MethodGet
	}
	return req.Method
}

// wrap adds the package, vendor and request to err.
func (c *Client) wrap(req Request, err error) error {
	prefix := "rest: "
	if c.name != "" {
		prefix += c.name + ": "
	}
	return fmt.Errorf("%s%s: %w", prefix, c.label(req), err)
}

// run is one call of Do: the state its attempts share.
type run struct {
	c      *Client
	ctx    context.Context // Do's ctx; kept here because backoff's Operation takes none
	req    Request
	url    *url.URL
	decode func(*Response) error

	attempts   int
	last       *failure  // the last attempt's failure; read by policyBackOff
	lagRetries int       // same-token retries of the current token
	lagged     bool      // the current token was refused while young
	refreshed  bool      // the token has been replaced once
	refreshAt  time.Time // when it was replaced
	stale      bool      // a cached token older than the replacement was replaced too
	expired    int       // tokens replaced because the vendor said they expired
	malformed  int       // ErrMalformed retries
	paused     time.Time // the client's pause this request's last 429 set
	sent       time.Time // when the last attempt was sent
}

// attempt is the backoff Operation: one try of the request.
func (r *run) attempt() error {
	r.attempts++
	f := r.try()
	r.last = f
	if f == nil {
		return nil
	}
	if f.reason == "" {
		return backoff.Permanent(f)
	}
	return f
}

// try makes one attempt and returns nil or what went wrong.
func (r *run) try() *failure {
	c, ctx := r.c, r.ctx
	if f := r.waitLimiters(); f != nil {
		return f
	}
	var tok *auth.Token
	if c.auth != nil {
		var err error
		if tok, err = c.auth.Token(ctx); err != nil {
			return &failure{err: ctxErr(ctx, err)}
		}
	}
	actx, cancel := context.WithTimeout(ctx, c.pol.AttemptTimeout)
	defer cancel()
	hreq, err := r.newRequest(actx, tok)
	if err != nil {
		return &failure{class: protocol.ErrConfig, err: err}
	}
	c.log.DebugContext(ctx, "rest: request", "connector", c.name, "request", c.label(r.req), "attempt", r.attempts)
	r.sent = c.pol.Now()
	c.adapt.send(r.sent)
	resp, err := c.http.Do(hreq)
	if err != nil {
		return r.networkFailure(err)
	}
	// Only a 2xx body is ever given back (sdk/stream gives back the pages
	// it decoded), so only one gets a buffer that was: the start of
	// another is kept in its StatusError.
	get := newBody
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		get = c.bodies.get
	}
	body, err := readBody(resp.Body, resp.ContentLength, c.maxBody, get)
	resp.Body.Close()
	if err != nil {
		return r.bodyFailure(err)
	}
	return r.classify(&Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body, Token: tok, URL: resp.Request.URL})
}

// newRequest builds the HTTP request of one attempt.
func (r *run) newRequest(ctx context.Context, tok *auth.Token) (*http.Request, error) {
	var body io.Reader
	if r.req.Body != nil {
		body = bytes.NewReader(r.req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method(r.req), r.url.String(), body)
	if err != nil {
		return nil, auth.SanitizeURLError(err)
	}
	for k, vs := range r.req.Header {
		hreq.Header[k] = append([]string(nil), vs...)
	}
	hreq.Header.Set("User-Agent", r.c.userAgent)
	if hreq.Header.Get("Accept") == "" {
		hreq.Header.Set("Accept", "application/json")
	}
	if r.req.Body != nil && hreq.Header.Get("Content-Type") == "" {
		hreq.Header.Set("Content-Type", "application/json")
	}
	r.c.apply(hreq, tok)
	return hreq, nil
}

// networkFailure classifies an error from http.Client.Do.
func (r *run) networkFailure(err error) *failure {
	if r.ctx.Err() != nil {
		return &failure{err: ctxErr(r.ctx, err)}
	}
	err = auth.SanitizeURLError(err)
	if auth.IsPermanentNetworkError(err) {
		return &failure{err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &failure{reason: ReasonNetwork, class: protocol.ErrTemporary, msg: fmt.Sprintf("attempt timed out after %v", r.c.pol.AttemptTimeout), err: err}
	}
	return &failure{reason: ReasonNetwork, class: protocol.ErrTemporary, err: err}
}

// bodyFailure classifies an error reading a response body.
func (r *run) bodyFailure(err error) *failure {
	switch {
	case r.ctx.Err() != nil:
		return &failure{err: ctxErr(r.ctx, err)}
	case errors.Is(err, errBodyTooLarge):
		return &failure{err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &failure{reason: ReasonNetwork, class: protocol.ErrTemporary, msg: fmt.Sprintf("attempt timed out after %v reading the body", r.c.pol.AttemptTimeout), err: err}
	}
	return &failure{reason: ReasonTruncated, class: protocol.ErrTemporary, msg: "truncated body", err: err}
}

var errBodyTooLarge = errors.New("response body too large")

// readBody reads all of body, up to limit bytes, into a buffer from get,
// which it passes the length the body says it has (0 when unknown). With
// a Content-Length the buffer holds it all and one byte more, to see the
// end, instead of being regrown (and zeroed) a dozen times for a page of a
// few hundred KB; without one (a gzipped body, which net/http decompresses)
// it doubles as it fills. It does not use bytes.Buffer.ReadFrom, which
// wants 512 bytes free before each read and so copies a full buffer into
// one twice its size just to read the end.
func readBody(body io.Reader, size, limit int64, get func(n int) []byte) ([]byte, error) {
	n := 0
	if size > 0 && size <= limit {
		n = int(size) + 1
	}
	b := get(n)
	for {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), max(512, 2*cap(b)))
			copy(nb, b)
			b = nb
		}
		m, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if int64(len(b)) > limit {
			return nil, fmt.Errorf("%w: more than %d bytes; ask for smaller pages", errBodyTooLarge, limit)
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// classify decides what a complete response means, and runs the decoder
// for a good one.
func (r *run) classify(resp *Response) *failure {
	v := Default
	if r.c.pol.Classify != nil {
		v = r.c.pol.Classify(resp)
	}
	code := resp.StatusCode
	if v == Default {
		switch {
		case code >= 200 && code < 300:
			v = OK
		case code == http.StatusUnauthorized:
			return r.unauthorized(resp)
		case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests,
			code >= 500 && code != http.StatusNotImplemented:
			v = Retry
		default:
			v = Permanent
		}
	}
	switch v {
	case OK:
		r.accepted()
		return r.decoded(resp)
	case Retry:
		return r.retry(resp, code == http.StatusTooManyRequests)
	case RateLimited:
		return r.retry(resp, true)
	case RefreshToken:
		return r.refresh(resp, ReasonRefresh)
	case AuthFailed:
		return &failure{class: protocol.ErrAuth, err: r.statusError(resp)}
	default:
		return &failure{err: r.statusError(resp)}
	}
}

// statusError builds the StatusError for resp.
func (r *run) statusError(resp *Response) *StatusError {
	var secrets []auth.Secret
	if t := resp.Token; t != nil {
		secrets = []auth.Secret{t.Value, t.Refresh}
	}
	se := &StatusError{
		Method:     method(r.req),
		URL:        auth.StripQuery(r.url.String()),
		StatusCode: resp.StatusCode,
		Body:       []byte(cut(auth.Scrub(string(resp.Body), secrets...), maxErrorBody)),
	}
	se.RetryAfter, _ = parseRetryAfter(resp.Header.Get("Retry-After"), r.c.pol.Now())
	return se
}

// retry returns a retryable failure for resp, honouring Retry-After;
// limited says the vendor refused it for its rate limit.
func (r *run) retry(resp *Response, limited bool) *failure {
	se := r.statusError(resp)
	f := &failure{reason: ReasonVendor, class: protocol.ErrTemporary, err: se, status: se.StatusCode}
	switch code := se.StatusCode; {
	case limited:
		f.reason, f.floor = ReasonRateLimit, r.c.pol.RateLimitFloor
		defer func() {
			if f.reason != "" {
				wait := max(f.wait, f.floor)
				r.paused = r.c.pause(wait)
				r.slowDown(wait)
			}
		}()
	case code == http.StatusRequestTimeout:
		f.reason = ReasonNetwork
	case code >= 500:
		f.reason = ReasonServer
	}
	if _, ok := parseRetryAfter(resp.Header.Get("Retry-After"), r.c.pol.Now()); ok {
		wait, over := requestWait(se.RetryAfter, r.c.pol.MaxRetryAfter)
		if over {
			f.reason = ""
			f.msg = fmt.Sprintf("the vendor asked to wait %v before retrying, above the %v cap (Policy.MaxRetryAfter)", se.RetryAfter, r.c.pol.MaxRetryAfter)
			return f
		}
		f.wait = wait
		if wait > 0 {
			f.floor = 0 // the floor is for 429s that do not say how long to wait
		}
	}
	return f
}

// unauthorized handles a 401 under the default rules: a young token is
// retried as it is (replication lag) until its grace ends, an older one is
// replaced once.
func (r *run) unauthorized(resp *Response) *failure {
	tok := resp.Token
	if tok == nil {
		return &failure{class: protocol.ErrAuth, msg: "401 Unauthorized, and the client has no credentials to send", err: r.statusError(resp)}
	}
	pol := r.c.pol
	age := pol.Now().Sub(tok.Issued)
	if !tok.Issued.IsZero() && age < pol.LagGrace && pol.LagRetries >= 0 && (pol.LagRetries == 0 || r.lagRetries < pol.LagRetries) {
		wait := lagWait(r.lagRetries, pol.InitialInterval, pol.MaxInterval, pol.LagGrace-age)
		r.lagRetries++
		r.lagged = true
		// Temporary: should the request run out of time while the vendor
		// still refuses a token the login just issued, a later run may
		// succeed; the credentials were accepted.
		return &failure{reason: ReasonLag401, class: protocol.ErrTemporary, msg: fmt.Sprintf("401 Unauthorized on a token issued %v ago (replication lag?)", age.Round(time.Millisecond)), err: r.statusError(resp), status: resp.StatusCode, wait: wait, lag: true}
	}
	return r.refresh(resp, ReasonRefresh401)
}

// maxExpiredRenewals bounds how many tokens one request replaces on the
// vendor's word that they expired.
const maxExpiredRenewals = 3

// refresh invalidates the token resp carried and gets a fresh one for an
// immediate retry; a second time for one request, it fails, unless the
// vendor said the token expired (up to maxExpiredRenewals times).
func (r *run) refresh(resp *Response, reason string) *failure {
	se := r.statusError(resp)
	status := fmt.Sprintf("%d %s", se.StatusCode, http.StatusText(se.StatusCode))
	if reason == ReasonRefresh {
		status = fmt.Sprintf("token expired (%d %s)", se.StatusCode, http.StatusText(se.StatusCode))
	}
	tok := resp.Token
	if r.c.auth == nil || tok == nil {
		return &failure{class: protocol.ErrAuth, msg: status + ", and the client has no credentials to send", err: se}
	}
	// A retry may carry a token another request put in the cache before
	// this one asked for a new one, and that token may have expired in
	// between: replace it once more. A token issued after the replacement
	// was asked for is one the vendor refused fresh.
	if r.refreshed && !r.stale && !tok.Issued.IsZero() && tok.Issued.Before(r.refreshAt) {
		r.stale, r.refreshed = true, false
	}
	// A vendor that says in so many words that a token expired is believed
	// a few times over: tokens expire on the vendor's clock, and one may
	// lapse between its login and its use. A bare 401 is not: a second one
	// after a new token means the credentials lack the right.
	if r.refreshed && reason == ReasonRefresh && r.expired < maxExpiredRenewals {
		r.refreshed = false
	}
	if r.refreshed {
		if r.lagged && reason == ReasonRefresh401 {
			// The login accepted the credentials and the vendor still
			// refused its token through the whole grace: its replicas are
			// behind, which a later run may not meet.
			return &failure{class: protocol.ErrTemporary, msg: fmt.Sprintf("%s through the %v replication-lag grace on a token the login had just issued, after a token refresh; the vendor's replicas are behind: try again later (if it persists, check the API user's permissions)", status, r.c.pol.LagGrace), err: se}
		}
		return &failure{class: protocol.ErrAuth, msg: status + " after a token refresh; check the API user's permissions", err: se}
	}
	r.refreshed, r.refreshAt = true, r.c.pol.Now()
	if reason == ReasonRefresh {
		r.expired++
	}
	r.c.auth.Invalidate(tok)
	fresh, err := r.c.auth.Token(r.ctx)
	if err != nil {
		return &failure{msg: status + "; getting a new token", err: ctxErr(r.ctx, err)}
	}
	if fresh.Value == tok.Value {
		return &failure{class: protocol.ErrAuth, msg: status + "; the credentials were rejected and cannot be renewed", err: se}
	}
	r.lagRetries, r.lagged = 0, false
	return &failure{reason: reason, class: protocol.ErrAuth, err: se, status: se.StatusCode, now: true}
}

// decoded runs the decoder on a good response.
func (r *run) decoded(resp *Response) *failure {
	if r.decode == nil {
		return nil
	}
	err := r.decode(resp)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, ErrMalformed):
		return &failure{err: err}
	case r.malformed < r.c.pol.MalformedRetries:
		r.malformed++
		return &failure{reason: ReasonMalformed, err: err, status: resp.StatusCode}
	default:
		return &failure{msg: fmt.Sprintf("response malformed %d times in a row", r.malformed+1), err: err}
	}
}

// notify logs a retry and reports it to OnRetry; the retry loop calls it
// before waiting.
func (r *run) notify(err error, wait time.Duration) {
	f := r.last
	level := slog.LevelDebug
	if r.attempts > 1 || r.c.pol.WarnWait > 0 && wait >= r.c.pol.WarnWait {
		level = slog.LevelWarn
	}
	attrs := []any{"connector", r.c.name, "request", r.c.label(r.req), "reason", f.reason, "attempt", r.attempts, "wait", wait.String()}
	if f.status != 0 {
		attrs = append(attrs, "status", f.status)
	}
	if f.wait > 0 {
		attrs = append(attrs, "retry_after", f.wait.String())
	}
	attrs = append(attrs, "error", err.Error())
	r.c.log.Log(r.ctx, level, "rest: retrying", attrs...)
	countRetry(r.ctx, f.reason)
	if r.c.onRetry != nil {
		r.c.onRetry(r.ctx, f.reason)
	}
}

// fail turns the retry loop's final error into Do's.
func (r *run) fail(err error) error {
	if r.ctx.Err() != nil && errors.Is(err, r.ctx.Err()) {
		// Cancelled while waiting to retry: say what we were waiting for.
		cause := ctxErr(r.ctx, r.ctx.Err())
		if f := r.last; f != nil && f.reason != "" {
			cause = fmt.Errorf("%w (while waiting to retry after: %s)", cause, f)
		}
		return r.c.wrap(r.req, cause)
	}
	var f *failure
	if errors.As(err, &f) && f.reason != "" {
		// The policy ran out of attempts or time.
		return r.c.wrap(r.req, fmt.Errorf("%w (gave up after %d attempts)", f, r.attempts))
	}
	return r.c.wrap(r.req, err)
}

// ctxErr returns err, marked with protocol.ErrCanceled when ctx was
// cancelled (not when its deadline passed: that is the caller's timeout).
func ctxErr(ctx context.Context, err error) error {
	if !errors.Is(ctx.Err(), context.Canceled) {
		return err
	}
	return canceled{err: err, ctx: ctx.Err()}
}

// canceled is an error caused by a cancelled context. Its text is err's.
type canceled struct{ err, ctx error }

func (c canceled) Error() string   { return c.err.Error() }
func (c canceled) Unwrap() []error { return []error{c.err, c.ctx, protocol.ErrCanceled} }
