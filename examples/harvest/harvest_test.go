package harvest_test

import (
	"encoding/json"
	"testing"

	"github.com/quiver-etl/quiver/examples/harvest"
	"github.com/quiver-etl/quiver/examples/harvest/harvestsim"
	"github.com/quiver-etl/quiver/sdk/connectortest"
)

// TestConformance runs the conformance kit on the connector, in process
// and as the quiver-harvest plugin, against the simulator in both paging
// shapes: page numbers, and cursors (harvestsim.VariantAlt).
func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Suite{
		Connector: harvest.New(),
		Plugin:    "github.com/quiver-etl/quiver/examples/harvest/cmd/quiver-harvest",
		Start:     startSim,
		Variants:  []string{harvestsim.VariantAlt},
	})
}

// startSim starts a simulator with a few pages of every stream.
func startSim(t connectortest.TB, o connectortest.SimOptions) *connectortest.Sim {
	t.Helper()
	opts := harvestsim.Options{
		Seed:    4,
		Counts:  map[string]int{"clients": 9, "projects": 15, "tasks": 8, "time_entries": 60, "users": 12},
		Variant: o.Variant,
	}
	if o.Faults {
		opts.RateLimit = 100 // Harvest's, per harvestsim.RateWindow
	}
	srv := harvestsim.NewServer(t, opts)
	config := func(token string) []byte {
		b, err := json.Marshal(map[string]any{
			"base_url": srv.URL, "account_id": harvestsim.AccountID, "access_token": token, "per_page": 7,
		})
		if err != nil {
			t.Fatalf("config: %v", err)
		}
		return b
	}
	return &connectortest.Sim{
		Config:    config(harvestsim.Token),
		BadConfig: config("not-the-token"),
		Secrets:   []string{harvestsim.Token, "not-the-token"},
		Records:   srv.Records,
		Faults:    srv.Faults,
	}
}
