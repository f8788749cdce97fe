package trackunit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
	"github.com/quiver-etl/quiver/sdk/stream"
)

// headerColumns are the fleet snapshot's columns that come from each
// equipment's EquipmentHeader.
var headerColumns = []string{"pin", "serial_number", "equipment_id", "oem_name", "model", "unit_install_date_time"}

// snapshotColumn is the column filled from the page's SnapshotTime.
const snapshotColumn = "snapshot_time"

// fleet declares the fleet_snapshot stream: the ISO 15143-3 (AEMP 2.0)
// export, GET .../Fleet/1 and then each page's "next" link until a page
// has none (docs/vendors/trackunit.md#aemp-fleet-snapshot). JSON must
// be asked for (XML is the default), and addMetadata=true adds each
// equipment's asset id.
//
// The ISO key casing is ambiguous (same page): "Equipment" and
// "equipment", "EquipmentHeader" and "equipmentHeader", "Links" and
// "links" are all read, by matching keys case-insensitively.
//
// The export allows one request per URL per 15 minutes plus a pool of 50
// extra requests per URL: a sync reads every page once, so only retries
// and repeated syncs draw on the pool. When it is used up the API answers
// 429 with a Retry-After above rest.DefaultMaxRetryAfter, and the stream
// fails as temporary (exit code 75) rather than stall.
func (s *source) fleet(st *stream.Stream) error {
	dec, err := aempSchema(st.Schema)
	if err != nil {
		return err
	}
	st.Records = []string{"Equipment"}
	st.FoldCase = true
	st.DecodeSchema = dec
	st.Pager = rest.NextLink{}
	st.Request = func(json.RawMessage) (rest.Request, error) {
		return rest.Request{
			Path:   FleetPath + "1",
			Query:  url.Values{"addMetadata": {"true"}},
			Header: http.Header{"Accept": {"application/json"}},
		}, nil
	}
	st.Info = func(p *records.Page) rest.PageInfo {
		return rest.PageInfo{Items: int(p.Record.NumRows()), Next: nextLink(p.Envelope)}
	}
	out := records.WithRescue(st.Schema)
	st.Select = func(p *records.Page) (arrow.Record, error) {
		return flattenEquipment(s.mem, out, p)
	}
	return nil
}

// aempSchema returns the schema a fleet page decodes with: the header
// columns of out inside an equipment_header struct (key EquipmentHeader),
// every other column but snapshot_time as it is.
func aempSchema(out *arrow.Schema) (*arrow.Schema, error) {
	var header, others []arrow.Field
	for _, f := range out.Fields() {
		switch {
		case f.Name == snapshotColumn:
		case slices.Contains(headerColumns, f.Name):
			header = append(header, f)
		default:
			others = append(others, f)
		}
	}
	if len(header) != len(headerColumns) {
		return nil, fmt.Errorf("the schema has %d of the %d equipment header columns %v", len(header), len(headerColumns), headerColumns)
	}
	md := arrow.NewMetadata([]string{schemas.MetaJSON}, []string{"EquipmentHeader"})
	fields := append([]arrow.Field{{Name: "equipment_header", Type: arrow.StructOf(header...), Metadata: md}}, others...)
	return arrow.NewSchema(fields, nil), nil
}

// link is one entry of an AEMP page's Links.
type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// nextLink returns the href of the "next" entry of the page's Links (or
// links), or "" at the last page.
func nextLink(env records.Envelope) string {
	for _, key := range []string{"Links", "links"} {
		raw, ok := env.Raw(key)
		if !ok {
			continue
		}
		var links []link // encoding/json also matches "Rel" and "Href"
		if json.Unmarshal(raw, &links) != nil {
			// JSON converted from the XML may hold a lone link as an
			// object rather than a one-item list.
			var one link
			if json.Unmarshal(raw, &one) != nil {
				return ""
			}
			links = []link{one}
		}
		for _, l := range links {
			if l.Rel == "next" || l.Rel == "Next" {
				return l.Href
			}
		}
		return ""
	}
	return ""
}

// snapshotTime returns the page's SnapshotTime (or snapshotTime).
func snapshotTime(env records.Envelope) (time.Time, bool) {
	for _, key := range []string{"SnapshotTime", "snapshotTime"} {
		if v, ok := env.String(key); ok {
			t, err := time.Parse(time.RFC3339Nano, v)
			return t, err == nil
		}
	}
	return time.Time{}, false
}

// flattenEquipment turns a decoded fleet page into a record of out: the
// page's SnapshotTime on every row, the header's columns lifted to the top
// level, the other columns (the rescued values too) as they are, without
// copying.
func flattenEquipment(mem memory.Allocator, out *arrow.Schema, p *records.Page) (arrow.Record, error) {
	rec := p.Record
	n := int(rec.NumRows())
	header, ok := rec.Column(0).(*array.Struct)
	if !ok {
		return nil, fmt.Errorf("fleet_snapshot: decoded page has columns %s, want equipment_header first", rec.Schema())
	}
	headerType := header.DataType().(*arrow.StructType)
	cols := make([]arrow.Array, 0, out.NumFields())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for _, f := range out.Fields() {
		if f.Name == snapshotColumn {
			// The page's SnapshotTime on every row, or nulls without one.
			var at any
			if t, ok := snapshotTime(p.Envelope); ok {
				at = t
			}
			col, err := records.Constant(mem, f.Type, at, n)
			if err != nil {
				return nil, fmt.Errorf("fleet_snapshot: column %s: %w", snapshotColumn, err)
			}
			cols = append(cols, col)
			continue
		}
		var c arrow.Array
		if f.Name == records.RescueColumn {
			c = records.Rescued(rec)
		} else if idx, ok := headerType.FieldIdx(f.Name); ok {
			c = header.Field(idx)
		} else if idx := rec.Schema().FieldIndices(f.Name); len(idx) == 1 {
			c = rec.Column(idx[0])
		} else {
			return nil, fmt.Errorf("fleet_snapshot: no column %s in the decoded page", f.Name)
		}
		c.Retain()
		cols = append(cols, c)
	}
	return array.NewRecord(out, cols, int64(n)), nil
}
