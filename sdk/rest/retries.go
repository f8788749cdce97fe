package rest

import (
	"context"
	"maps"
	"sync"
	"time"
)

// A RetryCounter counts retries by reason (the Reason constants) and the
// time spent waiting on rate limits: every retry and wait of Client.Do
// under a context from WithRetryCounter is counted in its counter. Package stream keeps one per stream for its progress
// reports. The zero value is ready to use and safe for concurrent use.
type RetryCounter struct {
	mu     sync.Mutex
	n      map[string]int64
	waited time.Duration
}

type retryKey struct{}

// WithRetryCounter returns ctx carrying c.
func WithRetryCounter(ctx context.Context, c *RetryCounter) context.Context {
	return context.WithValue(ctx, retryKey{}, c)
}

// Counts returns the retries counted so far by reason, a copy; nil if none.
func (c *RetryCounter) Counts() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// Count returns the retries counted so far for reason, without copying
// the others.
func (c *RetryCounter) Count(reason string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[reason]
}

// Waited returns the time requests spent waiting on rate limits so far:
// the client's and the request's limiters, the client's adaptive rate
// once a 429 has lowered it, and the pauses a 429 set.
func (c *RetryCounter) Waited() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waited
}

// countWait adds d to the time waited of the counter in ctx, if any.
func countWait(ctx context.Context, d time.Duration) {
	if c, ok := ctx.Value(retryKey{}).(*RetryCounter); ok {
		c.mu.Lock()
		c.waited += d
		c.mu.Unlock()
	}
}

// countRetry adds a retry with reason to the counter in ctx, if any.
func countRetry(ctx context.Context, reason string) {
	if c, ok := ctx.Value(retryKey{}).(*RetryCounter); ok {
		c.mu.Lock()
		if c.n == nil {
			c.n = map[string]int64{}
		}
		c.n[reason]++
		c.mu.Unlock()
	}
}
