package trackunitsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Page sizes of the generic IRIS paging (docs/vendors/trackunit.md#paging).
const (
	defaultPageSize = 20
	maxPageSize     = 1000
)

// apiHandler serves the API host. Every data endpoint is counted, then
// passed through the fault injector, then authenticated.
func (s *Server) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+AssetsPath, s.endpoint(StreamAssets, s.handleAssets))
	locations := s.endpoint(StreamLocations, s.handleLocations)
	// The alt variant serves the list under the other plausible prefix only.
	if s.opts.Variant != VariantAlt {
		mux.Handle("GET "+LocationsPath, locations)
	}
	mux.Handle("GET "+LocationsAltPath, locations)
	mux.Handle("GET "+FleetPath+"{page}", s.endpoint(StreamFleetSnapshot, s.handleFleet))
	mux.Handle("POST "+EventLogPath, s.endpoint(StreamAssetEvents, s.handleEvents))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "No endpoint "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// endpoint wraps a data handler: count, faults, bearer check, log.
func (s *Server) endpoint(stream string, h http.HandlerFunc) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		if s.authorize(sw, r) {
			h(sw, r)
		}
		if sw.status == http.StatusOK {
			s.mu.Lock()
			s.stats.Pages[stream]++
			s.mu.Unlock()
		}
		s.logRequest(r.Context(), r, stream, sw.status)
	})
	faulty := s.Faults.Wrap(inner)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.stats.Requests[stream]++
		s.mu.Unlock()
		faulty.ServeHTTP(w, r)
	})
}

// queryInt reads an optional integer query parameter and checks its range;
// on failure it returns the violation to report.
func queryInt(r *http.Request, name string, def, lo, hi int) (int, *violation) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return 0, &violation{name, "value '" + v + "' was rejected: must be an integer"}
	case n < lo:
		return 0, &violation{name, "value '" + v + "' was rejected: must be greater than or equal to " + strconv.Itoa(lo)}
	case n > hi:
		return 0, &violation{name, "value '" + v + "' was rejected: must be less than or equal to " + strconv.Itoa(hi)}
	}
	return n, nil
}

// pageParams reads page (from 0) and size (1 to 1000, default 20).
func pageParams(w http.ResponseWriter, r *http.Request) (page, size int, ok bool) {
	page, v1 := queryInt(r, "page", 0, 0, 1<<30)
	size, v2 := queryInt(r, "size", defaultPageSize, 1, maxPageSize)
	var vs []violation
	for _, v := range []*violation{v1, v2} {
		if v != nil {
			vs = append(vs, *v)
		}
	}
	if len(vs) > 0 {
		writeViolations(w, vs...)
		return 0, 0, false
	}
	return page, size, true
}

// appendPage appends the page-based envelope
// {"totalPages","totalElements","number","size","numberOfElements","content"}
// for element positions [page*size, page*size+size) of total; item appends
// the element at a position.
func appendPage(b []byte, total, page, size int, item func([]byte, int) ([]byte, error)) ([]byte, error) {
	start := min(page*size, total)
	end := min(start+size, total)
	b = append(b, `{"totalPages":`...)
	b = strconv.AppendInt(b, int64((total+size-1)/size), 10)
	b = append(b, `,"totalElements":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"number":`...)
	b = strconv.AppendInt(b, int64(page), 10)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, `,"numberOfElements":`...)
	b = strconv.AppendInt(b, int64(end-start), 10)
	b = append(b, `,"content":[`...)
	for k := start; k < end; k++ {
		if k > start {
			b = append(b, ',')
		}
		var err error
		if b, err = item(b, k); err != nil {
			return nil, err
		}
	}
	return append(b, "]}"...), nil
}

