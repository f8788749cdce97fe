package stream

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strings"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// FromSchema declares the stream a schema file describes: its catalog
// fields; a GET of its path (Get); its records path; an Info that reads
// the file's total and next page (for rest.NextLink and rest.Cursor) from
// the envelope and fingerprints each page by its first and last primary
// key, so that a vendor ignoring the paging parameters is caught rather
// than looped on; and the file's incremental section, if any:
//
//   - "updates": "lookback": Lookback and Checkpoint from the watermark
//     (the engine sets the filter from the mark, less the window);
//   - "updates": "cursor": a Request that sets the filter from the saved
//     mark (Watermark.Filter), and Checkpoint from the watermark.
//
// The caller sets the Pager, and whatever else the API needs (a sort
// parameter in Request, a LookbackFloor). Errors wrap sdk.ErrConfig.
func FromSchema(sc *schemas.Stream) (*Stream, error) {
	st := &Stream{
		Name:        sc.Name,
		Description: sc.Description,
		Schema:      sc.Schema,
		PrimaryKey:  sc.PrimaryKey,
		CursorField: sc.CursorField,
		SyncModes:   SyncModes(sc.SyncModes),
		Updates:     sdk.Updates(sc.Updates),
		Records:     sc.Records,
		Request:     Get(sc.Path, nil),
		Info:        envelopeInfo(sc),
	}
	if sc.Incremental == nil {
		return st, nil
	}
	wm, err := NewWatermark(sc.Incremental, sc.Schema)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", sc.Name, err)
	}
	st.Checkpoint = wm.Checkpoint
	switch sc.Updates {
	case schemas.Lookback:
		st.Lookback = wm
	case schemas.Cursor:
		st.Request = func(state json.RawMessage) (rest.Request, error) {
			q := url.Values{}
			return rest.Request{Path: sc.Path, Query: q}, wm.Filter(q, state)
		}
	}
	return st, nil
}

// FromSchemas declares every stream of vendor's schema files, sorted by
// name (see FromSchema).
func FromSchemas(vendor string) ([]*Stream, error) {
	all, err := schemas.Vendor(vendor)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", vendor, err)
	}
	out := make([]*Stream, 0, len(all))
	for _, sc := range all {
		st, err := FromSchema(sc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", vendor, err)
		}
		out = append(out, st)
	}
	return out, nil
}

// SyncModes converts a schema file's sync modes.
func SyncModes(modes []string) []sdk.SyncMode {
	out := make([]sdk.SyncMode, 0, len(modes))
	for _, m := range modes {
		out = append(out, sdk.SyncMode(m))
	}
	return out
}

// Get returns a Stream.Request for the listing at path with query q,
// whatever the state: a listing read whole, or whose incremental filter
// the engine sets (Stream.Lookback). q is copied for every read.
func Get(path string, q url.Values) func(json.RawMessage) (rest.Request, error) {
	return func(json.RawMessage) (rest.Request, error) {
		return rest.Request{Path: path, Query: maps.Clone(q)}, nil
	}
}

// EnvelopeInfo returns a Stream.Info: Items is the page's row count, Total
// the integer at the dotted path total of the envelope (none when total is
// "" or the page lacks it), and Fingerprint the page's first and last
// values of the key columns (top-level columns; none when key is empty).
func EnvelopeInfo(total string, key []string) func(p *records.Page) rest.PageInfo {
	return func(p *records.Page) rest.PageInfo {
		rows := int(p.Record.NumRows())
		info := rest.PageInfo{Items: rows}
		if total != "" {
			if n, ok := p.Envelope.Int(total); ok {
				info.Total = int(n)
			}
		}
		if rows == 0 || len(key) == 0 {
			return info
		}
		var first, last []string
		for _, k := range key {
			idx := p.Record.Schema().FieldIndices(k)
			if len(idx) != 1 {
				return info
			}
			col := p.Record.Column(idx[0])
			first, last = append(first, col.ValueStr(0)), append(last, col.ValueStr(rows-1))
		}
		info.Fingerprint = strings.Join(first, ",") + "/" + strings.Join(last, ",")
		return info
	}
}

// envelopeInfo is EnvelopeInfo for sc's file, with the next page's link
// or cursor at its "next" path, if it has one.
func envelopeInfo(sc *schemas.Stream) func(p *records.Page) rest.PageInfo {
	info := EnvelopeInfo(sc.Total, sc.PrimaryKey)
	if sc.Next == "" {
		return info
	}
	return func(p *records.Page) rest.PageInfo {
		i := info(p)
		i.Next, _ = p.Envelope.String(sc.Next)
		return i
	}
}

// ChildFromSchema declares the child stream a schema file describes, read
// once for each record of parent: its catalog fields, its records path,
// and an Info as FromSchema's (with the file's total and next page, and
// fingerprints of the page's primary key columns that come from the
// child's pages). The caller sets Keys, Pager, Request and, for an
// incremental stream, Window.
func ChildFromSchema(sc *schemas.Stream, parent *Stream) *Child {
	return &Child{
		Name: sc.Name, Description: sc.Description, Schema: sc.Schema, PrimaryKey: sc.PrimaryKey,
		CursorField: sc.CursorField, SyncModes: SyncModes(sc.SyncModes), Updates: sdk.Updates(sc.Updates),
		Parent: parent, Records: sc.Records, Info: envelopeInfo(sc),
	}
}
