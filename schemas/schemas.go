// Package schemas holds the stream schemas of Quiver's connectors as data.
//
// Each static stream is described by one JSON file, schemas/<vendor>/<stream>.json,
// embedded in the binary. The files are reviewed like an API: a diff here is a
// breaking change for everyone reading the output. A file looks like this:
//
//	{
//	  "name": "employees",
//	  "description": "Employees and guards.",
//	  "path": "/rest/v1/employees",
//	  "records": "data",
//	  "total": "meta.count",
//	  "primary_key": ["id"],
//	  "cursor_field": "id",
//	  "sync_modes": ["incremental", "full_refresh"],
//	  "updates": "cursor",
//	  "fields": [
//	    {"name": "id", "type": "int64", "nullable": false},
//	    {"name": "first_name", "json": "firstName", "type": "string"},
//	    {"name": "tags", "type": {"list": "string"}},
//	    {"name": "location", "type": {"struct": [{"name": "latitude", "type": "float64"}]}}
//	  ],
//	  "incremental": {"cursor": "id", "filter": "id:gt"},
//	  "x": {"any_vendor_specific_key": "any JSON"}
//	}
//
// Column names are snake_case; "json" names the key in the vendor's JSON when
// it differs from the column name. Fields are nullable unless they say
// "nullable": false. The types are "int64", "float64", "bool", "string",
// "date32", "timestamp" (timestamp[us, UTC]), {"list": T} and
// {"struct": [fields]}. Unknown keys are an error; vendor-specific extras go
// under "x" and come back in [Stream.Extra].
//
// "records" is the JSON path of the records array in a response of the
// listing, keys from the top-level object joined by dots ("data" for
// {"meta":{...},"data":[...]}); left out, the body itself is the array.
// "total", also optional, is the path of the total number of records the
// listing holds, in the response around the records (the envelope, e.g.
// "meta.count"), which progress reports show and pagers use to stop.
// "next", optional too, is the path in the envelope of the next page's
// link or cursor (e.g. "links.next"), which the next-link and cursor
// pagers follow; null or missing ends the listing. With these, a plain
// listing needs no Go beyond its pager (sdk/stream.FromSchema).
//
// The optional "incremental" section declares how the stream is read
// incrementally (see [Watermark]): the cursor column whose high-water mark
// is the saved state, the query parameter the API filters on it with, and an
// optional lookback window for late-arriving records:
//
//	"incremental": {"cursor": "updated_at", "filter": "updatedAfter", "lookback": "10m",
//	                "layout": "2006-01-02 15:04:05"}
//
// It is generic: any connector can read it (sdk/stream.Watermark does), so it
// does not go under "x". Its cursor is the stream's cursor_field (which may
// then be left out), and the stream must list the incremental sync mode.
//
// "updates" is required: it says how the stream sees changes to records it
// has already read, one of "cursor" (the incremental filter is on a field
// every change moves), "snapshot" (no usable change filter: the stream is
// read whole on every run and its files replaced; sync_modes is
// ["full_refresh"]) or "lookback" (an append-mostly stream with a date
// cursor, read again on every run from the earlier of the mark and the
// run's start, less the incremental section's lookback, its default
// window). Connector docs show it per stream.
//
// The JSON key of a column travels in its Arrow field metadata under
// [MetaJSON] (only when it differs from the column name), which is what
// package records reads to map vendor JSON onto the schema.
package schemas

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Arrow metadata keys written by this package.
const (
	// MetaJSON is the field metadata key holding the vendor's JSON key for a
	// column, present only when it differs from the column name.
	MetaJSON = "quiver:json"
	// MetaDescription is the field and schema metadata key holding a
	// human-readable description.
	MetaDescription = "quiver:description"
	// MetaStream is the schema metadata key holding the stream name.
	MetaStream = "quiver:stream"
)

// Sync modes a schema file may list.
const (
	Incremental = "incremental"
	FullRefresh = "full_refresh"
)

// Update strategies a schema file may declare under "updates": how a
// stream sees changes to records it has already read.
const (
	// Cursor: the API filters on a field that changes on every update, so
	// an incremental read from the saved mark sees every change.
	Cursor = "cursor"
	// Snapshot: there is no usable change filter; every run reads the
	// stream whole and replaces its files (sync_modes is ["full_refresh"]),
	// so changes are current and deleted records are gone.
	Snapshot = "snapshot"
	// Lookback: an append-mostly stream with a date cursor; every run reads
	// again from the earlier of the mark and the run's start, less the
	// "incremental" section's lookback window (its default).
	Lookback = "lookback"
)

//go:embed */*.json
var files embed.FS

