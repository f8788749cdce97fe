package blobstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable time for leases.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// leaseClock returns a settable clock and the options of a one-minute
// lease on it for a holder.
func leaseClock() (*clock, func(holder string) LeaseOptions) {
	clk := &clock{t: time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)}
	return clk, func(holder string) LeaseOptions {
		return LeaseOptions{TTL: time.Minute, Holder: holder, Now: clk.now}
	}
}

func TestLease(t *testing.T) {
	ctx := context.Background()
	for name, openStore := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := openStore(t)
			clk, opts := leaseClock()
			a, err := s.AcquireLease(ctx, "locks/acme", opts("a"))
			if err != nil {
				t.Fatal(err)
			}
			var held *HeldError
			if _, err := s.AcquireLease(ctx, "locks/acme", opts("b")); !errors.As(err, &held) || held.Holder != "a" {
				t.Fatalf("b acquired a held lease: %v", err)
			}
			// Renewing keeps it past the first expiry.
			clk.add(50 * time.Second)
			if err := a.Renew(ctx); err != nil {
				t.Fatal(err)
			}
			clk.add(50 * time.Second)
			if _, err := s.AcquireLease(ctx, "locks/acme", opts("b")); !errors.As(err, &held) {
				t.Fatalf("b acquired a renewed lease: %v", err)
			}
			// A holder that stops renewing (a crash) loses it at expiry.
			clk.add(11 * time.Second)
			b, err := s.AcquireLease(ctx, "locks/acme", opts("b"))
			if err != nil {
				t.Fatalf("b could not take an expired lease: %v", err)
			}
			if err := a.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("a renewed a lease b took: %v", err)
			}
			// Release lets the next holder in at once.
			if err := b.Release(ctx); err != nil {
				t.Fatal(err)
			}
			c, err := s.AcquireLease(ctx, "locks/acme", opts("c"))
			if err != nil {
				t.Fatalf("c could not take a released lease: %v", err)
			}
			// Old objects are cleaned up: at most the current and the one before.
			objs, err := s.List(ctx, "locks/acme/")
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) > 2 {
				t.Errorf("%d lease objects left: %v", len(objs), objs)
			}
			if err := c.Release(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLeaseRace: of many holders acquiring one free lease at once, exactly
// one gets it and the others get a HeldError.
func TestLeaseRace(t *testing.T) {
	ctx := context.Background()
	for name, openStore := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := openStore(t)
			const n = 6
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.AcquireLease(ctx, "locks/acme", LeaseOptions{TTL: time.Hour, Holder: fmt.Sprint("h", i)})
					var held *HeldError
					switch {
					case err == nil:
						wins.Add(1)
					case !errors.As(err, &held):
						t.Errorf("holder %d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Errorf("%d holders acquired the lease, want 1", wins.Load())
			}
		})
	}
}

// TestLease_RenewAfterTakeover: a holder that paused past its expiry,
// while another took the lease and renewed it twice (its cleanup deleting
// the numbers the first would create next), cannot renew: its create
// succeeds, but its object is not the highest. The new holder keeps it.
func TestLease_RenewAfterTakeover(t *testing.T) {
	ctx := context.Background()
	for name, openStore := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := openStore(t)
			clk, opts := leaseClock()
			a, err := s.AcquireLease(ctx, "locks/acme", opts("a"))
			if err != nil {
				t.Fatal(err)
			}
			clk.add(2 * time.Minute) // a pauses past its expiry
			b, err := s.AcquireLease(ctx, "locks/acme", opts("b"))
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := b.Renew(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := a.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
				t.Fatalf("a renewed a lease b took and renewed twice: %v", err)
			}
			if err := b.Renew(ctx); err != nil {
				t.Errorf("b lost its lease to a's late renewal: %v", err)
			}
			var held *HeldError
			if _, err := s.AcquireLease(ctx, "locks/acme", opts("c")); !errors.As(err, &held) || held.Holder != "b" {
				t.Errorf("c acquiring: %v, want held by b", err)
			}
		})
	}
}
