package capillarysim

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// writeCustomer writes a v2 search item. v2 is plain JSON: no quirks.
func (s *store) writeCustomer(e *enc, cu *customer, matched []nameValue) {
	e.numf(`{"userId":`, cu.userID)
	e.raw(`,"matchedIdentifiers":`)
	writeIdentifiers(e, matched)
	e.strf(`,"profiles":[{"firstName":`, cu.first)
	e.strf(`,"lastName":`, cu.last)
	e.strf(`,"fields":{"gender":`, cu.gender)
	e.strf(`,"city":`, cu.city)
	e.raw(`},"identifiers":`)
	ids := cu.identifiers()
	writeIdentifiers(e, ids)
	e.raw(`,"commChannels":[`)
	for i, id := range ids {
		if id.name == "externalId" {
			continue
		}
		if i > 0 {
			e.raw(`,`)
		}
		e.strf(`{"type":`, id.name)
		e.strf(`,"value":`, id.value)
		e.raw(`,"primary":true,"verified":`)
		e.boolean(id.name == "mobile" || cu.userID%2 == 0)
		e.raw(`,"meta":{"residence":`)
		e.boolean(cu.index%3 == 0)
		e.raw(`,"office":false}}`)
	}
	e.strf(`],"source":`, cu.source)
	e.numf(`,"accountId":"","userId":`, cu.userID)
	e.timef(`,"createdDate":`, cu.created, v2Time)
	e.timef(`,"autoUpdateTime":`, cu.updated, v2Time)
	e.raw(`}],"loyaltyInfo":`)
	flip := s.alt && cu.index/altBlock%2 == 1
	if flip {
		e.raw(`[`)
	}
	e.strf(`{"loyaltyType":`, cu.loyaltyType)
	e.moneyf(`,"lifetimePurchases":`, cu.purchases)
	e.numf(`,"loyaltyPoints":`, cu.points)
	e.strf(`,"currentSlab":`, cu.slab)
	e.raw(`}`)
	if flip {
		e.raw(`]`)
	}
	if s.alt {
		e.strf(`,"tier":`, cu.slab+"-"+strconv.Itoa(cu.index%3+1))
		e.numf(`,"referralCount":`, int64(cu.index%7))
	}
	e.raw(`}`)
}

// total writes an envelope's total, the key prefix and then n; VariantAlt
// leaves totals out, so that clients page to a short page.
func (s *store) total(e *enc, prefix string, n int) {
	if !s.alt {
		e.numf(prefix, int64(n))
	}
}

func writeIdentifiers(e *enc, ids []nameValue) {
	e.raw(`[`)
	for i, id := range ids {
		if i > 0 {
			e.raw(`,`)
		}
		e.strf(`{"type":`, id.name)
		e.strf(`,"value":`, id.value)
		e.raw(`}`)
	}
	e.raw(`]`)
}

