package host

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

func TestNewDrift(t *testing.T) {
	t.Parallel()
	if d := newDrift(nil); d != nil {
		t.Errorf("newDrift(nil) = %+v, want nil", d)
	}
	got := newDrift([]protocol.Drift{
		{Key: "Location.lat", Column: "location.latitude", Shapes: []string{"string"}, Count: 2, RecordID: "7"},
		{Key: "nickname", Shapes: []string{"string"}, Count: 5, RecordID: "1"},
		{Key: "badge", Shapes: []string{"number", "object"}, Count: 1, RecordID: "3"},
		{Key: "site", Column: "site", Shapes: []string{"string"}, Count: 4, RecordID: "2"},
		{Key: "Location.lat2", Column: "location.latitude", Shapes: []string{"array"}, Count: 1},
	})
	want := &Drift{
		Rescued:           13,
		UnknownKeys:       []string{"badge", "nickname"},
		MismatchedColumns: []string{"location.latitude", "site"},
		Keys: []DriftKey{
			{Key: "Location.lat", Column: "location.latitude", Shapes: []string{"string"}, Count: 2, RecordID: "7"},
			{Key: "nickname", Shapes: []string{"string"}, Count: 5, RecordID: "1"},
			{Key: "badge", Shapes: []string{"number", "object"}, Count: 1, RecordID: "3"},
			{Key: "site", Column: "site", Shapes: []string{"string"}, Count: 4, RecordID: "2"},
			{Key: "Location.lat2", Column: "location.latitude", Shapes: []string{"array"}, Count: 1},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("newDrift mismatch (-want +got):\n%s", diff)
	}
}

// TestNoteDrift: every progress report updates the stream's drift, and each
// column or unknown key is logged once per run, with its shape and an
// example record id.
func TestNoteDrift(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	r := &streamRun{
		log: slog.New(slog.NewTextHandler(&logs, nil)).With("stream", "sites"),
		res: &StreamResult{Name: "sites"},
	}
	first := []protocol.Drift{
		{Key: "site", Column: "site", Shapes: []string{"string"}, Count: 1, RecordID: "41"},
	}
	second := []protocol.Drift{
		{Key: "nickname", Shapes: []string{"string"}, Count: 3, RecordID: "42"},
		{Key: "site", Column: "site", Shapes: []string{"object", "string"}, Count: 9, RecordID: "41"},
		{Key: "tags[]", Column: "tags[]", Shapes: []string{"string"}, Count: 2, RecordID: "43"},
	}
	r.noteDrift(first)
	r.noteDrift(nil) // a report before any drift changes nothing
	r.noteDrift(second)
	r.noteDrift(second)
	if r.res.Drift == nil || r.res.Drift.Rescued != 14 || len(r.res.Drift.Keys) != 3 {
		t.Errorf("Drift = %+v, want the second report's 14 values in 3 keys", r.res.Drift)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	want := []string{
		`level=WARN msg="values do not fit their column; the column is null and the values are kept in _quiver_rescued" stream=sites column=site key=site shape=string record_id=41`,
		`level=WARN msg="records hold a key the schema does not know; its values are kept in _quiver_rescued" stream=sites key=nickname shape=string record_id=42`,
		`level=WARN msg="values do not fit their column; the column is null and the values are kept in _quiver_rescued" stream=sites column=tags[] key=tags[] shape=string record_id=43`,
	}
	for i := range lines {
		_, lines[i], _ = strings.Cut(lines[i], " ") // the time
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}
}
