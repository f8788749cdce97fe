package trackunit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
	"github.com/quiver-etl/quiver/sdk/stream"
)

// eventQuery is the JSON body of POST /asset-event/log: the time window
// (docs/vendors/trackunit.md#asset-event-log). Whether either end is
// inclusive is not documented.
type eventQuery struct {
	FromTime string `json:"fromTime"`
	ToTime   string `json:"toTime"`
}

// eventTimeKeys are the JSON keys an event's time may come under, best
// first. The research (docs/vendors/trackunit.md#asset-event-log) names
// the window's fromTime and toTime but not the key of the event's own
// time; eventTime is this connector's guess, and the others are the names
// event APIs commonly use.
var eventTimeKeys = []string{
	"eventTime", "eventTimestamp", "eventDateTime", "occurredAt", "occurredTime",
	"timestamp", "time", "dateTime", "createdAt", "createdTime", "created",
}

// Window edges of the asset_events state.
const (
	// edgeSlack is how far before the window's end an event still counts
	// as at its edge: the API may round toTime, or compare it inclusively,
	// so such an event can come back in the next window.
	edgeSlack = time.Second
	// maxEdgeIDs bounds the ids a state keeps. Events without a time
	// cannot be placed in the window, so they all count as at its edge;
	// the last ones listed are kept.
	maxEdgeIDs = 1000
)

// events declares the asset_events stream: POST
// /public/api/eventlog/v3/asset-event/log with the window from start_date
// (or the end of the last read's window) to the start of the read,
// page-number paging with page and size in the query
// (docs/vendors/trackunit.md#asset-event-log).
//
// The incremental position is the window the connector sent, not the
// events' times, which the research does not name and some events lack:
// the state is the window's end (toTime) and the ids of the events at
// that edge (see eventState), checkpointed once the whole window has been
// read. The next read's window starts there and drops the events the state
// names, so an event at the edge is neither lost nor read twice, whether
// the API's window ends are inclusive or not. event_time is filled from the
// first of eventTimeKeys a record has, and is null when it has none.
func (s *source) events(st *stream.Stream, start json.RawMessage) error {
	from, err := parseEventState(start)
	if err != nil {
		return err
	}
	idCol, timeCol, err := eventColumns(st.Schema)
	if err != nil {
		return err
	}
	read := &eventRead{mem: s.mem, schema: records.WithRescue(st.Schema), from: from, idCol: idCol, timeCol: timeCol}
	read.decode, read.times = eventDecodeSchema(st.Schema, timeCol)
	st.DecodeSchema = read.decode
	st.Records = []string{"content"}
	st.Pager = rest.PageNumber{Size: s.cfg.PageSize}
	st.Request = func(state json.RawMessage) (rest.Request, error) {
		return s.eventRequest(state, read)
	}
	st.Info = pageNumberInfo
	st.Select = read.selectRows
	st.Finish = func(json.RawMessage) (json.RawMessage, error) { return read.state() }
	return nil
}

// eventColumns returns the indices of the id and event_time columns.
func eventColumns(schema *arrow.Schema) (id, at int, err error) {
	ids, times := schema.FieldIndices("id"), schema.FieldIndices("event_time")
	if len(ids) != 1 || len(times) != 1 {
		return 0, 0, fmt.Errorf("the schema lacks id or event_time")
	}
	if _, ok := schema.Field(ids[0]).Type.(*arrow.StringType); !ok {
		return 0, 0, fmt.Errorf("id is %s, want a string", schema.Field(ids[0]).Type)
	}
	if _, ok := schema.Field(times[0]).Type.(*arrow.TimestampType); !ok {
		return 0, 0, fmt.Errorf("event_time is %s, want a timestamp", schema.Field(times[0]).Type)
	}
	return ids[0], times[0], nil
}

