package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/quiver-etl/quiver/sdk"
)

// root is the repository root, seen from this package.
const root = "../.."

// TestParseHelp reads the help of a real cobra command tree, so the parser
// follows cobra's actual format.
func TestParseHelp(t *testing.T) {
	newTree := func() *cobra.Command {
		r := &cobra.Command{Use: "quiver", Short: "Sync vendor APIs"}
		r.PersistentFlags().String("log-level", "info", "log level")
		r.PersistentFlags().BoolP("quiet", "q", false, "no progress")
		sync := &cobra.Command{Use: "sync -c FILE", Short: "Read every source", RunE: func(*cobra.Command, []string) error { return nil }}
		sync.Flags().StringP("config", "c", "quiver.yaml", "config file")
		sync.Flags().StringSlice("streams", nil, "only these streams")
		sync.Flags().Bool("full-refresh", false, "ignore saved state\nand replace files")
		sync.Flags().Float64("faults", 0.01, "share of failing requests")
		state := &cobra.Command{Use: "state", Short: "Show or change saved state"}
		state.AddCommand(&cobra.Command{Use: "show", Short: "Print the state", RunE: func(*cobra.Command, []string) error { return nil }})
		r.AddCommand(sync, state)
		return r
	}
	help := func(t *testing.T, args ...string) string {
		t.Helper()
		r := newTree()
		var out bytes.Buffer
		r.SetOut(&out)
		r.SetArgs(append(args, "--help"))
		if err := r.Execute(); err != nil {
			t.Fatalf("Execute(%q): %v", args, err)
		}
		return out.String()
	}
	tests := []struct {
		name string
		args []string
		want *command
	}{
		{
			name: "root",
			want: &command{
				Short: "Sync vendor APIs",
				Usage: []string{"quiver [command]"},
				Flags: []cliFlag{
					{Name: "log-level", Type: "string", Default: `"info"`, Usage: "log level"},
					{Short: "q", Name: "quiet", Usage: "no progress"},
				},
				Subs: []string{"state", "sync"},
			},
		},
		{
			name: "sync",
			args: []string{"sync"},
			want: &command{
				Short: "Read every source",
				Usage: []string{"quiver sync -c FILE [flags]"},
				Flags: []cliFlag{
					{Short: "c", Name: "config", Type: "string", Default: `"quiver.yaml"`, Usage: "config file"},
					{Name: "faults", Type: "float", Default: "0.01", Usage: "share of failing requests"},
					{Name: "full-refresh", Usage: "ignore saved state and replace files"},
					{Name: "streams", Type: "strings", Usage: "only these streams"},
				},
			},
		},
		{
			name: "group",
			args: []string{"state"},
			want: &command{
				Short: "Show or change saved state",
				Usage: []string{"quiver state [command]"},
				Subs:  []string{"show"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHelp(help(t, tt.args...))
			if err != nil {
				t.Fatalf("parseHelp: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseHelp mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseHelp_Errors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"no usage", "Just text\n", "no Usage section"},
		{"bad flag", "x\n\nUsage:\n  quiver x\n\nFlags:\n  nonsense\n", "cannot read flag line"},
		{"bad command", "x\n\nUsage:\n  quiver\n\nAvailable Commands:\n  !!\n", "cannot read command line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseHelp(tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseHelp(%q) = %v, want an error containing %q", tt.text, err, tt.want)
			}
		})
	}
}

func TestConfigSchemaKeys(t *testing.T) {
	schema := `{
	  "title": "Acme",
	  "type": "object",
	  "required": ["token", "host"],
	  "properties": {
	    "token": {"type": "string", "writeOnly": true, "description": "API token."},
	    "host": {"type": "string", "pattern": "^https://", "default": "https://acme.io"},
	    "size": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
	    "mode": {"enum": ["a", "b"]},
	    "ids": {"type": "array", "items": {"oneOf": [{"type": "integer"}, {"type": "string"}]}},
	    "filters": {"type": "array", "items": {"type": "object", "required": ["field"], "properties": {
	      "field": {"type": "string"}, "op": {"type": "string"}}}},
	    "proxy": {"type": "object", "properties": {"url": {"type": ["string", "null"]}}}
	  }
	}`
	title, keys, err := configSchemaKeys([]byte(schema))
	if err != nil {
		t.Fatalf("configSchemaKeys: %v", err)
	}
	want := []schemaKey{
		{Path: "token", Type: "string", Required: true, Secret: true, Description: "API token."},
		{Path: "host", Type: "string", Required: true, Default: "https://acme.io", Rules: []string{"Matches `^https://`"}},
		{Path: "size", Type: "integer", Default: "50", Rules: []string{"From 1 to 100"}},
		{Path: "mode", Type: "any", Rules: []string{"One of `\"a\"`, `\"b\"`"}},
		{Path: "ids", Type: "list of integers or strings"},
		{Path: "filters", Type: "list of objects"},
		{Path: "filters[].field", Type: "string", Required: true},
		{Path: "filters[].op", Type: "string"},
		{Path: "proxy", Type: "object"},
		{Path: "proxy.url", Type: "string or null"},
	}
	if title != "Acme" {
		t.Errorf("title = %q, want Acme", title)
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("configSchemaKeys mismatch (-want +got):\n%s", diff)
	}
	ex := exampleConfig("acme", keys)
	for _, line := range []string{"connector: acme", "token: ${ACME_TOKEN}", `host: "https://acme.io"`} {
		if !strings.Contains(ex, line) {
			t.Errorf("exampleConfig() lacks %q:\n%s", line, ex)
		}
	}
	if strings.Contains(ex, "size:") {
		t.Errorf("exampleConfig() lists an optional key:\n%s", ex)
	}
}

func TestArrowAndDuckTypes(t *testing.T) {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	point := arrow.StructOf(
		arrow.Field{Name: "latitude", Type: arrow.PrimitiveTypes.Float64},
		arrow.Field{Name: "Zip Code", Type: arrow.BinaryTypes.String},
	)
	tests := []struct {
		dt           arrow.DataType
		arrow, duckb string
	}{
		{arrow.PrimitiveTypes.Int64, "int64", "BIGINT"},
		{arrow.PrimitiveTypes.Float64, "float64", "DOUBLE"},
		{arrow.FixedWidthTypes.Boolean, "bool", "BOOLEAN"},
		{arrow.BinaryTypes.String, "string", "VARCHAR"},
		{arrow.FixedWidthTypes.Date32, "date32", "DATE"},
		{ts, "timestamp[us, UTC]", "TIMESTAMP WITH TIME ZONE"},
		{&arrow.TimestampType{Unit: arrow.Microsecond}, "timestamp[us]", "TIMESTAMP"},
		{arrow.ListOf(arrow.BinaryTypes.String), "list<string>", "VARCHAR[]"},
		{point, "struct", `STRUCT(latitude DOUBLE, "Zip Code" VARCHAR)`},
		{arrow.ListOf(point), "list<struct>", `STRUCT(latitude DOUBLE, "Zip Code" VARCHAR)[]`},
		{&arrow.Decimal128Type{Precision: 18, Scale: 2}, "decimal(18, 2)", "DECIMAL(18,2)"},
	}
	for _, tt := range tests {
		t.Run(tt.dt.String(), func(t *testing.T) {
			if got := arrowType(tt.dt); got != tt.arrow {
				t.Errorf("arrowType(%s) = %q, want %q", tt.dt, got, tt.arrow)
			}
			if got := duckType(tt.dt); got != tt.duckb {
				t.Errorf("duckType(%s) = %q, want %q", tt.dt, got, tt.duckb)
			}
		})
	}
}

func TestFlatten(t *testing.T) {
	fields := []arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "site", Type: arrow.StructOf(arrow.Field{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}), Nullable: true},
		{Name: "lines", Type: arrow.ListOf(arrow.StructOf(arrow.Field{Name: "sku", Type: arrow.BinaryTypes.String})), Nullable: true},
	}
	var got []string
	for _, c := range flatten(fields, "", 0) {
		got = append(got, strings.Repeat(">", c.Depth)+c.Name+" "+c.Arrow)
	}
	want := []string{"id int64", "site struct", ">site.name string", "lines list<struct>", ">lines[].sku string"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flatten mismatch (-want +got):\n%s", diff)
	}
}

