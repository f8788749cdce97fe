package records

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/sdk"
)

// A MapWriter is an sdk.Writer that passes batches and statuses through
// functions of its own on their way to the Writer it wraps; checkpoints
// and progress go through unchanged. It is how a connector reshapes the
// records of some streams, or explains its errors, once for every stream:
//
//	w = &records.MapWriter{Writer: w, MapStatus: func(_ string, st sdk.Status) sdk.Status {
//		st.Err = explain(st.Err)
//		return st
//	}}
type MapWriter struct {
	sdk.Writer
	// MapBatch, if set, returns the batch to write in rec's place: a new
	// reference, which MapWriter releases once written (return rec,
	// retained, to keep it), or an error that fails the write.
	MapBatch func(stream string, rec arrow.Record) (arrow.Record, error)
	// MapStatus, if set, returns the status to report in st's place.
	MapStatus func(stream string, st sdk.Status) sdk.Status
}

// WriteBatch implements sdk.Writer.
func (m *MapWriter) WriteBatch(ctx context.Context, stream string, rec arrow.Record) error {
	if m.MapBatch == nil {
		return m.Writer.WriteBatch(ctx, stream, rec)
	}
	out, err := m.MapBatch(stream, rec)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	defer out.Release()
	return m.Writer.WriteBatch(ctx, stream, out)
}

// Status implements sdk.Writer.
func (m *MapWriter) Status(ctx context.Context, stream string, st sdk.Status) error {
	if m.MapStatus != nil {
		st = m.MapStatus(stream, st)
	}
	return m.Writer.Status(ctx, stream, st)
}

// WallClockWriter is the time-zone option of a vendor that writes local
// times without an offset: it returns w with the batches of the named
// streams (every stream, when none is named) passed through WallClock in
// loc, or w itself when loc is nil or UTC. Load the option with ParseZone,
// and wrap the Writer in Read:
//
//	w = records.WallClockWriter(w, mem, cfg.loc, "transactions")
func WallClockWriter(w sdk.Writer, mem memory.Allocator, loc *time.Location, streams ...string) sdk.Writer {
	if loc == nil || loc == time.UTC {
		return w
	}
	return &MapWriter{Writer: w, MapBatch: func(stream string, rec arrow.Record) (arrow.Record, error) {
		if len(streams) > 0 && !slices.Contains(streams, stream) {
			rec.Retain()
			return rec, nil
		}
		return WallClock(mem, rec, loc)
	}}
}

// ParseZone loads the IANA time zone a connector's time-zone option names,
// e.g. "Asia/Kolkata"; "" and "UTC" are UTC. "Local" is refused: the zone
// of the machine that runs the sync is not the vendor's. The error names
// the value and an example; the caller adds the option's name and class.
// A plugin that must find zones on hosts without a zone database imports
// time/tzdata (Capillary's does).
func ParseZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, fmt.Errorf("%q is not an IANA time zone like Asia/Kolkata", name)
	}
	return loc, nil
}

var _ sdk.Writer = (*MapWriter)(nil)
