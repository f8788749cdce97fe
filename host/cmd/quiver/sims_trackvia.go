package main

import (
	"slices"

	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// trackViaSim runs the TrackVia simulator: five views (one with every
// field type, one with a unicode name, one empty) and the users. Its
// faults leave out 429s without Retry-After, after which the client waits
// five seconds; that would stall the demo (the connector's tests cover it).
func trackViaSim() simulator {
	return simulator{connector: "trackvia", start: func(addr string, o simOptions) (*simRun, error) {
		faults := o.faults
		if faults.Kinds == nil {
			faults.Kinds = slices.DeleteFunc(slices.Clone(fault.All), func(k fault.Kind) bool { return k == fault.RateLimitBare })
		}
		srv, err := trackviasim.Start(addr, trackviasim.Options{Seed: 1, Faults: faults, Variant: o.variant, Days: o.days})
		if err != nil {
			return nil, err
		}
		return &simRun{
			urls: map[string]string{"api": srv.URL + "/openapi"},
			config: map[string]any{
				"base_url":     srv.URL,
				"user_key":     "${TRACKVIA_USER_KEY}",
				"access_token": "${TRACKVIA_ACCESS_TOKEN}",
			},
			env: map[string]string{
				"TRACKVIA_USER_KEY":     trackviasim.DefaultUserKey,
				"TRACKVIA_ACCESS_TOKEN": trackviasim.DefaultAccessToken,
			},
			close:    srv.Close,
			applyDay: func() { srv.ApplyDay() },
		}, nil
	}}
}
