package trackvia

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
	"github.com/quiver-etl/quiver/sdk/stream"
)

// Declare implements stream.Dynamic: apps and views as their schema files
// declare them, and the views (and the users) with the schemas of their
// structures, which are read again first, so that a read uses the
// structure of now, as Discover does. A rejected API key or auth token
// fails the whole read; a view that is gone or whose structure changed
// since Discover fails its stream only.
func (s *source) Declare(ctx context.Context, req sdk.ReadRequest) (*stream.Declared, error) {
	s.warnExpiry(ctx)
	static, err := staticStreams()
	if err != nil {
		return nil, err
	}
	d := &stream.Declared{Failed: map[string]error{}}
	var pending []sdk.StreamRequest // streams with a structure
	for _, r := range req.Streams {
		if i := slices.IndexFunc(static, func(st *stream.Stream) bool { return st.Name == r.Name }); i >= 0 {
			d.Streams = append(d.Streams, static[i])
		} else {
			pending = append(pending, r)
		}
	}
	if len(pending) == 0 {
		return d, nil
	}
	views, err := s.listViews(ctx)
	if err != nil {
		return nil, fmt.Errorf("trackvia: read: %w", err)
	}
	all, err := s.targets(views)
	if err != nil {
		return nil, err
	}
	var targets []*target
	var wanted []sdk.StreamRequest
	for _, r := range pending {
		i := slices.IndexFunc(all, func(t *target) bool { return t.stream == r.Name })
		if i < 0 {
			d.Failed[r.Name] = fmt.Errorf("trackvia: stream %s: no such view among those the token can read (deleted, renamed or no longer shared since discover?)", r.Name)
			continue
		}
		targets, wanted = append(targets, all[i]), append(wanted, r)
	}
	log := sdk.Logger(ctx)
	for i, st := range s.fetchStructures(ctx, targets) {
		t, r := targets[i], wanted[i]
		if err := s.usable(t, st); err != nil {
			if errors.Is(err, sdk.ErrAuth) {
				return nil, fmt.Errorf("trackvia: read: %w", err)
			}
			d.Failed[t.stream] = err
			continue
		}
		warnLayout(ctx, t, st.layout)
		v := &viewReader{t: t, l: st.layout, mode: r.Mode, floor: st.date.Add(-Lookback), mem: s.conn.allocator(), log: log.With("stream", t.stream),
			overlap: overlapFor(s.cfg.PageSize)}
		d.Streams = append(d.Streams, v.stream(s.cfg.PageSize))
	}
	return d, nil
}

// usable returns why the structure st of t cannot be read now, or nil:
// the request failed, or the structure is not the one Discover reported in
// this process (the host would refuse batches of another schema).
func (s *source) usable(t *target, st structure) error {
	if st.err != nil {
		return st.err
	}
	old, now := s.conn.discoveredSchema(s.key, t.stream), records.WithRescue(st.layout.schema)
	if old == nil || old.Equal(now) {
		return nil
	}
	return fmt.Errorf("trackvia: %s: the structure changed between discover and read (%s); the next run reads it with the new structure: %w",
		t.label(), diffColumns(old, now), sdk.ErrTemporary)
}

// overlapFor is the rows each page shares with the page before it, for a
// page size: a twentieth of a page, at most 100 rows, at least one (none
// for pages of one row, which could not advance).
func overlapFor(pageSize int) int {
	if pageSize < 2 {
		return 0
	}
	return min(max(pageSize/20, 1), 100)
}

// A viewReader reads one view (or the users) once: it checks each page's
// structure, drops the rows a page shares with the one before, keeps the
// incremental cursor and filters by it. Its methods are called by
// stream.ReadStreams from one goroutine.
type viewReader struct {
	t       *target
	l       *layout
	mode    sdk.SyncMode
	floor   time.Time // a cursor never passes it: the read's start less Lookback
	mem     memory.Allocator
	log     *slog.Logger
	overlap int // rows a page shares with the one before (see overlapPaging)

	since    int64 // the saved cursor, µs; valid if hasSince
	hasSince bool
	maxSeen  int64 // the greatest cursor value read, µs; valid if hasMax
	hasMax   bool

	shared    int     // rows the current page shares with the last one
	tail      []int64 // the last page's last ids
	structure []byte  // the last structure that matched the layout
}

// stream returns the stream.Stream of the read.
func (v *viewReader) stream(pageSize int) *stream.Stream {
	e := catalogEntry(v.t, v.l)
	st := &stream.Stream{
		Name: e.Name, Description: e.Description, Schema: e.Schema, PrimaryKey: e.PrimaryKey,
		CursorField: e.CursorField, SyncModes: e.SyncModes, Updates: e.Updates,
		Records: []string{"data"},
		Pager:   overlapPager{size: pageSize, v: v},
		Request: v.request,
		Info:    pageInfo,
		Select:  v.selectRows,
		Finish:  v.finish,
	}
	if v.mode != sdk.Incremental || v.l.cursor < 0 {
		// No resuming a full refresh: checkpoints after each page only let
		// the host write the pages to disk as they come. An incremental
		// read checkpoints once, at the end (Finish): its cursor can only
		// advance once the whole view, in no known order, has been read.
		st.Checkpoint = func(json.RawMessage, *records.Page) (json.RawMessage, error) { return v.state() }
	}
	return st
}

// request starts the read from the saved state.
func (v *viewReader) request(saved json.RawMessage) (rest.Request, error) {
	var why string
	v.since, v.hasSince, why = since(saved, v.t.view.ID, v.l)
	if why != "" {
		v.log.Info(why + "; reading the whole view")
	}
	return rest.Request{Path: v.t.path}, nil
}

