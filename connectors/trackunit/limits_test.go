package trackunit

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/connectors/trackunit/trackunitsim"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// TestLocations_PerPageLimit: the locations list allows one request per
// page per interval. A page fetched again (its first answer was cut) waits
// on the connector's limiter and is not refused; without the limiter the
// API answers 429 and the retry waits out the Retry-After.
//
// Without the limiter, the simulator and the client's waits run on a
// Clock that moves only by the client's waits, so the page fetched again
// always comes inside the interval, however slow the machine. With it,
// the limiter waits in real time (rate.Limiter has no clock) twice the
// API's interval, and a slow machine only spaces the requests further.
func TestLocations_PerPageLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		interval    time.Duration // the connector's locations limiter
		clock       bool          // the simulator and the client's waits on a Clock
		rateLimited int
	}{
		{"limiter slower than the API's limit", 400 * time.Millisecond, false, 0},
		{"no limiter", time.Microsecond, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			tune := fast(mem)
			tune.locationInterval = tt.interval
			var now func() time.Time
			if tt.clock {
				clk := connectortest.NewClock(time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC))
				now, tune.policy.Now, tune.policy.Timer = clk.Now, clk.Now, connectortest.NewTimer(clk)
			}
			srv := trackunitsim.NewServer(t, simOptions(func(o *trackunitsim.Options) {
				o.LocationInterval = 200 * time.Millisecond
				o.CursorEnd = trackunitsim.CursorNull
				o.Counts = map[string]int{StreamLocations: 30}
				o.Now = now
			}))
			srv.Faults.FailNext(1, fault.Malformed) // served, then cut: the page is fetched again
			src := open(t, srv, map[string]any{"page_size": 10}, tune, nil)
			checkRead(t, srv, read(t, src, sdk.FullRefresh, nil, StreamLocations))
			if got := srv.Stats().RateLimited[StreamLocations]; got != tt.rateLimited {
				t.Errorf("%d requests refused with 429, want %d", got, tt.rateLimited)
			}
		})
	}
}

// TestFleet_PerURLLimit: each sync reads each AEMP page once, so repeated
// syncs draw on the per-URL pool of extra requests; once it is used up,
// the 429's Retry-After (up to 15 minutes) is above the retry cap and the
// stream fails at once as temporary instead of stalling the run.
func TestFleet_PerURLLimit(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	srv := trackunitsim.NewServer(t, simOptions(func(o *trackunitsim.Options) {
		o.AEMPWindow = 0 // the documented 15 minutes
		o.AEMPPool = 1
		o.AEMPPageSize = 10
		o.Counts = map[string]int{StreamFleetSnapshot: 20}
	}))
	src := open(t, srv, nil, fast(mem), nil)
	for run := 1; run <= 2; run++ {
		res := read(t, src, sdk.FullRefresh, nil, StreamFleetSnapshot)
		complete(t, res)
		if n := len(res[StreamFleetSnapshot].rows); n != 20 {
			t.Fatalf("run %d: %d rows, want 20", run, n)
		}
	}
	start := time.Now()
	r := read(t, src, sdk.FullRefresh, nil, StreamFleetSnapshot)[StreamFleetSnapshot]
	if r.status != protocol.Failed || !errors.Is(r.err, sdk.ErrTemporary) {
		t.Fatalf("third run: status %v, error %v; want a temporary failure", r.status, r.err)
	}
	if !strings.Contains(r.err.Error(), "above the") {
		t.Errorf("the error does not say the wait is above the cap: %v", r.err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the third run took %v to fail", d)
	}
	if got := srv.Stats().RateLimited[StreamFleetSnapshot]; got != 1 {
		t.Errorf("%d requests refused, want 1 (the first refusal ends the stream)", got)
	}
}

// TestEvents_RateLimited: a 429 is retried after its Retry-After, counts as
// a retry, and a wait that long is logged at Warn.
func TestEvents_RateLimited(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	srv := trackunitsim.NewServer(t, simOptions(func(o *trackunitsim.Options) {
		o.EventLogLimit = 2
		o.EventLogWindow = 300 * time.Millisecond
		o.Counts = map[string]int{StreamAssetEvents: 40}
	}))
	tune := fast(mem)
	tune.policy.WarnWait = 500 * time.Millisecond // the 429 asks for a second
	logs := &syncBuffer{}
	src := open(t, srv, map[string]any{"page_size": 10}, tune, logs)
	res := read(t, src, sdk.Incremental, nil, StreamAssetEvents)
	checkRead(t, srv, res)
	r := res[StreamAssetEvents]
	if srv.Stats().RateLimited[StreamAssetEvents] == 0 || r.retries["429"] == 0 {
		t.Fatalf("rate limited %d times, retries %v; the test does not hit the limit", srv.Stats().RateLimited[StreamAssetEvents], r.retries)
	}
	warned := false
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, `"reason":"429"`) {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no Warn line for the rate limit:\n%s", logs)
	}
}
