package host

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/internal/schemaerr"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// Config is a parsed quiver configuration file.
type Config struct {
	Sources     []SourceConfig `yaml:"sources"`
	Destination Destination    `yaml:"destination"`
	State       string         `yaml:"state"` // state directory; default ./state; relative to the config file's folder; or an object-store URL (docs/object-stores.md)

	file string    // for messages
	ast  *ast.File // for line numbers
}

// SourceConfig is one entry of the sources list.
type SourceConfig struct {
	Name      string         `yaml:"name"`      // folder name under the destination
	Connector string         `yaml:"connector"` // runs the plugin quiver-<connector>
	Config    map[string]any `yaml:"config"`    // the connector's config, after ${VAR} expansion
	// Streams selects the streams to read (empty: every stream), each as
	// its name or as an object with the name and settings for that stream:
	// [employees, {name: shifts, lookback: 72h}].
	Streams []StreamConfig `yaml:"streams"`
	// Lookback is how far back every run reads "lookback" streams again
	// (a duration such as 72h, or days such as 7d); empty: each stream's
	// default, shown in the connector's docs.
	Lookback string `yaml:"lookback"`
	// Partition overrides destination.partition for this source's streams.
	Partition string `yaml:"partition"`
	// Compression overrides destination.compression for this source's
	// files, and with it destination.compression_level: the level is then
	// this source's compression_level, or the codec's default.
	Compression string `yaml:"compression"`
	// CompressionLevel overrides destination.compression_level for this
	// source's files.
	CompressionLevel *int `yaml:"compression_level"`
	// MinSnapshotRatio is the shrink guard of streams whose files each run
	// replaces (snapshot streams, and every stream under --full-refresh): a
	// new snapshot with no records while the current one has some, or with
	// fewer than this fraction of its records, is refused: the current
	// snapshot is kept, the stream is reported "suspicious" and the run
	// exits 3 (`quiver sync --allow-shrink` accepts it). A number from 0 to
	// 1; default 0.5. 0 refuses only an empty snapshot; 1 refuses any
	// shrink.
	MinSnapshotRatio *float64 `yaml:"min_snapshot_ratio"`
	// SchemaContract says what a run does with what a stream's schema
	// cannot take. By default both kinds are rescued: kept, with their
	// original JSON, in the _quiver_rescued column, counted in the run's
	// summary, and the stream completes.
	SchemaContract SchemaContract `yaml:"schema_contract"`

	lookback         time.Duration    // Lookback, parsed
	compression      sink.Compression // the codec of this source's files (Compression or the destination's), checked; "": the format's default
	compressionLevel int              // its level; 0: the codec's default
}

// DefaultMinSnapshotRatio is the shrink guard's default: a snapshot that
// lost half its records is far more likely an API or permissions problem
// than real deletions.
const DefaultMinSnapshotRatio = 0.5

// MinSnapshotRatio returns the shrink guard ratio of source i (see
// SourceConfig.MinSnapshotRatio).
func (c *Config) MinSnapshotRatio(i int) float64 {
	if r := c.Sources[i].MinSnapshotRatio; r != nil {
		return *r
	}
	return DefaultMinSnapshotRatio
}

// SchemaContract is a source's schema_contract.
type SchemaContract struct {
	// OnUnknown is for a key the stream's schema does not know: rescue
	// (default: keep it in _quiver_rescued), ignore (drop it) or fail
	// (fail the stream, naming record and key).
	OnUnknown string `yaml:"on_unknown"`
	// OnMismatch is for a value whose shape does not fit its column:
	// rescue (default: the column gets null, the value goes to
	// _quiver_rescued) or fail (fail the stream, naming record and field).
	OnMismatch string `yaml:"on_mismatch"`
}

// Contract returns the source's schema contract as the plugin takes it.
func (s *SourceConfig) Contract() protocol.SchemaContract {
	return protocol.SchemaContract{
		OnUnknown:  protocol.ContractAction(s.SchemaContract.OnUnknown),
		OnMismatch: protocol.ContractAction(s.SchemaContract.OnMismatch),
	}
}

// checkContract checks the schema_contract of source i.
func (c *Config) checkContract(i int) error {
	sc := c.Sources[i].SchemaContract
	at := fmt.Sprintf("sources[%d].schema_contract", i)
	switch protocol.ContractAction(sc.OnUnknown) {
	case "", protocol.Rescue, protocol.Ignore, protocol.Fail:
	default:
		return c.errorf(at+".on_unknown", "%q: want rescue, ignore or fail", sc.OnUnknown)
	}
	switch protocol.ContractAction(sc.OnMismatch) {
	case "", protocol.Rescue, protocol.Fail:
	default:
		return c.errorf(at+".on_mismatch", "%q: want rescue or fail (a value that does not fit cannot be ignored: its column would be null without a trace)", sc.OnMismatch)
	}
	return nil
}

