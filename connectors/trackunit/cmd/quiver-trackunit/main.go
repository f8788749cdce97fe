// Command quiver-trackunit is the Trackunit IRIS connector plugin; the
// quiver host starts it.
package main

import (
	"github.com/quiver-etl/quiver/connectors/trackunit"
	"github.com/quiver-etl/quiver/sdk"
)

func main() { sdk.Serve(trackunit.New()) }
