package tracktiksim

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// defaultLimit is the vendor's page size when limit is not given.
const defaultLimit = 100

// maxCached bounds the materialized filter results kept for paging.
const maxCached = 32

// serveData is GET /rest/v1/{stream} and GET /rest/v1/{stream}/{id}.
func (s *Server) serveData(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/rest/v1/")
	name, idPart, single := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	si := streamIndex(name)
	if si < 0 {
		writeError(w, http.StatusNotFound, "No route found for "+r.Method+" "+r.URL.Path)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "Method "+r.Method+" not allowed")
		return
	}
	if !s.authorize(w, r, si) {
		return
	}
	if single {
		s.serveOne(w, si, idPart)
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Malformed query string")
		return
	}
	s.dmu.RLock()
	p, err := s.plan(si, q)
	if err != nil {
		s.dmu.RUnlock()
		writeError(w, http.StatusBadRequest, err.Error())
		s.log.Debug("tracktiksim: data request", "stream", name, "status", http.StatusBadRequest)
		return
	}
	key, version := name+"?"+r.URL.RawQuery, s.version[si]
	b, cached := s.pages.get(key, version)
	var bp *[]byte
	if !cached {
		bp = s.buffer()
		var rw row
		b = s.appendPage((*bp)[:0], &rw, si, p)
		s.pages.put(key, version, b)
	}
	s.dmu.RUnlock()

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
	if bp != nil {
		*bp = b
		s.release(bp)
	}
	s.log.Debug("tracktiksim: data request", "stream", name, "status", http.StatusOK,
		"offset", p.offset, "limit", p.limit, "items", p.items(), "count", p.total())
}

// serveOne answers a single record in the vendor's single-record envelope.
func (s *Server) serveOne(w http.ResponseWriter, si int, idPart string) {
	id, err := strconv.ParseInt(idPart, 10, 64)
	s.dmu.RLock()
	i, found := s.find(si, id)
	if err != nil || !found {
		s.dmu.RUnlock()
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s %q not found", streamNames[si], idPart))
		return
	}
	d := s.w.defs[si]
	b := make([]byte, 0, 1024)
	b = append(b, `{"meta":{"request":[`...)
	b = appendString(b, d.name)
	b = append(b, ',')
	b = appendString(b, idPart)
	b = append(b, `],"security":`...)
	b = append(b, d.security...)
	b = append(b, `,"debug":null,"resource":`...)
	b = appendString(b, d.name)
	b = append(b, `},"data":`...)
	var rw row
	b = s.appendRecord(b, &rw, si, i)
	s.dmu.RUnlock()
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

func (s *Server) buffer() *[]byte {
	if bp, ok := s.bufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 64<<10)
	return &b
}

func (s *Server) release(bp *[]byte) {
	if cap(*bp) <= 4<<20 { // don't pin the buffers of giant pages
		s.bufs.Put(bp)
	}
}

// pageCache keeps rendered listing pages, keyed by stream and query, while
// it is on (Server.CachePages). An entry is served only while its stream's
// data version is the one it was rendered at.
type pageCache struct {
	mu    sync.Mutex
	on    bool
	pages map[string]cachedPage
}

type cachedPage struct {
	version uint64
	body    []byte
}

// get returns the page under key rendered at version, if kept.
func (c *pageCache) get(key string, version uint64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pages[key]
	if !ok || p.version != version {
		return nil, false
	}
	return p.body, true
}

// put keeps a copy of body, if the cache is on.
func (c *pageCache) put(key string, version uint64, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.on {
		c.pages[key] = cachedPage{version: version, body: slices.Clone(body)}
	}
}

// CachePages turns the page cache on or off; turning it off empties it.
// With it on, a listing page is rendered once and later requests for the
// same page (same stream and query, no data change since) get the same
// bytes from memory. Benchmarks use it so that the simulator, which shares
// the machine with the client under test, spends next to no CPU, as a
// vendor's server on another machine would. Auth, faults and lag apply to
// every request as before.
func (s *Server) CachePages(on bool) {
	s.pages.mu.Lock()
	defer s.pages.mu.Unlock()
	s.pages.on = on
	s.pages.pages = map[string]cachedPage{}
}

// op is a filter function.
type op uint8

const (
	opEq op = iota
	opIn
	opGt
	opGte
	opLt
	opLte
	opAfter
	opBefore
	opContains
)

var ops = map[string]op{
	"": opEq, "eq": opEq, "in": opIn, "gt": opGt, "gte": opGte, "lt": opLt, "lte": opLte,
	"after": opAfter, "before": opBefore, "contains": opContains,
}