// writeTransaction writes a v1.1 transaction; e.quote says whether its
// numbers are strings, and bare decides, per list, whether a one-item list
// is a bare object.
func (s *store) writeTransaction(e *enc, t *transaction, bare Mode) {
	bareList := func(which uint64) bool {
		return bare.pick(mix3(s.seed, saltBareList, uint64(t.id)*4+which))
	}
	e.numf(`{"id":`, t.id)
	e.strf(`,"number":`, t.number)
	e.strf(`,"type":`, t.typ)
	if s.alt && t.index/altBlock%2 == 1 {
		e.moneyf(`,"amount":{"value":`, t.amount)
		e.raw(`,"currency":"INR"}`)
	} else {
		e.moneyf(`,"amount":`, t.amount)
	}
	if s.alt {
		e.strf(`,"channel":`, []string{"POS", "APP", "WEB"}[t.id%3])
		e.raw(`,"fraud_check":{"score":`)
		e.num(t.id % 100)
		e.raw(`,"passed":true}`)
	}
	e.moneyf(`,"gross_amount":`, t.gross)
	e.moneyf(`,"discount":`, t.discount)
	e.timef(`,"billing_time":`, t.billing, v11Time)
	e.timef(`,"auto_update_time":`, t.updated, v11Time)
	e.strf(`,"store":`, t.store)
	e.strf(`,"store_code":`, t.storeCode)
	e.numf(`,"basket_size":`, t.basket)
	e.numf(`,"points":{"issued":`, t.issued)
	e.numf(`,"redeemed":`, t.redeemed)
	e.numf(`,"returned":`, t.returned)
	e.numf(`,"expired":`, t.expired)
	e.timef(`,"expiry_date":`, t.expiry, v11Time)
	e.numf(`,"program_id":`, 1016)
	e.numf(`},"currency":{"code":"INR","ratio":`, 1)
	e.raw(`},"custom_fields":`)
	e.list("field", len(t.custom), bareList(0), func(i int) { writeField(e, t.custom[i]) })
	e.raw(`,"extended_fields":`)
	e.list("field", len(t.extended), bareList(1), func(i int) { writeField(e, t.extended[i]) })
	e.raw(`,"coupons":`)
	e.list("coupon", len(t.coupons), bareList(2), func(i int) {
		c := t.coupons[i]
		e.numf(`{"id":`, c.id)
		e.strf(`,"code":`, c.code)
		e.moneyf(`,"discount":`, c.discount)
		e.raw(`}`)
	})
	e.raw(`,"line_items":`)
	e.list("line_item", len(t.lines), bareList(3), func(i int) {
		li := &t.lines[i]
		e.numf(`{"serial":`, li.serial)
		e.strf(`,"item_code":`, li.code)
		e.strf(`,"description":`, li.desc)
		e.numf(`,"qty":`, li.qty)
		e.moneyf(`,"rate":`, li.rate)
		e.moneyf(`,"value":`, li.value)
		e.moneyf(`,"discount":`, li.discount)
		e.moneyf(`,"amount":`, li.amount)
		e.raw(`}`)
	})
	e.raw(`}`)
}

func writeField(e *enc, f nameValue) {
	e.strf(`{"name":`, f.name)
	e.strf(`,"value":`, f.value)
	e.raw(`}`)
}

// handleSearch serves GET /v2/customers/search?q=&limit=&offset=. A q of
// Options.SearchAll (by default empty or "*") lists every customer; an
// empty q otherwise is refused; any other q is matched, case-insensitively,
// against names and identifiers (a scan: fine for tests, slow for 100k).
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q, "limit", DefaultSearchLimit)
	if err != nil || limit < 1 || limit > MaxSearchLimit {
		s.v2Error(w, r, "limit must be a number from 1 to "+strconv.Itoa(MaxSearchLimit))
		return
	}
	offset, err := intParam(q, "offset", 0)
	if err != nil || offset < 0 {
		s.v2Error(w, r, "offset must be a number from 0")
		return
	}
	query := strings.ToLower(strings.TrimSpace(q.Get("q")))
	all := slices.Contains(s.all, query)
	if query == "" && !all {
		s.v2Error(w, r, "q must not be empty")
		return
	}

	d := s.data
	e := enc{b: make([]byte, 0, 256+1200*min(limit, 1000))}
	d.mu.RLock()
	n := d.customers()
	e.numf(`{"pagination":{"limit":`, int64(limit))
	e.numf(`,"offset":`, int64(offset))
	if all {
		d.total(&e, `,"total":`, n)
		e.raw(`},"data":[`)
		for c := offset; c < min(offset+limit, n); c++ {
			if c > offset {
				e.raw(`,`)
			}
			cu := d.customer(c)
			d.writeCustomer(&e, &cu, nil)
		}
	} else {
		body := enc{b: make([]byte, 0, cap(e.b))}
		total := 0
		for c := range n {
			cu := d.customer(c)
			ok, matched := cu.matches(query)
			if !ok {
				continue
			}
			if total >= offset && total < offset+limit {
				if total > offset {
					body.raw(`,`)
				}
				d.writeCustomer(&body, &cu, matched)
			}
			total++
		}
		d.total(&e, `,"total":`, total)
		e.raw(`},"data":[`)
		e.b = append(e.b, body.b...)
	}
	d.mu.RUnlock()
	e.raw(`],"warnings":[],"errors":[]}`)
	s.page(StreamCustomers)
	s.write(w, r, http.StatusOK, e.b)
}

