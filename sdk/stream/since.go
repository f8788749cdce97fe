package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// PerRead is a Dynamic that declares the same streams anew for every read
// (and for the catalog), for streams whose declaration keeps the progress
// of one read, such as UpdatedSince's: Source.Read may run reads
// concurrently, and each gets its own. It returns the streams, or an
// error that fails the read.
type PerRead func() ([]*Stream, error)

// Catalog returns the catalog entries of the streams f declares.
func (f PerRead) Catalog(context.Context) ([]sdk.Stream, error) {
	streams, err := f()
	if err != nil {
		return nil, err
	}
	out := make([]sdk.Stream, 0, len(streams))
	for _, st := range streams {
		out = append(out, st.Catalog())
	}
	return out, nil
}

// Declare returns the streams f declares, for one read.
func (f PerRead) Declare(context.Context, sdk.ReadRequest) (*Declared, error) {
	streams, err := f()
	if err != nil {
		return nil, err
	}
	return &Declared{Streams: streams}, nil
}

// DefaultSinceMargin is UpdatedSince's default margin: a change is only
// trusted to be listed once it is this old by the local clock, to allow
// for a vendor clock behind ours and for writes that become visible late.
const DefaultSinceMargin = time.Minute

// SinceOptions configure UpdatedSince. The zero value gives the defaults.
type SinceOptions struct {
	// Now is the clock a read's start is taken from; default time.Now.
	Now func() time.Time
	// Margin is how far before the read's start the mark stays at least;
	// default DefaultSinceMargin.
	Margin time.Duration
}

// UpdatedSince makes st read incrementally with an "updated since" filter
// over a listing that is not sorted by it, such as Harvest's, which lists
// newest first and filters on updated_at with updated_since.
//
// st's cursor is a timestamp column that every change moves, and its
// primary key one column. Request asks for the records whose cursor is at
// or after the saved mark, with the query parameter filter (RFC 3339, in
// UTC, whole seconds) added to what st.Request gives. Since the pages come
// in no order of the cursor, the mark only moves once the whole listing is
// read: the stream checkpoints once, at its end (Finish), with the highest
// cursor value read and the keys of the records read at it. The next read
// drops those records, which a filter that includes its bound lists again,
// and keeps every other one, so that a filter that includes it and one
// that does not both read every change once. The state is
// {"mark": RFC 3339, "keys": [...]}.
//
// The mark never passes the read's start less opts.Margin: a record
// changed while the read goes on may have been read on an earlier page
// before its change, while a record changed later moves past it on a later
// page; a mark at the later change would hide the earlier one for good.
// Records read with a cursor past that bound are read again by the next
// read, as are those in the second of a mark with a fraction of a second
// (the filter has whole seconds); readers keep the latest version of a key.
//
// UpdatedSince keeps the progress of one read in st: declare st anew for
// every read (PerRead). Errors wrap sdk.ErrConfig.
func UpdatedSince(st *Stream, filter string, opts SinceOptions) error {
	cursor := st.Schema.FieldIndices(st.CursorField)
	if len(cursor) != 1 || st.Schema.Field(cursor[0]).Type.ID() != arrow.TIMESTAMP {
		return fmt.Errorf("stream %s: updated since: cursor %q is not a timestamp column: %w", st.Name, st.CursorField, sdk.ErrConfig)
	}
	if len(st.PrimaryKey) != 1 || len(st.Schema.FieldIndices(st.PrimaryKey[0])) != 1 {
		return fmt.Errorf("stream %s: updated since: want a primary key of one column: %w", st.Name, sdk.ErrConfig)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Margin <= 0 {
		opts.Margin = DefaultSinceMargin
	}
	u := &updatedSince{st: st, filter: filter, opts: opts, request: st.Request, cursor: cursor[0], key: st.Schema.FieldIndices(st.PrimaryKey[0])[0]}
	st.Request, st.Select, st.Checkpoint, st.Finish = u.start, u.keep, nil, u.finish
	return nil
}

// updatedSince is one read's progress (UpdatedSince).
type updatedSince struct {
	st          *Stream
	filter      string
	opts        SinceOptions
	request     func(json.RawMessage) (rest.Request, error) // st's own
	cursor, key int                                         // columns
	since, max  sinceState                                  // the saved state, and the state so far
	read        map[string]bool                             // since.Keys as a set
	bound       time.Time                                   // the mark stays at or before it
}

// sinceState is UpdatedSince's state.
type sinceState struct {
	Mark time.Time `json:"mark"`
	Keys []string  `json:"keys"`
}

func (u *updatedSince) start(state json.RawMessage) (rest.Request, error) {
	u.since = sinceState{}
	if len(state) > 0 && string(state) != "null" {
		if err := json.Unmarshal(state, &u.since); err != nil || u.since.Mark.IsZero() {
			return rest.Request{}, fmt.Errorf("stream %s: saved state %s is not {\"mark\": RFC 3339 time, \"keys\": [...]}; reset it with quiver state reset: %w", u.st.Name, state, sdk.ErrConfig)
		}
	}
	u.max, u.since.Keys = u.since, slices.Clone(u.since.Keys)
	u.read = make(map[string]bool, len(u.since.Keys))
	for _, k := range u.since.Keys {
		u.read[k] = true
	}
	u.bound = u.opts.Now().Add(-u.opts.Margin)
	req, err := u.request(nil)
	if err != nil || u.since.Mark.IsZero() {
		return req, err
	}
	q := url.Values{}
	for k, v := range req.Query {
		q[k] = slices.Clone(v)
	}
	q.Set(u.filter, u.since.Mark.UTC().Format(time.RFC3339))
	req.Query = q
	return req, nil
}

// keep drops the records the saved state says were read, and moves the
// mark over the others.
func (u *updatedSince) keep(p *records.Page) (arrow.Record, error) {
	at, keys := p.Record.Column(u.cursor).(*array.Timestamp), p.Record.Column(u.key)
	unit := u.st.Schema.Field(u.cursor).Type.(*arrow.TimestampType).Unit
	return records.Filter(memory.DefaultAllocator, p.Record, func(i int) bool {
		if at.IsNull(i) {
			return true
		}
		// The key is formatted only for records at a mark, not for each one.
		t := at.Value(i).ToTime(unit)
		switch {
		case t.Equal(u.since.Mark) && u.read[keys.ValueStr(i)]:
			return false
		case t.After(u.bound): // changed during the read: read again next time
		case t.After(u.max.Mark):
			u.max = sinceState{Mark: t, Keys: []string{keys.ValueStr(i)}}
		case t.Equal(u.max.Mark):
			u.max.Keys = append(u.max.Keys, keys.ValueStr(i))
		}
		return true
	})
}

func (u *updatedSince) finish(json.RawMessage) (json.RawMessage, error) {
	if u.max.Mark.IsZero() {
		return nil, nil
	}
	return json.Marshal(u.max)
}

var _ Dynamic = PerRead(nil)
