// Command docgen writes Quiver's reference documentation from the code it
// describes, so that the two cannot drift apart:
//
//   - docs/config.md: the config file (keys from host.Config's yaml tags and
//     comments), output formats (host/sink), the ${VAR} rules, every command
//     and flag (from the quiver binary's own help) and the exit codes
//     (checked against host/cmd/quiver/main.go);
//   - docs/connectors/<name>.md for every connector in connectors.go: config
//     keys from its JSON Schema, streams, columns and types from schemas/,
//     the intro from its package doc, a validated example config, and the
//     hand-written notes in notes/<name>.md;
//   - docs/catalog.json: the same streams and columns as data, which
//     examples/duckdb/verify.mjs checks against real demo output;
//   - the marked regions of README.md.
//
// It also checks that every citation of a hand-written vendor page
// (docs/vendors/<name>.md#<heading>) in the repository resolves, and turns
// those in a connector's package doc into links.
//
// Usage, from the repository root:
//
//	go run ./internal/docgen          # rewrite the docs (make docs)
//	go run ./internal/docgen -check   # exit 1 if they are stale (make docs-check)
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/quiver-etl/quiver/sdk"
)

func main() {
	var o options
	flag.StringVar(&o.root, "root", ".", "repository root")
	flag.BoolVar(&o.check, "check", false, "compare instead of writing; exit 1 if anything is stale")
	flag.StringVar(&o.quiver, "quiver", "", "quiver binary to read the commands from (default: build ./host/cmd/quiver)")
	flag.Parse()
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "docgen:", err)
		os.Exit(1)
	}
}

// options are the command line flags.
type options struct {
	root   string
	check  bool
	quiver string
}

// generatedDirs are folders whose *.md files docgen owns entirely: a file
// there that docgen no longer writes is stale.
var generatedDirs = []string{"docs/connectors"}

// run renders everything and writes it, or compares it with the files.
func run(ctx context.Context, o options, stdout io.Writer) error {
	bin := o.quiver
	if bin == "" {
		tmp, err := os.MkdirTemp("", "docgen-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if bin, err = buildQuiver(ctx, o.root, tmp); err != nil {
			return err
		}
	}
	files, err := render(ctx, o.root, bin)
	if err != nil {
		return err
	}
	var stale []string
	for _, dir := range generatedDirs {
		old, _ := filepath.Glob(filepath.Join(o.root, dir, "*.md"))
		for _, p := range old {
			rel, _ := filepath.Rel(o.root, p)
			if _, ok := files[filepath.ToSlash(rel)]; !ok {
				stale = append(stale, filepath.ToSlash(rel))
			}
		}
	}
	if o.check {
		return check(o.root, files, stale, stdout)
	}
	for _, rel := range sortedNames(files) {
		p := filepath.Join(o.root, filepath.FromSlash(rel))
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, files[rel]) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[rel], 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", rel)
	}
	for _, rel := range stale {
		if err := os.Remove(filepath.Join(o.root, filepath.FromSlash(rel))); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "removed", rel)
	}
	return nil
}

// check reports every file whose content differs from files, with a diff.
func check(root string, files map[string][]byte, stale []string, w io.Writer) error {
	var bad []string
	for _, rel := range sortedNames(files) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		old, err := os.ReadFile(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			bad = append(bad, rel+" (missing)")
			continue
		case err != nil:
			return err
		case bytes.Equal(old, files[rel]):
			continue
		}
		bad = append(bad, rel)
		fmt.Fprint(w, diff(p, files[rel]))
	}
	for _, rel := range stale {
		bad = append(bad, rel+" (no longer generated)")
	}
	if len(bad) > 0 {
		return fmt.Errorf("generated docs are stale; run `make docs` and commit the result:\n  %s", strings.Join(bad, "\n  "))
	}
	return nil
}

// diff returns `diff -u` of the file at path against want, or a note when
// diff is not installed.
func diff(path string, want []byte) string {
	f, err := os.CreateTemp("", "docgen-want-")
	if err != nil {
		return ""
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(want)
	if cerr := f.Close(); werr != nil || cerr != nil {
		return ""
	}
	out, err := exec.Command("diff", "-u", "--label", path, "--label", path+" (generated)", path, f.Name()).Output()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return fmt.Sprintf("(no diff for %s: %v)\n", path, err)
	}
	const max = 200 // lines: enough to see the change, short enough for a CI log
	lines := strings.SplitAfter(string(out), "\n")
	if len(lines) > max {
		lines = append(lines[:max], fmt.Sprintf("... %d more lines\n", len(lines)-max))
	}
	return strings.Join(lines, "")
}

// render produces every generated file, keyed by slash path from the root.
func render(ctx context.Context, root, bin string) (map[string][]byte, error) {
	reg := registry()
	conns := map[string]entry{}
	byName := map[string]sdk.Connector{}
	for _, e := range reg {
		name := e.c.Spec().Name
		if _, dup := conns[name]; dup {
			return nil, fmt.Errorf("connector %s is listed twice in connectors.go", name)
		}
		conns[name] = e
		byName[name] = e.c
	}
	examples, err := readExamples(ctx, root, byName)
	if err != nil {
		return nil, err
	}
	pages, err := readVendorPages(root)
	if err != nil {
		return nil, err
	}
	if err := checkVendorLinks(root, pages); err != nil {
		return nil, err
	}
	var docs []*connectorDoc
	for _, e := range reg {
		n, err := readNotes(root, e.c.Spec().Name)
		if err != nil {
			return nil, err
		}
		d, err := buildConnector(ctx, root, e, examples, n)
		if err != nil {
			return nil, err
		}
		d.About = vendorRefs(pages, d.About)
		if _, ok := pages[d.Name+".md"]; ok {
			d.Vendor = "vendors/" + d.Name + ".md"
		}
		docs = append(docs, d)
	}
	ref, err := readReference(ctx, root, bin)
	if err != nil {
		return nil, err
	}
	ref.Connectors = docs
	ref.Examples = examples

	files := map[string][]byte{}
	add := func(rel, tmpl string, data any) error {
		b, err := execute(tmpl, data)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		files[rel] = b
		return nil
	}
	if err := add("docs/config.md", "config.md.tmpl", ref); err != nil {
		return nil, err
	}
	if err := add("docs/README.md", "index.md.tmpl", ref); err != nil {
		return nil, err
	}
	for _, d := range docs {
		if err := add("docs/connectors/"+d.Name+".md", "connector.md.tmpl", d); err != nil {
			return nil, err
		}
	}
	cat, err := catalogJSON(docs)
	if err != nil {
		return nil, err
	}
	files["docs/catalog.json"] = cat
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		return nil, err
	}
	if files["README.md"], err = fillRegions(readme, ref); err != nil {
		return nil, fmt.Errorf("README.md: %w", err)
	}
	return files, nil
}

// exitCodesOf returns the exit codes host/cmd/quiver/main.go defines.
func exitCodesOf(root string) ([]string, error) {
	cs, err := constants(filepath.Join(root, "host", "cmd", "quiver", "main.go"), "exit", "")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cs {
		if !slices.Contains(out, c.Value) {
			out = append(out, c.Value)
		}
	}
	return out, nil
}
