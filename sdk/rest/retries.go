package rest

import (
	"context"
	"maps"
	"sync"
)

// A RetryCounter counts retries by reason (the Reason constants): every
// retry Client.Do makes under a context from WithRetryCounter is counted
// in its counter. Package stream keeps one per stream for its progress
// reports. The zero value is ready to use and safe for concurrent use.
type RetryCounter struct {
	mu sync.Mutex
	n  map[string]int64
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
