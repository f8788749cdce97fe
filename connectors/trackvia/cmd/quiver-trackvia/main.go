// Command quiver-trackvia is the TrackVia connector plugin; the quiver host
// starts it.
package main

import (
	"github.com/quiver-etl/quiver/connectors/trackvia"
	"github.com/quiver-etl/quiver/sdk"
)

func main() { sdk.Serve(trackvia.New()) }
