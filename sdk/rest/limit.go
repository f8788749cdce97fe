package rest

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// waitLimiters waits out a pause the vendor asked for (see pause), then
// on the client's limiter, then on the request's.
func (r *run) waitLimiters() *failure {
	if err := r.waitPause(); err != nil {
		return &failure{msg: "waiting for the vendor's rate limit", err: ctxErr(r.ctx, err)}
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
	if w := r.c.pol.WarnWait; w > 0 && d >= w {
		r.c.log.WarnContext(r.ctx, "rest: waiting for the rate limit", "connector", r.c.name, "request", r.c.label(r.req), "wait", d.Round(time.Millisecond).String())
	}
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
	// Policy.Timer, when set (tests), keeps the pause on the test's clock.
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
		countWait(r.ctx, d)
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}
