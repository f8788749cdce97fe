package rest

import (
	"errors"
	"fmt"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// waitLimiters waits out a pause the vendor asked for (see pause), then
// on the client's adaptive rate (see adaptive), on the client's limiter,
// and on the request's.
func (r *run) waitLimiters() *failure {
	if err := r.waitPause(); err != nil {
		return &failure{msg: "waiting for the vendor's rate limit", err: ctxErr(r.ctx, err)}
	}
	if err := r.waitAdaptive(); err != nil {
		return &failure{msg: "waiting for the rate limiter", err: ctxErr(r.ctx, err)}
	}
	for _, lim := range []*rate.Limiter{r.c.limiter, r.req.Limiter} {
		if lim == nil {
			continue
		}
		if err := r.waitLimiter(lim); err != nil {
			return &failure{msg: "waiting for the rate limiter", err: ctxErr(r.ctx, err)}
		}
	}
	return nil
}

// errLimiterDeadline is returned when a limiter's wait would outlast the
// request's context, as rate.Limiter.Wait does.
var errLimiterDeadline = errors.New("the rate limiter's wait would exceed the context deadline")

// waitLimiter is rate.Limiter.Wait for one request, logging at Warn when the
// wait is at least Policy.WarnWait.
func (r *run) waitLimiter(lim *rate.Limiter) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	res := lim.Reserve()
	if !res.OK() {
		return fmt.Errorf("the rate limiter (burst %d) admits no request", lim.Burst())
	}
	d := res.Delay()
	if d <= 0 {
		return nil
	}
	if dl, ok := r.ctx.Deadline(); ok && time.Until(dl) < d {
		res.Cancel()
		return errLimiterDeadline
	}
	r.warnWait(d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		countWait(r.ctx, d)
		return nil
	case <-r.ctx.Done():
		res.Cancel()
		return r.ctx.Err()
	}
}

// warnWait logs a limiter's wait of d at Warn when it is at least
// Policy.WarnWait.
func (r *run) warnWait(d time.Duration) {
	if w := r.c.pol.WarnWait; w > 0 && d >= w {
		r.c.log.WarnContext(r.ctx, "rest: waiting for the rate limit", "connector", r.c.name, "request", r.c.label(r.req), "wait", d.Round(time.Millisecond).String())
	}
}

// waitAdaptive waits for the client's adaptive rate, when it binds. Its
// slot is taken on Policy.Now and waited on Policy.Timer, when set, so
// tests on a fake clock see the time pass.
func (r *run) waitAdaptive() error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	d, cancel := r.c.adapt.reserve(r.c.pol.Now())
	if d <= 0 {
		return nil
	}
	if dl, ok := r.ctx.Deadline(); ok && time.Until(dl) < d {
		cancel()
		return errLimiterDeadline
	}
	r.warnWait(d)
	if err := r.sleep(d); err != nil {
		cancel()
		return err
	}
	countWait(r.ctx, d)
	return nil
}

// slowDown lowers the client's adaptive rate after the vendor refused this
// request's last attempt for its rate limit; the retry waits wait.
func (r *run) slowDown(wait time.Duration) {
	from, to, fell := r.c.adapt.limited(r.sent, wait)
	if fell {
		r.c.log.InfoContext(r.ctx, "rest: the vendor limits the request rate; lowering it", "connector", r.c.name, "request", r.c.label(r.req),
			"from_per_minute", perMinute(from), "to_per_minute", perMinute(to))
	}
}

// accepted counts a response the vendor did not refuse for its rate
// limit, towards growing the adaptive rate back.
func (r *run) accepted() {
	if to, grew := r.c.adapt.succeeded(); grew {
		r.c.log.DebugContext(r.ctx, "rest: raising the request rate", "connector", r.c.name, "to_per_minute", perMinute(to))
	}
}

// perMinute is l in requests a minute, rounded to a tenth, for logs; -1
// for no limit.
func perMinute(l rate.Limit) float64 {
	if l == rate.Inf {
		return -1
	}
	return math.Round(float64(l)*600) / 10
}

// pause holds every request of the client until d from now: a 429 says
// the account is over the vendor's limit, so the requests in flight for
// other pages and streams would only be refused too. It is the shared
// back-off of the client's rate limiting; a pause never shortens one
// already set.
func (c *Client) pause(d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	until := c.pol.Now().Add(d)
	c.pauseMu.Lock()
	defer c.pauseMu.Unlock()
	if until.After(c.pausedUntil) {
		c.pausedUntil = until
	}
	return c.pausedUntil
}

// waitPause waits until the client's pause, if any, has passed.
func (r *run) waitPause() error {
	r.c.pauseMu.Lock()
	until := r.c.pausedUntil
	r.c.pauseMu.Unlock()
	d := until.Sub(r.c.pol.Now())
	if d <= 0 || until.Equal(r.paused) {
		return nil // none, or this request's own, which its retry waited out
	}
	if err := r.sleep(d); err != nil {
		return err
	}
	countWait(r.ctx, d)
	return nil
}

// sleep waits d, or until the request's context ends. Policy.Timer, when
// set (tests), keeps the wait on the test's clock.
func (r *run) sleep(d time.Duration) error {
	var c <-chan time.Time
	if tm := r.c.pol.Timer; tm != nil {
		tm.Start(d)
		defer tm.Stop()
		c = tm.C()
	} else {
		t := time.NewTimer(d)
		defer t.Stop()
		c = t.C
	}
	select {
	case <-c:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}