// StreamConfig selects one stream of a source.
type StreamConfig struct {
	Name string `yaml:"name"` // the stream's name
	// Lookback overrides the source's lookback for this stream.
	Lookback string `yaml:"lookback"`

	lookback time.Duration // Lookback, parsed; 0: the source's
}

// UnmarshalYAML reads a stream's name or an object with name and settings.
func (sc *StreamConfig) UnmarshalYAML(b []byte) error {
	var name string
	if err := yaml.Unmarshal(b, &name); err == nil {
		*sc = StreamConfig{Name: name}
		return nil
	}
	type plain StreamConfig // without this method
	var p plain
	if err := yaml.UnmarshalWithOptions(b, &p, yaml.DisallowUnknownField()); err != nil {
		return fmt.Errorf("want a stream name or {name: NAME, lookback: DURATION}: %w", err)
	}
	*sc = StreamConfig(p)
	return nil
}

// Lookback returns the lookback window configured for stream of source i:
// the stream's own, else the source's, else zero (the stream's default).
func (c *Config) Lookback(i int, stream string) time.Duration {
	s := &c.Sources[i]
	for _, sc := range s.Streams {
		if sc.Name == stream && sc.lookback > 0 {
			return sc.lookback
		}
	}
	return s.lookback
}

// parseLookback parses a lookback setting: a Go duration ("72h", "90m") or
// a whole number of days ("7d"); it must be positive.
func parseLookback(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q: want a positive duration such as 72h or 7d", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: want a positive duration such as 72h or 7d", v)
	}
	return d, nil
}

// checkStreams checks the settings of source i (its shrink guard ratio,
// lookback windows) and its stream list: names present, each listed once.
func (c *Config) checkStreams(i int) error {
	s := &c.Sources[i]
	at := fmt.Sprintf("sources[%d]", i)
	if r := s.MinSnapshotRatio; r != nil && !(*r >= 0 && *r <= 1) {
		return c.errorf(at+".min_snapshot_ratio", "%v: want a fraction from 0 to 1, such as 0.5", *r)
	}
	if s.Lookback != "" {
		d, err := parseLookback(s.Lookback)
		if err != nil {
			return c.errorf(at+".lookback", "%v", err)
		}
		s.lookback = d
	}
	seen := map[string]bool{}
	for j := range s.Streams {
		sc := &s.Streams[j]
		field := fmt.Sprintf("%s.streams[%d]", at, j)
		switch {
		case sc.Name == "":
			return c.errorf(field, "the stream's name is missing")
		case seen[sc.Name]:
			return c.errorf(field, "stream %q is listed twice", sc.Name)
		}
		seen[sc.Name] = true
		if sc.Lookback != "" {
			d, err := parseLookback(sc.Lookback)
			if err != nil {
				return c.errorf(field+".lookback", "%v", err)
			}
			sc.lookback = d
		}
	}
	return nil
}

// Destination says where and how output is written.
type Destination struct {
	Path   string `yaml:"path"`   // default ./out; relative to the config file's folder; or s3://bucket/prefix, gs://…, azblob://… (docs/object-stores.md)
	Format string `yaml:"format"` // parquet (default), arrow, jsonl or csv
	// Partition splits each stream's files into Hive-style dt=YYYY-MM-DD
	// folders: "extracted" by the extraction date, or the name of a date or
	// timestamp column by the UTC date of each record's value (null values
	// go to dt=__HIVE_DEFAULT_PARTITION__). Empty or "none": no folders.
	Partition string `yaml:"partition"`
	// Compression is the codec of parquet files: zstd (default), snappy,
	// gzip or none; of arrow files: zstd (default), lz4 or none. jsonl and
	// csv files are never compressed.
	Compression string `yaml:"compression"`
	// CompressionLevel is the level of zstd (1 fastest to 22 smallest) or
	// gzip (1 to 9, or -1 for its default) in parquet files; unset: the
	// codec's default. Other codecs and formats take none.
	CompressionLevel *int `yaml:"compression_level"`
}

// A ConfigError points at the place in a config file that needs fixing.
// It wraps protocol.ErrConfig.
type ConfigError struct {
	File  string
	Line  int    // 0 when unknown
	Field string // e.g. sources[0].config.client_id
	Msg   string
}

