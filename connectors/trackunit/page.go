package trackunit

import (
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// pageNumberInfo reads the envelope of IRIS page-number paging
// (docs/vendors/trackunit.md#page-number-paging): {"totalPages",
// "totalElements","number","size","numberOfElements","content"}. The
// fingerprint is the page's first and last id, so that a vendor
// ignoring the page parameter is caught rather than looped on.
func pageNumberInfo(p *records.Page) rest.PageInfo {
	rows := int(p.Record.NumRows())
	info := rest.PageInfo{Items: rows}
	if n, ok := p.Envelope.Int("totalPages"); ok {
		info.TotalPages = int(n)
	}
	if n, ok := p.Envelope.Int("totalElements"); ok {
		info.Total = int(n)
	}
	if idx := p.Record.Schema().FieldIndices("id"); rows > 0 && len(idx) == 1 {
		if ids, ok := p.Record.Column(idx[0]).(*array.String); ok {
			info.Fingerprint = ids.Value(0) + "/" + ids.Value(rows-1)
		}
	}
	return info
}
