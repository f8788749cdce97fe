package trackunit

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/quiver-etl/quiver/connectors/trackunit/trackunitsim"
	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/records"
)

// legacyStateAt is the state an older connector saved after event i of
// srv: the event's time and id.
func legacyStateAt(srv *trackunitsim.Server, i int) string {
	return fmt.Sprintf(`{"event_time":%q,"ids":[%q]}`, srv.EventTime(i).UTC().Format(time.RFC3339Nano), srv.IDs(StreamAssetEvents)[i])
}

// windowStateAt is a state whose window ended at event i of srv, which was
// read at the edge.
func windowStateAt(srv *trackunitsim.Server, i int) string {
	return fmt.Sprintf(`{"to_time":%q,"ids":[%q]}`, srv.EventTime(i).UTC().Format(time.RFC3339Nano), srv.IDs(StreamAssetEvents)[i])
}

// TestEvents_Resume: a read starts at its state's window end, sends
// exactly the events after it, and checkpoints once, at the end, on the
// window it requested.
func TestEvents_Resume(t *testing.T) {
	t.Parallel()
	const n = 95
	tests := []struct {
		name  string
		mode  sdk.SyncMode
		state func(*trackunitsim.Server) string
		from  int // the first event the read should send
	}{
		{"first read", sdk.Incremental, nil, 0},
		{"a window that ended at an event", sdk.Incremental, func(s *trackunitsim.Server) string { return windowStateAt(s, 41) }, 42},
		{"an older connector's state", sdk.Incremental, func(s *trackunitsim.Server) string { return legacyStateAt(s, 19) }, 20},
		{"after the last", sdk.Incremental, func(s *trackunitsim.Server) string { return windowStateAt(s, n-1) }, n},
		{"null state", sdk.Incremental, func(*trackunitsim.Server) string { return "null" }, 0},
		{"full refresh ignores the state", sdk.FullRefresh, func(s *trackunitsim.Server) string { return windowStateAt(s, 41) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			srv := trackunitsim.NewServer(t, simOptions(func(o *trackunitsim.Options) {
				o.Counts = map[string]int{StreamAssetEvents: n}
			}))
			states := map[string]string{}
			if tt.state != nil {
				states[StreamAssetEvents] = tt.state(srv)
			}
			src := open(t, srv, map[string]any{"page_size": 20}, fast(mem), nil)
			before := time.Now().UTC()
			res := read(t, src, tt.mode, states, StreamAssetEvents)
			after := time.Now().UTC()
			complete(t, res)
			r := res[StreamAssetEvents]
			if diff := cmp.Diff(srv.IDs(StreamAssetEvents)[tt.from:], ids(r.rows, "id"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
			if len(r.checkpoints) != 1 {
				t.Fatalf("checkpoints %v, want one, after the whole window", r.checkpoints)
			}
			st, err := parseEventState([]byte(r.checkpoints[0]))
			if err != nil {
				t.Fatal(err)
			}
			if st.to.Before(before.Truncate(time.Microsecond)) || st.to.After(after) || len(st.IDs) != 0 {
				t.Errorf("checkpoint %s, want to_time in [%s, %s] (the window's end) and no ids (no event near it)", r.checkpoints[0], before, after)
			}
		})
	}
}

// TestEvents_NewEvents: a second incremental read sends only the events
// that arrived since the first.
func TestEvents_NewEvents(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	srv := trackunitsim.NewServer(t, simOptions(func(o *trackunitsim.Options) {
		o.Counts = map[string]int{StreamAssetEvents: 50}
	}))
	src := open(t, srv, map[string]any{"page_size": 20}, fast(mem), nil)
	first := read(t, src, sdk.Incremental, nil, StreamAssetEvents)[StreamAssetEvents]
	if err := srv.Append(StreamAssetEvents, 7); err != nil {
		t.Fatal(err)
	}
	state := first.checkpoints[len(first.checkpoints)-1]
	second := read(t, src, sdk.Incremental, map[string]string{StreamAssetEvents: state}, StreamAssetEvents)[StreamAssetEvents]
	got := append(ids(first.rows, "id"), ids(second.rows, "id")...)
	if diff := cmp.Diff(srv.IDs(StreamAssetEvents), got); diff != "" {
		t.Errorf("ids over two reads mismatch (-want +got):\n%s", diff)
	}
	if len(second.rows) != 7 {
		t.Errorf("second read sent %d events, want 7", len(second.rows))
	}
}

func TestEvents_BadState(t *testing.T) {
	t.Parallel()
	srv := trackunitsim.NewServer(t, simOptions(nil))
	src := open(t, srv, nil, fast(nil), nil)
	for _, st := range []string{`{"id": 5}`, `{"event_time": "yesterday"}`, `[1]`} {
		w := newMemWriter(t)
		err := src.Read(t.Context(), sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: StreamAssetEvents, Mode: sdk.Incremental, State: json.RawMessage(st)}}}, w)
		if !errors.Is(err, sdk.ErrConfig) || !strings.Contains(err.Error(), "quiver state reset") {
			t.Errorf("Read with state %s = %v, want ErrConfig saying how to reset it", st, err)
		}
	}
}

