package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
)

// A connectorDoc is everything a connector's page shows.
type connectorDoc struct {
	Name        string // e.g. "tracktik"
	Title       string // e.g. "TrackTik", from the config schema's title
	Version     string
	Description string
	Binary      string // quiver-<name>
	About       string // the package doc comment, as Markdown
	Keys        []schemaKey
	Example     string // a YAML config
	ExampleFile string // where Example comes from; "" when generated
	Streams     []streamDoc
	Discovered  []string    // streams of the Spec without a schema file
	SchemaDir   string      // where the schema files are, e.g. "schemas/tracktik/"
	Dynamic     *dynamicDoc // nil unless stream schemas are found at run time
	Notes       notes
	Vendor      string // the vendor API page, relative to docs/; "" if none
}

// A streamDoc describes one static stream.
type streamDoc struct {
	Name        string
	Description string
	Path        string // API path
	PrimaryKey  []string
	CursorField string
	SyncModes   []string
	Updates     string   // the update strategy: cursor, snapshot or lookback
	Seen        string   // Markdown: how far back changes are seen
	Columns     []column // flattened; nested fields have dotted names
	Written     []column // top-level columns as written, lineage columns included
}

// A column is one column (or nested field) of a stream.
type column struct {
	Name        string // dotted for nested fields; "[]" marks list elements
	Depth       int    // 0 for top-level columns
	Arrow       string // Arrow type as DESIGN writes it, e.g. timestamp[us, UTC]
	DuckDB      string // the type DuckDB reports for the Parquet column
	DuckShort   string // DuckDB, with struct fields left to the rows below
	Nullable    bool
	JSON        string // the vendor's JSON key when it differs from the name
	Description string
}

// A dynamicDoc documents a connector whose streams and columns come from
// the vendor account at run time.
type dynamicDoc struct {
	Summary    string    // what the discovered streams are, e.g. "one stream per view"
	Intro      string    // Markdown: where the schema comes from
	PrimaryKey []string  // the primary key of every stream, if fixed
	Fixed      []column  // columns every stream has, if any
	Types      []typeRow // vendor field type -> Arrow type
}

// A typeRow maps one vendor field type to the column type it becomes.
type typeRow struct {
	Vendor string // the vendor's type name
	Arrow  string
	DuckDB string
	Note   string
}

// entry is one line of the connector list in connectors.go.
type entry struct {
	c sdk.Connector
	// dir is the connector's package folder, relative to the repository;
	// default connectors/<name>.
	dir string
	// dynamic describes run-time schemas; nil for connectors whose streams
	// all have schema files: under schemas/<name>/, or in the streams/
	// folder of dir, as `quiver new connector` writes them.
	dynamic func(context.Context) (*dynamicDoc, error)
}

