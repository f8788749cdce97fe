package trackvia

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// allStreams is every stream of the simulator's default catalog.
var allStreams = []string{"apps", "views", "users", "all_contacts", "all_contacts_102", "work_orders", "grossenubersicht_lager", "leere_ansicht"}

// checkView compares a stream's rows with the simulator's records of view
// id: every record exactly once, with the values of its fields.
func checkView(t *testing.T, srv *trackviasim.Server, w *memWriter, id int64) {
	t.Helper()
	stream := viewStreams[id]
	l := w.get(t, stream)
	if got := l.final(); got != sdk.Complete {
		t.Fatalf("%s: final status %v (error %v), want complete", stream, got, l.err)
	}
	n := srv.Count(id)
	if len(l.rows) != n {
		t.Errorf("%s: %d rows, want %d", stream, len(l.rows), n)
	}
	if n == 0 {
		return
	}
	byID := map[int64]map[string]any{}
	for _, row := range l.rows {
		rid := row["id"].(int64)
		if byID[rid] != nil {
			t.Errorf("%s: id %d sent twice", stream, rid)
		}
		byID[rid] = row
	}
	for i := range n {
		want := expect(t, l.schema, srv.Record(id, i))
		if diff := cmp.Diff(want, byID[want["id"].(int64)]); diff != "" {
			t.Fatalf("%s record %v mismatch (-want +got):\n%s", stream, want["id"], diff)
		}
	}
}

// TestReadShapes reads every stream of simulators that use each value shape
// of docs/vendors/trackvia.md#field-types-and-values (numbers as text, ids
// as numbers, dates with times, UTC datetimes ...) and finds every record
// exactly once, as sent.
func TestReadShapes(t *testing.T) {
	for _, shapes := range []trackviasim.Shapes{trackviasim.ShapesCanonical, trackviasim.ShapesAlternate, trackviasim.ShapesMixed} {
		t.Run(shapes.String(), func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 7, Shapes: shapes, Records: map[int64]int{
				trackviasim.ViewAllContacts: 130, trackviasim.ViewAllContactsDash: 60, trackviasim.ViewWorkOrders: 250, trackviasim.ViewLager: 140,
			}})
			ctx := context.Background()
			c := testConnector(mem)
			src := open(ctx, t, c, srv, map[string]any{"page_size": 100})
			cat, err := src.Discover(ctx)
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			var names []string
			for _, s := range cat.Streams {
				names = append(names, s.Name)
			}
			if diff := cmp.Diff(allStreams, names); diff != "" {
				t.Errorf("Discover streams mismatch (-want +got):\n%s", diff)
			}
			w := newMemWriter()
			if err := read(ctx, t, src, w, nil, nil, allStreams...); err != nil {
				t.Fatalf("Read: %v", err)
			}
			for _, id := range []int64{trackviasim.ViewAllContacts, trackviasim.ViewAllContactsDash, trackviasim.ViewWorkOrders, trackviasim.ViewLager, trackviasim.ViewEmpty, trackviasim.UsersViewID} {
				checkView(t, srv, w, id)
			}
			for _, s := range cat.Streams {
				if l := w.get(t, s.Name); l.schema != nil && !l.schema.Equal(s.Schema) {
					t.Errorf("%s: Read's schema differs from Discover's:\n%s\n%s", s.Name, l.schema, s.Schema)
				}
			}
			apps := w.get(t, "apps")
			if len(apps.rows) != len(srv.Apps()) || apps.rows[0]["id"] != int64(1) || apps.rows[0]["name"] != "CRM" {
				t.Errorf("apps rows = %v", apps.rows)
			}
			views := w.get(t, "views")
			if len(views.rows) != 5 || views.rows[3]["name"] != "Größenübersicht – Lager 📦" || views.rows[3]["application_name"] != "Inventar Übersicht" {
				t.Errorf("views rows = %v", views.rows)
			}
		})
	}
}

// TestPaging checks the end conditions of start/max paging: pages of one
// record (no overlap), pages that divide the view exactly or not, one page
// for the whole view, and empty views.
func TestPaging(t *testing.T) {
	tests := []struct {
		name     string
		pageSize int
		count    int
		pages    int // requests for the view's records (after the structure request)
	}{
		{"one record per page", 1, 5, 5},
		{"overlap of one row", 10, 29, 4}, // rows 0-9, 9-18, 18-27, 27-28
		{"last page full", 10, 28, 3},     // rows 0-9, 9-18, 18-27
		{"whole view in a page", 1000, 250, 1},
		{"page size equals count", 250, 250, 1},
		{"empty view", 100, 0, 1},
		{"default page size", 0, 1500, 2}, // 0-999, 950-1499
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 2, Records: map[int64]int{trackviasim.ViewWorkOrders: tt.count}})
			ctx := context.Background()
			extra := map[string]any{}
			if tt.pageSize > 0 {
				extra["page_size"] = tt.pageSize
			}
			src := open(ctx, t, testConnector(mem), srv, extra)
			w := newMemWriter()
			if err := read(ctx, t, src, w, nil, nil, "work_orders"); err != nil {
				t.Fatal(err)
			}
			checkView(t, srv, w, trackviasim.ViewWorkOrders)
			if got := srv.Stats().Pages[trackviasim.ViewWorkOrders] - 1; got != tt.pages {
				t.Errorf("%d page requests, want %d", got, tt.pages)
			}
		})
	}
}

