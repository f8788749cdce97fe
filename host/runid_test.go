package host

import (
	"testing"
	"time"
)

func TestNewRunID_SortsByTime(t *testing.T) {
	base := time.Date(2026, 11, 23, 12, 12, 44, 0, time.UTC)
	tests := []struct {
		name string
		gap  time.Duration
	}{
		{"same second", time.Millisecond},
		{"next second", time.Second},
		{"next day", 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 50 { // the random suffix must never decide the order
				a, b := NewRunID(base), NewRunID(base.Add(tt.gap))
				if a >= b {
					t.Fatalf("NewRunID(t) = %q, NewRunID(t+%v) = %q: not in time order", a, tt.gap, b)
				}
			}
		})
	}
}
