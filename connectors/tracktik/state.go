package tracktik

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// The incremental state is the highest id written, {"id": N}, kept by
// rest.Watermark as the schema files declare it. Listings are sorted by id
// and new entities get higher ids, so resuming with id:gt=N neither skips
// nor repeats a record. TrackTik documents no updatedOn filter
// (docs/vendors/tracktik.md#incremental-sync), so changes to records
// already read are not read again: run with --full-refresh to pick them
// up.

// pageInfo reads the meta envelope: meta.count is the total matching rows,
// meta.itemCount the rows on this page
// (docs/vendors/tracktik.md#envelopes).
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
