package rest

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPagerEnds covers the end conditions TestPagers leaves out: the last
// page exactly full for every way a paginator can learn of the end, and an
// empty page that still names a next page.
func TestPagerEnds(t *testing.T) {
	t.Parallel()
	pageURL, _ := url.Parse("https://api.example/Fleet/1")
	tests := []struct {
		name  string
		pager Pager
		pages []PageInfo
		want  pageRun
	}{
		{"page from 1, totalPages, last page exactly full", PageNumber{Size: 2, First: 1}, []PageInfo{{Items: 2, TotalPages: 2}, {Items: 2, TotalPages: 2}},
			pageRun{Queries: []string{"page=1&size=2&sort=id", "page=2&size=2&sort=id"}}},
		{"page from 1, empty first page", PageNumber{Size: 2, First: 1}, []PageInfo{{Items: 0, TotalPages: 1}},
			pageRun{Queries: []string{"page=1&size=2&sort=id"}}},
		{"page total elements, last page exactly full", PageNumber{Size: 2}, []PageInfo{{Items: 2, Total: 4}, {Items: 2, Total: 4}},
			pageRun{Queries: []string{"page=0&size=2&sort=id", "page=1&size=2&sort=id"}}},
		{"page totalPages says more, but an empty page ends", PageNumber{Size: 2}, []PageInfo{{Items: 2, TotalPages: 5}, {Items: 0, TotalPages: 5}},
			pageRun{Queries: []string{"page=0&size=2&sort=id", "page=1&size=2&sort=id"}}},
		{"cursor last page exactly full, no next", Cursor{Limit: 2}, []PageInfo{{Items: 2, Next: "c1"}, {Items: 2}},
			pageRun{Queries: []string{"limit=2&sort=id", "after=c1&limit=2&sort=id"}}},
		{"cursor on every page: exactly full, then empty", Cursor{Limit: 2}, []PageInfo{{Items: 2, Next: "c1"}, {Items: 2, Next: "c2"}, {Items: 0, Next: "c3"}},
			pageRun{Queries: []string{"limit=2&sort=id", "after=c1&limit=2&sort=id", "after=c2&limit=2&sort=id"}}},
		{"cursor on every page: short, then empty", Cursor{Limit: 2}, []PageInfo{{Items: 2, Next: "c1"}, {Items: 1, Next: "c2"}, {Items: 0}},
			pageRun{Queries: []string{"limit=2&sort=id", "after=c1&limit=2&sort=id", "after=c2&limit=2&sort=id"}}},
		{"cursor needing escapes", Cursor{Limit: 2}, []PageInfo{{Items: 2, Next: "a+b/c=="}, {Items: 1}},
			pageRun{Queries: []string{"limit=2&sort=id", "after=a%2Bb%2Fc%3D%3D&limit=2&sort=id"}}},
		{"link last page exactly full, no link", NextLink{}, []PageInfo{{Items: 2, Next: "2", URL: pageURL}, {Items: 2}},
			pageRun{Queries: []string{"sort=id", "https://api.example/Fleet/2"}}},
		{"link on an empty page is not followed", NextLink{}, []PageInfo{{Items: 2, Next: "2", URL: pageURL}, {Items: 0, Next: "3", URL: pageURL}},
			pageRun{Queries: []string{"sort=id", "https://api.example/Fleet/2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := drive(t, tt.pager, tt.pages)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("paging mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
