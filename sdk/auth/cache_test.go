package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// fakeGrant issues numbered tokens and records the refresh values it got.
type fakeGrant struct {
	mu        sync.Mutex
	n         int
	refreshes []string // the Refresh value of each Fetch's previous token ("" for none)
	lifetime  time.Duration
	now       func() time.Time
	fail      func(n int) error // optional scripted failure
	gate      chan struct{}     // optional: Fetch waits for it
	entered   chan struct{}     // optional: signalled when Fetch starts
}

func (g *fakeGrant) Fetch(ctx context.Context, prev *Token) (*Token, error) {
	if g.entered != nil {
		g.entered <- struct{}{}
	}
	if g.gate != nil {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	r := ""
	if prev != nil {
		r = prev.Refresh.Reveal()
	}
	g.refreshes = append(g.refreshes, r)
	if g.fail != nil {
		if err := g.fail(g.n); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	if g.now != nil {
		now = g.now()
	}
	tok := &Token{Value: Secret(fmt.Sprintf("access-%d", g.n)), Refresh: Secret(fmt.Sprintf("refresh-%d", g.n)), Issued: now}
	if g.lifetime > 0 {
		tok.Expiry = now.Add(g.lifetime)
	}
	return tok, nil
}

func (g *fakeGrant) calls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// newClock returns a test clock at this file's start time.
func newClock() *connectortest.Clock {
	return connectortest.NewClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
}

func TestCacheSingleFlight(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testCacheSingleFlight)
}

func testCacheSingleFlight(t *testing.T) {
	g := &fakeGrant{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	c := NewCache(g, CacheOptions{})
	ctx := context.Background()
	const callers = 20
	var wg sync.WaitGroup
	got := make([]*Token, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = c.Token(ctx)
		}()
	}
	<-g.entered     // one caller is fetching;
	synctest.Wait() // the others are waiting for it
	close(g.gate)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || got[i] != got[0] {
			t.Fatalf("caller %d got %v, %v; want the shared token", i, got[i], errs[i])
		}
	}
	if n := g.calls(); n != 1 {
		t.Errorf("Fetch called %d times for %d concurrent callers, want 1", n, callers)
	}
	if n := c.Logins(); n != 1 {
		t.Errorf("Logins() = %d, want 1", n)
	}
}

