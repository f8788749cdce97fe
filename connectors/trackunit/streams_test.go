package trackunit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/connectors/trackunit/trackunitsim"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// TestStreams_EveryRecordOnce reads every stream from simulators in each of
// the shapes docs/vendors/trackunit.md allows, and finds every record
// exactly once, in the API's order.
func TestStreams_EveryRecordOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  func(*trackunitsim.Options)
		extra map[string]any
	}{
		{"defaults", nil, nil},
		{"camelCase AEMP keys, cursor null at the end", func(o *trackunitsim.Options) {
			o.AEMPKeys, o.CursorEnd = trackunitsim.CamelCase, trackunitsim.CursorNull
		}, map[string]any{"page_size": 70}},
		{"cursor missing at the end", func(o *trackunitsim.Options) { o.CursorEnd = trackunitsim.CursorOmit }, map[string]any{"page_size": 33}},
		{"page size 1000, AEMP pages of 30", func(o *trackunitsim.Options) {
			o.AEMPPageSize = 30
			o.Counts = map[string]int{"assets": 1001, "locations": 1001, "fleet_snapshot": 61, "asset_events": 1000}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			srv := trackunitsim.NewServer(t, simOptions(tt.opts))
			src := open(t, srv, tt.extra, fast(mem), nil)
			checkRead(t, srv, read(t, src, sdk.Incremental, nil))
		})
	}
}

// TestPagingEnds checks each stream's end condition through the connector
// against the simulator: the requests a listing takes for an empty first
// page, a short last page and a last page that is exactly full.
func TestPagingEnds(t *testing.T) {
	t.Parallel()
	const size = 10 // page_size, and the AEMP page size
	tests := []struct {
		stream string
		cursor trackunitsim.CursorEnd
		count  int
		pages  int // requests the listing takes
	}{
		// Page numbers end at totalPages (or an empty page).
		{StreamAssets, 0, 0, 1},
		{StreamAssets, 0, 2*size + 1, 3},
		{StreamAssets, 0, 2 * size, 2},
		{StreamAssetEvents, 0, 0, 1},
		{StreamAssetEvents, 0, 2*size + 1, 3},
		{StreamAssetEvents, 0, 2 * size, 2},
		// The AEMP export ends at a page without a next link.
		{StreamFleetSnapshot, 0, 0, 1},
		{StreamFleetSnapshot, 0, 2*size + 1, 3},
		{StreamFleetSnapshot, 0, 2 * size, 2},
		// A cursor ends when "after" is null or missing; an API that
		// always sets it ends with an empty page.
		{StreamLocations, trackunitsim.CursorNull, 0, 1},
		{StreamLocations, trackunitsim.CursorNull, 2*size + 1, 3},
		{StreamLocations, trackunitsim.CursorNull, 2 * size, 2},
		{StreamLocations, trackunitsim.CursorOmit, 0, 1},
		{StreamLocations, trackunitsim.CursorOmit, 2 * size, 2},
		{StreamLocations, trackunitsim.CursorAlways, 0, 1},
		{StreamLocations, trackunitsim.CursorAlways, 2*size + 1, 4},
		{StreamLocations, trackunitsim.CursorAlways, 2 * size, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/cursor=%d/%d records", tt.stream, tt.cursor, tt.count), func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			srv := trackunitsim.NewServer(t, simOptions(func(o *trackunitsim.Options) {
				o.Counts = map[string]int{tt.stream: tt.count}
				o.AEMPPageSize = size
				o.CursorEnd = tt.cursor
			}))
			src := open(t, srv, map[string]any{"page_size": size}, fast(mem), nil)
			checkRead(t, srv, read(t, src, sdk.Incremental, nil, tt.stream))
			if got := srv.Stats().Requests[tt.stream]; got != tt.pages {
				t.Errorf("%d requests, want %d", got, tt.pages)
			}
		})
	}
}

