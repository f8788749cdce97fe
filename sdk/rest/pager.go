package rest

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
)

// A Pager is a paging scheme: its parameter names and page size. It is a
// plain value that paging does not change, so one Pager can serve many
// listings at once. Pagers do no I/O; the caller sends the requests.
//
// A listing goes:
//
//	pg := pager.Start()
//	for more := true; more; {
//		req := rest.Request{Path: "/employees", Label: "stream employees"}
//		pg.Apply(&req)
//		var info rest.PageInfo
//		err := client.Do(ctx, req, func(resp *rest.Response) error {
//			// decode resp.Body; fill info.Items, info.Total, info.Next ...
//			return nil
//		})
//		if err != nil {
//			return err
//		}
//		if more, err = pg.Next(info); err != nil {
//			return err
//		}
//	}
type Pager interface {
	// Start begins a listing at its first page.
	Start() Paging
}

// A Prefetcher is a Pager whose listings may be read ahead of the code that
// writes their pages: its Pagings' Next depends on nothing but the
// PageInfo it is given (no state shared with the code that decodes or
// writes a page), so it may be called as soon as a page is decoded,
// before the page is written, and the pages after it fetched meanwhile.
// Package stream fetches ahead only the listings of a Pager whose
// Prefetch reports true, and then, for an Ahead Paging, up to its page
// concurrency of pages at once. Every Pager of this package is one; a
// connector's own Pager opts in by implementing it, and one that does not
// is paged one page at a time, Next after the page is written.
type Prefetcher interface {
	Pager
	// Prefetch reports whether the Pager's listings may be fetched ahead
	// as above. A Pager that wraps another answers as the inner one does
	// only if its own Paging shares no state with the stream's Select or
	// Checkpoint (trackvia's overlapPager does, and is no Prefetcher); a
	// Pager that embeds one of this package's inherits its true.
	Prefetch() bool
}

// A Paging is the position of one listing in its pages. It is not safe for
// concurrent use.
type Paging interface {
	// Apply sets the current page's parameters on req: query parameters,
	// or for a next link the whole Path.
	Apply(req *Request)
	// Next records what the page just read held and moves to the next.
	// more is false when the listing is complete. A non-nil error means the
	// pages do not add up (the same page twice, a cursor seen before), and
	// paging on would loop forever.
	Next(p PageInfo) (more bool, err error)
}

// PageInfo is what a page said about the listing. Fill what the vendor
// provides; zero values mean "not given".
type PageInfo struct {
	Items      int    // records on this page
	Total      int    // records in the whole listing, when the vendor says; 0 = unknown
	TotalPages int    // pages in the whole listing (PageNumber), when the vendor says; 0 = unknown
	Next       string // the next cursor (Cursor) or next link (NextLink); "" = none
	// URL is the page's Response.URL; a relative next link resolves
	// against it.
	URL *url.URL
	// Fingerprint optionally identifies the page's content, e.g. its first
	// and last record ids. Two pages in a row with the same non-empty
	// Fingerprint mean the vendor ignored the paging parameters: an error.
	Fingerprint string
}

// ErrPageLoop is wrapped by Paging.Next errors: the pages would repeat.
var ErrPageLoop = errors.New("paging does not advance")

// guard is the loop detection every Paging shares.
type guard struct {
	prev  string // the last page's Fingerprint
	pages int    // pages read
}

func (g *guard) check(p PageInfo) error {
	g.pages++
	if p.Items < 0 {
		return fmt.Errorf("%d items on a page", p.Items)
	}
	if p.Fingerprint != "" && p.Items > 0 && p.Fingerprint == g.prev {
		return fmt.Errorf("%w: two pages in a row hold the same records (fingerprint %q); the vendor ignores the paging parameters", ErrPageLoop, p.Fingerprint)
	}
	g.prev = p.Fingerprint
	return nil
}

func param(name, def string) string {
	if name == "" {
		return def
	}
	return name
}

