// Command quiver-tracktik is the TrackTik connector plugin; the quiver host
// starts it.
package main

import (
	"github.com/quiver-etl/quiver/connectors/tracktik"
	"github.com/quiver-etl/quiver/sdk"
)

func main() { sdk.Serve(tracktik.New()) }
