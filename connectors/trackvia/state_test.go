package trackvia

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
	"github.com/quiver-etl/quiver/sdk"
)

var incremental = map[string]sdk.SyncMode{"all_contacts": sdk.Incremental, "work_orders": sdk.Incremental, "leere_ansicht": sdk.Incremental}

// ids returns the ids of rows, in order.
func ids(rows []map[string]any) []int64 {
	var out []int64
	for _, r := range rows {
		out = append(out, r["id"].(int64))
	}
	return out
}

// TestIncremental: the first run reads everything and checkpoints once, at
// the end; the next run sends the records updated or added since (and
// those at the cursor itself), and records changed within the lookback
// window come again in the run after.
func TestIncremental(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 5})
	ctx := context.Background()
	c := testConnector(mem)
	src := open(ctx, t, c, srv, map[string]any{"page_size": 100})
	const view = trackviasim.ViewWorkOrders

	w1 := newMemWriter()
	if err := read(ctx, t, src, w1, incremental, nil, "work_orders", "leere_ansicht"); err != nil {
		t.Fatal(err)
	}
	checkView(t, srv, w1, view)
	l1 := w1.get(t, "work_orders")
	if len(l1.checkpoints) != 1 {
		t.Fatalf("%d checkpoints, want one at the end: %s", len(l1.checkpoints), l1.checkpoints)
	}
	var st streamState
	if err := json.Unmarshal(l1.last(), &st); err != nil {
		t.Fatal(err)
	}
	var newest time.Time
	for _, r := range l1.rows {
		if u := r["Last Updated"].(time.Time); u.After(newest) {
			newest = u
		}
	}
	if st.View != view || st.Field != "Last Updated" || st.Cursor != newest.Format(time.RFC3339Nano) {
		t.Errorf("state = %+v, want view %d, cursor %s (the newest Last Updated)", st, view, newest.Format(time.RFC3339Nano))
	}
	if l := w1.get(t, "leere_ansicht"); len(l.checkpoints) != 1 || len(l.rows) != 0 {
		t.Errorf("empty view: %d rows, checkpoints %s", len(l.rows), l.checkpoints)
	}

	all := srv.IDs(view)
	changed := []int64{all[3], all[700], all[1499]}
	for _, id := range changed {
		if err := srv.Update(view, id, "Title", "changed"); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Append(view, 2); err != nil {
		t.Fatal(err)
	}
	added := srv.IDs(view)[1500:]
	w2 := newMemWriter()
	states := map[string]json.RawMessage{"work_orders": l1.last(), "leere_ansicht": w1.get(t, "leere_ansicht").last()}
	if err := read(ctx, t, src, w2, incremental, states, "work_orders", "leere_ansicht"); err != nil {
		t.Fatal(err)
	}
	l2 := w2.get(t, "work_orders")
	got := map[int64]bool{}
	for _, r := range l2.rows {
		got[r["id"].(int64)] = true
		if u := r["Last Updated"].(time.Time); u.Before(newest) {
			t.Errorf("id %d updated %v, before the cursor %v, was sent again", r["id"], u, newest)
		}
	}
	for _, id := range append(changed, added...) {
		if !got[id] {
			t.Errorf("changed or added id %d not sent; sent %v", id, ids(l2.rows))
		}
	}
	if len(l2.rows) > len(changed)+len(added)+1 {
		t.Errorf("%d rows sent, want the %d changed or added and the one at the cursor", len(l2.rows), len(changed)+len(added))
	}
	if l := w2.get(t, "leere_ansicht"); len(l.rows) != 0 || l.final() != sdk.Complete {
		t.Errorf("empty view: %d rows, status %v", len(l.rows), l.final())
	}

	// The records changed just now are within the lookback of the second
	// run's start: the third run reads them again.
	w3 := newMemWriter()
	if err := read(ctx, t, src, w3, incremental, map[string]json.RawMessage{"work_orders": l2.last()}, "work_orders"); err != nil {
		t.Fatal(err)
	}
	if got, want := len(w3.get(t, "work_orders").rows), len(changed)+len(added); got != want {
		t.Errorf("third run sent %d rows, want the %d changed within the lookback", got, want)
	}
}

