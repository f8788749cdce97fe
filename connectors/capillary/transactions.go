package capillary

import (
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/rest"
	"github.com/quiver-etl/quiver/sdk/stream"
)

// v11Time is the layout of v1.1 times and date filters: the org's wall
// clock, without an offset.
const v11Time = "2006-01-02 15:04:05"

// window is the transactions stream's run window (stream.Child.Window): the
// billing times read, inclusive at both ends, in the org's time zone. Each
// complete run's window starts a second after the last one's end, so
// complete runs read every transaction once.
type window struct {
	Since string `json:"since"`
	Until string `json:"until"`
}

// transactions declares the transactions stream: for each customer,
// /v1.1/customer/transactions by user id, limit and offset, count. v1.1 is
// XML-converted JSON, so numbers may come as strings and a one-item list as
// a bare object; package records reads both shapes.
func (c *Config) transactions(sc *schemas.Stream, parent *stream.Stream, now func() time.Time) *stream.Child {
	ch := stream.ChildFromSchema(sc, parent) // the total: response.customer.count, the customer's transactions in the window
	ch.Keys = []stream.Key{{Parent: "user_id", Column: "user_id"}}
	ch.Pager = rest.LimitOffset{Limit: c.PageSize}
	ch.Request = c.transactionsRequest
	ch.Gone = gone
	ch.Window = func(last json.RawMessage) (json.RawMessage, error) { return c.window(last, now()) }
	return ch
}

// window returns the window after last (nil: the first run's, from
// start_date). It ends a whole second before now, less settle_minutes, so
// that a transaction billed while the run reads is left to the next run,
// never skipped.
func (c *Config) window(last json.RawMessage, now time.Time) (json.RawMessage, error) {
	since, err := time.ParseInLocation(time.DateOnly, c.StartDate, c.loc)
	if err != nil {
		return nil, fmt.Errorf("capillary: start_date %q: %w", c.StartDate, sdk.ErrConfig)
	}
	if last != nil {
		var w window
		end, err := parseWindowEnd(last, &w, c.loc)
		if err != nil {
			return nil, err
		}
		since = end.Add(time.Second)
	}
	until := now.In(c.loc).Truncate(time.Second).Add(-time.Second - c.settle())
	if until.Before(since) {
		until = since.Add(-time.Second) // nothing new yet: an empty window
	}
	return json.Marshal(window{Since: since.Format(v11Time), Until: until.Format(v11Time)})
}

// parseWindowEnd decodes a saved window into w and returns its end.
func parseWindowEnd(raw json.RawMessage, w *window, loc *time.Location) (time.Time, error) {
	if err := json.Unmarshal(raw, w); err != nil {
		return time.Time{}, fmt.Errorf("capillary: saved window %.100s is not {\"since\",\"until\"} (reset it with quiver state reset): %w", raw, sdk.ErrConfig)
	}
	end, err := time.ParseInLocation(v11Time, w.Until, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("capillary: saved window end %q is not a time like 2024-01-01 00:00:00 (reset it with quiver state reset): %w", w.Until, sdk.ErrConfig)
	}
	return end, nil
}

// transactionsRequest lists one customer's transactions in a window,
// oldest first, so that offsets are stable while the window's past is.
func (c *Config) transactionsRequest(customer stream.ParentKey, raw json.RawMessage) (rest.Request, error) {
	var w window
	if _, err := parseWindowEnd(raw, &w, c.loc); err != nil {
		return rest.Request{}, err
	}
	q := url.Values{
		"format":     {"json"},
		"id":         {customer.String()},
		"start_date": {w.Since},
		"end_date":   {w.Until},
		"sort":       {"trans_id"},
		"order":      {"asc"},
	}
	return rest.Request{Path: transactionsPath, Query: q}, nil
}