// buildConnector gathers a connector's page from its Spec, its embedded
// stream schemas and its package.
func buildConnector(ctx context.Context, root string, e entry, ex map[string]example, n notes) (*connectorDoc, error) {
	spec := e.c.Spec()
	title, keys, err := configSchemaKeys(spec.ConfigSchema)
	if err != nil {
		return nil, fmt.Errorf("connector %s: %w", spec.Name, err)
	}
	if title == "" {
		title = spec.Name
	}
	dir := e.dir
	if dir == "" {
		dir = "connectors/" + spec.Name
	}
	about, err := packageDoc(root + "/" + dir)
	if err != nil {
		return nil, err
	}
	d := &connectorDoc{
		Name:        spec.Name,
		Title:       title,
		Version:     spec.Version,
		Description: spec.Description,
		Binary:      "quiver-" + spec.Name,
		About:       aboutText(spec.Name, about),
		Keys:        keys,
		Notes:       n,
	}
	if x, ok := ex[spec.Name]; ok {
		d.Example, d.ExampleFile = x.text, x.file
	} else {
		d.Example = exampleConfig(spec.Name, keys)
	}
	static, err := schemas.Vendor(spec.Name)
	d.SchemaDir = "schemas/" + spec.Name + "/"
	if errors.Is(err, fs.ErrNotExist) {
		d.SchemaDir = dir + "/streams/"
		static, err = ownSchemas(filepath.Join(root, filepath.FromSlash(dir), "streams"))
	}
	if err != nil {
		return nil, fmt.Errorf("connector %s: %w", spec.Name, err)
	}
	have := map[string]bool{}
	for _, s := range static {
		have[s.Name] = true
		d.Streams = append(d.Streams, streamFrom(s))
	}
	for _, name := range spec.Streams {
		if !have[name] {
			d.Discovered = append(d.Discovered, name)
		}
		if !have[name] && e.dynamic == nil {
			return nil, fmt.Errorf("connector %s: stream %s has no schemas/%s/%s.json; give the connector's entry a dynamic description", spec.Name, name, spec.Name, name)
		}
	}
	if e.dynamic != nil {
		if d.Dynamic, err = e.dynamic(ctx); err != nil {
			return nil, fmt.Errorf("connector %s: %w", spec.Name, err)
		}
	}
	if len(d.Streams) == 0 && d.Dynamic == nil {
		return nil, fmt.Errorf("connector %s: no schemas/%s/*.json and no dynamic description", spec.Name, spec.Name)
	}
	return d, nil
}

// ownSchemas parses the schema files in a connector's own streams folder,
// sorted by name; none when it has no such folder.
func ownSchemas(dir string) ([]*schemas.Stream, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*schemas.Stream
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		s, err := schemas.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(p), err)
		}
		out = append(out, s)
	}
	return out, nil
}

// streamFrom converts an embedded schema file.
func streamFrom(s *schemas.Stream) streamDoc {
	d := streamDoc{
		Name:        s.Name,
		Description: s.Description,
		Path:        s.Path,
		PrimaryKey:  s.PrimaryKey,
		CursorField: s.CursorField,
		SyncModes:   s.SyncModes,
		Updates:     s.Updates,
		Seen:        updatesSeen(s),
		Columns:     flatten(s.Schema.Fields(), "", 0),
	}
	// Every stream is read through a records.Decoder, which adds the
	// rescue column after the schema's own; the host adds lineage.
	for _, f := range sink.LineageSchema(records.WithRescue(s.Schema)).Fields() {
		d.Written = append(d.Written, columnOf(f, f.Name, 0))
	}
	return d
}

// updatesSeen says, for a stream's page, how far back a run sees changes
// to records already read, from its update strategy.
func updatesSeen(s *schemas.Stream) string {
	switch s.Updates {
	case schemas.Snapshot:
		return "Every run reads the whole stream and replaces its files once the new snapshot is complete: " +
			"every change is seen by the next run, and a record the API no longer lists is gone from the new snapshot."
	case schemas.Lookback:
		w := s.Incremental
		return fmt.Sprintf("Every run reads again from %s before the earlier of the saved `%s` and the run's start "+
			"(`%s` filter; set `lookback` on the source or the stream to change the window), through the end of the data: "+
			"changes to records dated within the last %s, or in the future, are seen; older records are not read again. "+
			"Records read again are appended: the latest version of a key is its row with the latest `_quiver_extracted_at`, "+
			"and `quiver compact` rewrites the stream to just those rows.",
			days(w.Lookback), s.CursorField, w.Filter, days(w.Lookback))
	case schemas.Cursor:
		return fmt.Sprintf("Each run reads from the saved `%s` on: every change the vendor records by moving it is seen by the next run.", s.CursorField)
	}
	return ""
}

// days writes a duration in days when it is whole days.
func days(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return d.String()
}

// flatten lists fields and, below each struct (or list of structs), its
// children.
func flatten(fields []arrow.Field, prefix string, depth int) []column {
	var out []column
	for _, f := range fields {
		name := prefix + f.Name
		out = append(out, columnOf(f, name, depth))
		switch t := f.Type.(type) {
		case *arrow.StructType:
			out = append(out, flatten(t.Fields(), name+".", depth+1)...)
		case *arrow.ListType:
			if st, ok := t.Elem().(*arrow.StructType); ok {
				out = append(out, flatten(st.Fields(), name+"[].", depth+1)...)
			}
		}
	}
	return out
}

