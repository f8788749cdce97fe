package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// upstreamTesting lists the third-party packages in quiver's dependencies
// whose non-test files import the testing package; quiver cannot drop them
// without forking: go-plugin's testing.go (TestConn, TestPluginGRPCConn)
// and thrift's deprecated TestLogger (pulled in by Arrow's Parquet writer).
var upstreamTesting = []string{
	"github.com/apache/thrift/lib/go/thrift",
	"github.com/hashicorp/go-plugin",
}

// TestBinariesDoNotImportTesting fails if any package the quiver binary or a
// connector's plugin binary links, other than the upstream ones above,
// imports the testing package: simulators and test kits reachable from a
// binary must keep their testing.TB helpers out of non-test files.
func TestBinariesDoNotImportTesting(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not found: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps",
		"-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`,
		"github.com/quiver-etl/quiver/host/cmd/quiver",
		"github.com/quiver-etl/quiver/connectors/.../cmd/...").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	var importers []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 1 && slices.Contains(fields[1:], "testing") {
			importers = append(importers, fields[0])
		}
	}
	for _, pkg := range importers {
		if !slices.Contains(upstreamTesting, pkg) {
			t.Errorf("%s imports testing in a non-test file, and a quiver binary links it", pkg)
		}
	}
}
