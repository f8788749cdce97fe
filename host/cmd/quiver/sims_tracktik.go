package main

import (
	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
)

func trackTikSim() simulator {
	return simulator{connector: "tracktik", start: func(addr string, o simOptions) (*simRun, error) {
		faults := o.faults
		srv, err := tracktiksim.Start(addr, tracktiksim.Options{Seed: 1, Faults: faults, LagRequests: 1, Variant: o.variant, Days: o.days})
		if err != nil {
			return nil, err
		}
		return &simRun{
			urls: map[string]string{"api": srv.URL, "token": srv.TokenURL},
			config: map[string]any{
				"base_url":      srv.URL,
				"client_id":     tracktiksim.ClientID,
				"client_secret": "${TRACKTIK_CLIENT_SECRET}",
				"username":      tracktiksim.Username,
				"password":      "${TRACKTIK_PASSWORD}",
				"start_date":    "2024-01-01",
			},
			env: map[string]string{
				"TRACKTIK_CLIENT_SECRET": tracktiksim.ClientSecret,
				"TRACKTIK_PASSWORD":      tracktiksim.Password,
			},
			close:    srv.Close,
			applyDay: func() { srv.ApplyDay() },
		}, nil
	}}
}
