package trackvia_test

import (
	"encoding/json"
	"testing"

	"github.com/quiver-etl/quiver/connectors/trackvia"
	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// TestConformance runs the conformance kit on the connector, in process
// and as the quiver-trackvia plugin, against a small simulator. TrackVia
// has no login (its auth token is long-lived), so the replication-lag and
// token-expiry cases do not apply.
func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Suite{
		Connector: trackvia.New(),
		Plugin:    "github.com/quiver-etl/quiver/connectors/trackvia/cmd/quiver-trackvia",
		Start:     startSim,
		Variants:  []string{trackviasim.VariantAlt},
		Clocked:   trackvia.NewClocked,
		// A view's cursor filter includes its mark ("Last Updated" at or
		// after it), so a resumed read lands again the record at the mark
		// of each view the interrupted read finished; the 15-minute
		// margin (trackvia.Lookback) adds none, the simulator's records
		// being older than that.
		Rereads: map[string]int{"all_contacts": 1, "all_contacts_102": 1, "work_orders": 1, "grossenubersicht_lager": 1},
	})
}

// conformanceViews are the simulator's views by stream name.
var conformanceViews = map[string]int64{
	"users":                  trackviasim.UsersViewID,
	"all_contacts":           trackviasim.ViewAllContacts,
	"all_contacts_102":       trackviasim.ViewAllContactsDash,
	"work_orders":            trackviasim.ViewWorkOrders,
	"grossenubersicht_lager": trackviasim.ViewLager,
	"leere_ansicht":          trackviasim.ViewEmpty,
}

// startSim starts a simulator whose views hold a few pages each.
func startSim(t connectortest.TB, o connectortest.SimOptions) *connectortest.Sim {
	t.Helper()
	opts := trackviasim.Options{
		Seed:    5,
		Variant: o.Variant,
		Now:     o.Now,
		Records: map[int64]int{
			trackviasim.UsersViewID: 9, trackviasim.ViewAllContacts: 30, trackviasim.ViewAllContactsDash: 12,
			trackviasim.ViewWorkOrders: 40, trackviasim.ViewLager: 20,
		},
	}
	if o.Faults {
		opts.Faults = fault.Options{Rate: 0.05, Seed: 2, MaxConsecutive: 1, Kinds: []fault.Kind{fault.ServerError, fault.Truncate, fault.Reset, fault.Slow}}
	}
	srv := trackviasim.NewServer(t, opts)
	config := func(token string) []byte {
		b, err := json.Marshal(map[string]any{"base_url": srv.URL, "user_key": trackviasim.DefaultUserKey, "access_token": token, "page_size": 6})
		if err != nil {
			t.Fatalf("config: %v", err)
		}
		return b
	}
	streams := []string{"apps", "views"}
	for name := range conformanceViews {
		streams = append(streams, name)
	}
	return &connectortest.Sim{
		Config:    config(trackviasim.DefaultAccessToken),
		BadConfig: config("not-a-trackvia-token"),
		Secrets:   []string{trackviasim.DefaultUserKey, trackviasim.DefaultAccessToken, "not-a-trackvia-token"},
		Streams:   streams,
		Records: func(stream string) ([]map[string]any, error) {
			id, ok := conformanceViews[stream]
			if !ok {
				return nil, connectortest.ErrNotHeld
			}
			out := make([]map[string]any, srv.Count(id))
			for i := range out {
				out[i] = srv.Record(id, i)
			}
			return out, nil
		},
		Faults: srv.Faults,
	}
}