// TestIncrementalStateMismatch: a saved state that is not for this view,
// this structure and this cursor reads the whole view again.
func TestIncrementalStateMismatch(t *testing.T) {
	srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 5})
	ctx := context.Background()
	src := open(ctx, t, New(), srv, nil)
	w := newMemWriter()
	if err := read(ctx, t, src, w, incremental, nil, "all_contacts"); err != nil {
		t.Fatal(err)
	}
	good := w.get(t, "all_contacts").last()
	var st streamState
	if err := json.Unmarshal(good, &st); err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(*streamState)) json.RawMessage {
		s := st
		f(&s)
		b, _ := json.Marshal(s)
		return b
	}
	tests := []struct {
		name  string
		state json.RawMessage
		all   bool
	}{
		{"same state", good, false},
		{"another view", mutate(func(s *streamState) { s.View = 102 }), true},
		{"another structure", mutate(func(s *streamState) { s.Schema = "0123456789abcdef" }), true},
		{"another cursor field", mutate(func(s *streamState) { s.Field = "Created" }), true},
		{"no cursor", mutate(func(s *streamState) { s.Cursor = "" }), true},
		{"bad cursor", mutate(func(s *streamState) { s.Cursor = "yesterday" }), true},
		{"not JSON", json.RawMessage(`{"view":`), true},
		{"not our state", json.RawMessage(`{"id": 12}`), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newMemWriter()
			if err := read(ctx, t, src, w, incremental, map[string]json.RawMessage{"all_contacts": tt.state}, "all_contacts"); err != nil {
				t.Fatal(err)
			}
			n := len(w.get(t, "all_contacts").rows)
			if all := n == srv.Count(trackviasim.ViewAllContacts); all != tt.all {
				t.Errorf("read %d of %d records; want all: %v", n, srv.Count(trackviasim.ViewAllContacts), tt.all)
			}
		})
	}
}

// TestFullRefreshCheckpoints: a full refresh checkpoints after every page
// (so the host can write pages as they come), and its last state is a
// valid incremental start.
func TestFullRefreshCheckpoints(t *testing.T) {
	srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 5})
	ctx := context.Background()
	src := open(ctx, t, New(), srv, map[string]any{"page_size": 500})
	w := newMemWriter()
	if err := read(ctx, t, src, w, nil, nil, "work_orders"); err != nil {
		t.Fatal(err)
	}
	l := w.get(t, "work_orders")
	if len(l.checkpoints) != 5 { // 4 pages of 500 (25 shared) and Finish
		t.Errorf("%d checkpoints, want 5", len(l.checkpoints))
	}
	w2 := newMemWriter()
	if err := read(ctx, t, src, w2, incremental, map[string]json.RawMessage{"work_orders": l.last()}, "work_orders"); err != nil {
		t.Fatal(err)
	}
	if n := len(w2.get(t, "work_orders").rows); n != 1 {
		t.Errorf("incremental run after a full refresh sent %d rows, want the one at the cursor", n)
	}
}