// pred is one residual filter, checked record by record.
type pred struct {
	field int
	op    op
	args  []string
	num   float64 // numeric argument of gt/gte/lt/lte, when numeric
	isNum bool
	t     int64 // time argument of after/before (and gt.. on time fields)
	isT   bool
}

// page is a planned list request: the matching record indexes are either
// the range [lo, hi) or list.
type page struct {
	lo, hi        int
	list          []int32
	useList       bool
	desc          bool
	byTime        bool // sorted by the stream's time field, then id
	limit, offset int
}

func (p *page) total() int {
	if p.useList {
		return len(p.list)
	}
	return p.hi - p.lo
}

func (p *page) items() int { return max(0, min(p.limit, p.total()-p.offset)) }

// index returns the record index of the k-th item of the page.
func (p *page) index(k int) int {
	k += p.offset
	if p.desc {
		k = p.total() - 1 - k
	}
	if p.useList {
		return int(p.list[k])
	}
	return p.lo + k
}

// Query parameters that are not filters. include and fields (response
// shaping) are accepted and ignored.
var reserved = map[string]bool{"limit": true, "offset": true, "sort": true, "include": true, "fields": true}

// plan turns a query into a page. The caller holds s.dmu for reading.
// Errors are client errors, worded for the 400 body.
func (s *Server) plan(si int, q url.Values) (*page, error) {
	d := s.w.defs[si]
	n := s.count[si]
	p := &page{lo: 0, hi: n, limit: defaultLimit}
	var err error
	if v := q.Get("limit"); v != "" {
		if p.limit, err = strconv.Atoi(v); err != nil || p.limit < 1 {
			return nil, fmt.Errorf("invalid limit %q: must be a positive integer", v)
		}
		p.limit = min(p.limit, s.opts.MaxLimit)
	}
	if v := q.Get("offset"); v != "" {
		if p.offset, err = strconv.Atoi(v); err != nil || p.offset < 0 {
			return nil, fmt.Errorf("invalid offset %q: must be a non-negative integer", v)
		}
	}
	if err := p.sort(d, q.Get("sort")); err != nil {
		return nil, err
	}

	var (
		preds    []pred
		filtered bool
		ids      []int64 // from id:in / id=, intersected
		haveIDs  bool
	)
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a stable order, for stable error messages
	for _, key := range keys {
		if reserved[key] {
			continue
		}
		field, fn, _ := strings.Cut(key, ":")
		if fn == "sort" { // the filter article's `id:sort=-id` form
			if err := p.sort(d, q.Get(key)); err != nil {
				return nil, err
			}
			continue
		}
		o, ok := ops[fn]
		if !ok {
			return nil, fmt.Errorf("unknown filter function %q in %q", fn, key)
		}
		fi, ok := d.fieldIdx[field]
		if !ok {
			return nil, fmt.Errorf("unknown filter field %q for %s", field, d.name)
		}
		for _, raw := range q[key] {
			filtered = true
			pr, err := newPred(fi, o, raw, d.temporal[fi])
			if err != nil {
				return nil, fmt.Errorf("invalid filter %s=%s: %w", key, raw, err)
			}
			switch {
			case fi == 0 && (o == opEq || o == opIn):
				set := make([]int64, 0, len(pr.args))
				for _, a := range pr.args {
					if id, err := strconv.ParseInt(strings.TrimSpace(a), 10, 64); err == nil {
						set = append(set, id)
					}
				}
				if haveIDs {
					set = slices.DeleteFunc(set, func(id int64) bool { return !slices.Contains(ids, id) })
				}
				ids, haveIDs = set, true
			case fi == 0 && pr.isNum:
				s.narrowByID(si, p, o, pr.num)
			case fi == d.timeField && pr.isT && !s.overlaid[si][fi] && (o == opAfter || o == opBefore):
				s.narrowByTime(si, p, o, pr.t)
			default:
				preds = append(preds, pr)
			}
		}
	}
	if si == sReports && !filtered {
		return nil, fmt.Errorf("the reports endpoint requires a filter, e.g. reportDateTime:after=2025-09-01 00:00:00")
	}
	if p.lo > p.hi {
		p.hi = p.lo
	}
	if haveIDs {
		p.useList = true
		slices.Sort(ids)
		for _, id := range slices.Compact(ids) {
			i := sort.Search(n, func(i int) bool { return s.w.id(si, i) >= id })
			if i < n && i >= p.lo && i < p.hi && s.w.id(si, i) == id {
				p.list = append(p.list, int32(i))
			}
		}
	}
	if len(preds) > 0 {
		p.list = s.scan(si, q, p, preds)
		p.useList = true
	}
	if len(s.gone[si]) > 0 {
		s.dropGone(si, p)
	}
	if p.byTime && s.overlaid[si][d.timeField] {
		s.sortByTime(si, p)
	}
	return p, nil
}

