package harvest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSize checks the connector's size against the bound (150
// lines of Go, its tests and simulator aside) and against what
// docs/writing-a-connector.md says it is.
func TestSize(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "cmd/quiver-harvest/main.go")
	lines := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines += strings.Count(string(src), "\n")
	}
	if lines > 150 {
		t.Errorf("the connector is %d lines of Go, over 150", lines)
	}
	doc, err := os.ReadFile("../../docs/writing-a-connector.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(\d+)\s+lines of Go`).FindSubmatch(doc)
	if m == nil {
		t.Fatal(`docs/writing-a-connector.md does not say "N lines of Go"`)
	}
	if said, _ := strconv.Atoi(string(m[1])); said != lines {
		t.Errorf("docs/writing-a-connector.md says %d lines of Go; the connector is %d", said, lines)
	}
}

// TestWorkedExample checks that every line of Go that
// docs/writing-a-connector.md quotes (but for "..." elisions and
// comments) is a line of the connector or its tests, so that the worked
// example cannot drift from the code.
func TestWorkedExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/writing-a-connector.md")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range []string{"harvest.go", "harvest_test.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(src), "\n") {
			have[code(l)] = true
		}
	}
	quoted, inGo := 0, false
	for i, l := range strings.Split(string(doc), "\n") {
		switch {
		case strings.HasPrefix(l, "```"):
			inGo = l == "```go"
		case !inGo || strings.Contains(l, "...") || code(l) == "":
		case !have[code(l)]:
			t.Errorf("docs/writing-a-connector.md:%d quotes %q, which is not in the code", i+1, strings.TrimSpace(l))
		default:
			quoted++
		}
	}
	if quoted < 20 {
		t.Errorf("only %d quoted lines found; did the page lose its Go blocks?", quoted)
	}
}

// code is l without its indentation and trailing comment.
func code(l string) string {
	if i := strings.Index(l, " //"); i >= 0 {
		l = l[:i]
	}
	if strings.HasPrefix(strings.TrimSpace(l), "//") {
		return ""
	}
	return strings.TrimSpace(l)
}
