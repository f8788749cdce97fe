// Package fault injects the failures real vendor APIs produce into a
// simulator's HTTP handler: server errors, rate limits with and without
// Retry-After, slow answers, truncated and malformed bodies, and reset
// connections. Simulators wrap their data endpoints with an Injector so that
// every connector is tested against the same repertoire.
package fault

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Kind is one sort of failure.
type Kind int

// The kinds of failure an Injector produces.
const (
	ServerError   Kind = iota + 1 // 500, 502 or 503 with a short JSON body
	RateLimit                     // 429 with Retry-After in seconds
	RateLimitDate                 // 429 with Retry-After as an HTTP-date
	RateLimitBare                 // 429 without Retry-After
	Slow                          // the real answer, after Options.SlowDelay
	Truncate                      // a Content-Length longer than the body, then the connection closes
	Malformed                     // a 200 whose JSON body is cut in half (Content-Length matches)
	Reset                         // the connection is reset before any answer
)

// All lists every Kind.
var All = []Kind{ServerError, RateLimit, RateLimitDate, RateLimitBare, Slow, Truncate, Malformed, Reset}

// String returns the kind's name as used in logs and counts.
func (k Kind) String() string {
	switch k {
	case ServerError:
		return "server_error"
	case RateLimit:
		return "rate_limit"
	case RateLimitDate:
		return "rate_limit_date"
	case RateLimitBare:
		return "rate_limit_bare"
	case Slow:
		return "slow"
	case Truncate:
		return "truncate"
	case Malformed:
		return "malformed"
	case Reset:
		return "reset"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Options configure random faults. The zero value injects nothing.
type Options struct {
	// Rate is the chance, from 0 to 1, that a request gets a fault.
	Rate float64
	// Kinds are drawn from uniformly; nil means All.
	Kinds []Kind
	// Seed makes the draw repeatable.
	Seed uint64
	// RetryAfter is the wait announced by 429s; default 1s. Whole seconds
	// only, because that is what the header carries.
	RetryAfter time.Duration
	// SlowDelay is how long Slow holds an answer; default 50ms.
	SlowDelay time.Duration
	// Latency holds every answer this long before anything else happens,
	// fault or not, as a distant vendor's network would; 0 adds nothing.
	Latency time.Duration
	// MaxConsecutive caps faults in a row for the same method and URL, so a
	// client that retries always gets through; default 2.
	MaxConsecutive int
	// Before, when not nil, runs first for every request, before Latency,
	// any fault and the handler, which wait until it returns: a test holds
	// requests back with it, or moves a simulated clock. It runs on the
	// request's goroutine, concurrently for concurrent requests, and should
	// return once r's context is done; the request then gets no answer.
	Before func(r *http.Request)
}

// An Injector wraps handlers with faults. It is safe for concurrent use.
type Injector struct {
	mu      sync.Mutex
	opts    Options
	rng     *rand.Rand
	script  []Kind         // scripted faults, served before random ones
	streak  map[string]int // consecutive faults per request key
	counts  map[Kind]int
	enabled bool
}

// New returns an Injector with opts.
func New(opts Options) *Injector {
	in := &Injector{streak: map[string]int{}, counts: map[Kind]int{}}
	in.Set(opts)
	return in
}

// Set replaces the options; it resets the random sequence to opts.Seed.
func (in *Injector) Set(opts Options) {
	if opts.Kinds == nil {
		opts.Kinds = All
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	if opts.SlowDelay <= 0 {
		opts.SlowDelay = 50 * time.Millisecond
	}
	if opts.MaxConsecutive <= 0 {
		opts.MaxConsecutive = 2
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.opts = opts
	in.rng = rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	in.enabled = opts.Rate > 0
}

// FailNext makes the next n requests fail with k, whatever the options say.
func (in *Injector) FailNext(n int, k Kind) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for range n {
		in.script = append(in.script, k)
	}
}

// Counts returns how many faults of each kind were injected so far.
func (in *Injector) Counts() map[Kind]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[Kind]int, len(in.counts))
	for k, n := range in.counts {
		out[k] = n
	}
	return out
}

// Total returns how many faults were injected so far.
func (in *Injector) Total() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, c := range in.counts {
		n += c
	}
	return n
}

