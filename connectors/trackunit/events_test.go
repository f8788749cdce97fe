package trackunit

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/quiver-etl/quiver/connectors/trackunit/trackunitsim"
	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
)

// eventStateAt is the state after event i of srv.
func eventStateAt(srv *trackunitsim.Server, i int) string {
	return fmt.Sprintf(`{"event_time":%q,"ids":[%q]}`, srv.EventTime(i).UTC().Format(time.RFC3339Nano), srv.IDs(StreamAssetEvents)[i])
}

// TestEvents_Resume: an incremental read checkpoints after every page, and
// a read resumed from any checkpoint sends exactly the events after it.
func TestEvents_Resume(t *testing.T) {
	t.Parallel()
	const n = 95
	tests := []struct {
		name  string
		mode  sdk.SyncMode
		state string
		from  int // the first event the read should send
	}{
		{"first read", sdk.Incremental, "", 0},
		{"resume mid page", sdk.Incremental, "after 41", 42},
		{"resume at a page boundary", sdk.Incremental, "after 19", 20},
		{"resume after the last", sdk.Incremental, "after 94", n},
		{"null state", sdk.Incremental, "null", 0},
		{"full refresh ignores the state", sdk.FullRefresh, "after 41", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			srv := trackunitsim.NewServer(t, simOptions(func(o *trackunitsim.Options) {
				o.Counts = map[string]int{StreamAssetEvents: n}
			}))
			state := tt.state
			var k int
			if _, err := fmt.Sscanf(state, "after %d", &k); err == nil {
				state = eventStateAt(srv, k)
			}
			states := map[string]string{}
			if state != "" {
				states[StreamAssetEvents] = state
			}
			src := open(t, srv, map[string]any{"page_size": 20}, fast(mem), nil)
			res := read(t, src, tt.mode, states, StreamAssetEvents)
			complete(t, res)
			r := res[StreamAssetEvents]
			if diff := cmp.Diff(srv.IDs(StreamAssetEvents)[tt.from:], ids(r.rows, "id"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
			if tt.from < n {
				if len(r.checkpoints) == 0 || r.checkpoints[len(r.checkpoints)-1] != eventStateAt(srv, n-1) {
					t.Errorf("checkpoints %v, want the last to be %s", r.checkpoints, eventStateAt(srv, n-1))
				}
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

// eventPage decodes a page of events given as (id, time offset in ms)
// pairs.
func eventPage(t *testing.T, mem memory.Allocator, events ...any) arrow.Record {
	t.Helper()
	sc, err := schemas.Load("trackunit", StreamAssetEvents)
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	for i := 0; i+1 < len(events); i += 2 {
		at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(events[i+1].(int)) * time.Millisecond)
		items = append(items, fmt.Sprintf(`{"id":%q,"eventTime":%q}`, events[i], at.Format(time.RFC3339Nano)))
	}
	dec := records.NewDecoder(mem, sc.Schema, records.Options{Records: []string{"content"}})
	defer dec.Release()
	p, err := dec.Decode([]byte(`{"content":[` + strings.Join(items, ",") + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	return p.Record
}

// at renders a time offset as eventState's event_time.
func at(ms int) string {
	return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond).Format(time.RFC3339Nano)
}

// TestEventCheckpoint: the state after a page names the events at its
// last time, across pages that share it, and refuses times that go down.
func TestEventCheckpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		prev   string
		page   []any
		want   string // "" for no checkpoint
		errSub string
	}{
		{"empty page", "", nil, "", ""},
		{"first page", "", []any{"a", 1, "b", 2, "c", 2}, `{"event_time":"` + at(2) + `","ids":["b","c"]}`, ""},
		{"a later time", `{"event_time":"` + at(2) + `","ids":["b","c"]}`, []any{"d", 3}, `{"event_time":"` + at(3) + `","ids":["d"]}`, ""},
		{"the same time goes on", `{"event_time":"` + at(2) + `","ids":["b","c"]}`, []any{"d", 2, "e", 2}, `{"event_time":"` + at(2) + `","ids":["b","c","d","e"]}`, ""},
		{"a resumed page repeats ids", `{"event_time":"` + at(2) + `","ids":["b","c"]}`, []any{"b", 2, "c", 2}, `{"event_time":"` + at(2) + `","ids":["b","c"]}`, ""},
		{"times go down", "", []any{"a", 5, "b", 4}, "", "not oldest first"},
		{"a page before the state", `{"event_time":"` + at(9) + `"}`, []any{"a", 1}, "", "before the saved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rec := eventPage(t, mem, tt.page...)
			defer rec.Release()
			got, err := eventCheckpoint(json.RawMessage(tt.prev), rec, 0, 5)
			if tt.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errSub) {
					t.Fatalf("eventCheckpoint() = %s, %v; want an error containing %q", got, err, tt.errSub)
				}
				return
			}
			if err != nil {
				t.Fatalf("eventCheckpoint() = %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("eventCheckpoint() = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestEventsUnread: a resumed read drops the events its state says were
// read, whether they lead the page or not.
func TestEventsUnread(t *testing.T) {
	t.Parallel()
	state := `{"event_time":"` + at(2) + `","ids":["b","c"]}`
	tests := []struct {
		name string
		page []any
		want []string
	}{
		{"nothing to drop", []any{"d", 3, "e", 4}, []string{"d", "e"}},
		{"a leading run", []any{"b", 2, "c", 2, "d", 2, "e", 3}, []string{"d", "e"}},
		{"scattered", []any{"b", 2, "x", 2, "c", 2, "e", 3}, []string{"x", "e"}},
		{"older events an API returned anyway", []any{"a", 1, "d", 3}, []string{"d"}},
		{"everything", []any{"b", 2, "c", 2}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			st, err := parseEventState([]byte(state))
			if err != nil {
				t.Fatal(err)
			}
			rec := eventPage(t, mem, tt.page...)
			defer rec.Release()
			out, err := st.unread(mem, rec, 0, 5)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Release()
			if !out.Schema().Equal(rec.Schema()) {
				t.Errorf("schema changed")
			}
			var got []string
			col := out.Column(0).(*array.String)
			for i := range col.Len() {
				got = append(got, col.Value(i))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("unread() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
