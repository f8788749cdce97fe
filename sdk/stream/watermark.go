package stream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
)

// A Watermark reads a stream incrementally by the high-water mark of its
// cursor column, as a schema file's "incremental" section declares it
// (schemas.Watermark). Use Filter in Stream.Request and Checkpoint as
// Stream.Checkpoint:
//
//	wm, err := stream.NewWatermark(sc.Incremental, sc.Schema)
//	...
//	Request: func(state json.RawMessage) (rest.Request, error) {
//		q := url.Values{"sort": {"id"}}
//		return rest.Request{Path: sc.Path, Query: q}, wm.Filter(q, state)
//	},
//	Checkpoint: wm.Checkpoint,
//
// The state is {"<cursor>": mark}: a JSON number for int64 cursors, the
// value for strings, "2006-01-02" for dates and RFC 3339 (UTC, with
// nanoseconds) for timestamps. The listing must be sorted by the cursor,
// ascending (see schemas.Watermark). A Watermark is immutable and safe for
// concurrent use.
type Watermark struct {
	decl schemas.Watermark
	col  int            // the cursor's column in the stream's records
	typ  arrow.DataType // its type
}

// NewWatermark checks that decl's cursor is a top-level column of schema
// with a supported type and returns the Watermark. Errors wrap
// sdk.ErrConfig.
func NewWatermark(decl *schemas.Watermark, schema *arrow.Schema) (*Watermark, error) {
	if decl == nil {
		return nil, fmt.Errorf("stream: watermark: no incremental declaration: %w", sdk.ErrConfig)
	}
	idx := schema.FieldIndices(decl.Cursor)
	if len(idx) != 1 {
		return nil, fmt.Errorf("stream: watermark: cursor %q is not a column: %w", decl.Cursor, sdk.ErrConfig)
	}
	typ := schema.Field(idx[0]).Type
	switch typ.ID() {
	case arrow.INT64, arrow.STRING, arrow.DATE32, arrow.TIMESTAMP:
	default:
		return nil, fmt.Errorf("stream: watermark: cursor %q has type %s: %w", decl.Cursor, typ, sdk.ErrConfig)
	}
	return &Watermark{decl: *decl, col: idx[0], typ: typ}, nil
}

// mark is a cursor value: n for int64, date32 (days) and timestamps (in
// the column's unit), s for strings.
type mark struct {
	n int64
	s string
}

func (w *Watermark) less(a, b mark) bool {
	if w.typ.ID() == arrow.STRING {
		return a.s < b.s
	}
	return a.n < b.n
}

// Filter sets the filter parameter in q from state: the mark, minus the
// lookback window for dates and timestamps. An empty or null state (a
// first read) sets nothing. A state that is not this watermark's shape is
// an error wrapping sdk.ErrConfig that says how to reset it.
func (w *Watermark) Filter(q url.Values, state json.RawMessage) error {
	m, ok, err := w.parse(state)
	if err != nil || !ok {
		return err
	}
	var v string
	switch w.typ.ID() {
	case arrow.INT64:
		v = strconv.FormatInt(m.n, 10)
	case arrow.STRING:
		v = m.s
	case arrow.DATE32:
		layout := w.decl.Layout
		if layout == "" {
			layout = time.DateOnly
		}
		v = arrow.Date32(m.n).ToTime().Add(-w.decl.Lookback).Format(layout)
	case arrow.TIMESTAMP:
		layout := w.decl.Layout
		if layout == "" {
			layout = time.RFC3339
		}
		unit := w.typ.(*arrow.TimestampType).Unit
		v = arrow.Timestamp(m.n).ToTime(unit).Add(-w.decl.Lookback).UTC().Format(layout)
	}
	q.Set(w.decl.Filter, v)
	return nil
}

// Since returns where a lookback read starts (the "lookback" update
// strategy): the earlier of state's mark and now, less window (the
// declaration's Lookback when window is zero). Taking the earlier of the
// two keeps a mark in the future, left by records dated ahead such as
// scheduled shifts, from narrowing the window: records from now - window
// on are always read again. ok is false when state holds no mark. The
// cursor must be a date or timestamp.
func (w *Watermark) Since(state json.RawMessage, now time.Time, window time.Duration) (since time.Time, ok bool, err error) {
	m, ok, err := w.parse(state)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	var mark time.Time
	switch w.typ.ID() {
	case arrow.DATE32:
		mark = arrow.Date32(m.n).ToTime()
	case arrow.TIMESTAMP:
		mark = arrow.Timestamp(m.n).ToTime(w.typ.(*arrow.TimestampType).Unit)
	default:
		return time.Time{}, false, fmt.Errorf("stream: watermark: a lookback window needs a date or timestamp cursor, not %s %s: %w", w.decl.Cursor, w.typ, sdk.ErrConfig)
	}
	if window <= 0 {
		window = w.decl.Lookback
	}
	if now.Before(mark) {
		mark = now
	}
	return mark.Add(-window).UTC(), true, nil
}

