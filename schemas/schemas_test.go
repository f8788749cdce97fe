package schemas

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestEmbeddedFilesParse(t *testing.T) {
	t.Parallel()
	names, err := fs.Glob(files, "*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no embedded schema files")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			vendor, file, _ := strings.Cut(name, "/")
			s, err := Load(vendor, strings.TrimSuffix(file, ".json"))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if s.Schema == nil || s.Schema.NumFields() == 0 {
				t.Fatalf("Load(%q): empty schema", name)
			}
			if got, _ := s.Schema.Metadata().GetValue(MetaStream); got != s.Name {
				t.Errorf("schema metadata %s = %q, want %q", MetaStream, got, s.Name)
			}
		})
	}
}

func TestTrackTikStreams(t *testing.T) {
	t.Parallel()
	streams, err := Vendor("tracktik")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range streams {
		got = append(got, s.Name+" "+s.Path)
		if diff := cmp.Diff([]string{"id"}, s.PrimaryKey); diff != "" {
			t.Errorf("%s primary key mismatch (-want +got):\n%s", s.Name, diff)
		}
		if s.CursorField != "id" {
			t.Errorf("%s cursor field = %q, want id", s.Name, s.CursorField)
		}
		// TrackTik documents no updatedOn filter
		// (docs/vendors/tracktik.md#incremental-sync): the cursor is the id,
		// for append-only entities.
		if diff := cmp.Diff(&Watermark{Cursor: "id", Filter: "id:gt"}, s.Incremental); diff != "" {
			t.Errorf("%s incremental mismatch (-want +got):\n%s", s.Name, diff)
		}
		if diff := cmp.Diff([]string{Incremental, FullRefresh}, s.SyncModes); diff != "" {
			t.Errorf("%s sync modes mismatch (-want +got):\n%s", s.Name, diff)
		}
		id, ok := s.Schema.FieldsByName("id")
		if !ok || id[0].Nullable || !arrow.TypeEqual(id[0].Type, arrow.PrimitiveTypes.Int64) {
			t.Errorf("%s id = %v, want non-nullable int64", s.Name, id)
		}
	}
	want := []string{
		"clients /rest/v1/clients",
		"employees /rest/v1/employees",
		"positions /rest/v1/positions",
		"reports /rest/v1/reports",
		"shifts /rest/v1/shifts",
		"work-sessions /rest/v1/work-sessions",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Vendor(tracktik) mismatch (-want +got):\n%s", diff)
	}
}

