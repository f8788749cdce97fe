package main

import (
	"slices"

	"github.com/quiver-etl/quiver/connectors/trackunit/trackunitsim"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// trackunitSim runs the Trackunit IRIS simulator: an auth host and an API
// host with assets, locations, the AEMP fleet snapshot and the asset event
// log. The demo must finish in seconds, so the simulator's rate limits are
// off (a retried AEMP page or locations page would otherwise be refused for
// up to 15 minutes or a second), and so are injected 429s, after which the
// connector waits at least five seconds (its tests cover them).
func trackunitSim() simulator {
	return simulator{connector: "trackunit", start: func(addr string, o simOptions) (*simRun, error) {
		faults := o.faults
		if faults.Kinds == nil {
			faults.Kinds = slices.DeleteFunc(slices.Clone(fault.All), func(k fault.Kind) bool {
				return k == fault.RateLimit || k == fault.RateLimitDate || k == fault.RateLimitBare
			})
		}
		srv, err := trackunitsim.Start(addr, trackunitsim.Options{
			Seed:             1,
			Faults:           faults,
			AEMPWindow:       -1,
			AEMPPerSecond:    -1,
			LocationInterval: -1,
			Variant:          o.variant,
			Days:             o.days,
		})
		if err != nil {
			return nil, err
		}
		return &simRun{
			urls: map[string]string{"api": srv.URL, "token": srv.TokenURL},
			config: map[string]any{
				"api_url":       srv.URL,
				"token_url":     srv.TokenURL,
				"client_id":     trackunitsim.DefaultClientID,
				"client_secret": "${TRACKUNIT_CLIENT_SECRET}",
				"username":      trackunitsim.DefaultUsername,
				"password":      "${TRACKUNIT_PASSWORD}",
				"start_date":    "2024-01-01",
			},
			env: map[string]string{
				"TRACKUNIT_CLIENT_SECRET": trackunitsim.DefaultClientSecret,
				"TRACKUNIT_PASSWORD":      trackunitsim.DefaultPassword,
			},
			close:    srv.Close,
			applyDay: func() { srv.ApplyDay() },
		}, nil
	}}
}
