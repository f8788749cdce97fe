// Command quiver-capillary is the Capillary connector plugin; the quiver
// host starts it.
package main

import (
	"github.com/quiver-etl/quiver/connectors/capillary"
	"github.com/quiver-etl/quiver/sdk"
)

func main() { sdk.Serve(capillary.New()) }