// appendRecords appends records [start, end) of stream as a JSON array.
func (s *Server) appendRecords(b []byte, stream string, start, end int, over map[int]map[string]any, meta bool) ([]byte, error) {
	b = append(b, '[')
	for i := start; i < end; i++ {
		if i > start {
			b = append(b, ',')
		}
		var err error
		if b, err = s.appendRecord(b, stream, i, over[i], meta); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

func (s *Server) writePage(w http.ResponseWriter, b []byte, err error) {
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal_error", err.Error())
		return
	}
	writeJSONStatus(w, http.StatusOK, b, false)
}

// handleAssets serves GET /api/asset/v1/assets?page=&size= (sort is ignored:
// assets come in index order).
func (s *Server) handleAssets(w http.ResponseWriter, r *http.Request) {
	page, size, ok := pageParams(w, r)
	if !ok {
		return
	}
	n, over := s.snapshot(StreamAssets)
	b, err := appendPage(make([]byte, 0, 512*min(size, n)+128), n, page, size, func(b []byte, i int) ([]byte, error) {
		return s.appendRecord(b, StreamAssets, i, over[i], false)
	})
	s.writePage(w, b, err)
}

// appendCursor appends a locations cursor for index i: `[i,"assetId"]`
// masked with a seed-derived key stream and encoded as standard base64, so
// that cursors are opaque and often hold '+', '/' and '=' padding, which a
// client must URL-encode.
func (s *Server) appendCursor(b []byte, i int) []byte {
	raw := append([]byte{'['}, strconv.Itoa(i)...)
	raw = append(raw, ',', '"')
	raw = appendUUID(raw, s.opts.Seed, saltAssetID, i)
	raw = append(raw, '"', ']')
	s.maskCursor(raw)
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, raw)
	return append(b, '"')
}

// maskCursor XORs raw with the key stream in place; it is its own inverse.
func (s *Server) maskCursor(raw []byte) {
	var key uint64
	for k := range raw {
		if k%8 == 0 {
			key = mix(s.opts.Seed ^ saltCursor + uint64(k))
		}
		raw[k] ^= byte(key >> (8 * (k % 8)))
	}
}

// parseCursor returns the index a cursor points at, or false if the cursor
// is not one this server issued.
func (s *Server) parseCursor(c string) (int, bool) {
	raw, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	s.maskCursor(raw)
	if len(raw) < 2 || raw[0] != '[' || raw[len(raw)-1] != ']' {
		return 0, false
	}
	num, id, ok := strings.Cut(string(raw[1:len(raw)-1]), ",")
	i, err := strconv.Atoi(num)
	if !ok || err != nil || i < 0 {
		return 0, false
	}
	want := string(appendUUID([]byte{'"'}, s.opts.Seed, saltAssetID, i)) + `"`
	return i, id == want
}

// handleLocations serves GET /public/api/location/v1/locations?limit=&after=
// (or before=): cursor paging over the latest location of each asset.
func (s *Server) handleLocations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, v := queryInt(r, "limit", defaultPageSize, 1, maxPageSize)
	if v != nil {
		writeViolations(w, *v)
		return
	}
	after, before := q.Get("after"), q.Get("before")
	if after != "" && before != "" {
		writeError(w, http.StatusBadRequest, "bad_request", "Only one of 'after' and 'before' may be given")
		return
	}
	n, over := s.snapshot(StreamLocations)
	start := 0
	end := -1
	switch {
	case after != "":
		i, ok := s.parseCursor(after)
		if !ok {
			writeError(w, http.StatusBadRequest, "invalid_cursor", "The cursor in 'after' is invalid")
			return
		}
		start = i + 1
	case before != "":
		i, ok := s.parseCursor(before)
		if !ok {
			writeError(w, http.StatusBadRequest, "invalid_cursor", "The cursor in 'before' is invalid")
			return
		}
		end = min(i, n)
		start = max(end-limit, 0)
	}
	if end < 0 {
		start = min(start, n)
		end = min(start+limit, n)
	}
	if ok, wait := s.allowLocations(after+"|"+before, s.now()); !ok {
		s.tooMany(w, StreamLocations, wait, "Rate limit exceeded: one request per second for a specific page and user")
		return
	}
	b := make([]byte, 0, 400*(end-start)+256)
	b = append(b, `{"before":`...)
	if end > start {
		b = s.appendCursor(b, start)
	} else {
		b = append(b, "null"...)
	}
	more := end < n
	switch {
	case end > start && (more || s.opts.CursorEnd == CursorAlways):
		b = append(b, `,"after":`...)
		b = s.appendCursor(b, end-1)
	case s.opts.CursorEnd == CursorOmit:
	default:
		b = append(b, `,"after":null`...)
	}
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(limit), 10)
	b = append(b, `,"content":`...)
	b, err := s.appendRecords(b, StreamLocations, start, end, over, false)
	s.writePage(w, append(b, '}'), err)
}

