package main

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"github.com/spf13/cobra"
	"golang.org/x/mod/modfile"
)

// newConnectorFS holds the templates `quiver new connector` writes, one
// per generated file, named for the file with NAME for the connector's
// name and ".tmpl" added (so that Go does not take them for source).
//
//go:embed newconnector
var newConnectorFS embed.FS

func newNew(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "new",
		Short: "Create the skeleton of a new connector",
		Args:  exactArgs(0, "new needs a subcommand: quiver new connector NAME"),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newNewConnector(g))
	return cmd
}

func newNewConnector(g *globals) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "connector NAME",
		Short: "Write connectors/NAME: a connector, its plugin main, config schema, a stream's schema file, a simulator stub and a conformance test",
		Long: "Write the skeleton of a new connector into connectors/NAME under --dir, which must be in a " +
			"Go module (a clone of quiver, or a module of your own that requires it): the package (NAME.go, declaring its streams), its plugin main " +
			"(cmd/quiver-NAME), its config schema (config.schema.json), one stream's schema file " +
			"(streams/users.json), a simulator stub of the vendor's API (NAMEsim, with a main in " +
			"NAMEsim/cmd/NAMEsim) and a test that runs the conformance kit (NAME_test.go). It builds and " +
			"its test passes as written: `go test ./connectors/NAME/...`. NAME is the connector's name in " +
			"configs and its Go package name: lower-case letters and digits, starting with a letter. An " +
			"existing connectors/NAME is never overwritten. docs/writing-a-connector.md goes on from here.",
		Args: exactArgs(1, "new connector takes one NAME, e.g. quiver new connector acme"),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := writeConnector(dir, args[0])
			if err != nil {
				return err
			}
			return g.printResult(res, func(w io.Writer) {
				fmt.Fprintf(w, "wrote %s:\n", res.Dir)
				for _, f := range res.Files {
					fmt.Fprintf(w, "  %s\n", f)
				}
				fmt.Fprintf(w, "next: go test ./%s/... (see docs/writing-a-connector.md)\n", filepath.ToSlash(res.rel))
			})
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "the folder to write connectors/NAME in; it must be inside a Go module")
	return cmd
}

// newConnectorResult is what `quiver new connector` prints with --json.
type newConnectorResult struct {
	Connector string   `json:"connector"`
	Dir       string   `json:"dir"`    // the connector's folder
	Import    string   `json:"import"` // its Go import path
	Files     []string `json:"files"`  // written, relative to Dir, slash-separated

	rel string // Dir relative to --dir
}

// connectorName is what NAME may be: a Go package name and a config value
// alike, short enough for a binary name.
var connectorName = regexp.MustCompile(`^[a-z][a-z0-9]{0,29}$`)

// tmplData is what the templates see.
type tmplData struct {
	Name   string // acme
	Title  string // Acme
	Import string // the connector package's import path
}

// writeConnector writes connectors/name under dir from the embedded
// templates. It refuses a bad name, a dir outside a Go module and an
// existing connectors/name; on a failure half way it removes what it
// wrote.
func writeConnector(dir, name string) (*newConnectorResult, error) {
	switch {
	case !connectorName.MatchString(name):
		return nil, &usageError{fmt.Sprintf("connector name %q: want lower-case letters and digits, starting with a letter, at most 30 (it is a Go package name and part of the plugin's name, quiver-NAME)", name)}
	case token.IsKeyword(name) || name == "main":
		return nil, &usageError{fmt.Sprintf("connector name %q is a Go keyword or main, which cannot name a package", name)}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	root, module, err := findModule(abs)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(root, filepath.Join(abs, "connectors", name))
	if err != nil {
		return nil, err
	}
	out := filepath.Join(abs, "connectors", name)
	if _, err := os.Lstat(out); err == nil {
		return nil, &usageError{fmt.Sprintf("%s already exists; quiver new connector never overwrites, so pick another name or remove it", out)}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	data := tmplData{Name: name, Title: strings.ToUpper(name[:1]) + name[1:], Import: path.Join(module, filepath.ToSlash(rel))}
	res := &newConnectorResult{Connector: name, Dir: out, Import: data.Import, rel: filepath.Join(dir, "connectors", name)}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	if err := os.Mkdir(out, 0o755); err != nil { // fails if another run made it meanwhile
		return nil, err
	}
	err = fs.WalkDir(newConnectorFS, "newconnector", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		file := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(p, "newconnector/"), ".tmpl"), "NAME", name)
		if err := render(p, filepath.Join(out, filepath.FromSlash(file)), data); err != nil {
			return fmt.Errorf("new connector: %s: %w", file, err)
		}
		res.Files = append(res.Files, file)
		return nil
	})
	if err != nil {
		_ = os.RemoveAll(out)
		return nil, err
	}
	return res, nil
}

// render executes the template at p into the new file dst.
func render(p, dst string, data tmplData) error {
	t, err := template.New(path.Base(p)).Delims("[[", "]]").ParseFS(newConnectorFS, p)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// findModule returns the folder holding the go.mod that dir is in, and
// the module's path.
func findModule(dir string) (root, module string, err error) {
	for d := dir; ; d = filepath.Dir(d) {
		raw, err := os.ReadFile(filepath.Join(d, "go.mod"))
		switch {
		case err == nil:
			module := modfile.ModulePath(raw)
			if module == "" {
				return "", "", &usageError{fmt.Sprintf("%s has no module line", filepath.Join(d, "go.mod"))}
			}
			return d, module, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", "", err
		case filepath.Dir(d) == d:
			return "", "", &usageError{fmt.Sprintf("%s is not inside a Go module (no go.mod in it or above it): run quiver new connector in a clone of quiver or in a module of your own", dir)}
		}
	}
}
