package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/quiver-etl/quiver/host/sink"
)

// reference is what docs/config.md, docs/README.md and the README regions
// are rendered from.
type reference struct {
	Keys       []configKey // the YAML file's keys
	Result     []configKey // the keys of a run's JSON result and manifest
	Formats    []constant  // destination formats, from host/sink
	Codecs     []constant  // compression codecs, from host/sink
	Reasons    []constant  // retry reasons, from sdk/rest
	Lineage    []column    // the columns the host appends to every record
	Root       *command    // global flags
	Commands   []*command
	Exit       []exitCode
	Connectors []*connectorDoc
	Examples   map[string]example
}

// An exitCode is one documented exit status of quiver.
type exitCode struct {
	Code    string
	Name    string
	Meaning string
	Action  string // what a scheduler should do
}

// exitCodes documents the exit codes of host/cmd/quiver/main.go. docgen
// fails when main.go has a code this list lacks, or the other way round.
var exitCodes = []exitCode{
	{"0", "ok", "Every selected stream is complete.", "Nothing."},
	{"1", "failed", "A failure without a class: a plugin crashed, a file could not be written, a bug.", "Retry a few times, then alert."},
	{"2", "usage or config", "The command line or the config file is wrong (the message names the file, line and key), or the connector rejected its config.", "Fail without retrying: a person must fix the file."},
	{"3", "partial", "Some streams failed and the others were written; the state of the written ones is committed, so the next run resumes only what is missing.", "Retry; alert if it persists."},
	{"4", "authentication", "The vendor rejected the credentials.", "Fail without retrying: retries cannot fix a password, and some vendors lock accounts or IPs after repeated failed logins (TrackTik: 40 in 2 minutes locks the IP for 2 hours)."},
	{"75", "temporary", "A rate limit, quota or outage outlasted the retries inside the run, or another run still holds the source's state lock (EX_TEMPFAIL from sysexits.h). Completed streams are committed.", "Retry later, with backoff."},
	{"130", "interrupted (SIGINT)", "Ctrl-C. What was complete is committed.", "Run again; it resumes."},
	{"143", "terminated (SIGTERM)", "Stopped by a scheduler or an eviction. What was complete is committed.", "Run again; it resumes."},
}

// configFallback and resultFallback describe the keys whose Go fields
// have no comment. A field's own comment wins, so documenting a field in
// host/ is enough to change the reference.
var (
	configFallback = map[string]string{
		"sources": "the accounts to read; at least one",
	}
	resultFallback = map[string]string{
		"run_id":                           "the run's id: also in file names and in the _quiver_run_id column",
		"started_at":                       "when the run started",
		"finished_at":                      "when it ended",
		"sources":                          "one entry per source, in config order",
		"sources[].name":                   "the source's name",
		"sources[].connector":              "its connector",
		"sources[].status":                 "ok, failed or interrupted",
		"sources[].error":                  "why the source failed, if it did",
		"sources[].streams":                "one entry per selected stream",
		"sources[].streams[].name":         "the stream",
		"sources[].streams[].mode":         "incremental or full_refresh",
		"sources[].streams[].records":      "records written by this run",
		"sources[].streams[].files":        "the files this run published",
		"sources[].streams[].bytes":        "their size",
		"sources[].streams[].seconds":      "how long the stream took",
		"sources[].streams[].retries":      "HTTP retries inside the plugin, by reason (see below)",
		"sources[].streams[].state_before": "the stream's state when the run started",
		"sources[].streams[].state_after":  "the state committed last",
		"sources[].streams[].error":        "why the stream failed, if it did",
	}
)