// acceptsJSON reports whether the Accept header asks for JSON; without it
// the AEMP API answers XML, which the simulator does not produce.
func acceptsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
				return true
			}
		}
	}
	return false
}

// handleFleet serves GET /public/api/aemp/v2/15143/-3/Fleet/{page}: the AEMP
// 2.0 fleet snapshot, pages from 1, Links with self/next/prev/last.
func (s *Server) handleFleet(w http.ResponseWriter, r *http.Request) {
	page, err := strconv.Atoi(r.PathValue("page"))
	if err != nil || page < 1 {
		writeError(w, http.StatusBadRequest, "bad_request", "The page number must be an integer from 1")
		return
	}
	if !acceptsJSON(r) {
		writeError(w, http.StatusNotAcceptable, "not_acceptable", "XML is the default format; the simulator serves only Accept: application/json")
		return
	}
	now := s.now()
	if ok, wait := s.allowFleet(r.URL.Path, now); !ok {
		s.tooMany(w, StreamFleetSnapshot, wait, "Rate limit exceeded: one request per URL every 15 minutes and the pool of extra requests is used")
		return
	}
	n, over := s.snapshot(StreamFleetSnapshot)
	size := s.opts.AEMPPageSize
	last := max((n+size-1)/size, 1)
	if page > last {
		writeError(w, http.StatusNotFound, "not_found", "Page "+strconv.Itoa(page)+" does not exist; the last page is "+strconv.Itoa(last))
		return
	}
	meta := strings.EqualFold(r.URL.Query().Get("addMetadata"), "true")
	k := s.keys()
	start, end := (page-1)*size, min(page*size, n)

	b := make([]byte, 0, 900*(end-start)+512)
	b = append(b, '{')
	b = appendKey(b, k.version)
	b = append(b, `"1"`...)
	b = appendKey(b, k.snapshotTime)
	b = appendTime(b, now.Truncate(time.Second), false)
	b = appendKey(b, k.links)
	b = append(b, '[')
	link := func(b []byte, rel string, p int) []byte {
		if b[len(b)-1] != '[' {
			b = append(b, ',')
		}
		b = append(b, `{"rel":"`...)
		b = append(b, rel...)
		b = append(b, `","href":`...)
		href := "http://" + r.Host + FleetPath + strconv.Itoa(p)
		if r.URL.RawQuery != "" {
			href += "?" + r.URL.RawQuery
		}
		b = appendString(b, href)
		return append(b, '}')
	}
	b = link(b, "self", page)
	if page < last {
		b = link(b, "next", page+1)
	}
	if page > 1 {
		b = link(b, "prev", page-1)
	}
	b = link(b, "last", last)
	b = append(b, ']')
	b = appendKey(b, k.equipment)
	b, err = s.appendRecords(b, StreamFleetSnapshot, start, end, over, meta)
	s.writePage(w, append(b, '}'), err)
}

// eventQuery is the JSON body of POST /asset-event/log.
type eventQuery struct {
	FromTime    *string  `json:"fromTime"`
	ToTime      *string  `json:"toTime"`
	AssetIDs    []string `json:"assetIds"`
	GroupIDs    []string `json:"groupIds"`
	SiteIDs     []string `json:"siteIds"`
	CustomerIDs []string `json:"customerIds"`
	Type        []string `json:"type"`
	Criticality []string `json:"criticality"`
	Status      []string `json:"status"`
}

