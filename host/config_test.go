package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

const goodConfig = `sources:
  - name: acme
    connector: tracktik
    config:
      base_url: https://acme.staffr.net
      client_id: ${TT_ID}
      client_secret: ${TT_SECRET}
      username: api
      password: "${TT_PW}"
      start_date: 2024-01-01
    streams: [employees, shifts]
destination:
  path: ./out
state: ./state
`

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseConfig(t *testing.T) {
	vars := env(map[string]string{"TT_ID": "id1", "TT_SECRET": "s3cr${et}$", "TT_PW": "pw"})
	c, err := ParseConfig("quiver.yaml", []byte(goodConfig), vars)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"base_url": "https://acme.staffr.net", "client_id": "id1", "client_secret": "s3cr${et}$",
		"username": "api", "password": "pw", "start_date": "2024-01-01",
	}
	if diff := cmp.Diff(want, c.Sources[0].Config); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
	if c.Destination.Format != "parquet" || c.State != "state" {
		t.Errorf("defaults: format %q state %q", c.Destination.Format, c.State)
	}
}

// TestParseConfig_Paths: relative destination and state paths are resolved
// against the config file's folder, not the working directory.
func TestParseConfig_Paths(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "project")
	tests := []struct {
		name, yaml, dest, state string
	}{
		{"defaults", "", filepath.Join(dir, "out"), filepath.Join(dir, "state")},
		{"relative", "destination:\n  path: ./data/x\nstate: ../st\n", filepath.Join(dir, "data", "x"), filepath.Join(filepath.Dir(dir), "st")},
		{"absolute", "destination:\n  path: /srv/out\nstate: /var/lib/q\n", "/srv/out", "/var/lib/q"},
		{"variable", "destination:\n  path: ${OUT}/d\n", filepath.Join(dir, "rel", "d"), filepath.Join(dir, "state")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "sources:\n  - {name: a, connector: t}\n" + tt.yaml
			c, err := ParseConfig(filepath.Join(dir, "quiver.yaml"), []byte(text), env(map[string]string{"OUT": "rel"}))
			if err != nil {
				t.Fatal(err)
			}
			if c.Destination.Path != tt.dest || c.State != tt.state {
				t.Errorf("destination %q, state %q; want %q, %q", c.Destination.Path, c.State, tt.dest, tt.state)
			}
		})
	}
}

func TestParseConfig_Errors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // substring of the error
	}{
		{"unset variable", goodConfig, "quiver.yaml:7: sources[0].config.client_secret: environment variable TT_SECRET is not set"},
		{"unknown key", strings.Replace(goodConfig, "state:", "stat:", 1), "unknown field \"stat\""},
		{"no sources", "destination:\n  path: x\n", "no sources"},
		{"duplicate", "sources:\n  - {name: a, connector: tracktik}\n  - {name: a, connector: tracktik}\n", "quiver.yaml:3: sources[1].name: source \"a\" is listed twice"},
		{"unsafe name", "sources:\n  - {name: ../x, connector: tracktik}\n", "not a safe folder name"},
		{"dot dot name", "sources:\n  - name: a\n    connector: t\n  - name: a..b\n    connector: t\n", `quiver.yaml:4: sources[1].name: "a..b" is not a safe folder name`},
		{"no connector", "sources:\n  - name: a\n", "connector is missing"},
		{"bad partition", strings.Replace(goodConfig, "path: ./out", "path: ./out\n  partition: by day", 1), `quiver.yaml:14: destination.partition: "by day": want "extracted", "none" or the name`},
		{"bad source partition", "sources:\n  - name: a\n    connector: t\n    partition: 2024/01\n", `quiver.yaml:4: sources[0].partition`},
		{"bad reference", "sources:\n  - name: a\n    connector: t\n    config: {k: \"${1X}\"}\n", "not a valid ${VAR} reference"},
		{"ratio above 1", "sources:\n  - name: a\n    connector: t\n    min_snapshot_ratio: 1.5\n", "quiver.yaml:4: sources[0].min_snapshot_ratio: 1.5: want a fraction from 0 to 1"},
		{"negative ratio", "sources:\n  - name: a\n    connector: t\n    min_snapshot_ratio: -0.1\n", "quiver.yaml:4: sources[0].min_snapshot_ratio: -0.1: want a fraction"},
		{"ratio not a number", "sources:\n  - name: a\n    connector: t\n    min_snapshot_ratio: half\n", "min_snapshot_ratio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"TT_ID": "x", "TT_PW": "y"}
			if tt.name != "unset variable" {
				vars["TT_SECRET"] = "z"
			}
			_, err := ParseConfig("quiver.yaml", []byte(tt.yaml), env(vars))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseConfig() error = %v, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, protocol.ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
		})
	}
}

