package connectortest

// A settable clock and a backoff timer that fires at once, for tests that
// must control time without sleeping. A Clock's Now method fits wherever
// code takes a func() time.Time:
//
//	clk := connectortest.NewClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
//	srv := sim.NewServer(t, sim.Options{Now: clk.Now})
//	clk.Advance(time.Hour)

import (
	"slices"
	"sync"
	"time"
)

// Clock is a clock that moves only when told. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock that reads t until it is advanced or set.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d (backward if d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Timer is a backoff.Timer (github.com/cenkalti/backoff/v4) that never
// waits: its channel is always ready. It records each wait asked of it and,
// if it was made with a Clock, advances that clock by the wait, so code
// reading the clock sees the time pass. It is safe for concurrent use.
type Timer struct {
	clk   *Clock
	fired chan time.Time // closed: always ready

	mu    sync.Mutex
	waits []time.Duration
}

// NewTimer returns a Timer that advances clk on each Start; clk may be nil,
// and then no clock moves.
func NewTimer(clk *Clock) *Timer {
	c := make(chan time.Time)
	close(c)
	return &Timer{clk: clk, fired: c}
}

// Start records the wait d and advances the timer's clock, if any, by d.
func (t *Timer) Start(d time.Duration) {
	t.mu.Lock()
	t.waits = append(t.waits, d)
	t.mu.Unlock()
	if t.clk != nil {
		t.clk.Advance(d)
	}
}

// Stop does nothing: a Timer has nothing to stop.
func (t *Timer) Stop() {}

// C returns a channel that is always ready. The times received from it are
// zero.
func (t *Timer) C() <-chan time.Time { return t.fired }

// Waits returns a copy of the waits asked of the timer so far, in order.
func (t *Timer) Waits() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.waits)
}
