package tracktik_test

import (
	"encoding/json"
	"testing"

	"github.com/quiver-etl/quiver/connectors/tracktik"
	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// TestConformance runs the conformance kit on the connector, in process
// and as the quiver-tracktik plugin, against a small simulator.
func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Suite{
		Connector: tracktik.New(),
		Plugin:    "github.com/quiver-etl/quiver/connectors/tracktik/cmd/quiver-tracktik",
		Start:     startSim,
		Variants:  []string{tracktiksim.VariantAlt},
	})
}

// startSim starts a simulator with a few pages of every stream.
func startSim(t connectortest.TB, o connectortest.SimOptions) *connectortest.Sim {
	t.Helper()
	opts := tracktiksim.Options{
		Seed:     7,
		Counts:   map[string]int{"employees": 25, "clients": 8, "positions": 12, "shifts": 40, "work-sessions": 30, "reports": 20},
		TokenTTL: o.TokenTTL,
		Variant:  o.Variant,
	}
	if o.Faults {
		opts.Faults = fault.Options{Rate: 0.05, Seed: 8, MaxConsecutive: 1, Kinds: []fault.Kind{fault.ServerError, fault.Truncate, fault.Reset, fault.Slow}}
	}
	srv := tracktiksim.NewServer(t, opts)
	config := func(secret, password string) []byte {
		b, err := json.Marshal(map[string]any{
			"base_url": srv.URL, "client_id": tracktiksim.ClientID, "client_secret": secret,
			"username": tracktiksim.Username, "password": password,
			"start_date": "2020-01-01", "page_size": 7,
		})
		if err != nil {
			t.Fatalf("config: %v", err)
		}
		return b
	}
	return &connectortest.Sim{
		Config:    config(tracktiksim.ClientSecret, tracktiksim.Password),
		BadConfig: config(tracktiksim.ClientSecret, "not-the-password"),
		Secrets:   []string{tracktiksim.ClientSecret, tracktiksim.Password, "not-the-password"},
		Records: func(stream string) ([]map[string]any, error) {
			out := make([]map[string]any, srv.Count(stream))
			for i := range out {
				out[i] = srv.Record(stream, i)
			}
			return out, nil
		},
		Faults: srv.Faults,
		Logins: func() int { return srv.Stats().TokenRequests },
		SetLag: srv.SetLag,
	}
}
