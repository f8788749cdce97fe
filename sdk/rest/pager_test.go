package rest

import (
	"errors"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pageRun drives a Paging over pages and reports the query of each
// request made and how it ended.
type pageRun struct {
	Queries []string // the encoded query (or for next links the path) of each request
	Err     bool     // Next returned an error
	Loop    bool     // ... wrapping ErrPageLoop
}

func drive(t *testing.T, p Pager, pages []PageInfo) pageRun {
	t.Helper()
	pg := p.Start()
	var run pageRun
	for i := 0; ; i++ {
		req := Request{Path: "/items", Query: url.Values{"sort": {"id"}}}
		pg.Apply(&req)
		if req.Path != "/items" {
			run.Queries = append(run.Queries, req.Path)
		} else {
			run.Queries = append(run.Queries, req.Query.Encode())
		}
		if i >= len(pages) {
			t.Fatalf("paging asked for page %d; the test has %d", i+1, len(pages))
		}
		more, err := pg.Next(pages[i])
		if err != nil {
			run.Err, run.Loop = true, errors.Is(err, ErrPageLoop)
			return run
		}
		if !more {
			return run
		}
	}
}

func TestPagers(t *testing.T) {
	t.Parallel()
	pageURL, _ := url.Parse("https://api.example/v1/items?page=1")
	tests := []struct {
		name  string
		pager Pager
		pages []PageInfo
		want  pageRun
	}{
		// LimitOffset
		{"offset empty first page", LimitOffset{Limit: 2}, []PageInfo{{Items: 0}},
			pageRun{Queries: []string{"limit=2&offset=0&sort=id"}}},
		{"offset total known, last page exactly full", LimitOffset{Limit: 2}, []PageInfo{{Items: 2, Total: 4}, {Items: 2, Total: 4}},
			pageRun{Queries: []string{"limit=2&offset=0&sort=id", "limit=2&offset=2&sort=id"}}},
		{"offset total unknown, last page exactly full", LimitOffset{Limit: 2}, []PageInfo{{Items: 2}, {Items: 2}, {Items: 0}},
			pageRun{Queries: []string{"limit=2&offset=0&sort=id", "limit=2&offset=2&sort=id", "limit=2&offset=4&sort=id"}}},
		{"offset total unknown, short last page", LimitOffset{Limit: 2}, []PageInfo{{Items: 2}, {Items: 1}},
			pageRun{Queries: []string{"limit=2&offset=0&sort=id", "limit=2&offset=2&sort=id"}}},
		{"offset vendor caps the page size", LimitOffset{Limit: 10}, []PageInfo{{Items: 4, Total: 7}, {Items: 3, Total: 7}},
			pageRun{Queries: []string{"limit=10&offset=0&sort=id", "limit=10&offset=4&sort=id"}}},
		{"offset custom names", LimitOffset{LimitParam: "per", OffsetParam: "skip", Limit: 5}, []PageInfo{{Items: 1}},
			pageRun{Queries: []string{"per=5&skip=0&sort=id"}}},
		{"offset loop detected", LimitOffset{Limit: 2}, []PageInfo{{Items: 2, Fingerprint: "1-2"}, {Items: 2, Fingerprint: "1-2"}},
			pageRun{Queries: []string{"limit=2&offset=0&sort=id", "limit=2&offset=2&sort=id"}, Err: true, Loop: true}},
		{"offset default limit", LimitOffset{}, []PageInfo{{Items: 3}},
			pageRun{Queries: []string{"limit=100&offset=0&sort=id"}}},
		// StartMax
		{"startmax total known", StartMax{Max: 3}, []PageInfo{{Items: 3, Total: 5}, {Items: 2, Total: 5}},
			pageRun{Queries: []string{"max=3&sort=id&start=0", "max=3&sort=id&start=3"}}},
		{"startmax empty first page", StartMax{}, []PageInfo{{Items: 0, Total: 0}},
			pageRun{Queries: []string{"max=1000&sort=id&start=0"}}},
		{"startmax last page exactly full", StartMax{Max: 2}, []PageInfo{{Items: 2, Total: 4}, {Items: 2, Total: 4}},
			pageRun{Queries: []string{"max=2&sort=id&start=0", "max=2&sort=id&start=2"}}},
		// PageNumber
		{"page empty first page", PageNumber{Size: 2}, []PageInfo{{Items: 0, TotalPages: 0}},
			pageRun{Queries: []string{"page=0&size=2&sort=id"}}},
		{"page totalPages, last page exactly full", PageNumber{Size: 2}, []PageInfo{{Items: 2, TotalPages: 2}, {Items: 2, TotalPages: 2}},
			pageRun{Queries: []string{"page=0&size=2&sort=id", "page=1&size=2&sort=id"}}},
		{"page from 1 with totalPages", PageNumber{Size: 2, First: 1}, []PageInfo{{Items: 2, TotalPages: 2}, {Items: 1, TotalPages: 2}},
			pageRun{Queries: []string{"page=1&size=2&sort=id", "page=2&size=2&sort=id"}}},
		{"page total elements", PageNumber{Size: 2}, []PageInfo{{Items: 2, Total: 3}, {Items: 1, Total: 3}},
			pageRun{Queries: []string{"page=0&size=2&sort=id", "page=1&size=2&sort=id"}}},
		{"page unknown, full then empty", PageNumber{Size: 2}, []PageInfo{{Items: 2}, {Items: 0}},
			pageRun{Queries: []string{"page=0&size=2&sort=id", "page=1&size=2&sort=id"}}},
		{"page unknown, short page", PageNumber{Size: 2}, []PageInfo{{Items: 1}},
			pageRun{Queries: []string{"page=0&size=2&sort=id"}}},
		{"page loop detected", PageNumber{Size: 2}, []PageInfo{{Items: 2, Fingerprint: "a"}, {Items: 2, Fingerprint: "a"}},
			pageRun{Queries: []string{"page=0&size=2&sort=id", "page=1&size=2&sort=id"}, Err: true, Loop: true}},
		// Cursor
		{"cursor empty first page", Cursor{Limit: 2}, []PageInfo{{Items: 0, Next: "c1"}},
			pageRun{Queries: []string{"limit=2&sort=id"}}},
		{"cursor ends without next", Cursor{Limit: 2}, []PageInfo{{Items: 2, Next: "c1"}, {Items: 2, Next: ""}},
			pageRun{Queries: []string{"limit=2&sort=id", "after=c1&limit=2&sort=id"}}},
		{"cursor no limit", Cursor{}, []PageInfo{{Items: 2}},
			pageRun{Queries: []string{"sort=id"}}},
		{"cursor repeats", Cursor{Limit: 2}, []PageInfo{{Items: 2, Next: "c1"}, {Items: 2, Next: "c1"}},
			pageRun{Queries: []string{"limit=2&sort=id", "after=c1&limit=2&sort=id"}, Err: true, Loop: true}},
		{"cursor cycle", Cursor{Limit: 2}, []PageInfo{{Items: 2, Next: "c1"}, {Items: 2, Next: "c2"}, {Items: 2, Next: "c1"}},
			pageRun{Queries: []string{"limit=2&sort=id", "after=c1&limit=2&sort=id", "after=c2&limit=2&sort=id"}, Err: true, Loop: true}},
		// NextLink
		{"link empty first page", NextLink{}, []PageInfo{{Items: 0, Next: "/v1/items?page=2", URL: pageURL}},
			pageRun{Queries: []string{"sort=id"}}},
		{"link relative then absolute then none", NextLink{Limit: 50}, []PageInfo{
			{Items: 2, Next: "?page=2", URL: pageURL},
			{Items: 2, Next: "https://api.example/v1/items?page=3"},
			{Items: 1},
		}, pageRun{Queries: []string{"limit=50&sort=id", "https://api.example/v1/items?page=2", "https://api.example/v1/items?page=3"}}},
		{"link root-relative", NextLink{}, []PageInfo{{Items: 1, Next: "/v1/items?cursor=x", URL: pageURL}, {Items: 1}},
			pageRun{Queries: []string{"sort=id", "https://api.example/v1/items?cursor=x"}}},
		{"link to the same page", NextLink{}, []PageInfo{{Items: 1, Next: "?page=1", URL: pageURL}},
			pageRun{Queries: []string{"sort=id"}, Err: true, Loop: true}},
		{"link twice", NextLink{}, []PageInfo{{Items: 1, Next: "?page=2", URL: pageURL}, {Items: 1, Next: "https://api.example/v1/items?page=2"}},
			pageRun{Queries: []string{"sort=id", "https://api.example/v1/items?page=2"}, Err: true, Loop: true}},
		{"link relative without URL", NextLink{}, []PageInfo{{Items: 1, Next: "?page=2"}},
			pageRun{Queries: []string{"sort=id"}, Err: true}},
		{"negative items", LimitOffset{}, []PageInfo{{Items: -1}},
			pageRun{Queries: []string{"limit=100&offset=0&sort=id"}, Err: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := drive(t, tt.pager, tt.pages)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("paging mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPagerIndependentListings(t *testing.T) {
	t.Parallel()
	p := LimitOffset{Limit: 1}
	a, b := p.Start(), p.Start()
	if more, _ := a.Next(PageInfo{Items: 1}); !more {
		t.Fatal("listing a ended early")
	}
	ra, rb := Request{}, Request{}
	a.Apply(&ra)
	b.Apply(&rb)
	if ra.Query.Get("offset") != "1" || rb.Query.Get("offset") != "0" {
		t.Errorf("offsets %s and %s, want 1 and 0: listings share state", ra.Query.Get("offset"), rb.Query.Get("offset"))
	}
}
