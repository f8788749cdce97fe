package rest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"

	"github.com/quiver-etl/quiver/sdk/connectortest"
)

// rig drives an adaptive rate on a fake clock.
type rig struct {
	t    *testing.T
	clk  *connectortest.Clock
	a    *adaptive
	last time.Time // when the last request was sent
}

func newRig(t *testing.T, ceiling rate.Limit) *rig {
	t.Helper()
	clk := newClock()
	var lim *rate.Limiter
	if ceiling != 0 {
		lim = rate.NewLimiter(ceiling, 1)
	}
	return &rig{t: t, clk: clk, a: newAdaptive(clk.Now, lim)}
}

// sendFor sends perSec requests a second for d.
func (r *rig) sendFor(perSec float64, d time.Duration) {
	every := time.Duration(float64(time.Second) / perSec)
	for end := r.clk.Now().Add(d); r.clk.Now().Before(end); r.clk.Advance(every) {
		r.last = r.clk.Now()
		r.a.send(r.last)
	}
}

// refuseN has the vendor refuse the last request sent n times over, its
// retries waiting wait.
func (r *rig) refuseN(n int, wait time.Duration) {
	for range n {
		r.a.limited(r.last, wait)
	}
}

// refuse refuses the last request sent three times over: from a clean
// start, the third refusal lowers the rate (3 of the 20 answers counted
// at least).
func (r *rig) refuse(wait time.Duration) { r.refuseN(3, wait) }

// succeed has the vendor accept n requests.
func (r *rig) succeed(n int) {
	for range n {
		r.a.succeeded()
	}
}

// is fails unless the rate is want, to a thousandth.
func (r *rig) is(want rate.Limit) {
	r.t.Helper()
	got := r.a.limit()
	if got != want && math.Abs(float64(got-want)) > 1e-3 {
		r.t.Fatalf("rate %v a second, want %v", got, want)
	}
}

