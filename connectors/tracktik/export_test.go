package tracktik

import (
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/connectortest"
)

// NewClocked is New on clk, waiting on timer: connectortest.Suite.Clocked.
func NewClocked(clk *connectortest.Clock, timer *connectortest.Timer) sdk.Connector {
	return newConnector(clk.Now, timer)
}