func TestConfig_Validate(t *testing.T) {
	schema := []byte(`{"type":"object","required":["base_url","client_id","password"],
	  "properties":{"base_url":{"type":"string","pattern":"^https?://"},"client_id":{"type":"string"},
	  "password":{"type":"string","minLength":12},"page_size":{"type":"integer","maximum":1000}},
	  "additionalProperties":false}`)
	yaml := "sources:\n  - name: a\n    connector: tracktik\n    config:\n      base_url: ftp://hunter2\n      password: hunter2\n      page_size: 5000\n      extra: 1\n"
	c, err := ParseConfig("q.yaml", []byte(yaml), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate(0, schema)
	if err == nil {
		t.Fatal("Validate() = nil, want errors")
	}
	msg := err.Error()
	for _, want := range []string{
		"q.yaml:5: sources[0].config: missing property 'client_id'",
		"q.yaml:5: sources[0].config.base_url: does not match the pattern ^https?://",
		"q.yaml:6: sources[0].config.password: minLength: got 7, want 12",
		"q.yaml:7: sources[0].config.page_size: maximum: got 5,000, want 1,000",
		"q.yaml:8: sources[0].config.extra: unknown key; the keys of connector tracktik are: base_url, client_id, page_size, password",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("Validate() error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("Validate() error leaks a config value:\n%s", msg)
	}
	if !errors.Is(err, protocol.ErrConfig) {
		t.Errorf("error does not wrap ErrConfig")
	}
}

func TestParseConfig_Partition(t *testing.T) {
	vars := env(map[string]string{"TT_ID": "x", "TT_SECRET": "s", "TT_PW": "y"})
	for _, tt := range []struct{ dest, source string }{
		{"extracted", ""}, {"none", "started_on"}, {"", "extracted"}, {"started_on", "none"},
	} {
		text := strings.Replace(goodConfig, "path: ./out", "path: ./out\n  partition: \""+tt.dest+"\"", 1)
		text = strings.Replace(text, "    streams:", "    partition: \""+tt.source+"\"\n    streams:", 1)
		c, err := ParseConfig("quiver.yaml", []byte(text), vars)
		if err != nil {
			t.Fatalf("ParseConfig(partition %q, %q): %v", tt.dest, tt.source, err)
		}
		if c.Destination.Partition != tt.dest || c.Sources[0].Partition != tt.source {
			t.Errorf("partition = %q, %q; want %q, %q", c.Destination.Partition, c.Sources[0].Partition, tt.dest, tt.source)
		}
	}
}

func TestLoadConfigWithoutSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quiver.yaml")
	text := strings.Replace(goodConfig, "state: ./state", "state: ${QUIVER_TEST_STATE_DIR}", 1)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("QUIVER_TEST_STATE_DIR", "/var/lib/quiver")
	// TT_ID, TT_SECRET and TT_PW are not set: the secrets are not needed.
	c, err := LoadConfigWithoutSecrets(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != "/var/lib/quiver" || c.Sources[0].Name != "acme" {
		t.Errorf("state %q, source %q", c.State, c.Sources[0].Name)
	}
	if got := c.Sources[0].Config["client_secret"]; got != "${TT_SECRET}" {
		t.Errorf("client_secret = %v, want the reference kept as written", got)
	}
	if _, err := LoadConfig(path); err == nil {
		t.Error("LoadConfig succeeded without the secrets' variables")
	}
}

// TestParseConfig_Lookback: streams are names or {name, lookback} objects;
// lookback is set per source and overridden per stream, and bad values
// are errors at their line.
func TestParseConfig_Lookback(t *testing.T) {
	const text = `sources:
  - name: acme
    connector: tracktik
    lookback: 7d
    streams:
      - employees
      - {name: shifts, lookback: 72h}
      - name: reports
  - name: other
    connector: tracktik
`
	c, err := ParseConfig("quiver.yaml", []byte(text), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []StreamConfig{{Name: "employees"}, {Name: "shifts", Lookback: "72h", lookback: 72 * time.Hour}, {Name: "reports"}}
	if diff := cmp.Diff(want, c.Sources[0].Streams, cmp.AllowUnexported(StreamConfig{})); diff != "" {
		t.Errorf("streams mismatch (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		src    int
		stream string
		want   time.Duration
	}{
		{0, "shifts", 72 * time.Hour},
		{0, "reports", 7 * 24 * time.Hour},
		{0, "work-sessions", 7 * 24 * time.Hour},
		{1, "shifts", 0},
	} {
		if got := c.Lookback(tt.src, tt.stream); got != tt.want {
			t.Errorf("Lookback(%d, %s) = %v, want %v", tt.src, tt.stream, got, tt.want)
		}
	}

	for _, tt := range []struct{ name, yaml, want string }{
		{"bad source lookback", "sources:\n  - name: a\n    connector: t\n    lookback: soon\n",
			`quiver.yaml:4: sources[0].lookback: "soon": want a positive duration`},
		{"negative", "sources:\n  - name: a\n    connector: t\n    lookback: -1h\n", "want a positive duration"},
		{"bad stream lookback", "sources:\n  - name: a\n    connector: t\n    streams:\n      - shifts\n      - {name: reports, lookback: 0d}\n",
			`quiver.yaml:6: sources[0].streams[1].lookback: "0d"`},
		{"stream without name", "sources:\n  - name: a\n    connector: t\n    streams:\n      - {lookback: 1h}\n",
			`quiver.yaml:5: sources[0].streams[0]: the stream's name is missing`},
		{"stream twice", "sources:\n  - name: a\n    connector: t\n    streams: [shifts, {name: shifts}]\n", `stream "shifts" is listed twice`},
		{"unknown stream key", "sources:\n  - name: a\n    connector: t\n    streams:\n      - {name: shifts, window: 1h}\n", "window"},
	} {
		t.Run(tt.name, func(t *testing.T) { wantConfigError(t, tt.yaml, tt.want) })
	}
}

// TestConfig_MinSnapshotRatio: the shrink guard ratio defaults to 0.5 and
// takes any fraction from 0 to 1, 0 included.
func TestConfig_MinSnapshotRatio(t *testing.T) {
	for _, tt := range []struct {
		line string
		want float64
	}{
		{"", DefaultMinSnapshotRatio},
		{"    min_snapshot_ratio: 0\n", 0},
		{"    min_snapshot_ratio: 0.9\n", 0.9},
		{"    min_snapshot_ratio: 1\n", 1},
	} {
		c, err := ParseConfig("quiver.yaml", []byte("sources:\n  - name: a\n    connector: t\n"+tt.line), env(nil))
		if err != nil {
			t.Fatalf("ParseConfig(%q): %v", tt.line, err)
		}
		if got := c.MinSnapshotRatio(0); got != tt.want {
			t.Errorf("MinSnapshotRatio with %q = %v, want %v", tt.line, got, tt.want)
		}
	}
}

func TestParseConfig_SchemaContract(t *testing.T) {
	const text = `sources:
  - name: strict
    connector: tracktik
    schema_contract:
      on_unknown: ignore
      on_mismatch: fail
  - name: loose
    connector: tracktik
  - name: partly
    connector: tracktik
    schema_contract: {on_unknown: fail}
`
	c, err := ParseConfig("quiver.yaml", []byte(text), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []protocol.SchemaContract{
		{OnUnknown: protocol.Ignore, OnMismatch: protocol.Fail},
		{},
		{OnUnknown: protocol.Fail},
	}
	for i, w := range want {
		if got := c.Sources[i].Contract(); got != w {
			t.Errorf("source %s: Contract() = %+v, want %+v", c.Sources[i].Name, got, w)
		}
	}

	for _, tt := range []struct{ name, yaml, want string }{
		{"bad on_unknown", "sources:\n  - name: a\n    connector: t\n    schema_contract:\n      on_unknown: drop\n",
			`quiver.yaml:5: sources[0].schema_contract.on_unknown: "drop": want rescue, ignore or fail`},
		{"ignore a mismatch", "sources:\n  - name: a\n    connector: t\n    schema_contract:\n      on_unknown: rescue\n      on_mismatch: ignore\n",
			`quiver.yaml:6: sources[0].schema_contract.on_mismatch: "ignore": want rescue or fail`},
		{"unknown contract key", "sources:\n  - name: a\n    connector: t\n    schema_contract: {on_missing: fail}\n", "on_missing"},
		{"under config", "sources:\n  - name: a\n    connector: t\n    schema_contract: fail\n", "schema_contract"},
	} {
		t.Run(tt.name, func(t *testing.T) { wantConfigError(t, tt.yaml, tt.want) })
	}
}

// wantConfigError checks that the config text yaml fails to parse with a
// config error containing want.
func wantConfigError(t *testing.T, yaml, want string) {
	t.Helper()
	_, err := ParseConfig("quiver.yaml", []byte(yaml), env(nil))
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("ParseConfig() error = %v, want it to contain %q", err, want)
	}
	if !errors.Is(err, protocol.ErrConfig) {
		t.Errorf("error %v does not wrap ErrConfig", err)
	}
}

// TestConfigLocations: file:// URLs become paths; object-store URLs parse
// and CheckLocal refuses them for a compaction.
func TestConfigLocations(t *testing.T) {
	for _, tt := range []struct {
		dest, state string
		wantPath    string
		wantErr     string
	}{
		{"file:///srv/out", "/srv/state", "/srv/out", ""},
		{"s3://bucket/out?region=us-east-1", "/srv/state", "s3://bucket/out?region=us-east-1", "compaction of s3:// destinations and state is not supported yet"},
		{"/srv/out", "gs://bucket/state", "/srv/out", "compaction of gs:// destinations"},
	} {
		text := "sources:\n  - name: acme\n    connector: tracktik\n    config: {}\ndestination:\n  path: " + tt.dest + "\nstate: " + tt.state + "\n"
		c, err := ParseConfig("/etc/quiver.yaml", []byte(text), env(nil))
		if err != nil {
			t.Fatalf("%s: %v", tt.dest, err)
		}
		if c.Destination.Path != filepath.FromSlash(tt.wantPath) {
			t.Errorf("destination.path %s = %q, want %q", tt.dest, c.Destination.Path, tt.wantPath)
		}
		err = c.CheckLocal()
		if (tt.wantErr == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, protocol.ErrConfig))) {
			t.Errorf("CheckLocal(%s, %s) = %v, want %q", tt.dest, tt.state, err, tt.wantErr)
		}
		// sync --compact follows the same rule, before it opens anything.
		c.Destination.Format = "parquet"
		_, err = Sync(context.Background(), SyncOptions{Config: c, Compact: true})
		if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), "--compact: ") || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, protocol.ErrConfig)) {
			t.Errorf("sync --compact (%s, %s) = %v, want %q", tt.dest, tt.state, err, tt.wantErr)
		}
	}
}

