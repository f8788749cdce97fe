package main

import (
	"testing"
	"time"

	"github.com/quiver-etl/quiver/connectors/capillary/capillarysim"
)

// TestShiftFor: the simulator's clock, shifted, starts a minute exactly the
// lead after the run starts, so the measured minute is one whole window.
func TestShiftFor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start string
		lead  time.Duration
		want  time.Duration
	}{
		{"mid-minute", "2026-12-06T18:45:10Z", 20 * time.Second, 30 * time.Second},
		{"lead ends on a minute", "2026-12-06T18:45:40Z", 20 * time.Second, time.Minute},
		{"past the minute", "2026-12-06T18:45:50.5Z", 20 * time.Second, 49*time.Second + 500*time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, err := time.Parse(time.RFC3339Nano, tc.start)
			if err != nil {
				t.Fatal(err)
			}
			got := shiftFor(start, tc.lead)
			if got != tc.want {
				t.Errorf("shiftFor = %v, want %v", got, tc.want)
			}
			if at := start.Add(tc.lead).Add(got); !at.Equal(at.Truncate(time.Minute)) {
				t.Errorf("the simulator's clock reads %v at start+lead, not a whole minute", at)
			}
		})
	}
}

// TestAdmitted: the requests the simulator's limit let through leave out
// its 429s and the token refusals it makes before the limit counts.
func TestAdmitted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stats capillarysim.Stats
		want  int
	}{
		{"none", capillarysim.Stats{}, 0},
		{"all admitted", capillarysim.Stats{Requests: map[string]int{"customers": 7, "transactions": 3}}, 10},
		{"refusals left out", capillarysim.Stats{
			Requests:    map[string]int{"customers": 20},
			RateLimited: 5, InvalidTokens: 1, ExpiredTokens: 2,
			Busy: 3, // the limit counted these: they stay in
		}, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := admitted(tc.stats); got != tc.want {
				t.Errorf("admitted = %d, want %d", got, tc.want)
			}
		})
	}
}
