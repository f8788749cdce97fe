package schemas

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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
	// TrackTik documents no updatedOn filter
	// (docs/vendors/tracktik.md#incremental-sync). The small
	// entity lists are read whole on every run (snapshot); the date-keyed
	// streams are read again over a trailing window on their date filter
	// (lookback), which also catches back-filled records, whatever their id.
	week := 7 * 24 * time.Hour
	const layout = "2006-01-02 15:04:05"
	want := map[string]struct {
		path, updates, cursor string
		modes                 []string
		inc                   *Watermark
	}{
		"clients":       {"/rest/v1/clients", Snapshot, "", []string{FullRefresh}, nil},
		"employees":     {"/rest/v1/employees", Snapshot, "", []string{FullRefresh}, nil},
		"positions":     {"/rest/v1/positions", Snapshot, "", []string{FullRefresh}, nil},
		"reports":       {"/rest/v1/reports", Lookback, "report_date_time", []string{Incremental, FullRefresh}, &Watermark{Cursor: "report_date_time", Filter: "reportDateTime:after", Lookback: week, Layout: layout}},
		"shifts":        {"/rest/v1/shifts", Lookback, "started_on", []string{Incremental, FullRefresh}, &Watermark{Cursor: "started_on", Filter: "startedOn:after", Lookback: week, Layout: layout}},
		"work-sessions": {"/rest/v1/work-sessions", Lookback, "started_on", []string{Incremental, FullRefresh}, &Watermark{Cursor: "started_on", Filter: "startedOn:after", Lookback: week, Layout: layout}},
	}
	var got []string
	for _, s := range streams {
		got = append(got, s.Name)
		w, ok := want[s.Name]
		if !ok {
			t.Errorf("unexpected stream %s", s.Name)
			continue
		}
		if s.Path != w.path || s.Updates != w.updates || s.CursorField != w.cursor {
			t.Errorf("%s: path %s, updates %q, cursor %q; want %s, %q, %q", s.Name, s.Path, s.Updates, s.CursorField, w.path, w.updates, w.cursor)
		}
		if diff := cmp.Diff([]string{"id"}, s.PrimaryKey); diff != "" {
			t.Errorf("%s primary key mismatch (-want +got):\n%s", s.Name, diff)
		}
		if diff := cmp.Diff(w.inc, s.Incremental); diff != "" {
			t.Errorf("%s incremental mismatch (-want +got):\n%s", s.Name, diff)
		}
		if diff := cmp.Diff(w.modes, s.SyncModes); diff != "" {
			t.Errorf("%s sync modes mismatch (-want +got):\n%s", s.Name, diff)
		}
		id, ok := s.Schema.FieldsByName("id")
		if !ok || id[0].Nullable || !arrow.TypeEqual(id[0].Type, arrow.PrimitiveTypes.Int64) {
			t.Errorf("%s id = %v, want non-nullable int64", s.Name, id)
		}
	}
	if len(got) != len(want) {
		t.Errorf("Vendor(tracktik) = %v, want the %d streams %v", got, len(want), want)
	}
}

// TestEveryStreamDeclaresUpdates: every embedded schema file says how its
// stream sees updates, in so many words.
func TestEveryStreamDeclaresUpdates(t *testing.T) {
	t.Parallel()
	names, err := fs.Glob(files, "*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		data, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), `"updates": "`) {
			t.Errorf("%s declares no \"updates\" strategy", name)
		}
	}
}

func TestParse_Updates(t *testing.T) {
	t.Parallel()
	const fields = `"fields":[{"name":"id","type":"int64","nullable":false},{"name":"at","type":"timestamp"}]`
	doc := func(rest string) string {
		return `{"name":"s","path":"/s","primary_key":["id"],` + rest + `,` + fields + `}`
	}
	tests := []struct {
		name, body, want string // want: the error's text, "" for none
	}{
		{"snapshot", doc(`"sync_modes":["full_refresh"],"updates":"snapshot"`), ""},
		{"cursor", doc(`"sync_modes":["incremental"],"cursor_field":"at","updates":"cursor"`), ""},
		{"lookback", doc(`"sync_modes":["incremental"],"updates":"lookback","incremental":{"cursor":"at","filter":"at:after","lookback":"24h"}`), ""},
		{"missing", doc(`"sync_modes":["full_refresh"]`), "updates: missing"},
		{"unknown", doc(`"sync_modes":["full_refresh"],"updates":"cdc"`), `unknown strategy "cdc"`},
		{"snapshot read incrementally", doc(`"sync_modes":["incremental","full_refresh"],"cursor_field":"at","updates":"snapshot"`), "want sync_modes"},
		{"cursor without incremental", doc(`"sync_modes":["full_refresh"],"updates":"cursor"`), "does not list"},
		{"lookback without window", doc(`"sync_modes":["incremental"],"updates":"lookback","incremental":{"cursor":"at","filter":"at:after"}`), "lookback window"},
		{"lookback without section", doc(`"sync_modes":["incremental"],"cursor_field":"at","updates":"lookback"`), "lookback window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.body))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Parse: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Parse = %v, want an error containing %q", err, tt.want)
			}
		})
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
	const head = `"name":"s","path":"/s","primary_key":["id"],"cursor_field":"id","sync_modes":["incremental"],"updates":"cursor",`
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
		{"empty records key", `{` + head + `"records":"data..items","fields":[` + id + `]}`, `records "data..items"`},
		{"empty total key", `{` + head + `"records":"data","total":".count","fields":[` + id + `]}`, `total ".count"`},
		{"total without records", `{` + head + `"total":"count","fields":[` + id + `]}`, "outside the records"},
		{"total inside records", `{` + head + `"records":"data","total":"data.count","fields":[` + id + `]}`, "outside the records"},
		{"empty next key", `{` + head + `"records":"data","next":"links.","fields":[` + id + `]}`, `next "links."`},
		{"next without records", `{` + head + `"next":"next","fields":[` + id + `]}`, "outside the records"},
		{"next inside records", `{` + head + `"records":"data","next":"data.next","fields":[` + id + `]}`, "outside the records"},
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

// TestParse_Envelope: "records", "total" and "next" come back as the
// records path and the dotted paths of the total and the next page; left
// out, the body is the records.
func TestParse_Envelope(t *testing.T) {
	t.Parallel()
	const head = `"name":"s","path":"/s","sync_modes":["full_refresh"],"updates":"snapshot","fields":[{"name":"id","type":"int64"}]`
	tests := []struct {
		name, extra string
		records     []string
		total, next string
	}{
		{"bare array", ``, nil, "", ""},
		{"records", `,"records":"data"`, []string{"data"}, "", ""},
		{"nested, with total", `,"records":"result.items","total":"result.total"`, []string{"result", "items"}, "result.total", ""},
		{"with next", `,"records":"clients","total":"total_entries","next":"links.next"`, []string{"clients"}, "total_entries", "links.next"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse([]byte(`{` + head + tt.extra + `}`))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !slices.Equal(s.Records, tt.records) || s.Total != tt.total || s.Next != tt.next {
				t.Errorf("Parse = records %q, total %q, next %q; want %q, %q, %q", s.Records, s.Total, s.Next, tt.records, tt.total, tt.next)
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