// TestAdaptive_Rule: the adaptive rate halves on a rate-limit refusal
// when refusals are 15% of the last answers, from the rate observed
// over the last seconds, never below its floor nor above the configured
// rate, once per overload; it grows back by a twentieth of the rate it
// fell from per run of successes, and stops binding at the configured
// rate.
func TestAdaptive_Rule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ceiling rate.Limit // the configured rate; 0 for none
		run     func(r *rig)
		want    rate.Limit // rate.Inf: does not bind
	}{
		{"no refusal: does not bind", 0, func(r *rig) { r.sendFor(50, 5*time.Second); r.succeed(500) }, rate.Inf},
		{"no refusal, with a configured rate: does not bind", 10, func(r *rig) { r.sendFor(10, 5*time.Second); r.succeed(500) }, rate.Inf},
		{"429s halve the rate observed", 0, func(r *rig) { r.sendFor(10, 3*time.Second); r.refuse(time.Second) }, 5},
		{"the rate observed is the last seconds'", 0, func(r *rig) {
			r.sendFor(40, 2*time.Second)
			r.sendFor(10, 4*time.Second)
			r.refuse(time.Second)
		}, 5},
		{"a short history is measured since the first request", 0, func(r *rig) { r.sendFor(20, 500*time.Millisecond); r.refuse(time.Second) }, 10},
		{"requests sent at once count over a slot", 0, func(r *rig) { r.sendFor(1e9, 5*time.Nanosecond); r.refuse(time.Second) }, 25},
		{"half the configured rate at most", 4, func(r *rig) { r.sendFor(10, 3*time.Second); r.refuse(time.Second) }, 2},
		{"floor: one a second", 0, func(r *rig) { r.sendFor(0.2, 10*time.Second); r.refuse(0) }, 1},
		{"floor: one per Retry-After when longer", 0, func(r *rig) { r.sendFor(0.2, 10*time.Second); r.refuse(10 * time.Second) }, 0.1},
		{"floor: binds only below half the rate", 0, func(r *rig) { r.sendFor(10, 3*time.Second); r.refuse(time.Minute) }, 5},
		{"floor: never above the configured rate", 0.5, func(r *rig) { r.sendFor(0.2, 10*time.Second); r.refuse(0) }, 0.5},
		{"refusals of requests sent before the fall are the same overload", 0, func(r *rig) {
			r.sendFor(10, 3*time.Second)
			r.refuse(time.Second)
			r.clk.Advance(time.Second)
			r.refuseN(10, time.Second)
		}, 5},
		{"refusals of a request sent after the fall halve it again", 0, func(r *rig) {
			r.sendFor(10, 3*time.Second)
			r.refuse(time.Second)
			r.sendFor(5, 3*time.Second)
			r.refuse(time.Second)
		}, 14 / 2.9 / 2}, // the meter covers 2.9 s, with 14 of the requests at 5 a second
		{"a run short of the rate's second does not grow it", 0, func(r *rig) {
			r.sendFor(10, 3*time.Second)
			r.refuse(time.Second)
			r.succeed(4)
		}, 5},
		{"a run of a second's successes grows it by a twentieth of the rate it fell from", 0, func(r *rig) {
			r.sendFor(10, 3*time.Second)
			r.refuse(time.Second)
			r.succeed(5) // 5 a second: 5 successes
		}, 5.5},
		{"the next run is the new rate's second", 0, func(r *rig) {
			r.sendFor(10, 3*time.Second)
			r.refuse(time.Second)
			r.succeed(5 + 6)
		}, 6},
		{"a run is at least four successes", 2, func(r *rig) {
			r.sendFor(10, 3*time.Second)
			r.refuse(time.Second) // 2 → 1, step 0.1
			r.succeed(3)
			r.is(1)
			r.succeed(1)
		}, 1.1},
		{"steps are of the rate it last fell from", 0, func(r *rig) {
			r.sendFor(10, 3*time.Second)
			r.refuse(time.Second) // 10 → 5
			r.sendFor(5, 3*time.Second)
			r.refuse(time.Second) // 4.83 → 2.41, steps of 0.24
			r.succeed(4)
		}, 14/2.9/2 + 14/2.9/20},
		{"without a configured rate it keeps growing, and binding", 0, func(r *rig) {
			r.sendFor(10, 3*time.Second)
			r.refuse(time.Second)
			r.succeed(5 + 6 + 6 + 7 + 7 + 8 + 8 + 9 + 9 + 10 + 10 + 11)
		}, 11},
		{"at the configured rate it stops binding", 5, func(r *rig) {
			r.sendFor(10, 3*time.Second)
			r.refuse(time.Second) // 5 → 2.5, step 0.25
			r.succeed(7*4 + 2*5)
			r.is(4.75)
			r.succeed(5)
		}, rate.Inf},
		{"after stopping, refusals lower it again", 5, func(r *rig) {
			r.sendFor(10, 3*time.Second)
			r.refuse(time.Second)
			r.succeed(7*4 + 3*5)
			r.is(rate.Inf)
			r.sendFor(10, 3*time.Second)
			r.refuseN(8, time.Second) // 8 of the last 50 answers: the first 3 refusals have gone
		}, 2.5},
		{"two refusals at the start only pause", 0, func(r *rig) {
			r.sendFor(10, 3*time.Second)
			r.refuseN(2, time.Second) // 2 of 20
		}, rate.Inf},
		{"a lone refusal among many successes only pauses", 0, func(r *rig) {
			r.sendFor(10, 3*time.Second)
			r.succeed(49)
			r.refuseN(1, time.Second)
		}, rate.Inf},
		{"refusals under 15% of the last 50 answers only pause", 0, func(r *rig) {
			r.sendFor(10, 3*time.Second)
			r.succeed(200)
			r.refuseN(7, time.Second) // 7 of the last 50
		}, rate.Inf},
		{"refusals of 15% of the last 50 answers lower it", 0, func(r *rig) {
			r.sendFor(10, 3*time.Second)
			r.succeed(200)
			r.refuseN(8, time.Second) // 8 of the last 50
		}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, tt.ceiling)
			tt.run(r)
			r.is(tt.want)
		})
	}
}

// TestAdaptive_Reserve: while the rate binds, requests taken at one
// instant wait one interval of the rate more each; before it does, and
// once it stops, none waits; a slot given back is taken by the next.
func TestAdaptive_Reserve(t *testing.T) {
	t.Parallel()
	r := newRig(t, 0)
	waits := func(n int) []time.Duration {
		var ds []time.Duration
		for range n {
			d, _ := r.a.reserve(r.clk.Now())
			ds = append(ds, d)
		}
		return ds
	}
	same := func(got []time.Duration, want ...time.Duration) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("waits %v, want %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("waits %v, want %v", got, want)
			}
		}
	}
	same(waits(3), 0, 0, 0)
	r.sendFor(10, 3*time.Second)
	r.refuse(time.Second) // 5 a second
	same(waits(3), 0, 200*time.Millisecond, 400*time.Millisecond)
	d, cancel := r.a.reserve(r.clk.Now())
	cancel()
	if d2, _ := r.a.reserve(r.clk.Now()); d2 != d {
		t.Errorf("after a slot at %v was given back, the next is at %v", d, d2)
	}
	r.clk.Advance(time.Minute)
	same(waits(2), 0, 200*time.Millisecond)
}