// pageInfo reads totalCount and fingerprints the page by its ids.
func pageInfo(p *records.Page) rest.PageInfo {
	rows := int(p.Record.NumRows())
	info := rest.PageInfo{Items: rows}
	if total, ok := p.Envelope.Int("totalCount"); ok {
		info.Total = int(total)
	}
	if rows > 0 {
		ids := p.Record.Column(0).(*array.Int64)
		info.Fingerprint = fmt.Sprintf("%d-%d", ids.Value(0), ids.Value(rows-1))
	}
	return info
}

// selectRows checks page p and returns its rows to write: those not on the
// page before, and for an incremental read with a cursor those updated at
// or after it (or without a value).
func (v *viewReader) selectRows(p *records.Page) (arrow.Record, error) {
	if err := v.checkStructure(p); err != nil {
		return nil, err
	}
	rec := p.Record
	n := int(rec.NumRows())
	ids := rec.Column(0).(*array.Int64)
	seen := map[int64]bool{}
	if v.shared > 0 {
		for _, id := range v.tail[max(len(v.tail)-v.shared, 0):] {
			seen[id] = true
		}
	}
	dup := make([]bool, n)
	anyDup := false
	for i := range n {
		dup[i] = seen[ids.Value(i)]
		anyDup = anyDup || dup[i]
	}
	if v.shared > 0 && !anyDup {
		// None of the rows both pages should hold came back: more records
		// left the view between two pages than they share, so some moved
		// to places already read and would be missed.
		return nil, fmt.Errorf("trackvia: %s: records left the view while it was read (none of the %d records two pages share came back); the read would miss some, so the next run reads it again: %w",
			v.t.label(), v.shared, sdk.ErrTemporary)
	}
	v.tail = append(v.tail[:0], ids.Int64Values()[max(n-v.overlap, 0):]...)

	var cursor *array.Timestamp
	if v.l.cursor >= 0 {
		cursor = rec.Column(v.l.cursor).(*array.Timestamp)
		for i := range n {
			if cursor.IsValid(i) && (!v.hasMax || int64(cursor.Value(i)) > v.maxSeen) {
				v.maxSeen, v.hasMax = int64(cursor.Value(i)), true
			}
		}
	}
	keep := func(i int) bool {
		if dup[i] {
			return false
		}
		return !v.hasSince || cursor.IsNull(i) || int64(cursor.Value(i)) >= v.since
	}
	out, err := records.Filter(v.mem, rec, keep)
	if err != nil {
		return nil, fmt.Errorf("trackvia: select rows: %w", err)
	}
	return out, nil
}

// checkStructure fails the read if p's structure is not the layout's.
func (v *viewReader) checkStructure(p *records.Page) error {
	raw, ok := p.Envelope.Raw("structure")
	if !ok || bytes.Equal(raw, v.structure) {
		return nil
	}
	fields, err := parseStructure(raw)
	if err != nil {
		return fmt.Errorf("trackvia: %s: %w", v.t.label(), err)
	}
	if l := newLayout(v.t.stream, fields); l.fingerprint != v.l.fingerprint {
		return fmt.Errorf("trackvia: %s: the structure changed during the read (%s); the next run reads it with the new structure: %w",
			v.t.label(), diffColumns(v.l.schema, l.schema), sdk.ErrTemporary)
	}
	v.structure = bytes.Clone(raw)
	return nil
}

// state returns the state after the pages read so far; once the whole
// view has been read it is the next run's starting point.
func (v *viewReader) state() (json.RawMessage, error) {
	st := streamState{View: v.t.view.ID, Schema: v.l.fingerprint}
	if v.l.cursor >= 0 {
		st.Field = v.l.cursorName()
		st.Cursor = nextCursor(v.since, v.hasSince, v.maxSeen, v.hasMax, v.floor).Format(time.RFC3339Nano)
	}
	return st.marshal()
}

// finish returns the state after the whole view.
func (v *viewReader) finish(json.RawMessage) (json.RawMessage, error) { return v.state() }

// overlapPager pages start/max until totalCount (rest.StartMax), but
// starts each page a few rows before the end of the one before. Records
// that leave a view while it is read move the rows after them up; the
// shared rows catch that (selectRows drops them as repeats, and fails the
// read when none come back), where plain offsets would skip the rows that
// moved.
type overlapPager struct {
	size int
	v    *viewReader
}

// Start implements rest.Pager.
func (p overlapPager) Start() rest.Paging {
	p.v.shared, p.v.tail = 0, nil
	return &overlapPaging{inner: rest.StartMax{Max: p.size}.Start(), v: p.v}
}

type overlapPaging struct {
	inner rest.Paging
	v     *viewReader
}

// Apply implements rest.Paging.
func (p *overlapPaging) Apply(req *rest.Request) { p.inner.Apply(req) }

// Next implements rest.Paging: the next page starts overlap rows before
// the end of this one, when there is a next page to speak of.
func (p *overlapPaging) Next(info rest.PageInfo) (bool, error) {
	o := p.v.overlap
	if info.Items <= o || info.Total <= 0 {
		o = 0
	}
	// StartMax advances by Items and ends at Total; both less o move the
	// start o rows back and keep the end where it is.
	info.Items -= o
	info.Total -= o
	more, err := p.inner.Next(info)
	p.v.shared = o
	return more, err
}

var (
	_ rest.Pager  = overlapPager{}
	_ rest.Paging = (*overlapPaging)(nil)
)