// TestLocations_Flattened: the GeoJSON point becomes longitude, latitude
// and altitude (null for a two-coordinate fix), the properties columns.
func TestLocations_Flattened(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	srv := trackunitsim.NewServer(t, simOptions(func(o *trackunitsim.Options) {
		o.Counts = map[string]int{StreamLocations: 60}
	}))
	src := open(t, srv, nil, fast(mem), nil)
	res := read(t, src, sdk.FullRefresh, nil, StreamLocations)
	complete(t, res)
	rows := res[StreamLocations].rows
	if len(rows) != 60 {
		t.Fatalf("%d rows, want 60", len(rows))
	}
	twoCoordinates := 0
	for i, row := range rows {
		rec := srv.Record(StreamLocations, i)
		geo := rec["geometry"].(map[string]any)["coordinates"].([]any)
		props := rec["properties"].(map[string]any)
		want := map[string]any{
			"asset_id": props["assetId"], "longitude": geo[0], "latitude": geo[1], "altitude": nil,
			"accuracy": props["accuracy"], "heading": props["heading"], "speed": props["speed"],
			"location_address": props["locationAddress"],
		}
		if len(geo) > 2 {
			want["altitude"] = geo[2]
		} else {
			twoCoordinates++
		}
		got := map[string]any{}
		for k := range want {
			got[k] = row[k]
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("location %d mismatch (-want +got):\n%s", i, diff)
		}
		if row["updated_at"] == nil {
			t.Errorf("location %d has no updated_at", i)
		}
	}
	if twoCoordinates == 0 {
		t.Error("no location without altitude in the test data")
	}
}

// TestFleet_BothCasings: PascalCase and camelCase exports give the same
// rows, with the equipment header lifted into columns.
func TestFleet_BothCasings(t *testing.T) {
	t.Parallel()
	rowsFor := func(keys trackunitsim.KeyCase) []map[string]any {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		srv := trackunitsim.NewServer(t, simOptions(func(o *trackunitsim.Options) {
			o.AEMPKeys = keys
			o.AEMPPageSize = 25
			o.Counts = map[string]int{StreamFleetSnapshot: 60}
		}))
		src := open(t, srv, nil, fast(mem), nil)
		res := read(t, src, sdk.FullRefresh, nil, StreamFleetSnapshot)
		complete(t, res)
		rows := res[StreamFleetSnapshot].rows
		for i, row := range rows {
			if row["snapshot_time"] == nil {
				t.Fatalf("equipment %d has no snapshot_time", i)
			}
			delete(row, "snapshot_time") // the simulator's clock
			if keys != trackunitsim.PascalCase {
				continue
			}
			rec := srv.Record(StreamFleetSnapshot, i)
			header := rec["EquipmentHeader"].(map[string]any)
			want := map[string]any{
				"pin": header["PIN"], "serial_number": header["SerialNumber"], "equipment_id": header["EquipmentID"],
				"oem_name": header["OEMName"], "model": header["Model"],
				"hours":      rec["CumulativeOperatingHours"].(map[string]any)["Hour"],
				"machine_id": rec["Metadata"].(map[string]any)["MachineId"],
			}
			got := map[string]any{
				"pin": row["pin"], "serial_number": row["serial_number"], "equipment_id": row["equipment_id"],
				"oem_name": row["oem_name"], "model": row["model"],
				"hours":      row["cumulative_operating_hours"].(map[string]any)["hour"],
				"machine_id": row["metadata"].(map[string]any)["machine_id"],
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("equipment %d mismatch (-want +got):\n%s", i, diff)
			}
		}
		return rows
	}
	pascal, camel := rowsFor(trackunitsim.PascalCase), rowsFor(trackunitsim.CamelCase)
	if len(pascal) != 60 {
		t.Fatalf("%d rows, want 60", len(pascal))
	}
	if diff := cmp.Diff(pascal, camel); diff != "" {
		t.Errorf("camelCase rows differ from PascalCase rows (-pascal +camel):\n%s", diff)
	}
}

// TestStreams_Faults: server errors, cut and malformed bodies and reset
// connections are retried; every record arrives once, and neither secrets
// nor tokens reach the logs.
func TestStreams_Faults(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	srv := trackunitsim.NewServer(t, simOptions(func(o *trackunitsim.Options) {
		o.Faults = fault.Options{Rate: 0.3, Seed: 3, Kinds: []fault.Kind{fault.ServerError, fault.Truncate, fault.Malformed, fault.Reset}}
	}))
	logs := &syncBuffer{}
	src := open(t, srv, map[string]any{"page_size": 40}, fast(mem), logs)
	checkRead(t, srv, read(t, src, sdk.Incremental, nil))
	if n := srv.Faults.Total(); n < 5 {
		t.Errorf("only %d faults injected", n)
	}
	for _, s := range []string{trackunitsim.DefaultClientSecret, trackunitsim.DefaultPassword, "eyJ"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the logs hold a secret or token (%.3s...)", s)
		}
	}
}