// Error returns "file:line: field: msg".
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns protocol.ErrConfig.
func (e *ConfigError) Unwrap() error { return protocol.ErrConfig }

// LoadConfig reads and parses the config file at path, expanding ${VAR}
// references from the environment.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w: %w", protocol.ErrConfig, err)
	}
	return ParseConfig(path, data, os.LookupEnv)
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// checkName says why name cannot be a source or stream name, which become
// folder names: it must be letters, digits, _ . and - only, start with a
// letter or digit, and hold no "..".
func checkName(name string) error {
	if !safeName.MatchString(name) || strings.Contains(name, "..") {
		return errors.New(`is not a safe folder name (letters, digits, _ . - only, starting with a letter or digit, no "..")`)
	}
	return nil
}

// ParseConfig parses a config file's contents. name is used in messages;
// lookup resolves ${VAR} references, which are expanded in string values
// after parsing (never in the raw text), so a secret can hold any character.
func ParseConfig(name string, data []byte, lookup func(string) (string, bool)) (*Config, error) {
	return parseConfig(name, data, lookup, true)
}

// LoadConfigWithoutSecrets reads the config file at path for commands that
// need only its source names, destination and state directory, such as
// `quiver state`: the connectors' configs are kept as written, their ${VAR}
// references unexpanded, so the variables holding secrets need not be set.
// The result must not be used to run a sync.
func LoadConfigWithoutSecrets(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w: %w", protocol.ErrConfig, err)
	}
	return parseConfig(path, data, os.LookupEnv, false)
}

// parseConfig parses a config file; expandSources says whether ${VAR} is
// expanded in the connectors' configs.
func parseConfig(name string, data []byte, lookup func(string) (string, bool), expandSources bool) (*Config, error) {
	c := &Config{file: name}
	if err := yaml.UnmarshalWithOptions(data, c, yaml.DisallowUnknownField()); err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", name, protocol.ErrConfig, yaml.FormatError(err, false, true))
	}
	f, err := parser.ParseBytes(data, 0)
	if err == nil {
		c.ast = f
	}
	if len(c.Sources) == 0 {
		return nil, c.errorf("sources", "no sources: list at least one source with name, connector and config")
	}
	seen := map[string]bool{}
	for i := range c.Sources {
		s := &c.Sources[i]
		at := fmt.Sprintf("sources[%d]", i)
		switch {
		case s.Name == "":
			return nil, c.errorf(at, "name is missing")
		case checkName(s.Name) != nil:
			return nil, c.errorf(at+".name", "%q %v", s.Name, checkName(s.Name))
		case seen[s.Name]:
			return nil, c.errorf(at+".name", "source %q is listed twice", s.Name)
		case s.Connector == "":
			return nil, c.errorf(at, "connector is missing (e.g. connector: tracktik)")
		case !safeName.MatchString(s.Connector):
			return nil, c.errorf(at+".connector", "%q is not a connector name", s.Connector)
		}
		seen[s.Name] = true
		if err := c.checkPartition(at+".partition", s.Partition); err != nil {
			return nil, err
		}
		if err := c.checkStreams(i); err != nil {
			return nil, err
		}
		if err := c.checkContract(i); err != nil {
			return nil, err
		}
		if s.Config == nil {
			s.Config = map[string]any{}
		}
		if !expandSources {
			continue
		}
		for k, v := range s.Config {
			nv, err := c.expand(fmt.Sprintf("%s.config.%s", at, k), v, lookup)
			if err != nil {
				return nil, err
			}
			s.Config[k] = nv
		}
	}
	d := &c.Destination
	if d.Path == "" {
		d.Path = "./out"
	}
	if d.Format == "" {
		d.Format = "parquet"
	}
	if d.Path, err = c.expandString("destination.path", d.Path, lookup); err != nil {
		return nil, err
	}
	if err := c.checkPartition("destination.partition", d.Partition); err != nil {
		return nil, err
	}
	if err := c.checkCompression(); err != nil {
		return nil, err
	}
	if c.State == "" {
		c.State = "./state"
	}
	if c.State, err = c.expandString("state", c.State, lookup); err != nil {
		return nil, err
	}
	d.Path, c.State = c.resolve(d.Path), c.resolve(c.State)
	return c, nil
}

