package connectortest

import (
	"encoding/json"
	"testing"

	"github.com/quiver-etl/quiver/connectors/trackvia"
	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
	"github.com/quiver-etl/quiver/sdk"
)

// viaSim starts a TrackVia simulator with two small views (the others
// empty), whose streams are incremental on a cursor.
func viaSim(t TB, _ SimOptions) *Sim {
	srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 2, Records: map[int64]int{
		trackviasim.UsersViewID: 0, trackviasim.ViewAllContacts: 15, trackviasim.ViewAllContactsDash: 0,
		trackviasim.ViewWorkOrders: 18, trackviasim.ViewLager: 0,
	}})
	cfg, err := json.Marshal(map[string]any{"base_url": srv.URL, "user_key": trackviasim.DefaultUserKey, "access_token": trackviasim.DefaultAccessToken, "page_size": 5})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	views := map[string]int64{"all_contacts": trackviasim.ViewAllContacts, "work_orders": trackviasim.ViewWorkOrders}
	return &Sim{
		Config:  cfg,
		Secrets: []string{trackviasim.DefaultUserKey, trackviasim.DefaultAccessToken},
		Records: func(stream string) ([]map[string]any, error) {
			id, ok := views[stream]
			if !ok {
				return nil, ErrNotHeld
			}
			var out []map[string]any
			for i := range srv.Count(id) {
				out = append(out, srv.Record(id, i))
			}
			return out, nil
		},
	}
}

// viaRereads is what a resumed TrackVia read lands again: the record at
// each view's mark, which the inclusive filter lists again.
var viaRereads = map[string]int{"all_contacts": 1, "work_orders": 1}

// TestRun_ResumeStartsOver: a connector that ignores the state it is
// given reads every view again in full after an interruption, and fails
// the resume check, which the connector itself passes.
func TestRun_ResumeStartsOver(t *testing.T) {
	t.Parallel()
	c := &broken{Connector: trackvia.New(), read: func(req sdk.ReadRequest) sdk.ReadRequest {
		for i := range req.Streams {
			req.Streams[i].State = nil
		}
		return req
	}}
	only := []string{"fake/inprocess/resume"}
	got := runFake(only, func(t tb) { run(t, Suite{Connector: c, Start: viaSim, Rereads: viaRereads}) })
	wantFailure(t, got, "fake/inprocess/resume", "as many as a full read", "did not resume from its checkpoint")
	ok := runFake(only, func(t tb) { run(t, Suite{Connector: trackvia.New(), Start: viaSim, Rereads: viaRereads}) })
	if f := ok.failures("fake"); len(f) > 0 {
		t.Errorf("the TrackVia connector fails the resume check:\n%s", f)
	}
}