// TestStructureChanges: a structure change between runs gives a new schema
// (and an incremental run reads the whole view again); between Discover
// and Read, or during a read, it fails the stream as temporary.
func TestStructureChanges(t *testing.T) {
	const view = trackviasim.ViewAllContacts
	t.Run("between runs", func(t *testing.T) {
		srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 5})
		ctx := context.Background()
		c := New()
		src := open(ctx, t, c, srv, nil)
		before, err := src.Discover(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w := newMemWriter()
		if err := read(ctx, t, src, w, incremental, nil, "all_contacts"); err != nil {
			t.Fatal(err)
		}
		if err := srv.RenameField(view, "Revenue", "Umsatz (€)"); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.AddField(view, "Region", trackviasim.DropDown); err != nil {
			t.Fatal(err)
		}
		after, err := src.Discover(ctx)
		if err != nil {
			t.Fatal(err)
		}
		old, cur := before.Streams[3].Schema, after.Streams[3].Schema
		if got := diffColumns(old, cur); got != `added "Umsatz (€)"; added "Region"; removed "Revenue"` {
			t.Errorf("diff = %s", got)
		}
		w2 := newMemWriter()
		if err := read(ctx, t, src, w2, incremental, map[string]json.RawMessage{"all_contacts": w.get(t, "all_contacts").last()}, "all_contacts"); err != nil {
			t.Fatal(err)
		}
		checkView(t, srv, w2, view)
		if l := w2.get(t, "all_contacts"); !l.schema.Equal(cur) {
			t.Errorf("Read's schema is not the new Discover's:\n%s", l.schema)
		}
	})
	t.Run("between discover and read", func(t *testing.T) {
		srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 5})
		ctx := context.Background()
		src := open(ctx, t, New(), srv, nil)
		if _, err := src.Discover(ctx); err != nil {
			t.Fatal(err)
		}
		if err := srv.RemoveField(view, "Notes"); err != nil {
			t.Fatal(err)
		}
		w := newMemWriter()
		if err := read(ctx, t, src, w, nil, nil, "all_contacts", "work_orders"); err != nil {
			t.Fatal(err)
		}
		l := w.get(t, "all_contacts")
		if l.final() != sdk.Failed || !errors.Is(l.err, sdk.ErrTemporary) || !strings.Contains(l.err.Error(), `changed between discover and read (removed "Notes")`) {
			t.Errorf("status %v, error %v", l.final(), l.err)
		}
		if l.batches != 0 {
			t.Errorf("%d batches sent", l.batches)
		}
		checkView(t, srv, w, trackviasim.ViewWorkOrders)
	})
	t.Run("during read", func(t *testing.T) {
		srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 5})
		ctx := context.Background()
		src := open(ctx, t, New(), srv, map[string]any{"page_size": 50})
		w := newMemWriter()
		var once sync.Once
		w.onBatch = func(string, int) {
			once.Do(func() {
				if err := srv.RenameField(view, "Status", "State"); err != nil {
					t.Error(err)
				}
			})
		}
		if err := read(ctx, t, src, w, nil, nil, "all_contacts"); err != nil {
			t.Fatal(err)
		}
		l := w.get(t, "all_contacts")
		if l.final() != sdk.Failed || !errors.Is(l.err, sdk.ErrTemporary) || !strings.Contains(l.err.Error(), "changed during the read") {
			t.Errorf("status %v, error %v", l.final(), l.err)
		}
		if l.batches != 1 {
			t.Errorf("%d batches sent, want only the one before the change", l.batches)
		}
	})
}

// TestNextCursor covers the cursor arithmetic.
func TestNextCursor(t *testing.T) {
	floor := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) int64 { return floor.Add(d).UnixMicro() }
	tests := []struct {
		name     string
		since    int64
		hasSince bool
		maxSeen  int64
		hasMax   bool
		want     time.Time
	}{
		{"nothing known: the floor", 0, false, 0, false, floor},
		{"newest record", 0, false, at(-time.Hour), true, floor.Add(-time.Hour)},
		{"never past the floor", 0, false, at(time.Hour), true, floor},
		{"since when nothing newer", at(-time.Hour), true, at(-2 * time.Hour), true, floor.Add(-time.Hour)},
		{"since alone", at(-time.Minute), true, 0, false, floor.Add(-time.Minute)},
		{"since past the floor goes back", at(time.Minute), true, 0, false, floor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nextCursor(tt.since, tt.hasSince, tt.maxSeen, tt.hasMax, floor)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("nextCursor mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
