package trackunit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// eventQuery is the JSON body of POST /asset-event/log: the time window,
// fromTime inclusive and toTime exclusive
// (docs/vendors/trackunit.md#asset-event-log).
type eventQuery struct {
	FromTime string `json:"fromTime"`
	ToTime   string `json:"toTime"`
}

// events declares the asset_events stream: POST
// /public/api/eventlog/v3/asset-event/log with the window from start_date
// (or the saved state) to the start of the read, page-number paging with
// page and size in the query (docs/vendors/trackunit.md#asset-event-log).
// Events come oldest first.
//
// The state is the time of the last event read and the ids of the events
// read at that time (see eventState). A read resumes at that time,
// inclusive, and drops the events it names, so events that share a
// timestamp across a page boundary are neither lost nor read twice. start
// is the state the read starts from.
func (s *source) events(st *rest.Stream, start json.RawMessage) error {
	from, err := parseEventState(start)
	if err != nil {
		return err
	}
	idCol, timeCol, err := eventColumns(st.Schema)
	if err != nil {
		return err
	}
	st.Records = []string{"content"}
	st.Pager = rest.PageNumber{Size: s.cfg.PageSize}
	st.Request = func(state json.RawMessage) (rest.Request, error) {
		return s.eventRequest(state)
	}
	st.Info = pageNumberInfo
	st.Checkpoint = func(prev json.RawMessage, p *records.Page) (json.RawMessage, error) {
		return eventCheckpoint(prev, p.Record, idCol, timeCol)
	}
	if from.EventTime != "" {
		st.Select = func(p *records.Page) (arrow.Record, error) {
			return from.unread(s.mem, p.Record, idCol, timeCol)
		}
	}
	return nil
}

// eventColumns returns the indices of the id and event_time columns.
func eventColumns(schema *arrow.Schema) (id, at int, err error) {
	ids, times := schema.FieldIndices("id"), schema.FieldIndices("event_time")
	if len(ids) != 1 || len(times) != 1 {
		return 0, 0, fmt.Errorf("the schema lacks id or event_time")
	}
	if _, ok := schema.Field(times[0]).Type.(*arrow.TimestampType); !ok {
		return 0, 0, fmt.Errorf("event_time is %s, want a timestamp", schema.Field(times[0]).Type)
	}
	return ids[0], times[0], nil
}

