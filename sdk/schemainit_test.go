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

// TestJSONSchemaDrafts compiles and validates schemas of every draft from
// several goroutines at once, each draft's metaschema loading on first use.
func TestJSONSchemaDrafts(t *testing.T) {
	drafts := map[string]string{
		"draft-04":   "http://json-schema.org/draft-04/schema#",
		"draft-06":   "http://json-schema.org/draft-06/schema#",
		"draft-07":   "http://json-schema.org/draft-07/schema#",
		"2019-09":    "https://json-schema.org/draft/2019-09/schema",
		"2020-12":    "https://json-schema.org/draft/2020-12/schema",
		"no $schema": "",
	}
	var wg sync.WaitGroup
	for name, uri := range drafts {
		for g := range 3 {
			wg.Go(func() {
				var schema string
				if uri != "" {
					schema = fmt.Sprintf(`"$schema": %q,`, uri)
				}
				schema = `{` + schema + `"type": "object", "required": ["n"], "properties": {"n": {"type": "integer", "minimum": 1}}}`
				doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
				if err != nil {
					t.Errorf("%s: %v", name, err)
					return
				}
				c := jsonschema.NewCompiler()
				loc := fmt.Sprintf("s%d.json", g)
				if err := c.AddResource(loc, doc); err != nil {
					t.Errorf("%s: %v", name, err)
					return
				}
				sch, err := c.Compile(loc)
				if err != nil {
					t.Errorf("%s: compile: %v", name, err)
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
						t.Errorf("%s: Validate(%v) = %v, want valid %v", name, tc.doc, err, tc.valid)
					}
				}
			})
		}
	}
	wg.Wait()
	// A schema that breaks its draft's metaschema is refused: the
	// metaschema loaded on first use is applied.
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"$schema": "http://json-schema.org/draft-07/schema#", "type": 12}`))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("bad.json", doc); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compile("bad.json"); err == nil {
		t.Errorf(`Compile of a draft-07 schema with "type": 12 succeeded; want the metaschema to refuse it`)
	}
}