// CheckLocal rejects a destination or state on an object store (s3://,
// gs://, azblob://), which `quiver compact` and `quiver sync --compact`
// cannot rewrite yet; file:// URLs were turned into paths when the config
// was read.
func (c *Config) CheckLocal() error {
	for field, v := range map[string]string{"destination.path": c.Destination.Path, "state": c.State} {
		if scheme, _, ok := strings.Cut(v, "://"); ok {
			return c.errorf(field, "%q: compaction of %s:// destinations and state is not supported yet; quiver sync writes them, quiver compact needs a local path or a file:// URL", v, scheme)
		}
	}
	return nil
}

// resolve makes a relative path relative to the config file's folder, so
// that a config means the same folders whatever the working directory.
func (c *Config) resolve(path string) string {
	if rest, ok := strings.CutPrefix(path, "file://"); ok {
		path = filepath.FromSlash(rest) // file:///abs or file://rel
	}
	if filepath.IsAbs(path) || strings.Contains(path, "://") {
		return path
	}
	return filepath.Join(filepath.Dir(c.file), path)
}

var columnName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkPartition checks a partition setting: none, extracted, or what can
// be a column name (whether the column exists is checked per stream, once
// the plugin has described its streams).
func (c *Config) checkPartition(field, v string) error {
	if v == "" || v == PartitionNone || v == PartitionExtracted || columnName.MatchString(v) {
		return nil
	}
	return c.errorf(field, "%q: want %q, %q or the name of a date or timestamp column", v, PartitionExtracted, PartitionNone)
}

// checkCompression checks the compression settings of the destination
// and of each source against the destination's format, and records each
// source's codec and level. An unknown format is left to Sync, which
// reports it.
func (c *Config) checkCompression() error {
	d := &c.Destination
	format, err := sink.ParseFormat(d.Format)
	if err != nil {
		return nil
	}
	codec, level := sink.Compression(""), 0
	if d.Compression != "" {
		codec = sink.CompressionNamed(d.Compression)
		if err := format.CheckCompression(codec); err != nil {
			return c.errorf("destination.compression", "%v", err)
		}
	}
	if d.CompressionLevel != nil {
		level = *d.CompressionLevel
		if err := checkLevel(format, codec, level, "destination.compression", "destination"); err != nil {
			return c.errorf("destination.compression_level", "%v", err)
		}
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		at := fmt.Sprintf("sources[%d]", i)
		s.compression, s.compressionLevel = codec, level
		from := "destination.compression"
		if s.Compression != "" {
			s.compression = sink.CompressionNamed(s.Compression)
			s.compressionLevel = 0 // the destination's level was for its codec
			from = at + ".compression"
			if err := format.CheckCompression(s.compression); err != nil {
				return c.errorf(at+".compression", "%v", err)
			}
		}
		if s.CompressionLevel != nil {
			s.compressionLevel = *s.CompressionLevel
			if err := checkLevel(format, s.compression, s.compressionLevel, from, at); err != nil {
				return c.errorf(at+".compression_level", "%v", err)
			}
		}
	}
	return nil
}

// checkLevel checks a compression_level setting of the codec that the
// key from chose; own is the scope of the level's key (destination or
// sources[i]), so that the message says where a codec chosen elsewhere
// comes from.
func checkLevel(format sink.Format, codec sink.Compression, level int, from, own string) error {
	err := format.CheckLevel(codec, level)
	if err != nil && codec != "" && !strings.HasPrefix(from, own+".") {
		err = fmt.Errorf("%w (the codec comes from %s)", err, from)
	}
	return err
}

var varRef = regexp.MustCompile(`\$\{([^}]*)\}`)
var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces ${VAR} in every string leaf of v.
func (c *Config) expand(field string, v any, lookup func(string) (string, bool)) (any, error) {
	switch v := v.(type) {
	case string:
		return c.expandString(field, v, lookup)
	case map[string]any:
		for k, e := range v {
			ne, err := c.expand(field+"."+k, e, lookup)
			if err != nil {
				return nil, err
			}
			v[k] = ne
		}
	case []any:
		for i, e := range v {
			ne, err := c.expand(fmt.Sprintf("%s[%d]", field, i), e, lookup)
			if err != nil {
				return nil, err
			}
			v[i] = ne
		}
	}
	return v, nil
}

func (c *Config) expandString(field, s string, lookup func(string) (string, bool)) (string, error) {
	var firstErr error
	out := varRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := ref[2 : len(ref)-1]
		if !varName.MatchString(name) {
			if firstErr == nil {
				firstErr = c.errorf(field, "%q is not a valid ${VAR} reference", ref)
			}
			return ref
		}
		val, ok := lookup(name)
		if !ok {
			if firstErr == nil {
				firstErr = c.errorf(field, "environment variable %s is not set", name)
			}
			return ref
		}
		return val
	})
	return out, firstErr
}