// compressionConfig is a config with one source; src and dest are extra
// lines of the source (line 4 on) and of the destination (after format).
func compressionConfig(format, src, dest string) string {
	text := "sources:\n  - name: a\n    connector: t\n"
	if src != "" {
		text += src + "\n"
	}
	text += "destination:\n  format: " + format + "\n"
	if dest != "" {
		text += dest + "\n"
	}
	return text
}

func TestParseConfig_Compression(t *testing.T) {
	for _, tt := range []struct {
		name, format, src, dest string
		codec                   sink.Compression // the source's files'
		level                   int
	}{
		{"default", "parquet", "", "", "", 0},
		{"zstd", "parquet", "", "  compression: zstd", sink.Zstd, 0},
		{"upper case", "parquet", "", "  compression: ZSTD", sink.Zstd, 0},
		{"zstd level", "parquet", "", "  compression: zstd\n  compression_level: 19", sink.Zstd, 19},
		{"default codec with a level", "parquet", "", "  compression_level: 1", "", 1},
		{"snappy", "parquet", "", "  compression: snappy", sink.Snappy, 0},
		{"gzip", "parquet", "", "  compression: gzip\n  compression_level: 9", sink.Gzip, 9},
		{"gzip default level", "parquet", "", "  compression: gzip\n  compression_level: -1", sink.Gzip, -1},
		{"none", "parquet", "", "  compression: none", sink.Uncompressed, 0},
		{"arrow zstd", "arrow", "", "  compression: zstd", sink.Zstd, 0},
		{"arrow lz4", "arrow", "", "  compression: lz4", sink.LZ4, 0},
		{"arrow none", "arrow", "", "  compression: none", sink.Uncompressed, 0},
		{"jsonl none", "jsonl", "", "  compression: none", sink.Uncompressed, 0},
		{"csv unset", "csv", "", "", "", 0},
		{"source codec drops the destination's level", "parquet", "    compression: snappy", "  compression: zstd\n  compression_level: 19", sink.Snappy, 0},
		{"source codec and level", "parquet", "    compression: gzip\n    compression_level: 6", "  compression: snappy", sink.Gzip, 6},
		{"source level of the destination's codec", "parquet", "    compression_level: 1", "  compression: gzip\n  compression_level: 9", sink.Gzip, 1},
		{"source none", "arrow", "    compression: none", "", sink.Uncompressed, 0},
		{"source upper case", "parquet", "    compression: \" Snappy\"", "", sink.Snappy, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig("quiver.yaml", []byte(compressionConfig(tt.format, tt.src, tt.dest)), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if s := c.Sources[0]; s.compression != tt.codec || s.compressionLevel != tt.level {
				t.Errorf("source codec %q level %d; want %q level %d", s.compression, s.compressionLevel, tt.codec, tt.level)
			}
		})
	}
}

