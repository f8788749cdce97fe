package tracktik

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// How each stream sees updates (the "updates" of schemas/tracktik/*.json).
// TrackTik documents no updatedOn field or filter
// (docs/vendors/tracktik.md#incremental-sync), so an
// id watermark (id:gt) would never read a changed record again. Instead:
//
//   - employees, clients and positions are snapshots: small lists read
//     whole on every run, whose files the host replaces. Changes (status,
//     job title, phone, a deactivated client) are current after every run,
//     and a record the API no longer lists is gone from the new snapshot.
//   - shifts, work-sessions and reports are lookback streams on the date
//     filters the API documents (docs/vendors/tracktik.md#paging: the
//     key:function=value syntax of the vendor's filter article, whose :after
//     function takes dates, e.g. reportDateTime:after=2025-09-01 00:00:00):
//     startedOn and reportDateTime. The state is the latest date read,
//     {"started_on": "..."}; each run lists from the earlier of that mark
//     and the run's start, less the lookback window (7 days unless the
//     source or stream sets lookback), through the end of the data, sorted
//     by the date and then the id. A change to a record dated inside the
//     window or in the future (a reassigned scheduled shift, a work
//     session closed, a report approved) is read again; a change to an
//     older record is not. Deleted records are not reported by the API:
//     a deleted shift keeps its last version in the files.
//
// Records read again are appended: the latest version of a key is the row
// with the latest _quiver_extracted_at (quiver compact keeps only it).

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