// identifierParams are the v1.1 query parameters that name a customer.
var identifierParams = []string{"mobile", "email", "external_id", "id"}

// handleTransactions serves GET /v1.1/customer/transactions for one
// customer, named by exactly one of mobile, email, external_id or id (the
// userId), with limit (default 10, no upper bound), offset, start_date and
// end_date (inclusive; "2006-01-02 15:04:05", "2006-01-02T15:04:05" or
// "2006-01-02", in the org's zone, or RFC 3339), sort (trans_date or
// trans_id; both give the same order here) and order (asc, the default, or
// desc).
func (s *Server) handleTransactions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var kind, value string
	for _, p := range identifierParams {
		if v := q.Get(p); v != "" {
			if kind != "" {
				s.v11Error(w, r, "give one of mobile, email, external_id or id, not "+kind+" and "+p)
				return
			}
			kind, value = p, v
		}
	}
	if kind == "" {
		s.v11Error(w, r, "one of mobile, email, external_id or id is required")
		return
	}
	if strings.Contains(value, ",") {
		s.v11Error(w, r, "batch lookups are not supported by the simulator")
		return
	}
	limit, err := intParam(q, "limit", DefaultTransactionsLimit)
	if err != nil || limit < 1 {
		s.v11Error(w, r, "limit must be a positive number")
		return
	}
	offset, err := intParam(q, "offset", 0)
	if err != nil || offset < 0 {
		s.v11Error(w, r, "offset must be a number from 0")
		return
	}
	from, err := s.timeParam(q, "start_date")
	if err != nil {
		s.v11Error(w, r, "start_date: "+err.Error())
		return
	}
	to, err := s.timeParam(q, "end_date")
	if err != nil {
		s.v11Error(w, r, "end_date: "+err.Error())
		return
	}
	if v := q.Get("sort"); v != "" && v != "trans_date" && v != "trans_id" {
		s.v11Error(w, r, "sort must be trans_date or trans_id")
		return
	}
	desc := false
	switch strings.ToLower(q.Get("order")) {
	case "", "asc":
	case "desc":
		desc = true
	default:
		s.v11Error(w, r, "order must be asc or desc")
		return
	}

	s.mu.Lock()
	quirks := s.quirks
	s.mu.Unlock()
	d := s.data
	d.mu.RLock()
	c, found := d.lookup(kind, value)
	if !found {
		d.mu.RUnlock()
		s.v11NotFound(w, r, kind, value)
		return
	}
	cu := d.customer(c)
	var list []int
	for _, g := range d.customerTx(c) {
		_, billing, _ := d.locate(g)
		if (!from.IsZero() && billing.Before(from)) || (!to.IsZero() && billing.After(to)) {
			continue
		}
		list = append(list, g)
	}
	if desc {
		list = reversed(list)
	}
	page := list[min(offset, len(list)):min(offset+limit, len(list))]

	h := mix3(uint64(c), uint64(offset), uint64(limit))
	// Under Mixed each envelope field picks its own shape, as in Capillary's
	// sample where "count" is a number and "rows" a string in one body.
	hEnv := mix3(d.seed, saltEnvelope, h)
	quote := func(field uint) bool { return quirks.StringNumbers.pick(hEnv >> field) }
	e := enc{b: make([]byte, 0, 1024+1500*len(page))}
	e.quote = quote(0)
	e.raw(`{"response":{"status":{"success":`)
	e.boolean(true)
	e.quote = quote(1)
	e.numf(`,"code":`, 200)
	e.quote = quote(2)
	e.numf(`,"message":"Success","total":`, 1)
	e.numf(`,"success_count":`, 1)
	e.quote = quote(3)
	e.numf(`},"customer":{"user_id":`, cu.userID)
	e.strf(`,"firstname":`, cu.first)
	e.strf(`,"lastname":`, cu.last)
	e.strf(`,"mobile":`, cu.mobile)
	e.strf(`,"email":`, cu.email)
	e.strf(`,"external_id":`, cu.externalID)
	e.quote = quote(4)
	d.total(&e, `,"count":`, len(list))
	start := int64(0)
	if len(page) > 0 {
		start = FirstTransactionID + int64(page[0])
	}
	e.quote = quote(5)
	e.numf(`,"start":`, start)
	e.quote = quote(6)
	e.numf(`,"rows":`, int64(len(page)))
	e.raw(`,"transactions":`)
	e.list("transaction", len(page), quirks.BareObjects.pick(mix3(d.seed, saltBareTx, h)), func(i int) {
		t := d.transaction(page[i])
		e.quote = quirks.StringNumbers.pick(mix3(d.seed, saltRecordQuote, uint64(t.id)))
		d.writeTransaction(&e, &t, quirks.BareObjects)
	})
	d.mu.RUnlock()
	e.quote = quote(7)
	e.raw(`,"item_status":{"success":`)
	e.boolean(true)
	e.numf(`,"code":`, CodeTxFetched)
	e.raw(`,"message":"Transactions fetched successfully","warnings":{"warning":[]}}}}}`)
	s.page(StreamTransactions)
	s.write(w, r, http.StatusOK, e.b)
}