func size(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// LimitOffset pages with a page size and a 0-based row offset (TrackTik's
// limit/offset). The listing ends at an empty page; when PageInfo.Total is
// known, once offset+items reaches it; otherwise at a page shorter than
// Limit. The offset advances by the items received, so a vendor that caps
// the page size below Limit loses nothing when it reports a total.
type LimitOffset struct {
	LimitParam  string // default "limit"
	OffsetParam string // default "offset"
	Limit       int    // default 100
}

// Prefetch implements Prefetcher: the next page is known from the
// PageInfo alone.
func (LimitOffset) Prefetch() bool { return true }

// Start implements Pager.
func (p LimitOffset) Start() Paging {
	return &offsetPaging{sizeParam: param(p.LimitParam, "limit"), offsetParam: param(p.OffsetParam, "offset"), size: size(p.Limit, 100)}
}

// StartMax pages with a 0-based row offset and a page size (TrackVia's
// start/max with totalCount). The end conditions are LimitOffset's.
type StartMax struct {
	StartParam string // default "start"
	MaxParam   string // default "max"
	Max        int    // default 1000
}

// Prefetch implements Prefetcher: the next page is known from the
// PageInfo alone.
func (StartMax) Prefetch() bool { return true }

// Start implements Pager.
func (p StartMax) Start() Paging {
	return LimitOffset{LimitParam: param(p.MaxParam, "max"), OffsetParam: param(p.StartParam, "start"), Limit: size(p.Max, 1000)}.Start()
}

type offsetPaging struct {
	sizeParam, offsetParam string
	size, offset           int
	total, last            int // the listing's total and the items of the last page, for Ahead
	guard
}

func (o *offsetPaging) Apply(req *Request) {
	setQuery(req, o.sizeParam, strconv.Itoa(o.size))
	setQuery(req, o.offsetParam, strconv.Itoa(o.offset))
}

func (o *offsetPaging) Next(p PageInfo) (bool, error) {
	if err := o.guard.check(p); err != nil {
		return false, fmt.Errorf("rest: page %s=%d: %w", o.offsetParam, o.offset, err)
	}
	o.total, o.last = p.Total, p.Items
	switch {
	case p.Items == 0:
		return false, nil
	case p.Total > 0 && o.offset+p.Items >= p.Total:
		return false, nil
	case p.Total <= 0 && p.Items < o.size:
		return false, nil
	}
	o.offset += p.Items
	return true, nil
}

// PageNumber pages with a page number and size (Trackunit's page/size,
// totalPages). First is the first page's number, 0 or 1. The listing ends
// at an empty page; when TotalPages is known, at the last page; else when
// Total is known, once the pages hold that many items; otherwise at a page
// shorter than Size.
type PageNumber struct {
	PageParam string // default "page"
	SizeParam string // default "size"
	Size      int    // default 100
	First     int    // number of the first page: 0 (default) or 1
}

// Prefetch implements Prefetcher: the next page is known from the
// PageInfo alone.
func (PageNumber) Prefetch() bool { return true }

// Start implements Pager.
func (p PageNumber) Start() Paging {
	return &numberPaging{pageParam: param(p.PageParam, "page"), sizeParam: param(p.SizeParam, "size"), size: size(p.Size, 100), page: p.First, first: p.First}
}

type numberPaging struct {
	pageParam, sizeParam string
	size, page, first    int
	seen                 int // items so far
	total, totalPages    int // what the last page said of the listing, for Ahead
	last                 int // items of the last page
	guard
}

func (n *numberPaging) Apply(req *Request) {
	setQuery(req, n.pageParam, strconv.Itoa(n.page))
	setQuery(req, n.sizeParam, strconv.Itoa(n.size))
}

func (n *numberPaging) Next(p PageInfo) (bool, error) {
	if err := n.guard.check(p); err != nil {
		return false, fmt.Errorf("rest: page %s=%d: %w", n.pageParam, n.page, err)
	}
	n.seen += p.Items
	n.total, n.totalPages, n.last = p.Total, p.TotalPages, p.Items
	switch {
	case p.Items == 0:
		return false, nil
	case p.TotalPages > 0:
		if n.page-n.first+1 >= p.TotalPages {
			return false, nil
		}
	case p.Total > 0:
		if n.seen >= p.Total {
			return false, nil
		}
	case p.Items < n.size:
		return false, nil
	}
	n.page++
	return true, nil
}

// Cursor pages with an opaque cursor (Trackunit's limit/after): each page
// names the next in PageInfo.Next. The listing ends when a page has no next
// cursor or no items. A cursor seen before is an error.
type Cursor struct {
	LimitParam string // default "limit"; set Limit to 0 to send no limit
	AfterParam string // default "after"
	Limit      int    // page size; 0 sends none (the vendor's default)
}

// Prefetch implements Prefetcher: the next page is known from the
// PageInfo alone.
func (Cursor) Prefetch() bool { return true }

// Start implements Pager.
func (p Cursor) Start() Paging {
	return &cursorPaging{limitParam: param(p.LimitParam, "limit"), afterParam: param(p.AfterParam, "after"), limit: p.Limit, seen: map[string]bool{}}
}

type cursorPaging struct {
	limitParam, afterParam string
	limit                  int
	cursor                 string
	seen                   map[string]bool
	guard
}

func (c *cursorPaging) Apply(req *Request) {
	if c.limit > 0 {
		setQuery(req, c.limitParam, strconv.Itoa(c.limit))
	}
	if c.cursor != "" {
		setQuery(req, c.afterParam, c.cursor)
	}
}

func (c *cursorPaging) Next(p PageInfo) (bool, error) {
	if err := c.guard.check(p); err != nil {
		return false, fmt.Errorf("rest: cursor page %d: %w", c.pages, err)
	}
	if p.Items == 0 || p.Next == "" {
		return false, nil
	}
	if p.Next == c.cursor || c.seen[p.Next] {
		return false, fmt.Errorf("rest: cursor page %d: %w: the next cursor was already used", c.pages, ErrPageLoop)
	}
	c.seen[p.Next] = true
	c.cursor = p.Next
	return true, nil
}

// NextLink follows the next-page URL each page gives in PageInfo.Next,
// absolute or relative to PageInfo.URL. The first page is the request as
// the caller built it (plus Limit, if set); later pages replace its Path
// and Query with the link. The listing ends when a page has no link or no
// items. A link to a page already read is an error.
type NextLink struct {
	LimitParam string // default "limit"
	Limit      int    // page size for the first request; 0 sends none
}

// Prefetch implements Prefetcher: the next page is known from the
// PageInfo alone.
func (NextLink) Prefetch() bool { return true }

// Start implements Pager.
func (p NextLink) Start() Paging {
	return &linkPaging{limitParam: param(p.LimitParam, "limit"), limit: p.Limit, seen: map[string]bool{}}
}

type linkPaging struct {
	limitParam string
	limit      int
	link       string // absolute URL of the next page; "" for the first
	seen       map[string]bool
	guard
}

func (l *linkPaging) Apply(req *Request) {
	if l.link == "" {
		if l.limit > 0 {
			setQuery(req, l.limitParam, strconv.Itoa(l.limit))
		}
		return
	}
	req.Path, req.Query = l.link, nil
}

func (l *linkPaging) Next(p PageInfo) (bool, error) {
	if err := l.guard.check(p); err != nil {
		return false, fmt.Errorf("rest: next-link page %d: %w", l.pages, err)
	}
	if p.URL != nil {
		l.seen[p.URL.String()] = true
	}
	if p.Items == 0 || p.Next == "" {
		return false, nil
	}
	next, err := resolveLink(p.URL, p.Next)
	if err != nil {
		return false, fmt.Errorf("rest: next-link page %d: %w", l.pages, err)
	}
	if next == l.link || l.seen[next] {
		return false, fmt.Errorf("rest: next-link page %d: %w: the next link points at a page already read", l.pages, ErrPageLoop)
	}
	l.seen[next] = true
	l.link = next
	return true, nil
}

// resolveLink returns link as an absolute URL, resolved against page.
func resolveLink(page *url.URL, link string) (string, error) {
	ref, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("next link is not a URL: %w", errors.Unwrap(err))
	}
	if ref.IsAbs() {
		return ref.String(), nil
	}
	if page == nil {
		return "", errors.New("relative next link, but PageInfo.URL is not set")
	}
	return page.ResolveReference(ref).String(), nil
}

// setQuery sets one query parameter on req.
func setQuery(req *Request, k, v string) {
	q := make(url.Values, len(req.Query)+1)
	for key, vs := range req.Query {
		q[key] = vs
	}
	q.Set(k, v)
	req.Query = q
}

// Interface guards: a Prefetcher is a Pager.
var (
	_ Prefetcher = LimitOffset{}
	_ Prefetcher = StartMax{}
	_ Prefetcher = PageNumber{}
	_ Prefetcher = Cursor{}
	_ Prefetcher = NextLink{}
)