// columnOf describes field f, shown as name at nesting depth.
func columnOf(f arrow.Field, name string, depth int) column {
	c := column{Name: name, Depth: depth, Arrow: arrowType(f.Type), DuckDB: duckType(f.Type), DuckShort: duckShort(f.Type), Nullable: f.Nullable}
	if v, ok := f.Metadata.GetValue(schemas.MetaJSON); ok {
		c.JSON = v
	}
	if v, ok := f.Metadata.GetValue(schemas.MetaDescription); ok {
		c.Description = v
	}
	return c
}

// arrowType writes an Arrow type the way DESIGN.md does: timestamp[us, UTC],
// list<string>, struct.
func arrowType(dt arrow.DataType) string {
	switch t := dt.(type) {
	case *arrow.TimestampType:
		if t.TimeZone == "" {
			return fmt.Sprintf("timestamp[%s]", t.Unit)
		}
		return fmt.Sprintf("timestamp[%s, %s]", t.Unit, t.TimeZone)
	case *arrow.ListType:
		return "list<" + arrowType(t.Elem()) + ">"
	case *arrow.StructType:
		return "struct"
	case *arrow.Decimal128Type:
		return fmt.Sprintf("decimal(%d, %d)", t.Precision, t.Scale)
	}
	switch dt.ID() {
	case arrow.STRING:
		return "string" // Arrow's own name is utf8; DESIGN and the schema files say string
	case arrow.BOOL:
		return "bool"
	}
	return dt.String()
}

// duckType is the type DuckDB reports (DESCRIBE) for a Parquet column that
// Quiver wrote from dt. examples/duckdb/verify.mjs checks it against the
// demo's files.
func duckType(dt arrow.DataType) string {
	switch t := dt.(type) {
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return "TIMESTAMP WITH TIME ZONE"
		}
		if t.Unit == arrow.Nanosecond {
			return "TIMESTAMP_NS"
		}
		return "TIMESTAMP"
	case *arrow.ListType:
		return duckType(t.Elem()) + "[]"
	case *arrow.StructType:
		var parts []string
		for _, f := range t.Fields() {
			parts = append(parts, duckIdent(f.Name)+" "+duckType(f.Type))
		}
		return "STRUCT(" + strings.Join(parts, ", ") + ")"
	case *arrow.Decimal128Type:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)
	}
	switch dt.ID() {
	case arrow.INT64:
		return "BIGINT"
	case arrow.INT32:
		return "INTEGER"
	case arrow.INT16:
		return "SMALLINT"
	case arrow.INT8:
		return "TINYINT"
	case arrow.FLOAT64:
		return "DOUBLE"
	case arrow.FLOAT32:
		return "FLOAT"
	case arrow.BOOL:
		return "BOOLEAN"
	case arrow.STRING, arrow.LARGE_STRING:
		return "VARCHAR"
	case arrow.BINARY, arrow.LARGE_BINARY:
		return "BLOB"
	case arrow.DATE32:
		return "DATE"
	}
	return strings.ToUpper(dt.String())
}

// duckShort is duckType with the fields of structs elided, for tables that
// list them on rows of their own.
func duckShort(dt arrow.DataType) string {
	switch t := dt.(type) {
	case *arrow.StructType:
		return "STRUCT(…)"
	case *arrow.ListType:
		return duckShort(t.Elem()) + "[]"
	}
	return duckType(dt)
}

// duckIdent writes a struct field name in a DuckDB type. DuckDB also
// quotes plain names that are SQL keywords ("name", "type"); verify.mjs
// drops those quotes before comparing, so here only names that need them
// are quoted.
func duckIdent(s string) string {
	plain := s != ""
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			plain = false
		}
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