// v11NotFound answers an unknown customer the v1.1 way: HTTP 200 with
// status code 500 ("all failed") and item_status 1012.
func (s *Server) v11NotFound(w http.ResponseWriter, r *http.Request, kind, value string) {
	e := enc{}
	e.strf(`{"response":{"status":{"success":false,"code":500,"message":"All requests have failed due to errors","total":1,"success_count":0},"customer":{`, kind)
	e.strf(`:`, value)
	e.raw(`,"item_status":{"success":false,"code":1012,"message":"Customer not found","warnings":{"warning":[]}}}}}`)
	s.write(w, r, http.StatusOK, e.b)
}

// v11Error answers a bad v1.1 request: HTTP 400 and code 400 in the body.
func (s *Server) v11Error(w http.ResponseWriter, r *http.Request, msg string) {
	e := enc{}
	e.strf(`{"response":{"status":{"success":false,"code":400,"message":`, "Invalid input: "+msg)
	e.raw(`}}}`)
	s.write(w, r, http.StatusBadRequest, e.b)
}

// v2Error answers a bad v2 request: HTTP 400 and a v2 errors list.
func (s *Server) v2Error(w http.ResponseWriter, r *http.Request, msg string) {
	e := enc{}
	e.strf(`{"data":[],"warnings":[],"errors":[{"status":false,"code":400,"message":`, msg)
	e.raw(`}]}`)
	s.write(w, r, http.StatusBadRequest, e.b)
}

func (s *Server) page(stream string) {
	s.mu.Lock()
	s.stats.Pages[stream]++
	s.mu.Unlock()
}

// intParam reads a non-negative-or-not integer parameter, def when absent.
func intParam(q url.Values, name string, def int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
}

// timeLayouts are the start_date/end_date forms accepted, in the org's zone.
var timeLayouts = []string{v11Time, "2006-01-02T15:04:05", "2006-01-02"}

// timeParam reads a date parameter; zero when absent.
func (s *Server) timeParam(q url.Values, name string) (time.Time, error) {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, v, s.loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &timeError{value: v}
}

type timeError struct{ value string }

func (e *timeError) Error() string {
	return "cannot read " + strconv.Quote(e.value) + " as \"2006-01-02 15:04:05\""
}