// errorf returns a ConfigError for field, with the line of field when known.
func (c *Config) errorf(field, format string, args ...any) error {
	return &ConfigError{File: c.file, Line: c.line(field), Field: field, Msg: fmt.Sprintf(format, args...)}
}

// line returns the line of a dotted field path like sources[0].config.x, or
// of its nearest existing parent.
func (c *Config) line(field string) int {
	if c.ast == nil {
		return 0
	}
	for f := field; f != ""; {
		if p, err := yaml.PathString("$." + quotePath(f)); err == nil {
			if n, err := p.FilterFile(c.ast); err == nil && n != nil {
				tok := n.GetToken()
				if tok != nil && tok.Position != nil {
					return tok.Position.Line
				}
			}
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return 0
}

// quotePath quotes path keys that the YAML path syntax would misread.
func quotePath(field string) string {
	parts := strings.Split(field, ".")
	for i, p := range parts {
		key, idx, _ := strings.Cut(p, "[")
		if strings.ContainsAny(key, " -'\"$*@") {
			key = "'" + key + "'"
		}
		if idx != "" {
			key += "[" + idx
		}
		parts[i] = key
	}
	return strings.Join(parts, ".")
}

// ConfigJSON returns the connector config of source i as JSON for the plugin.
func (c *Config) ConfigJSON(i int) ([]byte, error) {
	b, err := json.Marshal(c.Sources[i].Config)
	if err != nil {
		return nil, c.errorf(fmt.Sprintf("sources[%d].config", i), "cannot be turned into JSON: %v", err)
	}
	return b, nil
}

// File returns the name of the config file.
func (c *Config) File() string { return c.file }

// Validate checks the config of source i against the connector's JSON
// Schema and returns every problem at once, each with its line. Messages
// never include the values of the config, since some are secrets.
func (c *Config) Validate(i int, schema json.RawMessage) error {
	if len(schema) == 0 {
		return nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return fmt.Errorf("connector %s: config schema: %w", c.Sources[i].Connector, err)
	}
	comp := jsonschema.NewCompiler()
	if err := comp.AddResource("config.json", doc); err != nil {
		return fmt.Errorf("connector %s: config schema: %w", c.Sources[i].Connector, err)
	}
	sch, err := comp.Compile("config.json")
	if err != nil {
		return fmt.Errorf("connector %s: config schema: %w", c.Sources[i].Connector, err)
	}
	raw, err := c.ConfigJSON(i)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	p := message.NewPrinter(language.English)
	var errs []error
	for _, leaf := range schemaerr.Leaves(ve) {
		field := fmt.Sprintf("sources[%d].config", i)
		for _, k := range leaf.InstanceLocation {
			if _, err := strconv.Atoi(k); err == nil {
				field += "[" + k + "]"
			} else {
				field += "." + k
			}
		}
		// An unknown key is reported at its own line, with the keys there are.
		if ap, ok := leaf.ErrorKind.(*kind.AdditionalProperties); ok {
			for _, k := range ap.Properties {
				errs = append(errs, c.errorf(field+"."+k, "unknown key; the keys of connector %s are: %s",
					c.Sources[i].Connector, strings.Join(schemaKeys(schema, leaf.InstanceLocation), ", ")))
			}
			continue
		}
		errs = append(errs, c.errorf(field, "%s", describe(leaf.ErrorKind, p)))
	}
	sort.SliceStable(errs, func(a, b int) bool {
		return errs[a].(*ConfigError).Line < errs[b].(*ConfigError).Line
	})
	return errors.Join(errs...)
}

// schemaKeys returns the property names the schema declares for the
// object at loc (top-level or nested through properties), sorted.
func schemaKeys(schema json.RawMessage, loc []string) []string {
	type object struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	var o object
	if json.Unmarshal(schema, &o) != nil {
		return nil
	}
	for _, k := range loc {
		var sub object
		if json.Unmarshal(o.Properties[k], &sub) != nil {
			return nil
		}
		o = sub
	}
	keys := make([]string, 0, len(o.Properties))
	for k := range o.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// describe words a validation failure without quoting the value, which may
// be a secret: only the pattern and format kinds print the value.
func describe(k jsonschema.ErrorKind, p *message.Printer) string {
	switch k := k.(type) {
	case *kind.Pattern:
		return fmt.Sprintf("does not match the pattern %s", k.Want)
	case *kind.Format:
		return fmt.Sprintf("is not a valid %s", k.Want)
	}
	return k.LocalizedString(p)
}
