// Command quiver-tracktik here is the TrackTik plugin broken on purpose for
// the kit's tests (TestRun_LeakedSecretThroughPlugin): it logs its config,
// secrets and all, at Debug level whenever it opens a Source.
package main

import (
	"context"

	"github.com/quiver-etl/quiver/connectors/tracktik"
	"github.com/quiver-etl/quiver/sdk"
)

// leaky is the TrackTik connector that logs its config.
type leaky struct{ sdk.Connector }

func (c leaky) Open(ctx context.Context, config []byte) (sdk.Source, error) {
	sdk.Logger(ctx).Debug("open", "config", string(config))
	return c.Connector.Open(ctx, config)
}

func main() { sdk.Serve(leaky{tracktik.New()}) }
