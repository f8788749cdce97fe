package sdk

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestJSONSchemaInitIsCheap runs this test binary again with Go's init
// trace and checks what the jsonschema package's init allocates. Upstream
// compiles five drafts' metaschemas there, 1.7 MB in 21,000 allocations
// and about 13 ms of every plugin's and the host's start;
// third_party/jsonschema compiles a draft on first use instead.
func TestJSONSchemaInitIsCheap(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	line := regexp.MustCompile(`(?m)^init github\.com/santhosh-tekuri/jsonschema/v6 @.* (\d+) bytes`).FindSubmatch(out)
	if line == nil {
		t.Fatalf("no init line of the jsonschema package in\n%s", out)
	}
	if n, _ := strconv.Atoi(string(line[1])); n > 100_000 {
		t.Errorf("jsonschema's init allocated %d bytes, want at most 100,000: are its drafts compiled at start again (see third_party/README.md)?", n)
	}
}

// TestJSONSchemaDrafts compiles and validates schemas of every draft, the
// drafts in parallel and each from three goroutines at once, so that each
// draft's metaschema loads on first use under contention. A load that
// waited for itself would hang: each draft has a minute.
func TestJSONSchemaDrafts(t *testing.T) {
	tests := []struct {
		name, uri string
	}{
		{"draft-04", "http://json-schema.org/draft-04/schema#"},
		{"draft-06", "http://json-schema.org/draft-06/schema#"},
		{"draft-07", "http://json-schema.org/draft-07/schema#"},
		{"2019-09", "https://json-schema.org/draft/2019-09/schema"},
		{"2020-12", "https://json-schema.org/draft/2020-12/schema"},
		{"no $schema", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var schema string
			if tc.uri != "" {
				schema = fmt.Sprintf(`"$schema": %q,`, tc.uri)
			}
			schema = `{` + schema + `"type": "object", "required": ["n"], "properties": {"n": {"type": "integer", "minimum": 1}}}`
			var wg sync.WaitGroup
			for g := range 3 {
				wg.Go(func() { checkSchema(t, schema, fmt.Sprintf("s%d.json", g)) })
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatalf("compiling a %s schema did not end within a minute", tc.name)
			}
		})
	}
	t.Run("metaschema applied", func(t *testing.T) {
		t.Parallel()
		c := jsonschema.NewCompiler()
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"$schema": "http://json-schema.org/draft-07/schema#", "type": 12}`))
		if err == nil {
			err = c.AddResource("bad.json", doc)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Compile("bad.json"); err == nil {
			t.Errorf(`Compile of a draft-07 schema with "type": 12 succeeded; want the metaschema to refuse it`)
		}
	})
}

// checkSchema compiles schema as loc and checks what it accepts; it may
// run on any goroutine.
func checkSchema(t *testing.T, schema, loc string) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Errorf("%s: %v", loc, err)
		return
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(loc, doc); err != nil {
		t.Errorf("%s: %v", loc, err)
		return
	}
	sch, err := c.Compile(loc)
	if err != nil {
		t.Errorf("%s: compile: %v", loc, err)
		return
	}
	for _, tc := range []struct {
		doc   any
		valid bool
	}{
		{map[string]any{"n": 3}, true},
		{map[string]any{"n": 0}, false},
		{map[string]any{}, false},
	} {
		if err := sch.Validate(tc.doc); (err == nil) != tc.valid {
			t.Errorf("%s: Validate(%v) = %v, want valid %v", loc, tc.doc, err, tc.valid)
		}
	}
}