// A Stream is one stream's schema file, parsed.
type Stream struct {
	Name        string   // stream name, e.g. "work-sessions"; the file name without .json
	Description string   // one or two sentences for people reading the catalog
	Path        string   // API path the stream is read from, e.g. "/rest/v1/employees"
	PrimaryKey  []string // top-level column names; every one is non-nullable
	CursorField string   // top-level column incremental state follows; empty if none
	SyncModes   []string // "incremental" and/or "full_refresh"; the first is the default
	// Records is the JSON path of the records array in a response, e.g.
	// ["data"]; nil when the body is the array.
	Records []string
	// Total is the dotted path of the listing's total number of records in
	// a response's envelope, e.g. "meta.count" (records.Envelope.Int); ""
	// when the file declares none.
	Total string
	// Next is the dotted path of the next page's link or cursor in a
	// response's envelope, e.g. "links.next" (records.Envelope.String); ""
	// when the file declares none.
	Next string
	// Updates is the update strategy: Cursor, Snapshot or Lookback.
	Updates string
	// Incremental says how the API filters on the cursor; nil when the file
	// declares no "incremental" section.
	Incremental *Watermark
	// Schema is the Arrow schema of the stream's records. Its metadata holds
	// MetaStream (and MetaDescription when the file has a description); field
	// metadata holds MetaJSON and MetaDescription where they apply.
	Schema *arrow.Schema
	// Extra holds the optional vendor-specific keys found under "x", raw.
	Extra map[string]json.RawMessage
}

// Load parses the embedded schema file of vendor's stream. An unknown vendor
// or stream gives an error wrapping fs.ErrNotExist.
func Load(vendor, stream string) (*Stream, error) {
	name := path.Join(vendor, stream+".json")
	if !fs.ValidPath(name) || strings.Count(name, "/") != 1 {
		return nil, fmt.Errorf("schemas: load %q/%q: invalid name: %w", vendor, stream, fs.ErrNotExist)
	}
	return load(name)
}

