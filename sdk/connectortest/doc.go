// Package connectortest is the conformance kit for Quiver connectors: one
// call, Run, checks a connector against its vendor simulator in process
// and through a real plugin process, in the manner of testing/fstest's
// TestFS. Every connector's tests call it.
//
// # Getting started
//
// A Suite names the connector, its plugin main and how to start its
// simulator for one check; Run does the rest:
//
//	func TestConformance(t *testing.T) {
//		connectortest.Run(t, connectortest.Suite{
//			Connector: acme.New(),
//			Plugin:    "example.com/acme/cmd/quiver-acme",
//			Start: func(t connectortest.TB, o connectortest.SimOptions) *connectortest.Sim {
//				srv := acmesim.NewServer(t, acmesim.Options{Seed: 1, Users: 40})
//				return &connectortest.Sim{
//					Config:    []byte(`{"base_url":"` + srv.URL + `","api_key":"k-123","page_size":7}`),
//					BadConfig: []byte(`{"base_url":"` + srv.URL + `","api_key":"wrong","page_size":7}`),
//					Secrets:   []string{"k-123", "wrong"},
//					Records:   srv.Records, // func(stream string) ([]map[string]any, error)
//					Faults:    srv.Faults,
//				}
//			},
//		})
//	}
//
// Run's checks are subtests, in parallel: spec, check, discover, read,
// faults/<kind> (replication-lag 401, 429 with and without Retry-After,
// 5xx, reset, truncated and malformed bodies, slow answers, tokens
// expiring mid-read), variant/<name> and resume; each read also checks
// that no secret reaches the logs, errors, records or state. See Run.
//
// The package also holds the helpers these checks are made of, for a
// connector's own tests: Value and Row turn Arrow values into plain Go
// values, and Expect turns a simulator's record into the row a stream
// should hold, both ready for go-cmp; Clock and Timer control time without
// sleeping. Two subpackages are what a simulator is made of: simhttp
// serves it on loopback (NewServer for a test, Start for a demo) and fault
// injects the faults the checks script (Sim.Faults). Neither imports
// testing, so the simulators, which `quiver demo` runs, may link them.
package connectortest
