package trackvia

import (
	"encoding/json"
	"fmt"
	"time"
)

// Lookback is how far before the server's clock at the start of a read an
// incremental cursor may go at most. A record updated while a read pages
// past it gets a "Last Updated" after the read began, so a cursor no later
// than the read's start never skips it; the margin covers clock skew
// between TrackVia's servers and the time a change takes to become
// visible. Records changed in the lookback window are read again by the
// next run: a re-read, never a skip.
const Lookback = 15 * time.Minute

// streamState is the incremental state of a view stream. Cursor is set only
// after a whole view was read: every record whose Field is before Cursor
// has been sent in its latest version. The state applies only to the view
// and structure it names: after a structure change (Schema) the next run
// reads the whole view again, so that new or renamed columns are filled
// for every record.
type streamState struct {
	View   int64  `json:"view"`             // view id; 0 for users
	Schema string `json:"schema"`           // layout fingerprint
	Field  string `json:"field,omitempty"`  // the cursor column
	Cursor string `json:"cursor,omitempty"` // RFC 3339, UTC
}

// marshal returns st as JSON.
func (st streamState) marshal() (json.RawMessage, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("trackvia: state: %w", err)
	}
	return b, nil
}

// since returns the cursor of a saved state, in microseconds since the
// epoch, if the state applies to view id with layout l; otherwise why not.
// A state that applies to nothing makes the read start from scratch: that
// reads records again, it never skips one.
func since(saved json.RawMessage, id int64, l *layout) (micros int64, ok bool, why string) {
	if len(saved) == 0 || string(saved) == "null" {
		return 0, false, ""
	}
	var st streamState
	if err := json.Unmarshal(saved, &st); err != nil {
		return 0, false, "the saved state is not understood"
	}
	switch {
	case st.View != id:
		return 0, false, fmt.Sprintf("the saved state is of another view (id %d)", st.View)
	case st.Schema != l.fingerprint:
		return 0, false, "the view's structure changed since the last run"
	case st.Field != l.cursorName() || st.Cursor == "":
		return 0, false, "the saved state has no cursor on " + l.cursorName()
	}
	t, err := time.Parse(time.RFC3339Nano, st.Cursor)
	if err != nil {
		return 0, false, "the saved cursor is not a time"
	}
	return t.UnixMicro(), true, ""
}

// nextCursor returns the cursor after a complete read that started from
// since (if hasSince) and saw cursor values up to maxSeen (if hasMax): the
// later of the two, but never after floor, the read's start less Lookback.
func nextCursor(since int64, hasSince bool, maxSeen int64, hasMax bool, floor time.Time) time.Time {
	limit := floor.UnixMicro()
	c := limit
	switch {
	case hasSince && hasMax:
		c = max(since, maxSeen)
	case hasSince:
		c = since
	case hasMax:
		c = maxSeen
	}
	return time.UnixMicro(min(c, limit)).UTC()
}
