package rest

// An Ahead is a Paging that can tell which pages follow the current one
// before they are read: a listing whose size a page has told (a total of
// records or of pages). Package stream fetches those pages while the
// current one is decoded and written, and uses a page fetched ahead only
// if its request turns out to be exactly the one Next and Apply make, so
// a guess never changes what is read.
type Ahead interface {
	Paging
	// Ahead applies the parameters of up to n pages after the current one
	// to copies of base and returns them, in order. It supposes each page
	// holds as many items as the page last passed to Next; it returns
	// fewer when the listing ends sooner, and none when its size is not
	// known. It does not move the Paging.
	Ahead(base Request, n int) []Request
}

// Ahead implements Ahead for LimitOffset and StartMax: once a page has
// given the listing's total, the offsets after the current one are known.
func (o *offsetPaging) Ahead(base Request, n int) []Request {
	if o.total <= 0 || o.last <= 0 {
		return nil
	}
	var next []Paging
	for off := o.offset + o.last; off < o.total && len(next) < n; off += o.last {
		at := *o
		at.offset = off
		next = append(next, &at)
	}
	return applied(base, next)
}

// Ahead implements Ahead for PageNumber: once a page has given the
// listing's page count or record total, the page numbers after the
// current one are known.
func (n *numberPaging) Ahead(base Request, k int) []Request {
	var pages int // pages in the listing, from the current one's first
	switch {
	case n.totalPages > 0:
		pages = n.totalPages
	case n.total > 0 && n.last > 0:
		pages = (n.total + n.last - 1) / n.last
	default:
		return nil
	}
	var next []Paging
	for p := n.page + 1; p-n.first < pages && len(next) < k; p++ {
		at := *n
		at.page = p
		next = append(next, &at)
	}
	return applied(base, next)
}

// applied returns a copy of base for each Paging, with its parameters.
func applied(base Request, pgs []Paging) []Request {
	out := make([]Request, 0, len(pgs))
	for _, pg := range pgs {
		req := base
		pg.Apply(&req)
		out = append(out, req)
	}
	return out
}

// Interface guards.
var (
	_ Ahead = (*offsetPaging)(nil)
	_ Ahead = (*numberPaging)(nil)
)