// SetSince sets the filter parameter in q to t, in the declared layout.
func (w *Watermark) SetSince(q url.Values, t time.Time) {
	layout := w.decl.Layout
	switch {
	case layout != "":
	case w.typ.ID() == arrow.DATE32:
		layout = time.DateOnly
	default:
		layout = time.RFC3339
	}
	q.Set(w.decl.Filter, t.UTC().Format(layout))
}

// Checkpoint returns the state after page p: the greater of prev's mark
// and the page's last cursor value. It returns nil (no checkpoint) for a
// page without cursor values. Values that go down within the page, or a
// page that ends below prev's mark without a lookback window, mean the
// listing is not sorted by the cursor or the API ignored the filter:
// resuming from such a mark could skip records, so that is an error.
func (w *Watermark) Checkpoint(prev json.RawMessage, p *records.Page) (json.RawMessage, error) {
	before, hasBefore, err := w.parse(prev)
	if err != nil {
		return nil, err
	}
	col := p.Record.Column(w.col)
	var last mark
	seen := false
	for i := 0; i < col.Len(); i++ {
		if col.IsNull(i) {
			continue
		}
		v := w.value(col, i)
		if seen && w.less(v, last) {
			return nil, fmt.Errorf("stream: watermark: %s goes down within a page (%s after %s): the listing is not sorted by it",
				w.decl.Cursor, w.format(v), w.format(last))
		}
		last, seen = v, true
	}
	if !seen {
		return nil, nil
	}
	if hasBefore && w.less(last, before) {
		if w.decl.Lookback == 0 {
			return nil, fmt.Errorf("stream: watermark: a page ends at %s %s, below the saved mark %s: the API ignored the %s filter or does not sort by %s",
				w.decl.Cursor, w.format(last), w.format(before), w.decl.Filter, w.decl.Cursor)
		}
		last = before
	}
	var buf bytes.Buffer
	buf.WriteString("{")
	key, _ := json.Marshal(w.decl.Cursor)
	buf.Write(key)
	buf.WriteString(":")
	if w.typ.ID() == arrow.INT64 {
		buf.WriteString(strconv.FormatInt(last.n, 10))
	} else {
		val, _ := json.Marshal(w.format(last))
		buf.Write(val)
	}
	buf.WriteString("}")
	return buf.Bytes(), nil
}

// value reads row i of the cursor column.
func (w *Watermark) value(col arrow.Array, i int) mark {
	switch c := col.(type) {
	case *array.Int64:
		return mark{n: c.Value(i)}
	case *array.String:
		return mark{s: c.Value(i)}
	case *array.Date32:
		return mark{n: int64(c.Value(i))}
	case *array.Timestamp:
		return mark{n: int64(c.Value(i))}
	}
	return mark{}
}

// format renders m as the state holds it (without JSON quoting).
func (w *Watermark) format(m mark) string {
	switch w.typ.ID() {
	case arrow.INT64:
		return strconv.FormatInt(m.n, 10)
	case arrow.DATE32:
		return arrow.Date32(m.n).FormattedString()
	case arrow.TIMESTAMP:
		unit := w.typ.(*arrow.TimestampType).Unit
		return arrow.Timestamp(m.n).ToTime(unit).UTC().Format(time.RFC3339Nano)
	}
	return m.s
}

// parse reads a saved state; ok is false for none.
func (w *Watermark) parse(state json.RawMessage) (m mark, ok bool, err error) {
	if len(bytes.TrimSpace(state)) == 0 || string(bytes.TrimSpace(state)) == "null" {
		return m, false, nil
	}
	bad := func(why string) error {
		return fmt.Errorf("stream: watermark: saved state %s is not {%q: %s} (%s); reset it with quiver state reset: %w",
			state, w.decl.Cursor, w.kind(), why, sdk.ErrConfig)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(state, &obj); err != nil {
		return m, false, bad(err.Error())
	}
	raw, found := obj[w.decl.Cursor]
	if !found {
		return m, false, bad("no " + w.decl.Cursor)
	}
	switch w.typ.ID() {
	case arrow.INT64:
		if err := json.Unmarshal(raw, &m.n); err != nil {
			return m, false, bad(err.Error())
		}
		return m, true, nil
	}
	if err := json.Unmarshal(raw, &m.s); err != nil {
		return m, false, bad(err.Error())
	}
	switch w.typ.ID() {
	case arrow.DATE32:
		t, err := time.Parse(time.DateOnly, m.s)
		if err != nil {
			return m, false, bad(err.Error())
		}
		m = mark{n: int64(arrow.Date32FromTime(t))}
	case arrow.TIMESTAMP:
		t, err := time.Parse(time.RFC3339Nano, m.s)
		if err != nil {
			return m, false, bad(err.Error())
		}
		ts, err := arrow.TimestampFromTime(t, w.typ.(*arrow.TimestampType).Unit)
		if err != nil {
			return m, false, bad(err.Error())
		}
		m = mark{n: int64(ts)}
	}
	return m, true, nil
}

// kind names the mark's JSON shape for errors.
func (w *Watermark) kind() string {
	switch w.typ.ID() {
	case arrow.INT64:
		return "N"
	case arrow.DATE32:
		return `"YYYY-MM-DD"`
	case arrow.TIMESTAMP:
		return `"RFC 3339 time"`
	}
	return `"text"`
}
