package capillary_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/quiver-etl/quiver/connectors/capillary"
	"github.com/quiver-etl/quiver/connectors/capillary/capillarysim"
	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// TestConformance runs the conformance kit on the connector, in process
// and as the quiver-capillary plugin, against a small simulator serving
// the vendor's quirky shapes (numbers as strings, bare one-item lists,
// token errors in 200 bodies), mixed.
func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Suite{
		Connector: capillary.New(),
		Plugin:    "github.com/quiver-etl/quiver/connectors/capillary/cmd/quiver-capillary",
		Start:     startSim,
		Variants:  []string{capillarysim.VariantAlt},
		Clocked:   capillary.NewClocked,
	})
}

// startSim starts a simulator with a few pages of customers and their
// transactions, without the per-key rate limit unless faults are on.
func startSim(t connectortest.TB, o connectortest.SimOptions) *connectortest.Sim {
	t.Helper()
	opts := capillarysim.Options{
		Seed:              3,
		Customers:         14,
		MaxTransactions:   4,
		TokenTTL:          o.TokenTTL,
		Now:               o.Now,
		Variant:           o.Variant,
		RequestsPerMinute: capillarysim.NoRateLimit,
	}
	if o.Faults {
		opts.Faults = fault.Options{Rate: 0.05, Seed: 7, MaxConsecutive: 1, Kinds: []fault.Kind{fault.ServerError, fault.Truncate, fault.Reset, fault.Slow}}
	}
	srv := capillarysim.NewServer(t, opts)
	config := func(secret string) []byte {
		b, err := json.Marshal(map[string]any{
			"base_url": srv.URL, "key": capillarysim.DefaultKey, "secret": secret,
			"start_date": "2020-01-01", "page_size": 4, "requests_per_minute": 60000, "settle_minutes": 0,
		})
		if err != nil {
			t.Fatalf("config: %v", err)
		}
		return b
	}
	return &connectortest.Sim{
		Config:    config(capillarysim.DefaultSecret),
		BadConfig: config("not-the-secret-42"),
		Secrets:   []string{capillarysim.DefaultSecret, "not-the-secret-42"},
		Records: func(stream string) ([]map[string]any, error) {
			out := make([]map[string]any, srv.Count(stream))
			for i := range out {
				rec := srv.Record(stream, i)
				if stream == capillarysim.StreamTransactions {
					// The connector adds the customer it listed the
					// transaction under.
					user, ok := srv.TransactionUser(int64(rec["id"].(float64)))
					if !ok {
						return nil, fmt.Errorf("transaction %v has no customer", rec["id"])
					}
					rec["user_id"] = float64(user)
				}
				out[i] = rec
			}
			return out, nil
		},
		Faults: srv.Faults,
		Logins: func() int { return srv.Stats().TokenRequests },
	}
}
