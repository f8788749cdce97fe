package tracktik

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// streamState is a stream's incremental state: the highest id written.
// Listings are sorted by id, and new entities get higher ids, so resuming
// with id:gt=<id> neither skips nor repeats a record. (TrackTik documents no
// updatedOn filter, vendors.md §1.5, so changed records are not re-read.)
type streamState struct {
	ID int64 `json:"id"`
}

func parseState(b []byte) (streamState, error) {
	var st streamState
	if len(b) == 0 || string(b) == "null" {
		return st, nil
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("tracktik: saved state %s is not {\"id\": N}: %w (reset it with quiver state reset)", b, sdk.ErrConfig)
	}
	return st, nil
}

// checkpoint returns the state after a page: the id of its last record.
func checkpoint(prev json.RawMessage, p *records.Page) (json.RawMessage, error) {
	n := int(p.Record.NumRows())
	if n == 0 {
		return nil, nil
	}
	col, ok := p.Record.Column(0).(*array.Int64)
	if !ok || p.Record.ColumnName(0) != "id" {
		return nil, fmt.Errorf("tracktik: the first column is %q, want the int64 id", p.Record.ColumnName(0))
	}
	last := col.Value(n - 1)
	st, err := parseState(prev)
	if err != nil {
		return nil, err
	}
	if last <= st.ID {
		return nil, fmt.Errorf("tracktik: ids go backwards (%d after %d): the listing is not sorted by id", last, st.ID)
	}
	return json.RawMessage(`{"id":` + strconv.FormatInt(last, 10) + `}`), nil
}

// pageInfo reads the meta envelope: meta.count is the total matching rows,
// meta.itemCount the rows on this page (vendors.md §1.4).
func pageInfo(p *records.Page) rest.PageInfo {
	rows := int(p.Record.NumRows())
	info := rest.PageInfo{Items: rows}
	if total, ok := p.Envelope.Int("meta.count"); ok {
		info.Total = int(total)
	}
	if rows > 0 {
		ids := p.Record.Column(0).(*array.Int64)
		info.Fingerprint = fmt.Sprintf("%d-%d", ids.Value(0), ids.Value(rows-1))
	}
	return info
}
