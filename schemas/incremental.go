package schemas

import (
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
)

// Watermark is a stream's "incremental" section: how a read resumes from
// the high-water mark of a cursor column. The saved state is
// {"<cursor>": <highest value read>}; the next read asks the API for
// records past it with the query parameter Filter.
//
// The listing must be sorted by the cursor, ascending, so that the mark
// after any page covers every record read so far; and Filter should be
// exclusive ("greater than"): an inclusive filter reads the record at the
// mark again. Records that change without a new cursor value (an update to
// an old record when the cursor is an id) are not read again: pick an
// "updated at" cursor when the API has one, or declare the stream's
// "updates" as "snapshot" or "lookback" (see the package documentation).
type Watermark struct {
	// Cursor is the top-level column holding the mark: int64, string,
	// date32 or timestamp. It equals the stream's CursorField.
	Cursor string
	// Filter is the query parameter that receives the mark, e.g. "id:gt"
	// for TrackTik's ?id:gt=1234.
	Filter string
	// Lookback is subtracted from a date or timestamp mark before it is
	// sent, to catch records that arrive late with an older cursor value.
	// For a "lookback" stream it is the default window read again on every
	// run, measured from the earlier of the mark and the run's start
	// (sdk/stream.Watermark.Since). Records inside the window are read, and
	// written, again: readers keep the latest version of each primary key.
	// Zero for other cursor types.
	Lookback time.Duration
	// Layout is the Go time layout of a date or timestamp mark in the
	// filter; default time.RFC3339 for timestamps (in UTC) and
	// "2006-01-02" for dates.
	Layout string
}

// fileIncremental is the JSON shape of the "incremental" section.
type fileIncremental struct {
	Cursor   string `json:"cursor"`
	Filter   string `json:"filter"`
	Lookback string `json:"lookback"`
	Layout   string `json:"layout"`
}

// parse checks the section against the stream's columns and its
// cursor_field, which it fills in when the file leaves it out. A nil
// section gives a nil Watermark.
func (fi *fileIncremental) parse(columns map[string]arrow.Field, cursorField *string) (*Watermark, error) {
	if fi == nil {
		return nil, nil
	}
	inc := &Watermark{Cursor: fi.Cursor, Filter: fi.Filter, Layout: fi.Layout}
	switch {
	case inc.Cursor == "":
		inc.Cursor = *cursorField
		if inc.Cursor == "" {
			return nil, errors.New("cursor: missing (name the column, or set cursor_field)")
		}
	case *cursorField == "":
		*cursorField = inc.Cursor
	case *cursorField != inc.Cursor:
		return nil, fmt.Errorf("cursor %q differs from cursor_field %q", inc.Cursor, *cursorField)
	}
	if inc.Filter == "" {
		return nil, errors.New(`filter: missing (the query parameter that takes the mark, e.g. "id:gt")`)
	}
	f, ok := columns[inc.Cursor]
	if !ok {
		return nil, fmt.Errorf("cursor %q is not a column", inc.Cursor)
	}
	temporal := false
	switch f.Type.ID() {
	case arrow.INT64, arrow.STRING:
	case arrow.DATE32, arrow.TIMESTAMP:
		temporal = true
	default:
		return nil, fmt.Errorf("cursor %q has type %s; want int64, string, date32 or timestamp", inc.Cursor, f.Type)
	}
	if fi.Lookback != "" {
		d, err := time.ParseDuration(fi.Lookback)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("lookback %q: want a duration such as \"10m\" or \"24h\"", fi.Lookback)
		}
		if d > 0 && !temporal {
			return nil, fmt.Errorf("lookback %q: only date and timestamp cursors have a lookback window", fi.Lookback)
		}
		inc.Lookback = d
	}
	if inc.Layout != "" && !temporal {
		return nil, fmt.Errorf("layout %q: only date and timestamp cursors have a layout", inc.Layout)
	}
	return inc, nil
}
