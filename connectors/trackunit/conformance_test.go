package trackunit_test

import (
	"encoding/json"
	"testing"

	"github.com/quiver-etl/quiver/connectors/trackunit"
	"github.com/quiver-etl/quiver/connectors/trackunit/trackunitsim"
	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// TestConformance runs the conformance kit on the connector, in process
// and as the quiver-trackunit plugin, against a small simulator with its
// documented rate limits on.
func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Suite{
		Connector: trackunit.New(),
		Plugin:    "github.com/quiver-etl/quiver/connectors/trackunit/cmd/quiver-trackunit",
		Start:     startSim,
		Variants:  []string{trackunitsim.VariantAlt},
		Clocked:   trackunit.NewClocked,
		// The fleet snapshot's time is the simulator's clock at the page.
		Ignore: map[string][]string{trackunitsim.StreamFleetSnapshot: {"snapshot_time"}},
	})
}

// startSim starts a simulator with a few pages of every stream.
func startSim(t connectortest.TB, o connectortest.SimOptions) *connectortest.Sim {
	t.Helper()
	opts := trackunitsim.Options{
		Seed:     4,
		Counts:   map[string]int{"assets": 30, "locations": 20, "fleet_snapshot": 25, "asset_events": 40},
		TokenTTL: o.TokenTTL,
		Variant:  o.Variant,
		Now:      o.Now,
	}
	if o.Faults {
		opts.Faults = fault.Options{Rate: 0.05, Seed: 6, MaxConsecutive: 1, Kinds: []fault.Kind{fault.ServerError, fault.Truncate, fault.Reset, fault.Slow}}
	}
	srv := trackunitsim.NewServer(t, opts)
	config := func(password string) []byte {
		b, err := json.Marshal(map[string]any{
			"api_url": srv.URL, "token_url": srv.TokenURL, "client_id": trackunitsim.DefaultClientID,
			"client_secret": trackunitsim.DefaultClientSecret, "username": trackunitsim.DefaultUsername,
			"password": password, "start_date": "2020-01-01", "page_size": 8,
		})
		if err != nil {
			t.Fatalf("config: %v", err)
		}
		return b
	}
	return &connectortest.Sim{
		Config:    config(trackunitsim.DefaultPassword),
		BadConfig: config("not-the-password"),
		Secrets:   []string{trackunitsim.DefaultClientSecret, trackunitsim.DefaultPassword, "not-the-password"},
		Records: func(stream string) ([]map[string]any, error) {
			out := make([]map[string]any, len(srv.IDs(stream)))
			for i := range out {
				out[i] = flatten(stream, srv.Record(stream, i))
			}
			return out, nil
		},
		Faults: srv.Faults,
		Logins: func() int { return srv.Stats().TokenRequests },
	}
}

// flatten turns a record as the API serves it into the JSON keys of its
// stream's columns: a location's GeoJSON properties and coordinates, and
// a fleet equipment's header fields at the top.
func flatten(stream string, rec map[string]any) map[string]any {
	switch stream {
	case trackunitsim.StreamLocations:
		out := rec["properties"].(map[string]any)
		coords := rec["geometry"].(map[string]any)["coordinates"].([]any)
		out["longitude"], out["latitude"] = coords[0], coords[1]
		if len(coords) > 2 {
			out["altitude"] = coords[2]
		}
		return out
	case trackunitsim.StreamFleetSnapshot:
		for k, v := range rec["EquipmentHeader"].(map[string]any) {
			if v != nil {
				rec[k] = v
			}
		}
	}
	return rec
}