// vendor is an API on a fake clock that refuses requests above its rate
// limit with a 429 and a Retry-After in whole seconds, rounded up. Each
// answer takes latency of the clock, so a client sending one request at a
// time goes at 1/latency a second when nothing holds it.
type vendor struct {
	clk     *connectortest.Clock
	latency time.Duration
	admit   func(now time.Time) (ok bool, retryAfter time.Duration)

	mu          sync.Mutex
	arrived     int
	refused     int
	first, last time.Time
}

func (v *vendor) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	v.mu.Lock()
	now := v.clk.Now()
	if v.first.IsZero() {
		v.first = now
	}
	v.last = now
	v.arrived++
	ok, wait := v.admit(now)
	if !ok {
		v.refused++
	}
	v.mu.Unlock()
	v.clk.Advance(v.latency)
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	io.WriteString(w, `{}`)
}

// tokenBucket admits perSec requests a second, burst at once.
func tokenBucket(perSec rate.Limit, burst int) func(time.Time) (bool, time.Duration) {
	lim := rate.NewLimiter(perSec, burst)
	return func(now time.Time) (bool, time.Duration) {
		res := lim.ReserveN(now, 1)
		if d := res.DelayFrom(now); d > 0 {
			res.CancelAt(now)
			return false, d
		}
		return true, 0
	}
}

// fixedWindows admits n requests per window of the clock, the window's
// first ones.
func fixedWindows(n int, window time.Duration) func(time.Time) (bool, time.Duration) {
	var start time.Time
	count := 0
	return func(now time.Time) (bool, time.Duration) {
		if s := now.Truncate(window); !s.Equal(start) {
			start, count = s, 0
		}
		if count >= n {
			return false, start.Add(window).Sub(now)
		}
		count++
		return true, 0
	}
}

// TestAdaptive_Vendor: a client sending one request at a time, five to
// fifty times as fast as a vendor allows, on a fake clock: with the
// adaptive rate the requests arriving over the run stay within 10% of the
// vendor's rate, and at most half as many are refused as without it from
// a vendor with a token bucket (with fixed windows: no more).
func TestAdaptive_Vendor(t *testing.T) {
	t.Parallel()
	const requests = 2000
	tests := []struct {
		name    string
		allowed float64 // requests a second
		admit   func() func(time.Time) (bool, time.Duration)
		// halves: the adaptive rate at least halves the refusals. A client
		// meeting fixed windows is refused one request in twenty: under
		// the 15% that lowers the rate, so the pause alone answers them.
		halves bool
	}{
		{"token bucket", 20, func() func(time.Time) (bool, time.Duration) { return tokenBucket(20, 5) }, true},
		{"slow token bucket", 2, func() func(time.Time) (bool, time.Duration) { return tokenBucket(2, 1) }, true},
		{"fixed windows of a second", 20, func() func(time.Time) (bool, time.Duration) { return fixedWindows(20, time.Second) }, false},
		{"fixed windows of ten seconds", 20, func() func(time.Time) (bool, time.Duration) { return fixedWindows(200, 10*time.Second) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			type result struct {
				rate    float64 // requests arriving a second
				refused int
			}
			read := func(adapt bool) result {
				clk := newClock()
				v := &vendor{clk: clk, latency: 10 * time.Millisecond, admit: tt.admit()}
				srv := httptest.NewServer(v)
				defer srv.Close()
				c, err := New(Options{BaseURL: srv.URL, Policy: Policy{
					InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxAttempts: 100, MaxElapsed: -1,
					Timer: connectortest.NewTimer(clk), Now: clk.Now,
				}})
				if err != nil {
					t.Fatal(err)
				}
				defer c.CloseIdleConnections()
				if !adapt {
					c.adapt = nil
				}
				for i := range requests {
					if err := c.Do(context.Background(), Request{Path: "/items", Label: fmt.Sprintf("page %d", i)}, nil); err != nil {
						t.Fatal(err)
					}
				}
				v.mu.Lock()
				defer v.mu.Unlock()
				return result{rate: float64(v.arrived) / v.last.Sub(v.first).Seconds(), refused: v.refused}
			}
			with, without := read(true), read(false)
			t.Logf("%d requests: with the adaptive rate %.1f a second arrived, %d refused; without it %.1f, %d refused; the vendor allows %v",
				requests, with.rate, with.refused, without.rate, without.refused, tt.allowed)
			if with.rate > 1.1*tt.allowed {
				t.Errorf("with the adaptive rate, %.1f requests a second arrived; want at most 10%% over the %v allowed", with.rate, tt.allowed)
			}
			switch {
			case tt.halves && with.refused*2 > without.refused:
				t.Errorf("with the adaptive rate %d requests were refused, without it %d; want at most half", with.refused, without.refused)
			case with.refused > without.refused:
				t.Errorf("with the adaptive rate %d requests were refused, without it %d; want no more", with.refused, without.refused)
			}
		})
	}
}