// eventDecodeSchema returns the schema pages are decoded with: schema with
// event_time (at timeCol) read from the first of eventTimeKeys, and one
// more column per other key, at the end; times holds the indices of the
// time columns, best key first.
func eventDecodeSchema(schema *arrow.Schema, timeCol int) (*arrow.Schema, []int) {
	fields := slices.Clone(schema.Fields())
	et := fields[timeCol]
	et.Nullable = true
	et.Metadata = arrow.NewMetadata([]string{schemas.MetaJSON}, []string{eventTimeKeys[0]})
	fields[timeCol] = et
	times := []int{timeCol}
	for _, key := range eventTimeKeys[1:] {
		times = append(times, len(fields))
		fields = append(fields, arrow.Field{
			Name: "event_time." + key, Type: et.Type, Nullable: true,
			Metadata: arrow.NewMetadata([]string{schemas.MetaJSON}, []string{key}),
		})
	}
	md := schema.Metadata()
	return arrow.NewSchema(fields, &md), times
}

// eventRequest builds the listing's request: the window from the state's
// end (or start_date) to now, which it notes in read.
func (s *source) eventRequest(state json.RawMessage, read *eventRead) (rest.Request, error) {
	st, err := parseEventState(state)
	if err != nil {
		return rest.Request{}, err
	}
	from, err := time.Parse(time.DateOnly, s.cfg.StartDate)
	if err != nil {
		return rest.Request{}, fmt.Errorf("start_date %q: %w", s.cfg.StartDate, err)
	}
	if st.ToTime != "" {
		from = st.to
	}
	// Microseconds: as fine as the events' times are kept, so that an
	// event logged a moment after a window's end falls in the next.
	to := time.Now().UTC().Truncate(time.Microsecond)
	if to.Before(from) { // a clock behind the saved state: an empty window
		to = from
	}
	read.to = to
	body, err := json.Marshal(eventQuery{FromTime: formatTime(from), ToTime: formatTime(to)})
	if err != nil {
		return rest.Request{}, err
	}
	return rest.Request{
		Method: http.MethodPost,
		Path:   EventLogPath,
		Body:   body,
		Header: http.Header{"Content-Type": {"application/json"}},
	}, nil
}

// formatTime writes t as the API's ISO-8601 instants: UTC, with as many
// fraction digits as t has.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// eventState is the asset_events state: {"to_time": "<RFC 3339>", "ids":
// ["<event id>", ...]}, the end of the last read's window (the toTime it
// sent) and the ids of the events read at that edge: within edgeSlack of
// it, after it, or without a time.
type eventState struct {
	ToTime string   `json:"to_time"`
	IDs    []string `json:"ids,omitempty"`
	// EventTime is the older state's name for the position, the time of
	// the newest event read; its ids were the events at that time. Read
	// as ToTime, it resumes exactly as the older state did.
	EventTime string `json:"event_time,omitempty"`

	to  time.Time
	ids map[string]bool
}

// parseEventState reads a saved state; an empty or null one is the zero
// eventState.
func parseEventState(b []byte) (eventState, error) {
	var st eventState
	if len(b) == 0 || string(b) == "null" {
		return st, nil
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("saved state %s is not {\"to_time\": ..., \"ids\": [...]} (%v); reset it with quiver state reset: %w", b, err, sdk.ErrConfig)
	}
	if st.ToTime == "" {
		st.ToTime, st.EventTime = st.EventTime, ""
	}
	t, err := time.Parse(time.RFC3339Nano, st.ToTime)
	if err != nil {
		return st, fmt.Errorf("saved state %s: to_time: %v; reset it with quiver state reset: %w", b, err, sdk.ErrConfig)
	}
	st.to = t
	st.ids = make(map[string]bool, len(st.IDs))
	for _, id := range st.IDs {
		st.ids[id] = true
	}
	return st, nil
}

// An eventRead is one read of asset_events: its window, the state it
// started from, and the events it has seen at the window's end. Its
// methods are called by stream.ReadStreams from one goroutine.
type eventRead struct {
	mem            memory.Allocator
	schema         *arrow.Schema // the stream's, with records.RescueColumn
	from           eventState    // the state the read started from
	to             time.Time     // the window's end, set by the request
	decode         *arrow.Schema // what pages decode to
	times          []int         // decode's time columns, best first
	idCol, timeCol int

	edge     []string // ids of the events read at the window's end, oldest listed first
	edgeSeen map[string]bool
}