// eventRequest builds the listing's request: the window from the state's
// event time (or start_date) to now.
func (s *source) eventRequest(state json.RawMessage) (rest.Request, error) {
	st, err := parseEventState(state)
	if err != nil {
		return rest.Request{}, err
	}
	from, err := time.Parse(time.DateOnly, s.cfg.StartDate)
	if err != nil {
		return rest.Request{}, fmt.Errorf("start_date %q: %w", s.cfg.StartDate, err)
	}
	if st.EventTime != "" {
		from = st.time
	}
	to := time.Now().UTC().Truncate(time.Millisecond)
	if to.Before(from) { // a clock behind the saved state: an empty window
		to = from
	}
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

// eventState is the asset_events state: {"event_time": "<RFC 3339>",
// "ids": ["<event id>", ...]}, the time of the newest event read and the
// ids of the events read at exactly that time.
type eventState struct {
	EventTime string   `json:"event_time"`
	IDs       []string `json:"ids,omitempty"`
	time      time.Time
	ids       map[string]bool
}

// parseEventState reads a saved state; an empty or null one is the zero
// eventState.
func parseEventState(b []byte) (eventState, error) {
	var st eventState
	if len(b) == 0 || string(b) == "null" {
		return st, nil
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("saved state %s is not {\"event_time\": ..., \"ids\": [...]} (%v); reset it with quiver state reset: %w", b, err, sdk.ErrConfig)
	}
	t, err := time.Parse(time.RFC3339Nano, st.EventTime)
	if err != nil {
		return st, fmt.Errorf("saved state %s: event_time: %v; reset it with quiver state reset: %w", b, err, sdk.ErrConfig)
	}
	st.time = t
	st.ids = make(map[string]bool, len(st.IDs))
	for _, id := range st.IDs {
		st.ids[id] = true
	}
	return st, nil
}

// read reports whether the event id at time t was read before this state
// was saved: it is older, or as old and named.
func (st *eventState) read(t time.Time, id string) bool {
	return t.Before(st.time) || t.Equal(st.time) && st.ids[id]
}

// unread returns the rows of rec not read before st was saved: rec itself
// (retained) when there are none to drop, a slice when they lead the page,
// else a copy.
func (st *eventState) unread(mem memory.Allocator, rec arrow.Record, idCol, timeCol int) (arrow.Record, error) {
	ids := rec.Column(idCol).(*array.String)
	times := rec.Column(timeCol).(*array.Timestamp)
	unit := times.DataType().(*arrow.TimestampType).Unit
	keep := make([]bool, rec.NumRows())
	drop := 0
	for i := range keep {
		keep[i] = !st.read(times.Value(i).ToTime(unit), ids.Value(i))
		if !keep[i] {
			drop++
		}
	}
	return keepRows(mem, rec, keep, drop)
}

// eventCheckpoint returns the state after a page of events: the time of
// its last event and the ids of the events at that time, with prev's ids
// when the time is the same. Times must not go down: a listing that is
// not oldest first could not be resumed without loss.
func eventCheckpoint(prev json.RawMessage, rec arrow.Record, idCol, timeCol int) (json.RawMessage, error) {
	n := int(rec.NumRows())
	if n == 0 {
		return nil, nil
	}
	before, err := parseEventState(prev)
	if err != nil {
		return nil, err
	}
	ids := rec.Column(idCol).(*array.String)
	times := rec.Column(timeCol).(*array.Timestamp)
	for i := 1; i < n; i++ {
		if times.Value(i) < times.Value(i-1) {
			return nil, fmt.Errorf("event times go down within a page (%s after %s): the event log is not oldest first", ids.Value(i), ids.Value(i-1))
		}
	}
	unit := times.DataType().(*arrow.TimestampType).Unit
	last := times.Value(n - 1).ToTime(unit).UTC()
	if before.EventTime != "" && last.Before(before.time) {
		return nil, fmt.Errorf("a page ends at %s, before the saved %s: the event log is not oldest first or ignored fromTime", formatTime(last), before.EventTime)
	}
	next := eventState{EventTime: formatTime(last)}
	if before.EventTime != "" && last.Equal(before.time) {
		next.IDs = append(next.IDs, before.IDs...)
	}
	first := n - 1 // the first event at the last time
	for first > 0 && times.Value(first-1) == times.Value(n-1) {
		first--
	}
	for i := first; i < n; i++ {
		if id := ids.Value(i); !before.ids[id] || !last.Equal(before.time) {
			next.IDs = append(next.IDs, id)
		}
	}
	b, err := json.Marshal(next)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// keepRows returns the rows of rec where keep is true; drop counts the
// others. It slices when the kept rows are one run, and copies otherwise.
func keepRows(mem memory.Allocator, rec arrow.Record, keep []bool, drop int) (arrow.Record, error) {
	n := len(keep)
	if drop == 0 {
		rec.Retain()
		return rec, nil
	}
	var runs [][2]int // [start, end) of kept rows
	for i := 0; i < n; {
		if !keep[i] {
			i++
			continue
		}
		j := i
		for j < n && keep[j] {
			j++
		}
		runs = append(runs, [2]int{i, j})
		i = j
	}
	switch len(runs) {
	case 0:
		return rec.NewSlice(0, 0), nil
	case 1:
		return rec.NewSlice(int64(runs[0][0]), int64(runs[0][1])), nil
	}
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for c := range cols {
		parts := make([]arrow.Array, len(runs))
		for k, r := range runs {
			parts[k] = array.NewSlice(rec.Column(c), int64(r[0]), int64(r[1]))
		}
		var err error
		cols[c], err = array.Concatenate(parts, mem)
		for _, p := range parts {
			p.Release()
		}
		if err != nil {
			return nil, fmt.Errorf("asset_events: keep %d of %d rows: %w", n-drop, n, err)
		}
	}
	return array.NewRecord(rec.Schema(), cols, int64(n-drop)), nil
}
