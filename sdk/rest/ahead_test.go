package rest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAhead: once a page has told the listing's size, limit/offset and
// page-number pagings tell the pages after the next one, supposing full
// pages, and stop at the listing's end; without a size they tell none.
func TestAhead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pager Pager
		info  PageInfo // the first page's
		param string
		want  []string
	}{
		{"offset with total", LimitOffset{Limit: 10}, PageInfo{Items: 10, Total: 45}, "offset", []string{"20", "30", "40"}},
		{"offset without total", LimitOffset{Limit: 10}, PageInfo{Items: 10}, "offset", nil},
		{"start/max", StartMax{Max: 10}, PageInfo{Items: 10, Total: 30}, "start", []string{"20"}},
		{"page number with total pages", PageNumber{Size: 10, First: 1}, PageInfo{Items: 10, TotalPages: 4}, "page", []string{"3", "4"}},
		{"page number with total", PageNumber{Size: 10}, PageInfo{Items: 10, Total: 31}, "page", []string{"2", "3"}},
		{"page number without total", PageNumber{Size: 10}, PageInfo{Items: 10}, "page", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pg := tc.pager.Start()
			if more, err := pg.Next(tc.info); !more || err != nil {
				t.Fatalf("Next = %v, %v", more, err)
			}
			var got []string
			for _, req := range pg.(Ahead).Ahead(Request{Path: "/x"}, 5) {
				got = append(got, req.Query.Get(tc.param))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("pages ahead (-want +got):\n%s", diff)
			}
			if got := pg.(Ahead).Ahead(Request{Path: "/x"}, 1); len(tc.want) > 0 && len(got) != 1 {
				t.Errorf("Ahead(1) gave %d requests", len(got))
			}
		})
	}
}
