package main

import (
	"github.com/quiver-etl/quiver/connectors/tracktik/trackticksim"
	"github.com/quiver-etl/quiver/sdk/fault"
)

func trackTikSim() simulator {
	return simulator{connector: "tracktik", start: func(addr string, faults fault.Options) (*simRun, error) {
		srv, err := trackticksim.Start(addr, trackticksim.Options{Seed: 1, Faults: faults, LagRequests: 1})
		if err != nil {
			return nil, err
		}
		return &simRun{
			urls: map[string]string{"api": srv.URL, "token": srv.TokenURL},
			config: map[string]any{
				"base_url":      srv.URL,
				"client_id":     trackticksim.ClientID,
				"client_secret": "${TRACKTIK_CLIENT_SECRET}",
				"username":      trackticksim.Username,
				"password":      "${TRACKTIK_PASSWORD}",
				"start_date":    "2024-01-01",
			},
			env: map[string]string{
				"TRACKTIK_CLIENT_SECRET": trackticksim.ClientSecret,
				"TRACKTIK_PASSWORD":      trackticksim.Password,
			},
			close: srv.Close,
		}, nil
	}}
}