func TestConfigKeys(t *testing.T) {
	src := `package x

// Config is a file.
type Config struct {
	Items []Item ` + "`yaml:\"items\"`" + `
	Out   Out    ` + "`yaml:\"out\"`" + ` // where output goes
	Skip  string ` + "`yaml:\"-\"`" + `
	plain int
}

// Item is one entry of items.
type Item struct {
	// Name names the item.
	Name string            ` + "`yaml:\"name,omitempty\"`" + `
	Tags []string          ` + "`yaml:\"tags\"`" + `
	Opts map[string]any    ` + "`yaml:\"opts\"`" + `
}

// Out says where output goes.
type Out struct {
	Path string ` + "`yaml:\"path\"`" + `
}
`
	path := filepath.Join(t.TempDir(), "x.go")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := configKeys(path, "Config", "yaml", map[string]string{"out.path": "the folder"})
	if err != nil {
		t.Fatalf("configKeys: %v", err)
	}
	want := []configKey{
		{Path: "items", Type: "list of objects", Doc: "is one entry of items."},
		{Path: "items[].name", Type: "string", Doc: "names the item."},
		{Path: "items[].tags", Type: "list of strings"},
		{Path: "items[].opts", Type: "object"},
		{Path: "out", Type: "object", Doc: "where output goes"},
		{Path: "out.path", Type: "string", Doc: "the folder"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("configKeys mismatch (-want +got):\n%s", diff)
	}
}

func TestReadNotes(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string // headings
		err        string
	}{
		{name: "sections", text: "## Getting credentials\n\nAsk.\n\n## Incremental sync\nBy id.\n## Quirks\nNone.\n", want: []string{"Getting credentials", "Incremental sync", "Quirks"}},
		{name: "text first", text: "Hello\n## A\n", err: "before the first"},
		{name: "twice", text: "## A\nx\n## A\ny\n", err: "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			notesDir := filepath.Join(dir, "internal", "docgen", "notes")
			if err := os.MkdirAll(notesDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(notesDir, "acme.md"), []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			n, err := readNotes(dir, "acme")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("readNotes = %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("readNotes: %v", err)
			}
			if diff := cmp.Diff(tt.want, n.Order); diff != "" {
				t.Errorf("headings mismatch (-want +got):\n%s", diff)
			}
			if got := n.Others(); len(got) != 1 || got[0] != "Quirks" {
				t.Errorf("Others() = %q, want [Quirks]", got)
			}
		})
	}
	n, err := readNotes(t.TempDir(), "none")
	if err != nil || len(n.Sections) != 0 {
		t.Errorf("readNotes(missing) = %+v, %v; want empty notes", n, err)
	}
}