// before returns Options.Before.
func (in *Injector) before() func(*http.Request) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.opts.Before
}

// pick decides the fault for a request, or 0 for none.
func (in *Injector) pick(r *http.Request) (Kind, Options) {
	in.mu.Lock()
	defer in.mu.Unlock()
	key := r.Method + " " + r.URL.String()
	var k Kind
	switch {
	case len(in.script) > 0:
		k, in.script = in.script[0], in.script[1:]
	case in.enabled && in.streak[key] < in.opts.MaxConsecutive && in.rng.Float64() < in.opts.Rate:
		k = in.opts.Kinds[in.rng.IntN(len(in.opts.Kinds))]
	}
	if k == 0 {
		delete(in.streak, key)
		return 0, in.opts
	}
	in.streak[key]++
	in.counts[k]++
	return k, in.opts
}

// Wrap returns next with faults injected before or after it runs.
func (in *Injector) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if before := in.before(); before != nil {
			if before(r); r.Context().Err() != nil {
				return
			}
		}
		k, opts := in.pick(r)
		if opts.Latency > 0 {
			select {
			case <-time.After(opts.Latency):
			case <-r.Context().Done():
				return
			}
		}
		switch k {
		case 0:
			next.ServeHTTP(w, r)
		case ServerError:
			codes := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}
			code := codes[int(opts.Seed+uint64(in.Total()))%len(codes)]
			writeJSON(w, code, fmt.Sprintf(`{"code":%d,"message":"simulated server error"}`, code))
		case RateLimit:
			w.Header().Set("Retry-After", strconv.Itoa(int(opts.RetryAfter.Round(time.Second)/time.Second)))
			writeJSON(w, http.StatusTooManyRequests, `{"code":429,"message":"Too many requests in the past minute"}`)
		case RateLimitDate:
			w.Header().Set("Retry-After", time.Now().Add(opts.RetryAfter).UTC().Format(http.TimeFormat))
			writeJSON(w, http.StatusTooManyRequests, `{"code":429,"message":"Too many requests in the past minute"}`)
		case RateLimitBare:
			writeJSON(w, http.StatusTooManyRequests, `{"code":429,"message":"Too many requests in the past minute"}`)
		case Slow:
			select {
			case <-time.After(opts.SlowDelay):
			case <-r.Context().Done():
				return
			}
			next.ServeHTTP(w, r)
		case Truncate:
			rec := record(next, r)
			half := rec.body.Len() / 2
			copyHeader(w.Header(), rec.header)
			w.Header().Set("Content-Length", strconv.Itoa(rec.body.Len()))
			w.WriteHeader(rec.code)
			_, _ = w.Write(rec.body.Bytes()[:half])
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			hangUp(w, false)
		case Malformed:
			rec := record(next, r)
			copyHeader(w.Header(), rec.header)
			body := rec.body.Bytes()[:rec.body.Len()/2]
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.code)
			_, _ = w.Write(body)
		case Reset:
			hangUp(w, true)
		}
	})
}

func writeJSON(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

// recorder captures what a handler answers so that a fault can mangle it.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorder) WriteHeader(code int)        { r.code = code }

func record(next http.Handler, r *http.Request) *recorder {
	rec := &recorder{header: http.Header{}, code: http.StatusOK}
	next.ServeHTTP(rec, r)
	return rec
}

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		dst[k] = v
	}
}

// hangUp closes the client connection; with reset it sends a TCP RST.
func hangUp(w http.ResponseWriter, reset bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: aborts the stream, which is as close as it gets
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
