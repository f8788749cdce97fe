package capillary

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// searchAll is the customer search query that lists every customer. The
// search has no "list all" form of its own
// (docs/vendors/capillary.md#customer-search); the simulator, like
// Capillary's search engine, takes "*" as a wildcard.
const searchAll = "*"

// customers declares the customers stream: /v2/customers/search, limit and
// offset, pagination.total. The search has no update filter, so the stream
// is a full refresh; it is also the parent whose keys the transactions
// stream lists.
func (c *Config) customers(sc *schemas.Stream) *rest.Stream {
	return &rest.Stream{
		Name:        sc.Name,
		Description: sc.Description,
		Schema:      sc.Schema,
		PrimaryKey:  sc.PrimaryKey,
		CursorField: sc.CursorField,
		SyncModes:   syncModes(sc),
		Updates:     sdk.Updates(sc.Updates),
		Records:     []string{"data"},
		IDField:     "userId",
		Pager:       rest.LimitOffset{Limit: c.PageSize},
		Request: func(json.RawMessage) (rest.Request, error) {
			return rest.Request{Path: searchPath, Query: url.Values{"q": {searchAll}}}, nil
		},
		Info: pageInfo("pagination.total"),
	}
}

// pageInfo returns the Info of a listing whose total is the envelope
// value at totalPath (a number or a numeric string), and whose records have
// their int64 id first.
func pageInfo(totalPath string) func(p *records.Page) rest.PageInfo {
	return func(p *records.Page) rest.PageInfo {
		rows := int(p.Record.NumRows())
		info := rest.PageInfo{Items: rows}
		if total, ok := p.Envelope.Int(totalPath); ok {
			info.Total = int(total)
		}
		if ids, ok := p.Record.Column(0).(*array.Int64); ok && rows > 0 {
			info.Fingerprint = fmt.Sprintf("%d-%d", ids.Value(0), ids.Value(rows-1))
		}
		return info
	}
}