// dropGone leaves the deleted records out of p, as a list. The caller
// holds s.dmu for reading.
func (s *Server) dropGone(si int, p *page) {
	var list []int32
	if p.useList {
		for _, i := range p.list {
			if !s.isGone(si, int(i)) {
				list = append(list, i)
			}
		}
	} else {
		for i := p.lo; i < p.hi; i++ {
			if !s.isGone(si, i) {
				list = append(list, int32(i))
			}
		}
	}
	p.list, p.useList = list, true
}

// sort reads the sort parameter: id, or the stream's time field then id,
// each ascending or (with '-') descending. Records are generated in id
// order with their time field never decreasing, so both orders are the
// index order until an Update moves a time field (see sortByTime).
func (p *page) sort(d *streamDef, v string) error {
	if v == "" {
		return nil
	}
	keys := strings.Split(v, ",")
	for i := range keys {
		keys[i] = strings.TrimSpace(keys[i]) // "+id" arrives as " id"
	}
	first := strings.TrimPrefix(keys[0], "+")
	p.desc = strings.HasPrefix(first, "-")
	first = strings.TrimPrefix(first, "-")
	timeName := ""
	if d.timeField >= 0 {
		timeName = d.fields[d.timeField]
	}
	switch {
	case first == "id" && len(keys) == 1:
	case first == timeName && timeName != "" && (len(keys) == 1 || len(keys) == 2 && strings.TrimPrefix(keys[1], "+") == "id"):
		p.byTime = true
	default:
		hint := "sort=id or sort=-id"
		if timeName != "" {
			hint += ", or sort=" + timeName + ",id"
		}
		return fmt.Errorf("sorting by %q is not supported; use %s", v, hint)
	}
	return nil
}

// sortByTime orders p's records by their time field (with Update's
// changes) and then by id, as a list. The caller holds s.dmu for reading.
func (s *Server) sortByTime(si int, p *page) {
	d := s.w.defs[si]
	if !p.useList {
		p.list = make([]int32, 0, p.hi-p.lo)
		for i := p.lo; i < p.hi; i++ {
			p.list = append(p.list, int32(i))
		}
		p.useList = true
	} else {
		p.list = slices.Clone(p.list) // the scan cache owns the original
	}
	times := make(map[int32]int64, len(p.list))
	var rw row
	for _, i := range p.list {
		rw.reset(len(d.fields))
		d.fill(s.w, &rw, int(i))
		s.applyOverlay(&rw, si, int(i))
		t, _ := timeOf(&rw, &rw.v[d.timeField])
		times[i] = t
	}
	slices.SortStableFunc(p.list, func(a, b int32) int {
		return cmp.Or(cmp.Compare(times[a], times[b]), cmp.Compare(a, b))
	})
}

func newPred(fi int, o op, raw string, temporal bool) (pred, error) {
	pr := pred{field: fi, op: o, args: []string{raw}}
	switch o {
	case opIn:
		pr.args = strings.Split(raw, ",")
	case opGt, opGte, opLt, opLte:
		if f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64); err == nil {
			pr.num, pr.isNum = f, true
		} else if t, err := parseTime(raw); err == nil {
			pr.t, pr.isT = t, true
		} else {
			return pr, fmt.Errorf("not a number or date")
		}
	case opAfter, opBefore:
		if !temporal {
			return pr, fmt.Errorf("the field is not a date")
		}
		t, err := parseTime(raw)
		if err != nil {
			return pr, err
		}
		pr.t, pr.isT = t, true
	}
	return pr, nil
}

// narrowByID intersects p's range with an id comparison.
func (s *Server) narrowByID(si int, p *page, o op, x float64) {
	n := s.count[si]
	first := func(ok func(id int64) bool) int {
		return sort.Search(n, func(i int) bool { return ok(s.w.id(si, i)) })
	}
	switch o {
	case opGt:
		p.lo = max(p.lo, first(func(id int64) bool { return float64(id) > x }))
	case opGte:
		p.lo = max(p.lo, first(func(id int64) bool { return float64(id) >= x }))
	case opLt:
		p.hi = min(p.hi, first(func(id int64) bool { return float64(id) >= x }))
	case opLte:
		p.hi = min(p.hi, first(func(id int64) bool { return float64(id) > x }))
	}
}