// readReference gathers the host side of the reference.
func readReference(ctx context.Context, root, bin string) (*reference, error) {
	keys, err := configKeys(filepath.Join(root, "host", "config.go"), "Config", "yaml", configFallback)
	if err != nil {
		return nil, err
	}
	result, err := configKeys(filepath.Join(root, "host", "result.go"), "Result", "json", resultFallback)
	if err != nil {
		return nil, err
	}
	formats, err := constants(filepath.Join(root, "host", "sink", "sink.go"), "", "Format")
	if err != nil {
		return nil, err
	}
	codecs, err := constants(filepath.Join(root, "host", "sink", "compression.go"), "", "Compression")
	if err != nil {
		return nil, err
	}
	reasons, err := constants(filepath.Join(root, "sdk", "rest", "policy.go"), "Reason", "")
	if err != nil {
		return nil, err
	}
	codes, err := exitCodesOf(root)
	if err != nil {
		return nil, err
	}
	var documented []string
	for _, e := range exitCodes {
		documented = append(documented, e.Code)
	}
	for _, c := range codes {
		if !slices.Contains(documented, c) {
			return nil, fmt.Errorf("host/cmd/quiver/main.go has exit code %s, which exitCodes in internal/docgen/reference.go does not document", c)
		}
	}
	for _, c := range documented {
		if !slices.Contains(codes, c) {
			return nil, fmt.Errorf("internal/docgen/reference.go documents exit code %s, which host/cmd/quiver/main.go does not have", c)
		}
	}
	rootCmd, cmds, err := readCLI(ctx, bin)
	if err != nil {
		return nil, err
	}
	empty := arrow.NewSchema(nil, nil)
	var lineage []column
	for _, f := range sink.LineageSchema(empty).Fields() {
		lineage = append(lineage, columnOf(f, f.Name, 0))
	}
	return &reference{
		Keys:     keys,
		Result:   result,
		Formats:  formats,
		Codecs:   codecs,
		Reasons:  reasons,
		Lineage:  lineage,
		Root:     rootCmd,
		Commands: cmds,
		Exit:     exitCodes,
	}, nil
}

// HasKey reports whether the config file has the key at path
// ("destination.partition").
func (r *reference) HasKey(path string) bool {
	return slices.ContainsFunc(r.Keys, func(k configKey) bool { return k.Path == path })
}

// Command returns the command with path p ("quiver sync"), or nil.
func (r *reference) Command(p string) *command {
	for _, c := range r.Commands {
		if c.Path == p {
			return c
		}
	}
	return nil
}

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"cell":  cell,
	"code":  code,
	"codes": codes,
	"join":  strings.Join,
	"trim":  strings.TrimSpace,
	"rest": func(xs []string) []string {
		if len(xs) == 0 {
			return nil
		}
		return xs[1:]
	},
	"flagName": func(f cliFlag) string {
		s := "--" + f.Name
		if f.Type != "" {
			s += " " + strings.ToUpper(strings.TrimSuffix(f.Type, "s"))
			if strings.HasSuffix(f.Type, "s") {
				s += ",…"
			}
		}
		if f.Short != "" {
			s = "-" + f.Short + ", " + s
		}
		return "`" + s + "`"
	},
	"default": flagDefault,
	"indent":  func(n int) string { return strings.Repeat("&nbsp;&nbsp;", n) },
	"yes": func(b bool) string {
		if b {
			return "yes"
		}
		return ""
	},
	"notes":   func(n notes, head string) string { return n.Sections[head] },
	"example": func(x map[string]example, name string) string { return x[name].text },
}).ParseFS(templateFS, "templates/*.tmpl"))

// execute runs one template.
func execute(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return nil, err
	}
	return tidy(b.Bytes()), nil
}

