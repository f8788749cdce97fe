package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNewConnector_Refuses(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	existing := filepath.Join(genDir(t), "connectors", "taken")
	if err := os.MkdirAll(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	mark := filepath.Join(existing, "mine.go")
	if err := os.WriteFile(mark, []byte("package taken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, dir, connector, want string
	}{
		{"upper case", ".", "Acme", "want lower-case letters"},
		{"dash", ".", "acme-crm", "want lower-case letters"},
		{"leading digit", ".", "1acme", "want lower-case letters"},
		{"path", ".", "../acme", "want lower-case letters"},
		{"too long", ".", strings.Repeat("a", 31), "at most 30"},
		{"keyword", ".", "func", "Go keyword"},
		{"main", ".", "main", "Go keyword or main"},
		{"not in a module", out, "acme", "not inside a Go module"},
		{"existing folder", filepath.Dir(filepath.Dir(existing)), "taken", "never overwrites"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"new", "connector", tt.connector, "--dir", tt.dir}, &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), exitUsage, tt.want)
			}
		})
	}
	if got, err := os.ReadFile(mark); err != nil || string(got) != "package taken\n" {
		t.Errorf("the existing connector's file is now %q (%v)", got, err)
	}
	if entries, _ := os.ReadDir(existing); len(entries) != 1 {
		t.Errorf("the existing folder holds %d entries, want its one file", len(entries))
	}
}

// TestNewConnector_OtherModule: the skeleton can be written in a module
// other than quiver's, since it imports only quiver's public packages; its
// packages take that module's import path.
func TestNewConnector_OtherModule(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/team\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"new", "connector", "acme", "--dir", dir, "--json"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("quiver new connector acme in module example.com/team: exit %d: %s", code, stderr.String())
	}
	var res newConnectorResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("--json output %q: %v", stdout.String(), err)
	}
	if res.Import != "example.com/team/connectors/acme" {
		t.Errorf("import path %q, want example.com/team/connectors/acme", res.Import)
	}
	for _, f := range res.Files {
		if !strings.HasSuffix(f, ".go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(res.Dir, f), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, imp := range file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/quiver-etl/quiver/") && strings.Contains("/"+p+"/", "/internal/") {
				t.Errorf("%s imports %s: a module other than quiver's cannot import it", f, p)
			}
			if strings.Contains(p, "/connectors/acme") && !strings.HasPrefix(p, "example.com/team/") {
				t.Errorf("%s imports %s, not under the module's path", f, p)
			}
		}
	}
}

// TestNewConnector_Builds generates a connector, as a user would in a
// clone of quiver, and checks that it vets, that its own test (the
// conformance kit, in process and through the plugin) passes, and that
// the plugin syncs its stub simulator under quiver sync. The connector is
// generated under testdata, which ./... patterns skip, and removed.
func TestNewConnector_Builds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a generated connector")
	}
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not found: %v", err)
	}
	dir := genDir(t)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"new", "connector", "acme", "--dir", dir, "--json"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("quiver new connector acme: exit %d: %s", code, stderr.String())
	}
	var res newConnectorResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("--json output %q: %v", stdout.String(), err)
	}
	if len(res.Files) != 7 || !strings.HasSuffix(res.Import, "/connectors/acme") {
		t.Errorf("result %+v: want 7 files in an acme package", res)
	}
	pkg := "./" + filepath.ToSlash(filepath.Join(dir, "connectors", "acme"))
	bin := t.TempDir()
	goRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command(goTool, args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	gofmt, err := exec.LookPath("gofmt")
	if err != nil {
		gofmt = filepath.Join(filepath.Dir(goTool), "gofmt") // next to go, as Go installs it
	}
	if out, err := exec.Command(gofmt, "-l", dir).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("gofmt -l: %v: the generated files need formatting:\n%s", err, out)
	}
	goRun("vet", pkg+"/...")
	goRun("test", "-count=1", pkg+"/...")
	goRun("build", "-o", bin, pkg+"/cmd/quiver-acme", pkg+"/acmesim/cmd/acmesim")

	// A second run refuses, and changes nothing.
	stderr.Reset()
	if code := run(context.Background(), []string{"new", "connector", "acme", "--dir", dir}, &stdout, &stderr); code != exitUsage {
		t.Errorf("second quiver new connector acme: exit %d, want %d", code, exitUsage)
	}

	syncStub(t, bin)
}

// syncStub runs the acmesim binary in bin and syncs it with quiver-acme.
func syncStub(t *testing.T, bin string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sim := exec.CommandContext(ctx, filepath.Join(bin, "acmesim"))
	simOut, err := sim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sim.Process.Kill(); _ = sim.Wait() }()
	line, err := bufio.NewReader(simOut).ReadString('\n')
	if err != nil {
		t.Fatalf("acmesim printed no URL: %v", err)
	}
	work := t.TempDir()
	cfg := filepath.Join(work, "quiver.yaml")
	yaml := fmt.Sprintf(`sources:
  - name: acme
    connector: acme
    config: {base_url: %q, api_key: demo-api-key, page_size: 9}
destination: {path: %q, format: jsonl}
state: %q
`, strings.TrimSpace(line), filepath.Join(work, "out"), filepath.Join(work, "state"))
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"sync", "-c", cfg, "--plugin-dir", bin, "--json"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("quiver sync: exit %d: %s", code, stderr.String())
	}
	files, err := filepath.Glob(filepath.Join(work, "out", "acme", "users", "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("quiver sync wrote no users file (%v); stdout: %s", err, stdout.String())
	}
	var rows int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rows += bytes.Count(b, []byte("\n"))
	}
	if rows != 40 { // acmesim's default account
		t.Errorf("quiver sync wrote %d users, want 40", rows)
	}
}

// genDir returns a new folder under testdata for generated connectors,
// removed when t ends.
func genDir(t *testing.T) string {
	t.Helper()
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("testdata", "newconnector-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = os.RemoveAll(dir)
		_ = os.Remove("testdata") // only if empty: another test may still use it
	})
	return dir
}