// TestEventRead: event_time comes from whichever time key an event has
// (the first of eventTimeKeys) and is null without one; the events the
// start state names are dropped; the state after the window is its end
// and the events at that edge (near it, after it, or without a time).
func TestEventRead(t *testing.T) {
	t.Parallel()
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ts := func(d time.Duration) string { return base.Add(d).Format(time.RFC3339Nano) }
	end := base.Add(time.Hour)
	tests := []struct {
		name      string
		start     string
		to        time.Time
		pages     []string // the content arrays
		want      []string // "id time" per row sent; "-" for a null time
		wantState string
	}{{
		name: "time keys",
		to:   end,
		pages: []string{
			`{"id":"a","eventTime":"` + ts(1*time.Second) + `"},{"id":"b","timestamp":"` + ts(2*time.Second) + `"},{"id":"c","occurredAt":"` + ts(3*time.Second) + `"}`,
			`{"id":"d","type":"ALERT"},{"id":"e","createdAt":"` + ts(5*time.Second) + `","time":"` + ts(4*time.Second) + `"}`,
			`{"id":"f","timestamp":` + fmt.Sprint(base.Add(6*time.Millisecond).UnixMilli()) + `},{"id":"g","eventTime":"2025-03-01T12:00:00.007"},{"id":"h","eventTime":null,"time":"` + ts(8*time.Second) + `"}`,
		},
		want: []string{
			"a " + ts(1*time.Second), "b " + ts(2*time.Second), "c " + ts(3*time.Second), "d -", "e " + ts(4*time.Second),
			"f " + ts(6*time.Millisecond), "g " + ts(7*time.Millisecond), "h " + ts(8*time.Second),
		},
		wantState: `{"to_time":"` + end.Format(time.RFC3339Nano) + `","ids":["d"]}`,
	}, {
		name: "the edge",
		to:   end,
		pages: []string{
			`{"id":"a","eventTime":"` + ts(time.Hour-2*time.Second) + `"},{"id":"b","eventTime":"` + ts(time.Hour-500*time.Millisecond) + `"}`,
			`{"id":"c","eventTime":"` + ts(time.Hour) + `"},{"id":"d","eventTime":"` + ts(time.Hour+time.Second) + `"}`,
		},
		want:      []string{"a " + ts(time.Hour-2*time.Second), "b " + ts(time.Hour-500*time.Millisecond), "c " + ts(time.Hour), "d " + ts(time.Hour+time.Second)},
		wantState: `{"to_time":"` + end.Format(time.RFC3339Nano) + `","ids":["b","c","d"]}`,
	}, {
		name:      "events the last window read at its edge",
		start:     `{"to_time":"` + ts(0) + `","ids":["b","x"]}`,
		to:        end,
		pages:     []string{`{"id":"a","eventTime":"` + ts(0) + `"},{"id":"b","eventTime":"` + ts(0) + `"},{"id":"c"},{"id":"x"}`},
		want:      []string{"a " + ts(0), "c -"},
		wantState: `{"to_time":"` + end.Format(time.RFC3339Nano) + `","ids":["c","x"]}`,
	}, {
		name:      "an empty window keeps the edge",
		start:     `{"to_time":"` + end.Format(time.RFC3339Nano) + `","ids":["z"]}`,
		to:        end,
		pages:     []string{``},
		wantState: `{"to_time":"` + end.Format(time.RFC3339Nano) + `","ids":["z"]}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			sc, err := schemas.Load("trackunit", StreamAssetEvents)
			if err != nil {
				t.Fatal(err)
			}
			start, err := parseEventState([]byte(tt.start))
			if err != nil {
				t.Fatal(err)
			}
			idCol, timeCol, err := eventColumns(sc.Schema)
			if err != nil {
				t.Fatal(err)
			}
			e := &eventRead{mem: mem, schema: sc.Schema, from: start, to: tt.to, idCol: idCol, timeCol: timeCol}
			e.decode, e.times = eventDecodeSchema(sc.Schema, timeCol)
			dec := records.NewDecoder(mem, e.decode, records.Options{Records: []string{"content"}})
			defer dec.Release()
			var got []string
			for _, page := range tt.pages {
				p, err := dec.Decode([]byte(`{"content":[` + page + `]}`))
				if err != nil {
					t.Fatal(err)
				}
				out, err := e.selectRows(p)
				p.Record.Release()
				if err != nil {
					t.Fatal(err)
				}
				if !out.Schema().Equal(sc.Schema) {
					t.Errorf("selectRows schema = %s, want the stream's", out.Schema())
				}
				for i := range int(out.NumRows()) {
					row := connectortest.Row(out, i)
					at := "-"
					if v, ok := row["event_time"].(time.Time); ok {
						at = v.Format(time.RFC3339Nano)
					}
					got = append(got, fmt.Sprintf("%s %s", row["id"], at))
				}
				out.Release()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rows mismatch (-want +got):\n%s", diff)
			}
			st, err := e.state()
			if err != nil {
				t.Fatal(err)
			}
			if string(st) != tt.wantState {
				t.Errorf("state() = %s, want %s", st, tt.wantState)
			}
		})
	}
}

// TestEvents_AltVariant: against the simulator's alt variant, whose events
// carry their time under other keys or none, every event lands once, with
// its time where it has one, and a second read sends only the new ones.
func TestEvents_AltVariant(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const n = 45 // less than the alt variant's block: no field changes type
	srv := trackunitsim.NewServer(t, simOptions(func(o *trackunitsim.Options) {
		o.Counts = map[string]int{StreamAssetEvents: n}
		o.Variant = trackunitsim.VariantAlt
	}))
	src := open(t, srv, map[string]any{"page_size": 10}, fast(mem), nil)
	first := read(t, src, sdk.Incremental, nil, StreamAssetEvents)[StreamAssetEvents]
	complete(t, map[string]*result{StreamAssetEvents: first})
	if diff := cmp.Diff(srv.IDs(StreamAssetEvents), ids(first.rows, "id")); diff != "" {
		t.Fatalf("ids mismatch (-want +got):\n%s", diff)
	}
	timeless := 0
	for i, row := range first.rows {
		rec := srv.Record(StreamAssetEvents, i)
		_, hasTime := rec["timestamp"]
		_, hasOccurred := rec["occurredAt"]
		switch {
		case !hasTime && !hasOccurred:
			timeless++
			if row["event_time"] != nil {
				t.Errorf("event %d has no time, but event_time %v", i, row["event_time"])
			}
		case row["event_time"] == nil:
			t.Errorf("event %d: event_time null, want %v", i, srv.EventTime(i))
		}
	}
	if timeless == 0 {
		t.Fatal("no event without a time: the test proves nothing")
	}
	if err := srv.Append(StreamAssetEvents, 3); err != nil {
		t.Fatal(err)
	}
	second := read(t, src, sdk.Incremental, map[string]string{StreamAssetEvents: first.checkpoints[len(first.checkpoints)-1]}, StreamAssetEvents)[StreamAssetEvents]
	if diff := cmp.Diff(srv.IDs(StreamAssetEvents)[n:], ids(second.rows, "id")); diff != "" {
		t.Errorf("second read mismatch (-want +got):\n%s", diff)
	}
}
