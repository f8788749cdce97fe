package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestBinariesDoNotImportTesting fails if any package the quiver binary or a
// connector's plugin binary links imports the testing package: simulators
// and test kits reachable from a binary keep their testing.TB helpers out of
// non-test files. The two upstream modules that import it (go-plugin and
// thrift) are replaced by patched copies; see third_party/README.md.
func TestBinariesDoNotImportTesting(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not found: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps",
		"-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`,
		"github.com/quiver-etl/quiver/host/cmd/quiver",
		"github.com/quiver-etl/quiver/connectors/.../cmd/...",
		"github.com/quiver-etl/quiver/examples/.../cmd/...").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 100 {
		t.Fatalf("go list -deps listed %d packages; the binaries link far more", len(lines))
	}
	for _, line := range lines {
		fields := strings.Fields(line)
		if len(fields) > 1 && slices.Contains(fields[1:], "testing") {
			t.Errorf("%s imports testing in a non-test file, and a quiver binary links it", fields[0])
		}
	}
}
