package rest

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// waitLimiters waits on the client's limiter, then on the request's.
func (r *run) waitLimiters() *failure {
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
		return nil
	case <-r.ctx.Done():
		res.Cancel()
		return r.ctx.Err()
	}
}
