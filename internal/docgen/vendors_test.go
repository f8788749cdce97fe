package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHeadingAnchors(t *testing.T) {
	text := "# Acme API\n\n## Auth\n\n### Replication-lag 401\n\n```\n## Not a heading\n```\n\n## Errors and status codes\n## Auth\n#NoSpace\n"
	want := map[string]string{
		"acme-api":                "Acme API",
		"auth":                    "Auth",
		"replication-lag-401":     "Replication-lag 401",
		"errors-and-status-codes": "Errors and status codes",
		"auth-1":                  "Auth",
	}
	if diff := cmp.Diff(want, headingAnchors(text)); diff != "" {
		t.Errorf("anchors mismatch (-want +got):\n%s", diff)
	}
}

func TestCheckVendorLinks(t *testing.T) {
	page := "# Acme\n\n## Auth\n\nSee [Paging](#paging) and [the other](other.md#auth).\n\n## Paging\n"
	tests := []struct {
		name string
		file string // path under the root
		text string
		err  string // "" for no error
	}{
		{name: "heading", file: "connectors/acme/acme.go", text: "// Tokens (docs/vendors/acme.md#auth).\n"},
		{name: "page", file: "README.md", text: "See docs/vendors/acme.md.\n"},
		{name: "no heading", file: "connectors/acme/acme.go", text: "// x (docs/vendors/acme.md#quirks)\n", err: "connectors/acme/acme.go:1: docs/vendors/acme.md#quirks: no such vendor page or heading"},
		{name: "no page", file: "schemas/acme/s.json", text: "{\"description\": \"docs/vendors/nope.md#auth\"}\n", err: "schemas/acme/s.json:1: docs/vendors/nope.md#auth: no such"},
		{name: "outside notes", file: "sdk/rest/x.go", text: "package rest\n// lag (vendors" + ".md §1.3)\n", err: "sdk/rest/x.go:2: cites vendors" + ".md, which is outside the repository"},
		{name: "page to page", file: "docs/vendors/acme.md", text: page + "[bad](#nope)\n", err: "docs/vendors/acme.md:8: (#nope): no such heading"},
		{name: "hidden dirs skipped", file: ".git/x.md", text: "docs/vendors/acme.md#nope\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "docs/vendors/acme.md", page)
			write(t, dir, "docs/vendors/other.md", "# Other\n\n## Auth\n")
			write(t, dir, tt.file, tt.text)
			pages, err := readVendorPages(dir)
			if err != nil {
				t.Fatalf("readVendorPages: %v", err)
			}
			err = checkVendorLinks(dir, pages)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("checkVendorLinks = %v, want nil", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("checkVendorLinks = %v, want an error containing %q", err, tt.err)
			}
		})
	}
}

// TestVendorLinks_Repository: every citation of a vendor page in the
// repository resolves, and none cites the research notes outside it.
func TestVendorLinks_Repository(t *testing.T) {
	pages, err := readVendorPages(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"tracktik", "trackvia", "trackunit", "capillary"} {
		if _, ok := pages[v+".md"]; !ok {
			t.Errorf("no docs/vendors/%s.md", v)
		}
	}
	if err := checkVendorLinks(root, pages); err != nil {
		t.Error(err)
	}
}

func TestVendorRefs(t *testing.T) {
	pages := vendorPages{"acme.md": {"auth": "Auth", "replication-lag-401": "Replication-lag 401"}}
	got := vendorRefs(pages, "Retried (docs/vendors/acme.md#auth, docs/vendors/acme.md#replication-lag-401); see docs/vendors/acme.md.")
	want := "Retried ([Auth](../vendors/acme.md#auth), [Replication-lag 401](../vendors/acme.md#replication-lag-401)); see [vendor facts](../vendors/acme.md)."
	if got != want {
		t.Errorf("vendorRefs =\n%s\nwant\n%s", got, want)
	}
}

// write writes text to rel under dir, making its folders.
func write(t *testing.T, dir, rel, text string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