// TestGolden pins the Arrow form of two schemas: a change here changes
// every file a user has written. Run with -update to accept a change.
func TestGolden(t *testing.T) {
	t.Parallel()
	for _, stream := range []string{"employees", "reports"} {
		t.Run(stream, func(t *testing.T) {
			t.Parallel()
			s, err := Load("tracktik", stream)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Schema.String() + "\n"
			golden := filepath.Join("testdata", "tracktik-"+stream+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("tracktik/%s schema mismatch (-want +got):\n%s", stream, diff)
			}
		})
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	const head = `"name":"s","path":"/s","primary_key":["id"],"cursor_field":"id","sync_modes":["incremental"],`
	const id = `{"name":"id","type":"int64","nullable":false}`
	s, err := Parse([]byte(`{` + head + `"description":"d","fields":[` + id + `,
		{"name":"first_name","json":"firstName","type":"string","description":"given name"},
		{"name":"same","json":"same","type":"bool"},
		{"name":"tags","type":{"list":"string"}},
		{"name":"at","type":"timestamp"},
		{"name":"day","type":"date32"},
		{"name":"loc","type":{"struct":[{"name":"lat","type":"float64"},{"name":"pts","type":{"list":{"struct":[{"name":"x","type":"int64","nullable":false}]}}}]}}
	],"x":{"filter":{"a":1}}}`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "first_name", Type: arrow.BinaryTypes.String, Nullable: true,
			Metadata: arrow.NewMetadata([]string{MetaJSON, MetaDescription}, []string{"firstName", "given name"})},
		{Name: "same", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "at", Type: arrow.FixedWidthTypes.Timestamp_us, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "loc", Type: arrow.StructOf(
			arrow.Field{Name: "lat", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
			arrow.Field{Name: "pts", Type: arrow.ListOf(arrow.StructOf(
				arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64})), Nullable: true},
		), Nullable: true},
	}, nil)
	if !s.Schema.Equal(want) {
		t.Errorf("Parse schema =\n%s\nwant\n%s", s.Schema, want)
	}
	if got, _ := s.Schema.Field(1).Metadata.GetValue(MetaJSON); got != "firstName" {
		t.Errorf("first_name %s = %q, want firstName", MetaJSON, got)
	}
	if s.Schema.Field(2).HasMetadata() {
		t.Errorf("same: metadata %v, want none (json key equals the name)", s.Schema.Field(2).Metadata)
	}
	if got := string(s.Extra["filter"]); got != `{"a":1}` {
		t.Errorf("Extra[filter] = %s, want {\"a\":1}", got)
	}

	bad := []struct {
		name, body, want string
	}{
		{"unknown top key", `{` + head + `"fields":[` + id + `],"extra":1}`, "unknown"},
		{"unknown field key", `{` + head + `"fields":[` + id + `,{"name":"a","type":"string","kind":1}]}`, "unknown"},
		{"wrong case key", `{` + head + `"fields":[` + id + `],"Description":"x"}`, "unknown"},
		{"duplicate key", `{` + head + `"fields":[` + id + `],"path":"/t"}`, "duplicate"},
		{"unknown type", `{` + head + `"fields":[` + id + `,{"name":"a","type":"date"}]}`, `unknown type "date"`},
		{"type missing", `{` + head + `"fields":[` + id + `,{"name":"a"}]}`, "field a: type missing"},
		{"list and struct", `{` + head + `"fields":[` + id + `,{"name":"a","type":{"list":"string","struct":[]}}]}`, "field a: type"},
		{"empty struct", `{` + head + `"fields":[` + id + `,{"name":"a","type":{"struct":[]}}]}`, "at least one field"},
		{"bad nested type", `{` + head + `"fields":[` + id + `,{"name":"a","type":{"list":{"struct":[{"name":"b","type":"int"}]}}}]}`, "field a[].b"},
		{"unknown type key", `{` + head + `"fields":[` + id + `,{"name":"a","type":{"map":"string"}}]}`, "unknown"},
		{"camelCase column", `{` + head + `"fields":[` + id + `,{"name":"firstName","type":"string"}]}`, "snake_case"},
		{"duplicate column", `{` + head + `"fields":[` + id + `,` + id + `]}`, "listed twice"},
		{"duplicate json key", `{` + head + `"fields":[` + id + `,{"name":"a","json":"id","type":"string"}]}`, `json key "id" used twice`},
		{"no fields", `{` + head + `"fields":[]}`, "at least one"},
		{"nullable primary key", `{` + head + `"fields":[{"name":"id","type":"int64"}]}`, "nullable"},
		{"missing primary key", `{"name":"s","path":"/s","primary_key":["pk"],"sync_modes":["full_refresh"],"fields":[` + id + `]}`, `primary key "pk"`},
		{"missing cursor", `{"name":"s","path":"/s","cursor_field":"c","sync_modes":["full_refresh"],"fields":[` + id + `]}`, `cursor_field "c"`},
		{"incremental without cursor", `{"name":"s","path":"/s","sync_modes":["incremental"],"fields":[` + id + `]}`, "needs a cursor_field"},
		{"unknown sync mode", `{"name":"s","path":"/s","sync_modes":["cdc"],"fields":[` + id + `]}`, `unknown mode "cdc"`},
		{"no sync mode", `{"name":"s","path":"/s","fields":[` + id + `]}`, "sync_modes"},
		{"relative path", `{"name":"s","path":"s","sync_modes":["full_refresh"],"fields":[` + id + `]}`, "absolute"},
		{"bad stream name", `{"name":"S s","path":"/s","sync_modes":["full_refresh"],"fields":[` + id + `]}`, "name"},
		{"not json", `{`, "parse"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%s) error = %v, want one containing %q", tt.body, err, tt.want)
			}
		})
	}
}

func TestLoadNotFound(t *testing.T) {
	t.Parallel()
	for _, tt := range [][2]string{{"tracktik", "nope"}, {"nope", "employees"}, {"..", "x"}, {"tracktik/..", "tracktik"}, {"", "employees"}} {
		if _, err := Load(tt[0], tt[1]); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load(%q, %q) error = %v, want fs.ErrNotExist", tt[0], tt[1], err)
		}
	}
	if _, err := Vendor("nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Vendor(nope) error = %v, want fs.ErrNotExist", err)
	}
}

func TestFieldType(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"int64", "float64", "bool", "string", "date32", "timestamp"} {
		if _, err := FieldType(name); err != nil {
			t.Errorf("FieldType(%q) error = %v", name, err)
		}
	}
	if got, _ := FieldType("timestamp"); !arrow.TypeEqual(got, arrow.FixedWidthTypes.Timestamp_us) {
		t.Errorf("FieldType(timestamp) = %v, want %v", got, arrow.FixedWidthTypes.Timestamp_us)
	}
	if _, err := FieldType("int"); err == nil {
		t.Error("FieldType(int) error = nil, want one")
	}
}