// TestAdaptive_Verdicts: 429s, or answers Policy.Classify calls
// RateLimited (a rate limit in a 200 body), three in a row, lower the
// client's rate and are retried as 429s; other retries leave the rate
// alone.
func TestAdaptive_Verdicts(t *testing.T) {
	t.Parallel()
	classify := func(resp *Response) Verdict {
		switch {
		case bytes.Contains(resp.Body, []byte("too many")):
			return RateLimited
		case bytes.Contains(resp.Body, []byte("busy")):
			return Retry
		}
		return Default
	}
	tests := []struct {
		name   string
		first  http.HandlerFunc
		wait   time.Duration
		reason string
		falls  bool
	}{
		{"429", status(429, "", "Retry-After", "3"), 3 * time.Second, ReasonRateLimit, true},
		{"429 without Retry-After", status(429, ""), DefaultRateLimitFloor, ReasonRateLimit, true},
		{"RateLimited on a 200", ok(`{"error":"too many requests"}`), DefaultRateLimitFloor, ReasonRateLimit, true},
		{"RateLimited with Retry-After", status(200, `{"error":"too many requests"}`, "Retry-After", "2"), 2 * time.Second, ReasonRateLimit, true},
		{"Retry on a 200", ok(`{"busy":true}`), 0, ReasonVendor, false},
		{"503 with Retry-After", status(503, "", "Retry-After", "3"), 3 * time.Second, ReasonServer, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, newScript(t, tt.first, tt.first, tt.first, ok(`{}`)), func(o *Options) { o.Policy.Classify = classify })
			if err := h.get(context.Background(), &things{}); err != nil {
				t.Fatalf("Do() = %v", err)
			}
			if diff := cmp.Diff([]string{tt.reason, tt.reason, tt.reason}, h.rec.Reasons()); diff != "" {
				t.Errorf("reasons mismatch (-want +got):\n%s", diff)
			}
			if w := h.timer.Waits(); len(w) != 3 || w[0] < tt.wait {
				t.Errorf("waits %v, want three of at least %v", w, tt.wait)
			}
			if got := h.client.adapt.limit(); (got != rate.Inf) != tt.falls {
				t.Errorf("the client's rate is %v after the retry; want it lowered: %v", got, tt.falls)
			}
		})
	}
}

// TestAdaptive_WaitCounted: once 429s have lowered the client's rate,
// requests wait for it on the policy's timer, and the waits count as time
// waited on rate limits.
func TestAdaptive_WaitCounted(t *testing.T) {
	t.Parallel()
	limited := status(429, "", "Retry-After", "1")
	srv := newScript(t, limited, limited, limited, ok(`{}`))
	clk := newClock()
	c, err := New(Options{BaseURL: srv.URL, Policy: Policy{
		InitialInterval: time.Millisecond, MaxInterval: time.Millisecond,
		Timer: connectortest.NewTimer(clk), Now: clk.Now,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	var rc RetryCounter
	ctx := WithRetryCounter(context.Background(), &rc)
	for range 3 {
		if err := c.Do(ctx, Request{Path: "/things"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// The third 429, two seconds after the first, lowers the rate from 1.5
	// a second (three requests in two seconds) to its floor, one per
	// Retry-After: one a second. The last retry takes the limiter's one
	// slot; the next two requests wait a second each.
	if got := c.adapt.limit(); got != 1 {
		t.Errorf("rate %v a second, want 1", got)
	}
	if got := rc.Waited(); got != 2*time.Second {
		t.Errorf("waited %v on rate limits, want 2s", got)
	}
}

func TestRetryCounter_Count(t *testing.T) {
	var c RetryCounter
	ctx := WithRetryCounter(context.Background(), &c)
	countRetry(ctx, ReasonRateLimit)
	countRetry(ctx, ReasonRateLimit)
	countRetry(ctx, "server_error")
	for reason, want := range map[string]int64{ReasonRateLimit: 2, "server_error": 1, "lag_401": 0} {
		if got := c.Count(reason); got != want || got != c.Counts()[reason] {
			t.Errorf("Count(%q) = %d, want %d (Counts says %d)", reason, got, want, c.Counts()[reason])
		}
	}
}
