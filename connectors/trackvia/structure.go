package trackvia

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/quiver-etl/quiver/schemas"
)

// Arrow field metadata keys of view columns.
const (
	// MetaType holds the TrackVia field type a column comes from
	// ("percentage", "relationship", ...), since several map to one Arrow
	// type.
	MetaType = "trackvia:type"
	// MetaFieldID holds the field's fieldMetaId, TrackVia's stable field
	// id, which survives renames.
	MetaFieldID = "trackvia:field_meta_id"
)

// A field is one entry of a view's structure
// (docs/vendors/trackvia.md#envelopes). The other keys (required,
// unique, choices, can*) do not shape the columns.
type field struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	FieldMetaID flexID `json:"fieldMetaId"`
}

// flexID is an id that TrackVia gives as a JSON number or as a string of
// digits ("id":"101" in /openapi/views); null is 0.
type flexID int64

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexID) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "null" || s == "" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("id %s is not an integer", b)
	}
	*f = flexID(n)
	return nil
}

// parseStructure decodes a structure array.
func parseStructure(raw []byte) ([]field, error) {
	var fields []field
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("structure is not an array of fields: %w", err)
	}
	return fields, nil
}

// idColumn is the record's internal id: the "id" key of every data row,
// and the primary key.
const idColumn = "id"

// columnTypes maps TrackVia field types to Arrow types
// (docs/vendors/trackvia.md#field-types-and-values): numbers, money and
// percentages (kept as the fraction, 10% = 0.10) are doubles; checkboxes
// are lists of the chosen options; points are structs.
// Users, groups, related records and files are text: the research shows
// them as ids (a number, or digits in a string), but tenants serve a
// user's or site's display name there too ("North Depot"), and only text
// holds all three shapes without loss (a number keeps its JSON digits).
// A type not listed is read as text.
var columnTypes = func() map[string]arrow.DataType {
	scalar := func(name string) arrow.DataType {
		t, err := schemas.FieldType(name)
		if err != nil {
			panic(err) // the names below are schemas' own
		}
		return t
	}
	text, float, id := scalar("string"), scalar("float64"), scalar("int64")
	return map[string]arrow.DataType{
		"shortAnswer":   text,
		"paragraph":     text,
		"email":         text,
		"url":           text,
		"number":        float,
		"currency":      float,
		"percentage":    float,
		"autoIncrement": id,
		"dropDown":      text,
		"checkbox":      arrow.ListOf(text),
		"date":          scalar("date32"),
		"datetime":      scalar("timestamp"),
		"document":      text,
		"image":         text,
		"user":          text,
		"userGroup":     text,
		"userStatus":    text,
		"timeZone":      text,
		"identifier":    text, // "Record ID", the id as text ("51")
		"relationship":  text,
		"point": arrow.StructOf(
			arrow.Field{Name: "latitude", Type: float, Nullable: true},
			arrow.Field{Name: "longitude", Type: float, Nullable: true},
		),
	}
}()

// cursorNames are the names of the datetime fields that incremental reads
// follow, best first, as normalized by normalizeName. TrackVia's own is
// "Last Updated" [INFER, docs/vendors/trackvia.md#envelopes].
var cursorNames = []string{"last updated", "last modified", "updated", "modified", "updated at", "modified at", "date updated", "date modified"}

// normalizeName lower-cases name and turns runs of spaces, '_' and '-' into
// one space.
func normalizeName(name string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return r == ' ' || r == '_' || r == '-' || r == '\t'
	}), " ")
}

// A layout is a structure mapped to Arrow: the schema of a view's stream.
// The same structure always gives the same layout: columns in structure
// order after the id, named as TrackVia shows them.
type layout struct {
	schema      *arrow.Schema
	fingerprint string // identifies the schema; equal layouts have equal fingerprints
	cursor      int    // index of the incremental cursor column; -1 if none
	unknown     []string
	skipped     []string
}

// cursorName returns the cursor column's name, or "".
func (l *layout) cursorName() string {
	if l.cursor < 0 {
		return ""
	}
	return l.schema.Field(l.cursor).Name
}

// newLayout maps fields to the schema of stream. The first column is the
// record id (int64, not null); each field follows as a nullable column of
// its name. Fields named "id" (the users structure lists the id itself),
// with empty or reserved names, or repeating an earlier name are left out:
// a data row has one value per name.
func newLayout(stream string, fields []field) *layout {
	l := &layout{cursor: -1}
	cols := []arrow.Field{{Name: idColumn, Type: arrow.PrimitiveTypes.Int64, Nullable: false}}
	seen := map[string]bool{idColumn: true}
	var canon strings.Builder
	canon.WriteString(stream)
	cursorRank := len(cursorNames)
	for _, f := range fields {
		if f.Name == "" || seen[f.Name] || strings.HasPrefix(f.Name, "_quiver_") {
			if f.Name != idColumn {
				l.skipped = append(l.skipped, f.Name)
			}
			continue
		}
		seen[f.Name] = true
		dt, ok := columnTypes[f.Type]
		if !ok {
			dt = columnTypes["shortAnswer"]
			l.unknown = append(l.unknown, f.Name+" ("+f.Type+")")
		}
		keys, vals := []string{MetaType}, []string{f.Type}
		if f.FieldMetaID != 0 {
			keys, vals = append(keys, MetaFieldID), append(vals, strconv.FormatInt(int64(f.FieldMetaID), 10))
		}
		if f.Type == "datetime" {
			for rank, n := range cursorNames[:cursorRank] {
				if normalizeName(f.Name) == n {
					l.cursor, cursorRank = len(cols), rank
					break
				}
			}
		}
		cols = append(cols, arrow.Field{Name: f.Name, Type: dt, Nullable: true, Metadata: arrow.NewMetadata(keys, vals)})
		fmt.Fprintf(&canon, "\x00%s\x01%s\x01%s\x01%d", f.Name, f.Type, dt, f.FieldMetaID)
	}
	meta := arrow.NewMetadata([]string{schemas.MetaStream}, []string{stream})
	l.schema = arrow.NewSchema(cols, &meta)
	sum := sha256.Sum256([]byte(canon.String()))
	l.fingerprint = hex.EncodeToString(sum[:8])
	return l
}

// diffColumns describes how the columns of b differ from a's, e.g.
// `added "Region"; removed "Zip"`.
func diffColumns(a, b *arrow.Schema) string {
	var parts []string
	for _, f := range b.Fields() {
		if old, ok := a.FieldsByName(f.Name); !ok {
			parts = append(parts, fmt.Sprintf("added %q", f.Name))
		} else if !arrow.TypeEqual(old[0].Type, f.Type) {
			parts = append(parts, fmt.Sprintf("%q is now %s", f.Name, f.Type))
		}
	}
	for _, f := range a.Fields() {
		if !b.HasField(f.Name) {
			parts = append(parts, fmt.Sprintf("removed %q", f.Name))
		}
	}
	if len(parts) == 0 {
		return "fields reordered or recreated"
	}
	return strings.Join(parts, "; ")
}