// parseEventQuery validates the body; it writes the 400/415 itself.
func parseEventQuery(w http.ResponseWriter, r *http.Request) (q eventQuery, from, to time.Time, ok bool) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
		return q, from, to, false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)) // a filter body is small
	if err := dec.Decode(&q); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "The request body is not valid JSON")
		return q, from, to, false
	}
	var vs []violation
	parse := func(field string, v *string) time.Time {
		if v == nil {
			vs = append(vs, violation{field, "must not be null"})
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, *v)
		if err != nil {
			vs = append(vs, violation{field, "value '" + *v + "' was rejected: must be an ISO-8601 date-time"})
		}
		return t
	}
	from, to = parse("fromTime", q.FromTime), parse("toTime", q.ToTime)
	if len(vs) == 0 && to.Before(from) {
		vs = append(vs, violation{"toTime", "must not be before fromTime"})
	}
	check := func(field string, got []string, allowed []string) {
		for _, v := range got {
			if !slices.Contains(allowed, v) {
				vs = append(vs, violation{field, "value '" + v + "' was rejected: must be one of " + strings.Join(allowed, ", ")})
			}
		}
	}
	var types []string
	for _, t := range eventTypes {
		types = append(types, t.name)
	}
	check("type", q.Type, types)
	check("criticality", q.Criticality, criticalities[:])
	check("status", q.Status, statuses[:])
	if len(vs) > 0 {
		writeViolations(w, vs...)
		return q, from, to, false
	}
	return q, from, to, true
}

// handleEvents serves POST /public/api/eventlog/v3/asset-event/log?page=&size=:
// events with fromTime <= eventTime < toTime, oldest first, filtered by the
// body. groupIds, siteIds and customerIds match nothing: the simulated
// account has no groups, sites or customers.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	page, size, ok := pageParams(w, r)
	if !ok {
		return
	}
	q, from, to, ok := parseEventQuery(w, r)
	if !ok {
		return
	}
	if ok, wait := s.allowEvents(s.now()); !ok {
		s.tooMany(w, StreamAssetEvents, wait, "Rate limit exceeded: 2 requests per 30 minutes per API user")
		return
	}
	n, over := s.snapshot(StreamAssetEvents)
	lo := sort.Search(n, func(i int) bool { return !s.eventTime(i).Before(from) })
	hi := sort.Search(n, func(i int) bool { return !s.eventTime(i).Before(to) })
	hi = max(hi, lo)
	var idx []int // nil: every event in [lo, hi)
	if len(q.GroupIDs)+len(q.SiteIDs)+len(q.CustomerIDs) > 0 {
		idx, lo, hi = []int{}, 0, 0
	} else if len(q.AssetIDs)+len(q.Type)+len(q.Criticality)+len(q.Status) > 0 {
		idx = s.filterEvents(lo, hi, over, &q)
	}
	total := hi - lo
	if idx != nil {
		total = len(idx)
	}
	b, err := appendPage(make([]byte, 0, 420*min(size, total)+128), total, page, size, func(b []byte, k int) ([]byte, error) {
		i := lo + k
		if idx != nil {
			i = idx[k]
		}
		return s.appendRecord(b, StreamAssetEvents, i, over[i], false)
	})
	s.writePage(w, b, err)
}

// filterEvents returns the events in [lo, hi) that match q, reading the
// filtered fields with Update overrides applied.
func (s *Server) filterEvents(lo, hi int, over map[int]map[string]any, q *eventQuery) []int {
	field := func(i int, name, generated string) string {
		if v, ok := over[i][name].(string); ok {
			return v
		}
		return generated
	}
	match := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	out := []int{}
	var id []byte
	for i := lo; i < hi; i++ {
		e := s.event(i)
		if !match(q.Type, field(i, "type", eventTypes[e.typ].name)) ||
			!match(q.Criticality, field(i, "criticality", criticalities[e.crit])) ||
			!match(q.Status, field(i, "status", statuses[e.status])) {
			continue
		}
		if len(q.AssetIDs) > 0 {
			id = appendUUID(id[:0], s.opts.Seed, saltAssetID, e.asset)
			if v, ok := over[i]["assetId"].(string); ok {
				id = append(id[:0], v...)
			}
			if !slices.ContainsFunc(q.AssetIDs, func(a string) bool { return bytes.Equal([]byte(a), id) }) {
				continue
			}
		}
		out = append(out, i)
	}
	return out
}