// TestReadWithFaults: 429s, 5xx, cut and malformed bodies and resets are
// retried; every record arrives once.
func TestReadWithFaults(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 4, Faults: fault.Options{
		Rate: 0.3, Seed: 5, RetryAfter: time.Second,
		Kinds: []fault.Kind{fault.ServerError, fault.Truncate, fault.Malformed, fault.Reset, fault.Slow},
	}})
	ctx := context.Background()
	src := open(ctx, t, testConnector(mem), srv, map[string]any{"page_size": 50})
	w := newMemWriter()
	if err := read(ctx, t, src, w, nil, nil, "all_contacts", "work_orders"); err != nil {
		t.Fatal(err)
	}
	checkView(t, srv, w, trackviasim.ViewAllContacts)
	checkView(t, srv, w, trackviasim.ViewWorkOrders)
	if srv.Stats().Faults < 5 {
		t.Errorf("only %d faults injected", srv.Stats().Faults)
	}
}

// TestDeletesDuringRead: records deleted between two pages move the rows
// after them up. Fewer deletions than the pages share are caught by the
// shared rows and nothing is skipped; more fail the stream as temporary
// instead of skipping records silently.
func TestDeletesDuringRead(t *testing.T) {
	tests := []struct {
		name    string
		deletes int // records deleted from the start of the view after the first page
		fail    bool
	}{
		{"none", 0, false},
		{"fewer than shared", 4, false},
		{"as many as shared", 5, true},
		{"many", 40, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 9, Records: map[int64]int{trackviasim.ViewWorkOrders: 500}})
			ctx := context.Background()
			src := open(ctx, t, testConnector(mem), srv, map[string]any{"page_size": 100}) // 5 rows shared
			w := newMemWriter()
			ids := srv.IDs(trackviasim.ViewWorkOrders)
			var once bool
			w.onBatch = func(string, int) {
				if once {
					return
				}
				once = true
				for _, id := range ids[:tt.deletes] {
					if err := srv.Delete(trackviasim.ViewWorkOrders, id); err != nil {
						t.Error(err)
					}
				}
			}
			if err := read(ctx, t, src, w, nil, nil, "work_orders"); err != nil {
				t.Fatal(err)
			}
			l := w.get(t, "work_orders")
			if tt.fail {
				if l.final() != sdk.Failed || !errors.Is(l.err, sdk.ErrTemporary) || !strings.Contains(l.err.Error(), "left the view") {
					t.Fatalf("final status %v, error %v; want failed, temporary", l.final(), l.err)
				}
				return
			}
			if l.final() != sdk.Complete {
				t.Fatalf("final status %v, error %v", l.final(), l.err)
			}
			got := map[int64]int{}
			for _, r := range l.rows {
				got[r["id"].(int64)]++
			}
			for _, id := range ids[tt.deletes:] {
				if got[id] != 1 {
					t.Errorf("id %d read %d times", id, got[id])
				}
			}
		})
	}
}

// TestSelectViews: views selects by id (number or text) and exact name;
// names that match nothing are config errors listing what exists.
func TestSelectViews(t *testing.T) {
	srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 1})
	tests := []struct {
		name    string
		views   []any
		want    []string // view streams
		wantErr string
	}{
		{"default is every view", nil, []string{"all_contacts", "all_contacts_102", "work_orders", "grossenubersicht_lager", "leere_ansicht"}, ""},
		{"by id", []any{201, "101"}, []string{"all_contacts", "work_orders"}, ""},
		{"by name", []any{"Größenübersicht – Lager 📦", "all-contacts"}, []string{"all_contacts_102", "grossenubersicht_lager"}, ""},
		{"twice", []any{201, "Work Orders"}, []string{"work_orders"}, ""},
		{"unknown", []any{"All contacts"}, nil, `views[0]: no view with the id or exact name "All contacts"`},
		{"unknown id", []any{999}, nil, `no view with the id or exact name "999"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			src := open(ctx, t, New(), srv, map[string]any{"views": tt.views})
			cat, err := src.Discover(ctx)
			if tt.wantErr != "" {
				if !errors.Is(err, sdk.ErrConfig) || !strings.Contains(fmt.Sprint(err), tt.wantErr) {
					t.Fatalf("Discover error = %v, want ErrConfig with %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), `"Work Orders" (201)`) {
					t.Errorf("the error does not list the views: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range cat.Streams[3:] {
				got = append(got, s.Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("streams mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCatalog checks the catalog entries: keys, cursors and modes.
func TestCatalog(t *testing.T) {
	srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 1})
	ctx := context.Background()
	cat, err := open(ctx, t, New(), srv, nil).Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Name, Cursor string
		Key          []string
		Modes        []sdk.SyncMode
		First        string
	}
	var got []entry
	for _, s := range cat.Streams {
		got = append(got, entry{s.Name, s.CursorField, s.PrimaryKey, s.SyncModes, s.Schema.Field(0).Name + " " + s.Schema.Field(0).Type.String()})
	}
	full := []sdk.SyncMode{sdk.FullRefresh}
	inc := []sdk.SyncMode{sdk.Incremental, sdk.FullRefresh}
	want := []entry{
		{"apps", "", []string{"id"}, full, "id int64"},
		{"views", "", []string{"id"}, full, "id int64"},
		{"users", "", []string{"id"}, full, "id int64"},
		{"all_contacts", "Last Updated", []string{"id"}, inc, "id int64"},
		{"all_contacts_102", "Last Updated", []string{"id"}, inc, "id int64"},
		{"work_orders", "Last Updated", []string{"id"}, inc, "id int64"},
		{"grossenubersicht_lager", "Last Updated", []string{"id"}, inc, "id int64"},
		{"leere_ansicht", "Last Updated", []string{"id"}, inc, "id int64"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("catalog mismatch (-want +got):\n%s", diff)
	}
	if i := slices.IndexFunc(cat.Streams, func(s sdk.Stream) bool { return s.Name == "work_orders" }); !strings.Contains(cat.Streams[i].Description, `"Work Orders" (id 201)`) {
		t.Errorf("description = %q", cat.Streams[i].Description)
	}
}