func TestCacheEarlyRefreshAndRotation(t *testing.T) {
	t.Parallel()
	clk := newClock()
	g := &fakeGrant{lifetime: time.Hour, now: clk.Now}
	c := NewCache(g, CacheOptions{Now: clk.Now})
	ctx := context.Background()
	tok := func() *Token {
		t.Helper()
		tk, err := c.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	t1 := tok()
	clk.Advance(58 * time.Minute)
	if t2 := tok(); t2 != t1 {
		t.Fatalf("token replaced 2 minutes before expiry; EarlyRefresh is 60 s")
	}
	clk.Advance(time.Minute + time.Second) // within 60 s of expiry
	t3 := tok()
	if t3 == t1 {
		t.Fatalf("token not refreshed 59 s before expiry")
	}
	c.Invalidate(t1) // stale: must not drop t3
	if t4 := tok(); t4 != t3 {
		t.Fatalf("Invalidate(old token) dropped the current one")
	}
	c.Invalidate(t3)
	tok()
	// Each refresh token is offered exactly once, and always the newest.
	if diff := cmp.Diff([]string{"", "refresh-1", "refresh-2"}, g.refreshes); diff != "" {
		t.Errorf("refresh tokens passed to Fetch mismatch (-want +got):\n%s", diff)
	}
}

func TestCacheShortLivedToken(t *testing.T) {
	t.Parallel()
	clk := newClock()
	g := &fakeGrant{lifetime: 30 * time.Second, now: clk.Now}
	c := NewCache(g, CacheOptions{Now: clk.Now})
	for range 5 {
		if _, err := c.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Logins(); n != 1 {
		t.Errorf("a 30 s token was requested %d times in a row; early refresh must shrink to half its life", n)
	}
}

func TestCacheRefreshNotReusedAfterFailure(t *testing.T) {
	t.Parallel()
	g := &fakeGrant{fail: func(n int) error {
		if n == 2 {
			return fmt.Errorf("down: %w", protocol.ErrTemporary)
		}
		return nil
	}}
	c := NewCache(g, CacheOptions{})
	ctx := context.Background()
	t1, _ := c.Token(ctx)
	c.Invalidate(t1)
	if _, err := c.Token(ctx); !errors.Is(err, protocol.ErrTemporary) {
		t.Fatalf("Token() error = %v, want ErrTemporary", err)
	}
	if _, err := c.Token(ctx); err != nil {
		t.Fatal(err)
	}
	// The refresh token of t1 went to the failed request and is not sent again.
	if diff := cmp.Diff([]string{"", "refresh-1", ""}, g.refreshes); diff != "" {
		t.Errorf("refresh tokens passed to Fetch mismatch (-want +got):\n%s", diff)
	}
}

func TestCacheMaxLogins(t *testing.T) {
	t.Parallel()
	g := &fakeGrant{}
	c := NewCache(g, CacheOptions{MaxLogins: 3})
	ctx := context.Background()
	for i := range 3 {
		tok, err := c.Token(ctx)
		if err != nil {
			t.Fatalf("login %d: %v", i+1, err)
		}
		c.Invalidate(tok)
	}
	_, err := c.Token(ctx)
	if !errors.Is(err, protocol.ErrAuth) {
		t.Fatalf("Token() after the cap = %v, want an error wrapping ErrAuth", err)
	}
	if n := g.calls(); n != 3 {
		t.Errorf("Fetch called %d times, want 3 (the cap)", n)
	}
	t.Logf("cap error: %v", err)
}

func TestCacheFailureIsSticky(t *testing.T) {
	t.Parallel()
	for _, class := range []error{protocol.ErrAuth, protocol.ErrConfig} {
		g := &fakeGrant{fail: func(int) error { return fmt.Errorf("rejected: %w", class) }}
		c := NewCache(g, CacheOptions{})
		for range 5 {
			if _, err := c.Token(context.Background()); !errors.Is(err, class) {
				t.Fatalf("Token() = %v, want %v", err, class)
			}
		}
		if n := g.calls(); n != 1 {
			t.Errorf("%v: the failed login was retried: %d Fetch calls, want 1", class, n)
		}
	}
}

func TestCacheWaiterContext(t *testing.T) {
	t.Parallel()
	g := &fakeGrant{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	c := NewCache(g, CacheOptions{})
	leaderDone := make(chan error, 1)
	go func() {
		_, err := c.Token(context.Background())
		leaderDone <- err
	}()
	<-g.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("waiter with a cancelled ctx: err = %v, want context.Canceled", err)
	}
	close(g.gate)
	if err := <-leaderDone; err != nil {
		t.Errorf("leader: %v", err)
	}
}

func TestCacheLeaderCancelled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testCacheLeaderCancelled)
}

func testCacheLeaderCancelled(t *testing.T) {
	g := &fakeGrant{gate: make(chan struct{}), entered: make(chan struct{}, 2)}
	c := NewCache(g, CacheOptions{})
	lctx, lcancel := context.WithCancel(context.Background())
	leaderDone := make(chan error, 1)
	go func() {
		_, err := c.Token(lctx)
		leaderDone <- err
	}()
	<-g.entered
	waiterDone := make(chan error, 1)
	go func() {
		_, err := c.Token(context.Background())
		waiterDone <- err
	}()
	synctest.Wait() // the waiter is queued behind the leader
	lcancel()
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Errorf("leader err = %v, want context.Canceled", err)
	}
	<-g.entered // the waiter, whose ctx is alive, makes its own request
	close(g.gate)
	if err := <-waiterDone; err != nil {
		t.Errorf("waiter err = %v, want a token", err)
	}
}
