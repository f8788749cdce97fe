package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/quiver-etl/quiver/host"
	"github.com/quiver-etl/quiver/sdk"
)

// notes are the hand-written parts of a connector's page, from
// internal/docgen/notes/<connector>.md: "## Heading" sections, by heading.
type notes struct {
	File     string            // relative path, for the page's footer
	Sections map[string]string // heading -> Markdown body
	Order    []string          // headings in file order
}

// Section headings the connector page places; others go at the end.
const (
	notesCredentials = "Getting credentials"
	notesIncremental = "Incremental sync"
)

// readNotes reads the notes of connector; a missing file gives empty notes.
func readNotes(root, connector string) (notes, error) {
	rel := filepath.Join("internal", "docgen", "notes", connector+".md")
	data, err := os.ReadFile(filepath.Join(root, rel))
	if os.IsNotExist(err) {
		return notes{}, nil
	}
	if err != nil {
		return notes{}, fmt.Errorf("notes: %w", err)
	}
	n := notes{File: rel, Sections: map[string]string{}}
	head := ""
	var body []string
	flush := func() error {
		text := strings.TrimSpace(strings.Join(body, "\n"))
		switch {
		case head == "" && text != "":
			return fmt.Errorf("notes: %s: text before the first \"## \" heading", rel)
		case head == "":
			return nil
		case n.Sections[head] != "":
			return fmt.Errorf("notes: %s: heading %q twice", rel, head)
		}
		n.Sections[head] = text
		n.Order = append(n.Order, head)
		return nil
	}
	for _, l := range strings.Split(string(data), "\n") {
		if h, ok := strings.CutPrefix(l, "## "); ok {
			if err := flush(); err != nil {
				return notes{}, err
			}
			head, body = strings.TrimSpace(h), nil
			continue
		}
		body = append(body, l)
	}
	if err := flush(); err != nil {
		return notes{}, err
	}
	return n, nil
}

// Others returns the headings other than the ones the page places itself.
func (n notes) Others() []string {
	var out []string
	for _, h := range n.Order {
		if h != notesCredentials && h != notesIncremental {
			out = append(out, h)
		}
	}
	return out
}

// An example is one file of examples/configs.
type example struct {
	file string // relative path
	text string
}

// readExamples reads examples/configs/*.yaml and checks each against the
// connectors it uses, as `quiver check` would before contacting anyone:
// the YAML rules, the connector's JSON Schema, and the connector's own
// Open. ${VAR} references resolve to placeholders. The result is keyed by
// file name without .yaml.
func readExamples(ctx context.Context, root string, conns map[string]sdk.Connector) (map[string]example, error) {
	paths, err := filepath.Glob(filepath.Join(root, "examples", "configs", "*.yaml"))
	if err != nil {
		return nil, err
	}
	out := map[string]example{}
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		cfg, err := host.ParseConfig(rel, data, placeholder)
		if err != nil {
			return nil, fmt.Errorf("example %w", err)
		}
		for i, s := range cfg.Sources {
			c, ok := conns[s.Connector]
			if !ok {
				return nil, fmt.Errorf("example %s: connector %s is not in internal/docgen/connectors.go", rel, s.Connector)
			}
			if err := cfg.Validate(i, c.Spec().ConfigSchema); err != nil {
				return nil, fmt.Errorf("example %w", err)
			}
			raw, err := cfg.ConfigJSON(i)
			if err != nil {
				return nil, fmt.Errorf("example %w", err)
			}
			src, err := c.Open(ctx, raw)
			if err != nil {
				return nil, fmt.Errorf("example %s: sources[%d]: %w", rel, i, err)
			}
			if err := src.Close(); err != nil {
				return nil, fmt.Errorf("example %s: sources[%d]: close: %w", rel, i, err)
			}
		}
		out[strings.TrimSuffix(filepath.Base(p), ".yaml")] = example{file: filepath.ToSlash(rel), text: string(data)}
	}
	return out, nil
}

// placeholder resolves every ${VAR} of an example to a value that passes
// validation; secrets are never read from the environment here.
func placeholder(name string) (string, bool) {
	return "example-" + strings.ToLower(name), true
}

// sortedNames returns the keys of m, sorted.
func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