// Vendor parses every embedded schema file of vendor and returns the streams
// sorted by name. An unknown vendor gives an error wrapping fs.ErrNotExist.
func Vendor(vendor string) ([]*Stream, error) {
	if !fs.ValidPath(vendor) || strings.Contains(vendor, "/") {
		return nil, fmt.Errorf("schemas: vendor %q: invalid name: %w", vendor, fs.ErrNotExist)
	}
	entries, err := fs.ReadDir(files, vendor)
	if err != nil {
		return nil, fmt.Errorf("schemas: vendor %s: %w", vendor, err)
	}
	var out []*Stream
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		s, err := load(path.Join(vendor, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Stream) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// load reads and parses the embedded file name ("vendor/stream.json") and
// checks that the stream name matches the file name.
func load(name string) (*Stream, error) {
	data, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("schemas: %s: %w", name, err)
	}
	if want := strings.TrimSuffix(path.Base(name), ".json"); s.Name != want {
		return nil, fmt.Errorf("schemas: %s: stream name %q does not match the file name", name, s.Name)
	}
	return s, nil
}

// file is the JSON shape of a schema file.
type file struct {
	Name        string                    `json:"name"`
	Description string                    `json:"description"`
	Path        string                    `json:"path"`
	Records     string                    `json:"records"`
	Total       string                    `json:"total"`
	Next        string                    `json:"next"`
	PrimaryKey  []string                  `json:"primary_key"`
	CursorField string                    `json:"cursor_field"`
	SyncModes   []string                  `json:"sync_modes"`
	Updates     string                    `json:"updates"`
	Fields      []fileField               `json:"fields"`
	Incremental *fileIncremental          `json:"incremental"`
	X           map[string]jsontext.Value `json:"x"`
}

// fileField is the JSON shape of one field of a schema file.
type fileField struct {
	Name        string         `json:"name"`
	JSON        string         `json:"json"`
	Type        jsontext.Value `json:"type"`
	Nullable    *bool          `json:"nullable"`
	Description string         `json:"description"`
}

var (
	streamName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	columnName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	jsonPath   = regexp.MustCompile(`^[^.]+(\.[^.]+)*$`)
)

// strict are the unmarshal options for schema files: exact key names, no
// unknown or duplicate keys.
var strict = jsonv2.JoinOptions(jsonv2.RejectUnknownMembers(true), jsontext.AllowDuplicateNames(false))

// Parse parses one schema file (see the package documentation for the
// format) and checks it: unknown keys, unknown types, names that are not
// snake_case, duplicate columns, and primary key or cursor columns that do
// not exist are errors.
func Parse(data []byte) (*Stream, error) {
	var f file
	if err := jsonv2.Unmarshal(data, &f, strict); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if !streamName.MatchString(f.Name) {
		return nil, fmt.Errorf("name %q: want lower-case letters, digits, '_' or '-'", f.Name)
	}
	if !strings.HasPrefix(f.Path, "/") {
		return nil, fmt.Errorf("stream %s: path %q: want an absolute API path", f.Name, f.Path)
	}
	if err := checkPaths(f.Records, f.Total, f.Next); err != nil {
		return nil, fmt.Errorf("stream %s: %w", f.Name, err)
	}
	fields, err := structFields(f.Fields, "")
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", f.Name, err)
	}
	byName := make(map[string]arrow.Field, len(fields))
	for _, fd := range fields {
		byName[fd.Name] = fd
	}
	for _, k := range f.PrimaryKey {
		fd, ok := byName[k]
		switch {
		case !ok:
			return nil, fmt.Errorf("stream %s: primary key %q is not a column", f.Name, k)
		case fd.Nullable:
			return nil, fmt.Errorf("stream %s: primary key %q must be \"nullable\": false", f.Name, k)
		}
	}
	inc, err := f.Incremental.parse(byName, &f.CursorField)
	if err != nil {
		return nil, fmt.Errorf("stream %s: incremental: %w", f.Name, err)
	}
	if inc != nil && !slices.Contains(f.SyncModes, Incremental) {
		return nil, fmt.Errorf("stream %s: incremental: sync_modes does not list %q", f.Name, Incremental)
	}
	if f.CursorField != "" {
		if _, ok := byName[f.CursorField]; !ok {
			return nil, fmt.Errorf("stream %s: cursor_field %q is not a column", f.Name, f.CursorField)
		}
	}
	if err := checkSyncModes(f.SyncModes, f.CursorField); err != nil {
		return nil, fmt.Errorf("stream %s: %w", f.Name, err)
	}
	if err := checkUpdates(f.Updates, f.SyncModes, inc); err != nil {
		return nil, fmt.Errorf("stream %s: updates: %w", f.Name, err)
	}

	keys, vals := []string{MetaStream}, []string{f.Name}
	if f.Description != "" {
		keys, vals = append(keys, MetaDescription), append(vals, f.Description)
	}
	md := arrow.NewMetadata(keys, vals)
	s := &Stream{
		Name:        f.Name,
		Description: f.Description,
		Path:        f.Path,
		Total:       f.Total,
		Next:        f.Next,
		PrimaryKey:  f.PrimaryKey,
		CursorField: f.CursorField,
		SyncModes:   f.SyncModes,
		Updates:     f.Updates,
		Incremental: inc,
		Schema:      arrow.NewSchema(fields, &md),
	}
	if f.Records != "" {
		s.Records = strings.Split(f.Records, ".")
	}
	if len(f.X) > 0 {
		s.Extra = make(map[string]json.RawMessage, len(f.X))
		for k, v := range f.X {
			s.Extra[k] = json.RawMessage(v)
		}
	}
	return s, nil
}

// checkPaths checks the records, total and next paths: dotted keys, and
// a total and a next outside the records, since the envelope is what is
// around them.
func checkPaths(records, total, next string) error {
	if records != "" && !jsonPath.MatchString(records) {
		return fmt.Errorf("records %q: want keys joined by dots, e.g. \"data\" or \"result.items\"", records)
	}
	for _, p := range []struct{ key, path, example string }{{"total", total, "meta.count"}, {"next", next, "links.next"}} {
		switch {
		case p.path == "":
		case !jsonPath.MatchString(p.path):
			return fmt.Errorf("%s %q: want keys joined by dots, e.g. %q", p.key, p.path, p.example)
		case records == "" || p.path == records || strings.HasPrefix(p.path, records+"."):
			return fmt.Errorf("%s %q: want a path outside the records (%q), in the object around them", p.key, p.path, records)
		}
	}
	return nil
}

// checkSyncModes checks a stream's sync modes.
func checkSyncModes(modes []string, cursor string) error {
	if len(modes) == 0 {
		return errors.New("sync_modes: want at least one")
	}
	for i, m := range modes {
		switch {
		case m != Incremental && m != FullRefresh:
			return fmt.Errorf("sync_modes: unknown mode %q", m)
		case slices.Contains(modes[:i], m):
			return fmt.Errorf("sync_modes: %q listed twice", m)
		case m == Incremental && cursor == "":
			return errors.New("sync_modes: incremental needs a cursor_field")
		}
	}
	return nil
}