func TestParseConfig_CompressionErrors(t *testing.T) {
	const (
		parquetCodecs = "parquet files take zstd, snappy, gzip or none"
		levels        = "levels are for zstd (1 to 22) and gzip (1 to 9)"
	)
	for _, tt := range []struct {
		name, format, src, dest string
		want                    string // substring of the error
	}{
		{"unknown", "parquet", "", "  compression: lzo", `quiver.yaml:6: destination.compression: "lzo": ` + parquetCodecs},
		{"lz4 in parquet", "parquet", "", "  compression: lz4", `quiver.yaml:6: destination.compression: "lz4": ` + parquetCodecs + "; lz4 is for format arrow (arrow/go v17 cannot write LZ4_RAW Parquet)"},
		{"gzip in arrow", "arrow", "", "  compression: gzip", `quiver.yaml:6: destination.compression: "gzip": arrow files take zstd, lz4 or none; gzip is for format parquet`},
		{"zstd in jsonl", "jsonl", "", "  compression: zstd", `quiver.yaml:6: destination.compression: "zstd": jsonl files are never compressed; compression is for formats parquet (zstd, snappy, gzip or none) and arrow (zstd, lz4 or none)`},
		{"snappy in csv", "csv", "", "  compression: snappy", `destination.compression: "snappy": csv files are never compressed`},
		{"level of snappy", "parquet", "", "  compression: snappy\n  compression_level: 3", "quiver.yaml:7: destination.compression_level: 3: snappy takes no compression level; " + levels},
		{"level of none", "parquet", "", "  compression: none\n  compression_level: 1", "destination.compression_level: 1: none takes no compression level"},
		{"level in arrow", "arrow", "", "  compression: zstd\n  compression_level: 3", "destination.compression_level: 3: arrow files take no compression level; " + levels + " in parquet files"},
		{"level in jsonl", "jsonl", "", "  compression_level: 3", "destination.compression_level: 3: jsonl files take no compression level"},
		{"zstd above 22", "parquet", "", "  compression: zstd\n  compression_level: 23", "destination.compression_level: 23: zstd takes a level from 1 (fastest) to 22 (smallest files)"},
		{"zstd 0", "parquet", "", "  compression_level: 0", "destination.compression_level: 0: zstd takes a level from 1 (fastest) to 22"},
		{"zstd negative", "parquet", "", "  compression: zstd\n  compression_level: -1", "destination.compression_level: -1: zstd takes a level from 1"},
		{"gzip above 9", "parquet", "", "  compression: gzip\n  compression_level: 10", "destination.compression_level: 10: gzip takes a level from 1 (fastest) to 9 (smallest files), or -1 for its default"},
		{"gzip 0", "parquet", "", "  compression: gzip\n  compression_level: 0", "destination.compression_level: 0: gzip takes a level from 1"},
		{"gzip -2", "parquet", "", "  compression: gzip\n  compression_level: -2", "destination.compression_level: -2: gzip takes a level from 1"},
		{"level not a number", "parquet", "", "  compression_level: high", "compression_level"},
		{"source codec", "parquet", "    compression: lz4", "", `quiver.yaml:4: sources[0].compression: "lz4": ` + parquetCodecs},
		{"source level of its codec", "parquet", "    compression: snappy\n    compression_level: 2", "", "quiver.yaml:5: sources[0].compression_level: 2: snappy takes no compression level; " + levels},
		{"source level of the destination's codec", "parquet", "    compression_level: 5", "  compression: snappy", "quiver.yaml:4: sources[0].compression_level: 5: snappy takes no compression level; " + levels + " (the codec comes from destination.compression)"},
		{"source level out of range", "parquet", "    compression: gzip\n    compression_level: 19", "  compression: zstd", "sources[0].compression_level: 19: gzip takes a level from 1 (fastest) to 9"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("quiver.yaml", []byte(compressionConfig(tt.format, tt.src, tt.dest)), env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseConfig() error = %v, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, protocol.ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
		})
	}
}