// narrowByTime intersects p's range with an after/before comparison on the
// stream's time field, which never decreases with the index.
func (s *Server) narrowByTime(si int, p *page, o op, t int64) {
	n := s.count[si]
	switch o {
	case opAfter:
		p.lo = max(p.lo, sort.Search(n, func(i int) bool { return s.w.baseTime(si, i) > t }))
	case opBefore:
		p.hi = min(p.hi, sort.Search(n, func(i int) bool { return s.w.baseTime(si, i) >= t }))
	}
}

// scan checks the residual predicates over p's candidates. Results are
// cached by query and data version, so paging through a filtered stream
// scans it once.
func (s *Server) scan(si int, q url.Values, p *page, preds []pred) []int32 {
	shape := url.Values{}
	for k, v := range q {
		if !reserved[k] && !strings.HasSuffix(k, ":sort") {
			shape[k] = v
		}
	}
	key := streamNames[si] + "\x00" + strconv.FormatUint(s.version[si], 10) + "\x00" + shape.Encode()
	s.cmu.Lock()
	list, ok := s.cache[key]
	s.cmu.Unlock()
	if ok {
		return list
	}

	var rw row
	d := s.w.defs[si]
	list = []int32{}
	check := func(i int) {
		rw.reset(len(d.fields))
		d.fill(s.w, &rw, i)
		s.applyOverlay(&rw, si, i)
		for k := range preds {
			if !match(&rw, &preds[k]) {
				return
			}
		}
		list = append(list, int32(i))
	}
	if p.useList {
		for _, i := range p.list {
			check(int(i))
		}
	} else {
		for i := p.lo; i < p.hi; i++ {
			check(i)
		}
	}

	s.cmu.Lock()
	if _, ok := s.cache[key]; !ok {
		if len(s.cacheOrder) >= maxCached {
			delete(s.cache, s.cacheOrder[0])
			s.cacheOrder = s.cacheOrder[1:]
		}
		s.cache[key] = list
		s.cacheOrder = append(s.cacheOrder, key)
	}
	s.cmu.Unlock()
	return list
}

// applyOverlay replaces the fields changed by Update. Fields the stream
// does not have are left to appendRecord.
func (s *Server) applyOverlay(rw *row, si, i int) {
	if len(s.overlay[si]) == 0 {
		return
	}
	for _, o := range s.overlay[si][i] {
		if o.fi >= 0 {
			rw.v[o.fi] = o.v
		}
	}
}

// match reports whether the row satisfies pr. String equality is
// case-insensitive, as the vendor's is.
func match(rw *row, pr *pred) bool {
	v := &rw.v[pr.field]
	switch pr.op {
	case opEq, opIn:
		for _, a := range pr.args {
			if equalArg(rw, v, strings.TrimSpace(a)) {
				return true
			}
		}
		return false
	case opContains:
		str, ok := rw.str(v)
		return ok && strings.Contains(strings.ToLower(str), strings.ToLower(pr.args[0]))
	case opGt, opGte, opLt, opLte:
		var c int
		if pr.isNum {
			x, ok := number(v)
			if !ok {
				return false
			}
			c = cmp.Compare(x, pr.num)
		} else {
			t, ok := timeOf(rw, v)
			if !ok {
				return false
			}
			c = cmp.Compare(t, pr.t)
		}
		switch pr.op {
		case opGt:
			return c > 0
		case opGte:
			return c >= 0
		case opLt:
			return c < 0
		default:
			return c <= 0
		}
	case opAfter, opBefore:
		t, ok := timeOf(rw, v)
		if !ok {
			return false
		}
		if pr.op == opAfter {
			return t > pr.t
		}
		return t < pr.t
	}
	return false
}

func number(v *value) (float64, bool) {
	switch v.k {
	case kInt:
		return float64(v.n), true
	case kFloat:
		return v.f, true
	}
	return 0, false
}

// timeOf returns a time or date value (or a string that parses as one) in
// Unix seconds.
func timeOf(rw *row, v *value) (int64, bool) {
	switch v.k {
	case kTime:
		return v.n, true
	case kDate:
		return v.n * 86400, true
	}
	if str, ok := rw.str(v); ok {
		t, err := parseTime(str)
		return t, err == nil
	}
	return 0, false
}

