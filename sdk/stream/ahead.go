package stream

import (
	"context"
	"net/url"
	"sync"

	"github.com/quiver-etl/quiver/sdk/rest"
)

// DefaultPageConcurrency is ReadOptions.PageConcurrency's default.
const DefaultPageConcurrency = 1

// ahead fetches a stream's next pages while the paging loop decodes and
// writes the current one, for a listing whose Pager is a rest.Prefetcher
// (see prefetch): the next page always (its request is known once the
// current page is decoded), and, for a listing
// whose size is known (a rest.Ahead paging), the pages after it, up to the
// window. The loop takes a fetched page only if its request is exactly the
// one the paging makes for that page; anything else is dropped and
// cancelled. Pages are therefore decoded, written and checkpointed in
// order, one at a time, exactly as without it; only the waiting overlaps.
//
// The window adapts (AIMD): it halves, down to 1, when the stream's
// requests meet a rate limit (a 429 retry), and grows by one after a
// window's worth of pages without one, up to max. Not safe for concurrent
// use: the paging loop owns it.
type ahead struct {
	c       *rest.Client
	ctx     context.Context
	limited func() int64 // the stream's rate-limit retries so far
	max     int          // the most requests in flight

	queue  []*pageFetch // in page order
	wg     sync.WaitGroup
	window int // requests in flight the loop may keep now
	run    int // pages taken since the window last changed
	limits int64
	peak   int // the most pages in flight so far
}

// pageFetch is one page requested ahead of the paging loop.
type pageFetch struct {
	key    string
	cancel context.CancelFunc
	done   chan struct{}
	body   []byte
	url    *url.URL
	err    error
}

// newAhead returns an ahead for the stream whose retries are counted in
// retries.
func newAhead(ctx context.Context, c *rest.Client, retries *rest.RetryCounter, max int) *ahead {
	if max < 1 {
		max = DefaultPageConcurrency
	}
	limited := func() int64 { return retries.Count(rest.ReasonRateLimit) }
	return &ahead{c: c, ctx: ctx, limited: limited, max: max, window: max}
}

// take returns the page fetched ahead for req, waiting for it, or ok false
// when none was: then the loop fetches req itself. It also moves the
// window: down on a rate limit met since the last call, up after a run of
// pages without one.
func (a *ahead) take(req rest.Request) (body []byte, u *url.URL, err error, ok bool) {
	a.adapt()
	if len(a.queue) == 0 || a.queue[0].key != requestKey(req) {
		a.drop(0)
		return nil, nil, nil, false
	}
	f := a.queue[0]
	a.queue = a.queue[1:]
	<-f.done
	f.cancel()
	return f.body, f.url, f.err, true
}

// adapt halves the window on a rate limit met since the last call, and
// adds one after a window's worth of calls without one.
func (a *ahead) adapt() {
	limits := a.limited()
	switch {
	case limits > a.limits:
		a.limits = limits
		a.window = max(1, a.window/2)
		a.run = 0
		a.drop(a.window) // the pages past the new window are asked again later
	case a.window < a.max:
		if a.run++; a.run >= a.window {
			a.window++
			a.run = 0
		}
	}
}

// want fetches reqs, the pages after the current one in order (the first
// is the next page's exact request), up to the window: a page already
// requested in its place is kept, the others from the first difference on
// are dropped.
func (a *ahead) want(reqs []rest.Request) {
	reqs = reqs[:min(len(reqs), a.window)]
	i := 0
	for ; i < len(a.queue) && i < len(reqs); i++ {
		if a.queue[i].key != requestKey(reqs[i]) {
			break
		}
	}
	a.drop(i)
	for _, req := range reqs[i:] {
		a.fetch(req)
	}
	a.peak = max(a.peak, len(a.queue))
}

// fetch starts a request for req on a goroutine of its own.
func (a *ahead) fetch(req rest.Request) {
	ctx, cancel := context.WithCancel(a.ctx)
	f := &pageFetch{key: requestKey(req), cancel: cancel, done: make(chan struct{})}
	a.queue = append(a.queue, f)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer close(f.done)
		f.err = a.c.Do(ctx, req, func(resp *rest.Response) error {
			f.body, f.url = resp.Body, resp.URL
			return nil
		})
	}()
}

// drop cancels the fetches from queue[i] on.
func (a *ahead) drop(i int) {
	if i >= len(a.queue) {
		return
	}
	for _, f := range a.queue[i:] {
		f.cancel()
	}
	a.queue = a.queue[:i]
}

// close cancels what is still in flight and waits for it.
func (a *ahead) close() {
	a.drop(0)
	a.wg.Wait()
}

// requestKey identifies a request by what is sent: method, path and
// query (url.Values.Encode sorts the parameters).
func requestKey(req rest.Request) string {
	return req.Method + " " + req.Path + "?" + url.Values(req.Query).Encode()
}
