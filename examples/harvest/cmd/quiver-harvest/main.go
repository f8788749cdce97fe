// Command quiver-harvest is the Harvest connector plugin; the quiver host
// starts it.
package main

import (
	"github.com/quiver-etl/quiver/examples/harvest"
	"github.com/quiver-etl/quiver/sdk"
)

func main() { sdk.Serve(harvest.New()) }