// checkUpdates checks that a stream's update strategy fits its sync modes
// and incremental section.
func checkUpdates(updates string, modes []string, inc *Watermark) error {
	switch updates {
	case "":
		return fmt.Errorf("missing: say how the stream sees updates to records already read (%q, %q or %q)", Cursor, Snapshot, Lookback)
	case Snapshot:
		if len(modes) != 1 || modes[0] != FullRefresh || inc != nil {
			return fmt.Errorf("%q streams are read whole on every run: want sync_modes [%q] and no incremental section", Snapshot, FullRefresh)
		}
	case Cursor:
		if !slices.Contains(modes, Incremental) {
			return fmt.Errorf("%q streams are read incrementally: sync_modes does not list %q", Cursor, Incremental)
		}
	case Lookback:
		if inc == nil || inc.Lookback <= 0 {
			return fmt.Errorf("%q streams need an incremental section on a date or timestamp cursor with a lookback window (the default)", Lookback)
		}
	default:
		return fmt.Errorf("unknown strategy %q: want %q, %q or %q", updates, Cursor, Snapshot, Lookback)
	}
	return nil
}

// structFields converts the fields of one struct level. prefix is the dotted
// path of the level, for errors.
func structFields(ffs []fileField, prefix string) ([]arrow.Field, error) {
	if len(ffs) == 0 {
		if prefix == "" {
			return nil, errors.New("fields: want at least one")
		}
		return nil, fmt.Errorf("field %s: struct: want at least one field", strings.TrimSuffix(prefix, "."))
	}
	out := make([]arrow.Field, 0, len(ffs))
	names := make(map[string]bool, len(ffs))
	keys := make(map[string]bool, len(ffs))
	for _, ff := range ffs {
		if !columnName.MatchString(ff.Name) {
			return nil, fmt.Errorf("field %s%s: name: want snake_case", prefix, ff.Name)
		}
		full := prefix + ff.Name
		key := ff.Name
		if ff.JSON != "" {
			key = ff.JSON
		}
		switch {
		case names[ff.Name]:
			return nil, fmt.Errorf("field %s: listed twice", full)
		case keys[key]:
			return nil, fmt.Errorf("field %s: json key %q used twice", full, key)
		case len(ff.Type) == 0:
			return nil, fmt.Errorf("field %s: type missing", full)
		}
		names[ff.Name], keys[key] = true, true
		dt, err := parseType(ff.Type, full)
		if err != nil {
			return nil, err
		}
		var mk, mv []string
		if key != ff.Name {
			mk, mv = append(mk, MetaJSON), append(mv, key)
		}
		if ff.Description != "" {
			mk, mv = append(mk, MetaDescription), append(mv, ff.Description)
		}
		out = append(out, arrow.Field{
			Name:     ff.Name,
			Type:     dt,
			Nullable: ff.Nullable == nil || *ff.Nullable,
			Metadata: arrow.NewMetadata(mk, mv),
		})
	}
	return out, nil
}

// parseType converts a field's "type" value; full is the field's dotted
// path, for errors.
func parseType(v jsontext.Value, full string) (arrow.DataType, error) {
	switch v.Kind() {
	case '"':
		var name string
		if err := jsonv2.Unmarshal(v, &name); err != nil {
			return nil, fmt.Errorf("field %s: type: %w", full, err)
		}
		dt, err := FieldType(name)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", full, err)
		}
		return dt, nil
	case '{':
		var t struct {
			List   jsontext.Value `json:"list"`
			Struct []fileField    `json:"struct"`
		}
		if err := jsonv2.Unmarshal(v, &t, strict); err != nil {
			return nil, fmt.Errorf("field %s: type: %w", full, err)
		}
		switch {
		case len(t.List) > 0 && t.Struct == nil:
			elem, err := parseType(t.List, full+"[]")
			if err != nil {
				return nil, err
			}
			return arrow.ListOf(elem), nil
		case len(t.List) == 0 && t.Struct != nil:
			fields, err := structFields(t.Struct, full+".")
			if err != nil {
				return nil, err
			}
			return arrow.StructOf(fields...), nil
		}
	}
	return nil, fmt.Errorf("field %s: type: want a type name, {\"list\": T} or {\"struct\": [fields]}", full)
}

// FieldType returns the Arrow type for a scalar type name of the schema
// file format: "int64", "float64", "bool", "string", "date32" or
// "timestamp" (timestamp[us, UTC]). Connectors with dynamic schemas use it
// to speak the same type vocabulary.
func FieldType(name string) (arrow.DataType, error) {
	switch name {
	case "int64":
		return arrow.PrimitiveTypes.Int64, nil
	case "float64":
		return arrow.PrimitiveTypes.Float64, nil
	case "bool":
		return arrow.FixedWidthTypes.Boolean, nil
	case "string":
		return arrow.BinaryTypes.String, nil
	case "date32":
		return arrow.FixedWidthTypes.Date32, nil
	case "timestamp":
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
	}
	return nil, fmt.Errorf("unknown type %q", name)
}