// selectRows turns a decoded page into the stream's records: event_time
// from the first time key present, and without the events the start state
// says were read. It notes the events at the window's end.
func (e *eventRead) selectRows(p *records.Page) (arrow.Record, error) {
	rec := p.Record
	n := int(rec.NumRows())
	at, err := e.coalesce(rec)
	if err != nil {
		return nil, err
	}
	defer at.Release()
	ids := rec.Column(e.idCol).(*array.String)
	keep := make([]bool, n)
	for i := range n {
		id := ids.Value(i)
		keep[i] = !e.from.ids[id]
		if at.IsNull(i) || !at.Value(i).ToTime(arrow.Microsecond).Before(e.to.Add(-edgeSlack)) {
			e.noteEdge(id)
		}
	}
	out, err := e.reshape(rec, at)
	if err != nil {
		return nil, err
	}
	defer out.Release()
	kept, err := records.Filter(e.mem, out, func(i int) bool { return keep[i] })
	if err != nil {
		return nil, fmt.Errorf("asset_events: %w", err)
	}
	return kept, nil
}

// coalesce returns the event_time column of rec: each row's first non-null
// time column.
func (e *eventRead) coalesce(rec arrow.Record) (*array.Timestamp, error) {
	dt := rec.Column(e.timeCol).DataType().(*arrow.TimestampType)
	if dt.Unit != arrow.Microsecond {
		return nil, fmt.Errorf("event_time is %s, want microseconds", dt)
	}
	b := array.NewTimestampBuilder(e.mem, dt)
	defer b.Release()
	n := int(rec.NumRows())
	b.Reserve(n)
rows:
	for i := range n {
		for _, c := range e.times {
			col := rec.Column(c).(*array.Timestamp)
			if col.IsValid(i) {
				b.Append(col.Value(i))
				continue rows
			}
		}
		b.AppendNull()
	}
	return b.NewTimestampArray(), nil
}

// reshape returns rec (of e.decode) as a record of the stream's schema,
// with at as event_time and every other column the decoded one of its
// name.
func (e *eventRead) reshape(rec arrow.Record, at arrow.Array) (arrow.Record, error) {
	cols := make([]arrow.Array, e.schema.NumFields())
	for i, f := range e.schema.Fields() {
		if i == e.timeCol {
			cols[i] = at
			continue
		}
		idx := rec.Schema().FieldIndices(f.Name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("decoded events lack column %s", f.Name)
		}
		cols[i] = rec.Column(idx[0])
	}
	return array.NewRecord(e.schema, cols, rec.NumRows()), nil
}

// noteEdge adds id to the events at the window's end, keeping the last
// maxEdgeIDs.
func (e *eventRead) noteEdge(id string) {
	if e.edgeSeen == nil {
		e.edgeSeen = map[string]bool{}
	}
	if e.edgeSeen[id] {
		return
	}
	e.edgeSeen[id] = true
	e.edge = append(e.edge, id)
	if len(e.edge) > maxEdgeIDs {
		delete(e.edgeSeen, e.edge[0])
		e.edge = e.edge[1:]
	}
}

// state returns the state after the whole window: its end, and the events
// at it. A window that was empty (the clock has not moved since the last
// read) keeps the last read's edge too.
func (e *eventRead) state() (json.RawMessage, error) {
	next := eventState{ToTime: formatTime(e.to), IDs: slices.Clone(e.edge)}
	if e.from.ToTime != "" && !e.to.After(e.from.to.Add(edgeSlack)) {
		for _, id := range e.from.IDs {
			if !e.edgeSeen[id] {
				next.IDs = append(next.IDs, id)
			}
		}
	}
	b, err := json.Marshal(next)
	if err != nil {
		return nil, err
	}
	return b, nil
}