// tidy squeezes runs of blank lines that template actions leave behind
// and ends the text with one newline, so the Markdown is stable.
func tidy(b []byte) []byte {
	lines := strings.Split(string(b), "\n")
	var out []string
	blank, fence := false, false
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if strings.HasPrefix(l, "```") {
			fence = !fence
		}
		if l == "" && !fence {
			if blank || len(out) == 0 {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	return []byte(strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n")
}

// flagDefault shows a flag's default: pflag's values as code, prose (a
// default a usage string explains itself) as it is.
func flagDefault(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return code(u)
	}
	if strings.ContainsAny(s, " ,") {
		return cell(s)
	}
	return code(s)
}

// cell makes s safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// code wraps s in backticks, or returns "" for "".
func code(s string) string {
	if s == "" {
		return ""
	}
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

// codes formats a list of names as code, comma separated.
func codes(xs []string) string {
	var out []string
	for _, x := range xs {
		out = append(out, code(x))
	}
	return strings.Join(out, ", ")
}

// regionRE matches a generated region of README.md:
// <!-- docgen:NAME --> ... <!-- /docgen:NAME -->.
var regionRE = regexp.MustCompile(`(?s)(<!-- docgen:([a-z-]+) -->\n).*?(<!-- /docgen:([a-z-]+) -->)`)

// fillRegions replaces the body of every region of text with the template
// region-NAME.md.tmpl.
func fillRegions(text []byte, ref *reference) ([]byte, error) {
	var err error
	out := regionRE.ReplaceAllFunc(text, func(m []byte) []byte {
		sub := regionRE.FindSubmatch(m)
		name := string(sub[2])
		if string(sub[4]) != name {
			err = fmt.Errorf("region %s ends with /docgen:%s", name, sub[4])
			return m
		}
		body, xerr := execute("region-"+name+".md.tmpl", ref)
		if xerr != nil {
			err = fmt.Errorf("region %s: %w", name, xerr)
			return m
		}
		return slices.Concat(sub[1], body, sub[3])
	})
	return out, err
}

// The catalog's JSON shape.
type (
	catalogFile struct {
		Note       string             `json:"note"`
		Lineage    []catalogColumn    `json:"lineage_columns"`
		Connectors []catalogConnector `json:"connectors"`
	}
	catalogConnector struct {
		Name    string          `json:"name"`
		Version string          `json:"version"`
		Dynamic bool            `json:"dynamic,omitempty"`
		Key     []string        `json:"primary_key,omitempty"` // of every stream, for dynamic ones
		Streams []catalogStream `json:"streams"`
	}
	catalogStream struct {
		Name        string          `json:"name"`
		PrimaryKey  []string        `json:"primary_key"`
		CursorField string          `json:"cursor_field,omitempty"`
		SyncModes   []string        `json:"sync_modes"`
		Columns     []catalogColumn `json:"columns"`
	}
	catalogColumn struct {
		Name     string `json:"name"`
		Arrow    string `json:"arrow"`
		DuckDB   string `json:"duckdb"`
		Nullable bool   `json:"nullable"`
	}
)

// catalogJSON writes docs/catalog.json: every static stream with the
// columns as written (lineage included) and their DuckDB types.
func catalogJSON(docs []*connectorDoc) ([]byte, error) {
	f := catalogFile{Note: "Generated by `make docs` (internal/docgen); examples/duckdb/verify.mjs checks the demo output against it."}
	for _, c := range sink.LineageSchema(arrow.NewSchema(nil, nil)).Fields() {
		col := columnOf(c, c.Name, 0)
		f.Lineage = append(f.Lineage, catalogColumn{col.Name, col.Arrow, col.DuckDB, col.Nullable})
	}
	for _, d := range docs {
		cc := catalogConnector{Name: d.Name, Version: d.Version, Streams: []catalogStream{}}
		if d.Dynamic != nil {
			cc.Dynamic, cc.Key = true, d.Dynamic.PrimaryKey
		}
		for _, s := range d.Streams {
			cs := catalogStream{Name: s.Name, PrimaryKey: s.PrimaryKey, CursorField: s.CursorField, SyncModes: s.SyncModes}
			for _, col := range s.Written {
				cs.Columns = append(cs.Columns, catalogColumn{col.Name, col.Arrow, col.DuckDB, col.Nullable})
			}
			cc.Streams = append(cc.Streams, cs)
		}
		f.Connectors = append(f.Connectors, cc)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
