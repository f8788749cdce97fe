package host

import (
	"log/slog"
	"slices"
	"strings"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

// RescueColumn is the column every stream's records have after their data
// columns: a JSON object of what the stream's schema could not take, or
// null. It is sdk/records.RescueColumn, repeated since the host's run path
// does not import sdk.
const RescueColumn = "_quiver_rescued"

// Drift sums up what a stream's records held that its schema could not
// take, as the plugin rescued it into the _quiver_rescued column (counted
// as read: a record read again after a failure counts again).
type Drift struct {
	// Rescued is how many values were rescued.
	Rescued int64 `json:"rescued"`
	// UnknownKeys are the keys the schema does not know, as paths inside
	// structs and lists ("location.accuracy", "contacts[].fax").
	UnknownKeys []string `json:"unknown_keys,omitempty"`
	// MismatchedColumns are the columns that some values did not fit; those
	// values' columns are null.
	MismatchedColumns []string `json:"mismatched_columns,omitempty"`
	// Keys has the detail, one entry per key.
	Keys []DriftKey `json:"keys"`
}

// DriftKey counts the rescued values of one key of a stream's records.
type DriftKey struct {
	// Key is the key in the record, a path inside structs and lists.
	Key string `json:"key"`
	// Column is the column its values did not fit; empty for a key the
	// schema does not know.
	Column string `json:"column,omitempty"`
	// Shapes are the JSON shapes seen (never the values): array, boolean,
	// number, object, string.
	Shapes []string `json:"shapes"`
	// Count is how many values were rescued.
	Count int64 `json:"count"`
	// RecordID is the id of one record that held such a value.
	RecordID string `json:"record_id,omitempty"`
}

// newDrift sums up a plugin's drift report; nil when it is empty.
func newDrift(report []protocol.Drift) *Drift {
	if len(report) == 0 {
		return nil
	}
	d := &Drift{Keys: make([]DriftKey, 0, len(report))}
	for _, r := range report {
		d.Rescued += r.Count
		d.Keys = append(d.Keys, DriftKey{Key: r.Key, Column: r.Column, Shapes: r.Shapes, Count: r.Count, RecordID: r.RecordID})
		if r.Column == "" {
			d.UnknownKeys = append(d.UnknownKeys, r.Key)
		} else if !slices.Contains(d.MismatchedColumns, r.Column) {
			d.MismatchedColumns = append(d.MismatchedColumns, r.Column)
		}
	}
	slices.Sort(d.UnknownKeys)
	slices.Sort(d.MismatchedColumns)
	return d
}

// noteDrift takes the plugin's drift report of the stream so far into the
// result, and logs one warning per column (and per unknown key) the first
// time it shows up in the run. The warning names the stream, the column or
// key, the JSON shapes seen and an example record id, never a value.
func (r *streamRun) noteDrift(report []protocol.Drift) {
	if d := newDrift(report); d != nil {
		r.res.Drift = d
	}
	for _, k := range report {
		name := "key:" + k.Key
		if k.Column != "" {
			name = "column:" + k.Column
		}
		if r.warned[name] {
			continue
		}
		if r.warned == nil {
			r.warned = map[string]bool{}
		}
		r.warned[name] = true
		shapes := slog.String("shape", strings.Join(k.Shapes, "/"))
		if k.Column == "" {
			r.log.Warn("records hold a key the schema does not know; its values are kept in "+RescueColumn,
				"key", k.Key, shapes, "record_id", k.RecordID)
			continue
		}
		r.log.Warn("values do not fit their column; the column is null and the values are kept in "+RescueColumn,
			"column", k.Column, "key", k.Key, shapes, "record_id", k.RecordID)
	}
}