func TestFillRegions(t *testing.T) {
	ref := &reference{Exit: []exitCode{{Code: "0", Name: "ok", Action: "Nothing."}}}
	in := "# T\n<!-- docgen:exit-codes -->\nold\n<!-- /docgen:exit-codes -->\ntail\n"
	got, err := fillRegions([]byte(in), ref)
	if err != nil {
		t.Fatalf("fillRegions: %v", err)
	}
	want := "# T\n<!-- docgen:exit-codes -->\n| code | meaning | scheduler |\n|---|---|---|\n| 0 | ok | Nothing. |\n<!-- /docgen:exit-codes -->\ntail\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("fillRegions mismatch (-want +got):\n%s", diff)
	}
	if _, err := fillRegions([]byte("<!-- docgen:nope -->\n<!-- /docgen:nope -->"), ref); err == nil {
		t.Error("fillRegions with an unknown region: no error")
	}
}

func TestTidy(t *testing.T) {
	in := "\n\n# A  \n\n\n\ntext\n```\n\n\ncode\n```\n\n\n"
	want := "# A\n\ntext\n```\n\n\ncode\n```\n"
	if got := string(tidy([]byte(in))); got != want {
		t.Errorf("tidy(%q) = %q, want %q", in, got, want)
	}
}

// TestConnectors builds every registered connector's page data and checks
// the example configs, as make docs does.
func TestConnectors(t *testing.T) {
	ctx := context.Background()
	byName := map[string]sdk.Connector{}
	for _, e := range registry() {
		byName[e.c.Spec().Name] = e.c
	}
	examples, err := readExamples(ctx, root, byName)
	if err != nil {
		t.Fatalf("readExamples: %v", err)
	}
	for _, e := range registry() {
		name := e.c.Spec().Name
		t.Run(name, func(t *testing.T) {
			n, err := readNotes(root, name)
			if err != nil {
				t.Fatal(err)
			}
			d, err := buildConnector(ctx, root, e, examples, n)
			if err != nil {
				t.Fatalf("buildConnector: %v", err)
			}
			if len(d.Keys) == 0 {
				t.Error("no config keys")
			}
			for _, s := range d.Streams {
				if len(s.PrimaryKey) == 0 || len(s.Columns) == 0 {
					t.Errorf("stream %s: primary key %q, %d columns", s.Name, s.PrimaryKey, len(s.Columns))
				}
			}
			if d.Dynamic != nil && len(d.Dynamic.Types) == 0 {
				t.Error("dynamic connector without a type table")
			}
			if _, err := execute("connector.md.tmpl", d); err != nil {
				t.Errorf("connector.md.tmpl: %v", err)
			}
		})
	}
}
