package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

// Result is the outcome of a run, as printed by the summary and --json.
type Result struct {
	RunID      string          `json:"run_id"`
	Status     string          `json:"status"` // ok, partial, failed or interrupted
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at"`
	Sources    []*SourceResult `json:"sources"`
}

// SourceResult is the outcome of one source.
type SourceResult struct {
	Name      string          `json:"name"`
	Connector string          `json:"connector"`
	Status    string          `json:"status"`
	Error     string          `json:"error,omitempty"`
	Streams   []*StreamResult `json:"streams"`
}

// StreamResult is the outcome of one stream.
type StreamResult struct {
	Name    string `json:"name"`
	Mode    string `json:"mode"`
	Status  string `json:"status"`  // complete, incomplete, failed, suspicious
	Records int64  `json:"records"` // committed: in published files covered by the saved state
	// Uncommitted counts the records read but not committed (after the last
	// checkpoint, in a full refresh that did not complete, or lost to a
	// failed write or state save); the next run reads them again.
	Uncommitted int64            `json:"uncommitted,omitempty"`
	Files       []string         `json:"files"`
	Bytes       int64            `json:"bytes"`
	Seconds     float64          `json:"seconds"`
	Retries     map[string]int64 `json:"retries,omitempty"`
	// Concurrency is the most page requests the stream had in flight at
	// once (connectors on package stream say; 0 when the connector does
	// not). RateLimitWait is how long its requests waited on rate limits:
	// the connector's limiters, and pauses after the vendor's 429s.
	Concurrency   int             `json:"concurrency,omitempty"`
	RateLimitWait float64         `json:"rate_limit_wait_seconds,omitempty"`
	StateBefore   json.RawMessage `json:"state_before,omitempty"`
	StateAfter    json.RawMessage `json:"state_after,omitempty"`
	Error         string          `json:"error,omitempty"`
	// Suspicious is set when the shrink guard refused the stream's new
	// snapshot (Status "suspicious"): the current snapshot is kept.
	Suspicious *Suspicious `json:"suspicious,omitempty"`
	// Compaction is what `quiver sync --compact` did to the stream's files.
	Compaction *Compaction `json:"compaction,omitempty"`
	// SchemaChanged says the stream's schema differs from the one its
	// earlier files were written with; those files are left as they are.
	SchemaChanged bool `json:"schema_changed,omitempty"`
	// Drift is what the stream's records held that its schema could not
	// take: rescued into the _quiver_rescued column, per key; absent when
	// there was none.
	Drift *Drift `json:"drift,omitempty"`

	started time.Time
	read    int64 // records received from the plugin
	err     error // the failure behind Error, with its class
}

// Suspicious describes a new snapshot the shrink guard refused (see
// SourceConfig.MinSnapshotRatio).
type Suspicious struct {
	Records          int64   `json:"records"`            // in the new snapshot, which was dropped
	SnapshotRecords  int64   `json:"snapshot_records"`   // in the current snapshot, which is kept
	MinSnapshotRatio float64 `json:"min_snapshot_ratio"` // the source's setting
}

// PartialError says some streams failed while others were written.
type PartialError struct{ Err error }

// Error describes the failures.
func (e *PartialError) Error() string { return "partial sync: " + e.Err.Error() }

// Unwrap returns the underlying failures.
func (e *PartialError) Unwrap() error { return e.Err }

// outcome decides the run status and the error that carries its class.
func outcome(ctx context.Context, res *Result, errs []error) (string, error) {
	var failed, written, suspicious int
	for _, s := range res.Sources {
		for _, st := range s.Streams {
			switch {
			case st.Status == "suspicious":
				suspicious++
				errs = append(errs, fmt.Errorf("source %s stream %s: %w", s.Name, st.Name, st.err))
			case st.Status == "failed":
				failed++
				if st.err != nil && !strings.Contains(s.Error, st.Error) {
					errs = append(errs, fmt.Errorf("source %s stream %s: %w", s.Name, st.Name, st.err))
				}
			case st.Records > 0 || st.Status == "complete":
				written++
			}
		}
	}
	err := errors.Join(errs...)
	switch {
	case ctx.Err() != nil:
		return "interrupted", errors.Join(fmt.Errorf("interrupted: files and state are committed up to each stream's last checkpoint, and the next run goes on from there: %w", protocol.ErrCanceled), err)
	case err == nil && failed == 0:
		return "ok", nil
	case errors.Is(err, protocol.ErrConfig) || errors.Is(err, protocol.ErrAuth) || errors.Is(err, protocol.ErrTemporary):
		if written > 0 {
			return "partial", err
		}
		return "failed", err
	case written > 0 || suspicious > 0:
		// A refused snapshot is not a failure: the stream keeps its data,
		// but someone should look (exit code 3).
		return "partial", &PartialError{Err: err}
	}
	return "failed", err
}
