package trackvia

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// simFields returns the structure of a simulator view as the connector
// parses it.
func simFields(srv *trackviasim.Server, id int64) []field {
	var out []field
	for _, f := range srv.Structure(id) {
		out = append(out, field{Name: f.Name, Type: string(f.Type), FieldMetaID: flexID(f.FieldMetaID)})
	}
	return out
}

// TestLayoutGolden: the schemas of the simulator's views (every TrackVia
// field type, unicode and spaces in names) are golden files.
func TestLayoutGolden(t *testing.T) {
	srv := trackviasim.NewServer(t, trackviasim.Options{})
	for id, stream := range viewStreams {
		t.Run(stream, func(t *testing.T) {
			got := newLayout(stream, simFields(srv, id)).schema.String() + "\n"
			path := filepath.Join("testdata", stream+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s schema mismatch (-want +got):\n%s", stream, diff)
			}
		})
	}
}

// TestColumnTypes maps every field type of
// docs/vendors/trackvia.md#field-types-and-values.
func TestColumnTypes(t *testing.T) {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	want := map[trackviasim.FieldType]string{
		trackviasim.ShortAnswer: "utf8", trackviasim.Paragraph: "utf8", trackviasim.Email: "utf8", trackviasim.URL: "utf8",
		trackviasim.Number: "float64", trackviasim.Currency: "float64", trackviasim.Percentage: "float64",
		trackviasim.AutoIncrement: "int64", trackviasim.DropDown: "utf8", trackviasim.Checkbox: "list<item: utf8, nullable>",
		trackviasim.Date: "date32", trackviasim.DateTime: ts.String(), trackviasim.Document: "utf8", trackviasim.Image: "utf8",
		trackviasim.User: "utf8", trackviasim.UserGroup: "utf8", trackviasim.UserStatus: "utf8", trackviasim.TimeZone: "utf8",
		trackviasim.Identifier: "utf8", trackviasim.Relationship: "utf8",
		trackviasim.Point: "struct<latitude: float64, longitude: float64>",
	}
	for _, ft := range trackviasim.FieldTypes() {
		dt, ok := columnTypes[string(ft)]
		if !ok {
			t.Errorf("no column type for %s", ft)
			continue
		}
		if dt.String() != want[ft] {
			t.Errorf("%s maps to %s, want %s", ft, dt, want[ft])
		}
	}
}

func TestLayout(t *testing.T) {
	tests := []struct {
		name    string
		fields  []field
		columns []string
		cursor  string
		unknown []string
		skipped []string
	}{
		{
			name:    "order kept, id first",
			fields:  []field{{Name: "Zeta", Type: "number"}, {Name: "Alpha", Type: "shortAnswer"}},
			columns: []string{"id", "Zeta", "Alpha"},
		},
		{
			name:    "id, repeats, empty and reserved names left out",
			fields:  []field{{Name: "id", Type: "number"}, {Name: "A", Type: "email"}, {Name: "A", Type: "url"}, {Name: "", Type: "url"}, {Name: "_quiver_run_id", Type: "url"}},
			columns: []string{"id", "A"},
			skipped: []string{"A", "", "_quiver_run_id"},
		},
		{
			name:    "unknown type as text",
			fields:  []field{{Name: "Sig", Type: "signature"}},
			columns: []string{"id", "Sig"},
			unknown: []string{"Sig (signature)"},
		},
		{
			name:    "Last Updated wins over Updated",
			fields:  []field{{Name: "Updated", Type: "datetime"}, {Name: "Last Updated", Type: "datetime"}, {Name: "Created", Type: "datetime"}},
			columns: []string{"id", "Updated", "Last Updated", "Created"},
			cursor:  "Last Updated",
		},
		{
			name:    "cursor names fold case and separators",
			fields:  []field{{Name: "last_modified", Type: "datetime"}},
			columns: []string{"id", "last_modified"},
			cursor:  "last_modified",
		},
		{
			name:    "only a datetime is a cursor",
			fields:  []field{{Name: "Last Updated", Type: "date"}, {Name: "Created", Type: "datetime"}},
			columns: []string{"id", "Last Updated", "Created"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLayout("s", tt.fields)
			var cols []string
			for _, f := range l.schema.Fields() {
				cols = append(cols, f.Name)
			}
			if diff := cmp.Diff(tt.columns, cols); diff != "" {
				t.Errorf("columns mismatch (-want +got):\n%s", diff)
			}
			if l.cursorName() != tt.cursor {
				t.Errorf("cursor = %q, want %q", l.cursorName(), tt.cursor)
			}
			if !cmp.Equal(l.unknown, tt.unknown) || !cmp.Equal(l.skipped, tt.skipped) {
				t.Errorf("unknown %q, skipped %q; want %q, %q", l.unknown, l.skipped, tt.unknown, tt.skipped)
			}
		})
	}
}

// TestLayoutDeterministic: the same structure gives the same schema and
// fingerprint; any change to names, types, order or field ids changes
// both.
func TestLayoutDeterministic(t *testing.T) {
	base := []field{{Name: "A", Type: "number", FieldMetaID: 1}, {Name: "B", Type: "date", FieldMetaID: 2}}
	a, b := newLayout("s", base), newLayout("s", append([]field(nil), base...))
	if !a.schema.Equal(b.schema) || a.fingerprint != b.fingerprint {
		t.Fatalf("same structure, different layouts: %s %s", a.fingerprint, b.fingerprint)
	}
	changes := map[string][]field{
		"renamed":   {{Name: "A2", Type: "number", FieldMetaID: 1}, base[1]},
		"retyped":   {{Name: "A", Type: "currency", FieldMetaID: 1}, base[1]},
		"reordered": {base[1], base[0]},
		"recreated": {{Name: "A", Type: "number", FieldMetaID: 3}, base[1]},
		"added":     append(append([]field(nil), base...), field{Name: "C", Type: "url"}),
	}
	for name, fields := range changes {
		if c := newLayout("s", fields); c.fingerprint == a.fingerprint || c.schema.Equal(a.schema) {
			t.Errorf("%s: the layout did not change", name)
		}
	}
}
