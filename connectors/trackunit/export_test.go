package trackunit

import (
	"time"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// NewClocked is New on clk, waiting on timer: connectortest.Suite.Clocked.
// The locations limiter, a rate.Limiter, knows only real time: it is set
// to a millisecond, and the simulator's per-page limit, on clk, refuses
// what comes too soon.
func NewClocked(clk *connectortest.Clock, timer *connectortest.Timer) sdk.Connector {
	return newConnector(tuning{policy: rest.Policy{Now: clk.Now, Timer: timer}, locationInterval: time.Millisecond})
}
