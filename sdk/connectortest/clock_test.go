package connectortest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/google/go-cmp/cmp"
)

var _ backoff.Timer = (*Timer)(nil)

var clockStart = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestClock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		move func(*Clock)
		want time.Time
	}{
		{"new", func(*Clock) {}, clockStart},
		{"advance", func(c *Clock) { c.Advance(90 * time.Second) }, clockStart.Add(90 * time.Second)},
		{"advance twice", func(c *Clock) { c.Advance(time.Hour); c.Advance(-time.Minute) }, clockStart.Add(59 * time.Minute)},
		{"set", func(c *Clock) { c.Set(clockStart.AddDate(1, 0, 0)) }, clockStart.AddDate(1, 0, 0)},
		{"set then advance", func(c *Clock) { c.Set(time.Unix(0, 0)); c.Advance(time.Second) }, time.Unix(1, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewClock(clockStart)
			tt.move(c)
			if got := c.Now(); !got.Equal(tt.want) {
				t.Errorf("Now() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClockConcurrent(t *testing.T) {
	t.Parallel()
	c := NewClock(clockStart)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got, want := c.Now(), clockStart.Add(800*time.Second); !got.Equal(want) {
		t.Errorf("Now() = %v, want %v", got, want)
	}
}

func TestTimer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		clk     *Clock
		waits   []time.Duration
		wantNow time.Time
	}{
		{"no clock", nil, []time.Duration{time.Second, 2 * time.Second}, time.Time{}},
		{"no waits", NewClock(clockStart), nil, clockStart},
		{"advances clock", NewClock(clockStart), []time.Duration{time.Second, 2 * time.Second}, clockStart.Add(3 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tm := NewTimer(tt.clk)
			for _, d := range tt.waits {
				tm.Start(d)
				select {
				case <-tm.C():
				default:
					t.Fatalf("C() not ready after Start(%v)", d)
				}
				tm.Stop()
			}
			if diff := cmp.Diff(tt.waits, tm.Waits()); diff != "" {
				t.Errorf("Waits() (-want +got):\n%s", diff)
			}
			if tt.clk != nil {
				if got := tt.clk.Now(); !got.Equal(tt.wantNow) {
					t.Errorf("clock Now() = %v, want %v", got, tt.wantNow)
				}
			}
		})
	}
}

func TestTimerWaitsIsACopy(t *testing.T) {
	t.Parallel()
	tm := NewTimer(nil)
	tm.Start(time.Second)
	w := tm.Waits()
	w[0] = time.Hour
	if diff := cmp.Diff([]time.Duration{time.Second}, tm.Waits()); diff != "" {
		t.Errorf("Waits() after changing a copy (-want +got):\n%s", diff)
	}
}

func TestRetryNotifyWithTimer(t *testing.T) {
	t.Parallel()
	clk := NewClock(clockStart)
	tm := NewTimer(clk)
	n := 0
	op := func() error {
		n++
		if n < 3 {
			return errTemp
		}
		return nil
	}
	b := backoff.NewConstantBackOff(5 * time.Second)
	if err := backoff.RetryNotifyWithTimer(op, b, nil, tm); err != nil {
		t.Fatalf("RetryNotifyWithTimer: %v", err)
	}
	if diff := cmp.Diff([]time.Duration{5 * time.Second, 5 * time.Second}, tm.Waits()); diff != "" {
		t.Errorf("Waits() (-want +got):\n%s", diff)
	}
	if got, want := clk.Now(), clockStart.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("clock Now() = %v, want %v", got, want)
	}
}

var errTemp = errors.New("temporary")
