package harvest_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/quiver-etl/quiver/examples/harvest"
	"github.com/quiver-etl/quiver/examples/harvest/harvestsim"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/connectortest"
)

// TestConformance runs the conformance kit on the connector, in process
// and as the quiver-harvest plugin, against the simulator in both paging
// shapes: page numbers, and cursors (harvestsim.VariantAlt).
func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Suite{
		Connector: harvest.New(),
		Plugin:    "github.com/quiver-etl/quiver/examples/harvest/cmd/quiver-harvest",
		Start:     startSim,
		Variants:  []string{harvestsim.VariantAlt},
	})
}

// startSim starts a simulator with a few pages of every stream.
func startSim(t connectortest.TB, o connectortest.SimOptions) *connectortest.Sim {
	t.Helper()
	opts := harvestsim.Options{
		Seed:    4,
		Counts:  map[string]int{"clients": 9, "projects": 15, "tasks": 8, "time_entries": 60, "users": 12},
		Variant: o.Variant,
	}
	if o.Faults {
		opts.RateLimit = 100 // Harvest's, per harvestsim.RateWindow
	}
	srv := harvestsim.NewServer(t, opts)
	config := func(token string) []byte {
		b, err := json.Marshal(map[string]any{
			"base_url": srv.URL, "account_id": harvestsim.AccountID, "access_token": token, "per_page": 7,
		})
		if err != nil {
			t.Fatalf("config: %v", err)
		}
		return b
	}
	return &connectortest.Sim{
		Config:    config(harvestsim.Token),
		BadConfig: config("not-the-token"),
		Secrets:   []string{harvestsim.Token, "not-the-token"},
		Records:   srv.Records,
		Faults:    srv.Faults,
	}
}

// TestIncremental reads time entries, applies a day of changes to the
// simulator and reads again from the saved state: the second read gets
// exactly the entries changed or added that day, although the filter also
// lists the entries at the first read's mark and the lists are newest
// first.
func TestIncremental(t *testing.T) {
	t.Parallel()
	srv := harvestsim.NewServer(t, harvestsim.Options{Seed: 8, Counts: map[string]int{"time_entries": 300}})
	cfg, err := json.Marshal(map[string]any{"base_url": srv.URL, "account_id": harvestsim.AccountID, "access_token": harvestsim.Token, "per_page": 40})
	if err != nil {
		t.Fatal(err)
	}
	src, err := harvest.New().Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	read := func(state json.RawMessage) *collector {
		t.Helper()
		w := &collector{ids: map[int64]int{}}
		req := sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "time_entries", Mode: sdk.Incremental, State: state}}}
		if err := src.Read(t.Context(), req, w); err != nil || w.failed != nil {
			t.Fatalf("read: %v %v", err, w.failed)
		}
		return w
	}
	first := read(nil)
	if len(first.ids) != 300 || len(first.states) != 1 {
		t.Fatalf("first read: %d entries and %d checkpoints, want 300 and one, at the end", len(first.ids), len(first.states))
	}
	srv.ApplyDay()
	second := read(first.states[0])
	recs, err := srv.Records("time_entries")
	if err != nil {
		t.Fatal(err)
	}
	day := harvestsim.Epoch.AddDate(0, 0, 365).Format(time.RFC3339)
	changed := 0
	for _, rec := range recs {
		id := int64(rec["id"].(float64))
		switch n := second.ids[id]; {
		case rec["updated_at"].(string) >= day && n != 1:
			t.Errorf("entry %d changed on the day: read %d times, want once", id, n)
		case rec["updated_at"].(string) < day && n != 0:
			t.Errorf("entry %d did not change: read %d times, want none", id, n)
		}
		if rec["updated_at"].(string) >= day {
			changed++
		}
	}
	if changed == 0 || len(second.ids) != changed {
		t.Errorf("second read: %d entries, want the %d changed", len(second.ids), changed)
	}
}

// collector is an sdk.Writer that counts the ids it is sent.
type collector struct {
	mu     sync.Mutex
	ids    map[int64]int
	states []json.RawMessage
	failed error
}

func (c *collector) WriteBatch(_ context.Context, _ string, rec arrow.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	col := rec.Column(rec.Schema().FieldIndices("id")[0]).(*array.Int64)
	for i := range col.Len() {
		c.ids[col.Value(i)]++
	}
	return nil
}

func (c *collector) Checkpoint(_ context.Context, _ string, state json.RawMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.states = append(c.states, state)
	return nil
}

func (c *collector) Status(_ context.Context, _ string, st sdk.Status) error {
	if st.State == sdk.Failed {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.failed = st.Err
	}
	return nil
}

func (c *collector) Progress(context.Context, string, sdk.Progress) error { return nil }