func equalArg(rw *row, v *value, a string) bool {
	switch v.k {
	case kNull:
		return strings.EqualFold(a, "null")
	case kInt:
		n, err := strconv.ParseInt(a, 10, 64)
		return err == nil && n == v.n
	case kFloat:
		f, err := strconv.ParseFloat(a, 64)
		return err == nil && f == v.f
	case kBool:
		b, err := strconv.ParseBool(a)
		return err == nil && b == (v.n != 0)
	case kTime, kDate:
		t, err := parseTime(a)
		got, _ := timeOf(rw, v)
		return err == nil && t == got
	case kTags:
		for _, t := range v.tags {
			if strings.EqualFold(t, a) {
				return true
			}
		}
		return false
	}
	str, ok := rw.str(v)
	return ok && strings.EqualFold(str, a)
}

// parseTime accepts the vendor's "2025-09-01 00:00:00", RFC 3339 (also
// with the '+' of the offset decoded to a space by an unescaped query), and
// a bare date. Times without an offset are UTC.
func parseTime(s string) (int64, error) {
	s = strings.TrimSpace(s)
	layouts := []string{time.DateTime, time.RFC3339Nano, time.DateOnly, "2006-01-02T15:04:05", "2006-01-02 15:04"}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.Unix(), nil
		}
	}
	// 2025-09-01T00:00:00 02:00: an unescaped '+' became a space.
	if i := strings.LastIndexByte(s, ' '); i > 10 && strings.Contains(s[:i], "T") {
		if t, err := time.Parse(time.RFC3339Nano, s[:i]+"+"+s[i+1:]); err == nil {
			return t.Unix(), nil
		}
	}
	return 0, fmt.Errorf("%q is not a date or datetime (use 2025-09-01 00:00:00)", s)
}

// appendPage writes the list envelope and the page's records. The caller
// holds s.dmu for reading.
func (s *Server) appendPage(b []byte, rw *row, si int, p *page) []byte {
	d := s.w.defs[si]
	n := p.items()
	b = append(b, `{"meta":{`...)
	if s.opts.Variant != VariantAlt {
		b = append(b, `"count":`...)
		b = strconv.AppendInt(b, int64(p.total()), 10)
		b = append(b, ',')
	}
	b = append(b, `"request":[`...)
	b = appendString(b, d.name)
	b = append(b, `],"itemCount":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `,"security":`...)
	b = append(b, d.security...)
	b = append(b, `,"debug":null,"resource":`...)
	b = appendString(b, d.name)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(p.limit), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, int64(p.offset), 10)
	b = append(b, `},"data":[`...)
	for k := range n {
		if k > 0 {
			b = append(b, ',')
		}
		b = s.appendRecord(b, rw, si, p.index(k))
	}
	return append(b, "]}"...)
}

// appendRecord writes record i of stream si as a JSON object. The caller
// holds s.dmu for reading.
func (s *Server) appendRecord(b []byte, rw *row, si, i int) []byte {
	d := s.w.defs[si]
	rw.reset(len(d.fields))
	d.fill(s.w, rw, i)
	var extra []overlayField
	if len(s.overlay[si]) > 0 {
		extra = s.overlay[si][i]
		s.applyOverlay(rw, si, i)
	}
	alt := s.opts.Variant == VariantAlt
	expand := alt && i/altBlock%2 == 1
	b = append(b, '{')
	for f := range rw.v {
		if f > 0 {
			b = append(b, ',')
		}
		b = append(b, d.keys[f]...)
		if v := &rw.v[f]; expand && v.k == kInt && (d.fields[f] == "account" || d.fields[f] == "region") {
			b = append(b, `{"id":`...)
			b = strconv.AppendInt(b, v.n, 10)
			if d.fields[f] == "region" {
				b = append(b, `,"resource":"regions"}`...)
			} else {
				b = append(b, `,"resource":"clients"}`...)
			}
			continue
		}
		b = rw.appendValue(b, &rw.v[f])
	}
	if alt {
		b = append(b, `,"uri":"/rest/v1/`...)
		b = append(b, d.name...)
		b = append(b, '/')
		b = strconv.AppendInt(b, s.w.id(si, i), 10)
		b = append(b, `","customFields":{"badge":`...)
		b = strconv.AppendInt(b, int64(i%9000+1000), 10)
		b = append(b, `,"note":null}`...)
	}
	for k := range extra {
		if o := &extra[k]; o.fi < 0 {
			b = append(b, ',')
			b = appendString(b, o.name)
			b = append(b, ':')
			b = rw.appendValue(b, &o.v)
		}
	}
	return append(b, '}')
}
