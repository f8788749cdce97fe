package main

import (
	"slices"

	"github.com/quiver-etl/quiver/connectors/capillary/capillarysim"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// capillarySim runs the Capillary simulator without its per-key limit of
// 100 requests a minute, which would stretch the demo to minutes; the
// connector is told a high limit to match. Its faults leave out 429s
// without Retry-After: Capillary counts requests per clock minute, so the
// connector waits 20 s after one, which would stall the demo (its tests
// cover that wait).
func capillarySim() simulator {
	return simulator{connector: "capillary", start: func(addr string, o simOptions) (*simRun, error) {
		faults := o.faults
		if faults.Kinds == nil {
			faults.Kinds = slices.DeleteFunc(slices.Clone(fault.All), func(k fault.Kind) bool { return k == fault.RateLimitBare })
		}
		srv, err := capillarysim.Start(addr, capillarysim.Options{
			Seed: 1, Faults: faults, RequestsPerMinute: capillarysim.NoRateLimit,
			Variant: o.variant,
			Days:    o.days,
		})
		if err != nil {
			return nil, err
		}
		return &simRun{
			urls: map[string]string{"api": srv.URL, "token": srv.TokenURL},
			config: map[string]any{
				"base_url":            srv.URL,
				"key":                 capillarysim.DefaultKey,
				"secret":              "${CAPILLARY_SECRET}",
				"start_date":          "2020-01-01",
				"requests_per_minute": 60000,
			},
			env:      map[string]string{"CAPILLARY_SECRET": capillarysim.DefaultSecret},
			close:    srv.Close,
			applyDay: func() { srv.ApplyDay() },
		}, nil
	}}
}
