package trackunit

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
	"github.com/quiver-etl/quiver/sdk/stream"
)

// coordinates are the columns of a GeoJSON point's coordinates, in GeoJSON
// order: [longitude, latitude, altitude].
var coordinates = []string{"longitude", "latitude", "altitude"}

// locationsStream declares the locations stream: GET
// /public/api/location/v1/locations, cursor paging (limit, and the "after"
// of each page as the next page's after), GeoJSON Feature records flattened
// into columns (docs/vendors/trackunit.md#locations,
// docs/vendors/trackunit.md#cursor-paging). The list allows one request per
// second per page, so its requests wait on a limiter of their own.
//
// The listing ends at a page without an "after" cursor (null or missing)
// or at an empty page; an API that sets "after" on every page ends with an
// empty one.
func (s *source) locationsStream(st *stream.Stream) error {
	dec, err := geoJSONSchema(st.Schema)
	if err != nil {
		return err
	}
	st.Records = []string{"content"}
	st.DecodeSchema = dec
	st.Pager = rest.Cursor{Limit: s.cfg.PageSize}
	st.Request = func(json.RawMessage) (rest.Request, error) {
		return rest.Request{Path: LocationsPath, Limiter: s.locations}, nil
	}
	// The research leaves the prefix unsure (docs/vendors/trackunit.md#locations):
	// a 404 under /public/api tries /api.
	st.AltPaths = []string{LocationsAltPath}
	st.Info = func(p *records.Page) rest.PageInfo {
		next, _ := p.Envelope.String("after") // null or missing: the end
		return rest.PageInfo{Items: int(p.Record.NumRows()), Next: next}
	}
	out := records.WithRescue(st.Schema)
	st.Select = func(p *records.Page) (arrow.Record, error) {
		return flattenLocations(s.mem, out, p.Record)
	}
	return nil
}

// geoJSONSchema returns the schema a page of the locations list decodes
// with: {"type": "Feature", "geometry": {"type": "Point", "coordinates":
// [lon, lat, alt]}, "properties": {...}}, where properties holds every
// column of out but the coordinates. The two GeoJSON types are decoded
// (and dropped by flattenLocations) so that they are not rescued as
// unknown keys on every record.
func geoJSONSchema(out *arrow.Schema) (*arrow.Schema, error) {
	var props []arrow.Field
	for _, f := range out.Fields() {
		if slices.Contains(coordinates, f.Name) {
			if !arrow.TypeEqual(f.Type, arrow.PrimitiveTypes.Float64) {
				return nil, fmt.Errorf("column %s is %s, want float64", f.Name, f.Type)
			}
			continue
		}
		props = append(props, f)
	}
	geoType := arrow.Field{Name: "type", Type: arrow.BinaryTypes.String, Nullable: true}
	geometry := arrow.StructOf(arrow.Field{Name: "coordinates", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64), Nullable: true}, geoType)
	return arrow.NewSchema([]arrow.Field{
		{Name: "geometry", Type: geometry, Nullable: true},
		{Name: "properties", Type: arrow.StructOf(props...)},
		geoType,
	}, nil), nil
}

// flattenLocations turns a decoded page (geometry, properties) into a
// record of out: the coordinates by position (null when a point has fewer,
// as a Bluetooth tag's fix has no altitude), and the properties' columns
// and the rescued values as they are, without copying.
func flattenLocations(mem memory.Allocator, out *arrow.Schema, rec arrow.Record) (arrow.Record, error) {
	geom, ok1 := rec.Column(0).(*array.Struct)
	props, ok2 := rec.Column(1).(*array.Struct)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("locations: decoded page has columns %s, want geometry and properties", rec.Schema())
	}
	coords := geom.Field(0).(*array.List)
	values := coords.ListValues().(*array.Float64)
	propType := props.DataType().(*arrow.StructType)
	n := int(rec.NumRows())
	cols := make([]arrow.Array, 0, out.NumFields())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for _, f := range out.Fields() {
		if k := slices.Index(coordinates, f.Name); k >= 0 {
			b := array.NewFloat64Builder(mem)
			b.Reserve(n)
			for i := range n {
				start, end := coords.ValueOffsets(i)
				j := int(start) + k
				if coords.IsNull(i) || int64(j) >= end || values.IsNull(j) {
					b.AppendNull()
					continue
				}
				b.UnsafeAppend(values.Value(j))
			}
			cols = append(cols, b.NewArray())
			b.Release()
			continue
		}
		c := records.Rescued(rec)
		if f.Name != records.RescueColumn {
			idx, ok := propType.FieldIdx(f.Name)
			if !ok {
				return nil, fmt.Errorf("locations: no column %s in the decoded properties", f.Name)
			}
			c = props.Field(idx)
		}
		c.Retain()
		cols = append(cols, c)
	}
	return array.NewRecord(out, cols, int64(n)), nil
}
