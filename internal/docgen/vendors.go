package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// vendorsDir holds the hand-written vendor API pages, docs/vendors/<name>.md:
// what each connector assumes about its vendor's API, with sources. Code
// comments cite their headings as docs/vendors/<name>.md#<anchor>.
const vendorsDir = "docs/vendors"

// vendorPages are the headings of each vendor page, by file name
// ("tracktik.md"), as anchor -> heading text.
type vendorPages map[string]map[string]string

// readVendorPages reads the headings of every page in docs/vendors.
func readVendorPages(root string) (vendorPages, error) {
	paths, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(vendorsDir), "*.md"))
	if err != nil {
		return nil, err
	}
	pages := vendorPages{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("vendor pages: %w", err)
		}
		pages[filepath.Base(p)] = headingAnchors(string(data))
	}
	return pages, nil
}

// headingAnchors returns the anchors of the Markdown headings in text, as
// GitHub makes them, mapped to the heading text. Fenced code is skipped; a
// repeated heading gets "-1", "-2" ... as on GitHub.
func headingAnchors(text string) map[string]string {
	anchors := map[string]string{}
	fenced := false
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "```") {
			fenced = !fenced
			continue
		}
		rest := strings.TrimLeft(l, "#")
		level := len(l) - len(rest)
		if fenced || level == 0 || level > 6 || !strings.HasPrefix(rest, " ") {
			continue
		}
		h := strings.TrimSpace(rest)
		a := slug(h)
		for i := 1; anchors[a] != ""; i++ {
			a = fmt.Sprintf("%s-%d", slug(h), i)
		}
		anchors[a] = h
	}
	return anchors
}

// slug is GitHub's anchor for a heading: lower case, spaces to hyphens,
// and only letters, digits, hyphens and underscores kept.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// vendorLink matches a citation of a vendor page: docs/vendors/x.md or
// docs/vendors/x.md#anchor.
var vendorLink = regexp.MustCompile(`docs/vendors/([A-Za-z0-9_-]+\.md)(#[A-Za-z0-9_-]+)?`)

// outsideRef matches a citation of the research notes the connectors were
// first written from, which live outside the repository.
var outsideRef = regexp.MustCompile(`(?m)(^|[^/\w])vendors\.md`)

// selfDir is this command's folder: its Go files are not checked, since
// they show and test the forms of citation.
const selfDir = "internal/docgen/"

// pageLink matches a relative Markdown link inside a vendor page:
// (#anchor) or (other.md#anchor).
var pageLink = regexp.MustCompile(`\]\(([A-Za-z0-9_-]+\.md)?#([A-Za-z0-9_-]+)\)`)

// resolve reports whether file#anchor exists; anchor may be empty.
func (v vendorPages) resolve(file, anchor string) bool {
	heads, ok := v[file]
	if !ok {
		return false
	}
	_, ok = heads[anchor]
	return ok || anchor == ""
}

// checkVendorLinks returns an error listing every citation in the
// repository's sources and docs of a vendor page or heading that does not
// exist, every citation of the outside research notes (vendors.md), and
// every broken anchor link between the vendor pages.
func checkVendorLinks(root string, pages vendorPages) error {
	var bad []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !slices.Contains([]string{".go", ".md", ".json", ".tmpl", ".yaml", ".yml", ".sql", ".mjs"}, filepath.Ext(name)) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, selfDir) && filepath.Ext(name) == ".go" {
			return nil // its docs and tests name bad links on purpose
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text := string(data)
		at := func(i int) string { return fmt.Sprintf("%s:%d", rel, strings.Count(text[:i], "\n")+1) }
		for _, m := range vendorLink.FindAllStringSubmatchIndex(text, -1) {
			file, anchor := text[m[2]:m[3]], ""
			if m[4] >= 0 {
				anchor = text[m[4]+1 : m[5]]
			}
			if !pages.resolve(file, anchor) {
				bad = append(bad, fmt.Sprintf("%s: %s: no such vendor page or heading", at(m[0]), text[m[0]:m[1]]))
			}
		}
		for _, m := range outsideRef.FindAllStringIndex(text, -1) {
			bad = append(bad, fmt.Sprintf("%s: cites vendors.md, which is outside the repository; cite %s/<vendor>.md#<heading>", at(m[1]-1), vendorsDir))
		}
		if strings.HasPrefix(rel, vendorsDir+"/") {
			for _, m := range pageLink.FindAllStringSubmatchIndex(text, -1) {
				file := name
				if m[2] >= 0 {
					file = text[m[2]:m[3]]
				}
				if !pages.resolve(file, text[m[4]:m[5]]) {
					bad = append(bad, fmt.Sprintf("%s: %s: no such heading", at(m[0]), text[m[0]+1:m[1]]))
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("vendor links: %w", err)
	}
	if len(bad) > 0 {
		return fmt.Errorf("vendor links:\n  %s", strings.Join(bad, "\n  "))
	}
	return nil
}

// vendorRefs turns the citations of vendor pages in a connector's intro
// (its package doc) into links relative to docs/connectors, named by the
// heading they point at.
func vendorRefs(pages vendorPages, about string) string {
	return vendorLink.ReplaceAllStringFunc(about, func(ref string) string {
		m := vendorLink.FindStringSubmatch(ref)
		text := pages[m[1]][strings.TrimPrefix(m[2], "#")]
		if m[2] == "" || text == "" {
			text = "vendor facts"
		}
		return fmt.Sprintf("[%s](../vendors/%s%s)", text, m[1], m[2])
	})
}
