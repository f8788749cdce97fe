package capillarysim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// writeCustomer writes a v2 search item. v2 is plain JSON: no quirks.
func (d *store) writeCustomer(e *enc, cu *customer, matched []nameValue) {
	e.raw(`{"userId":`)
	e.num(cu.userID)
	e.raw(`,"matchedIdentifiers":`)
	writeIdentifiers(e, matched)
	e.raw(`,"profiles":[{"firstName":`)
	e.str(cu.first)
	e.raw(`,"lastName":`)
	e.str(cu.last)
	e.raw(`,"fields":{"gender":`)
	e.str(cu.gender)
	e.raw(`,"city":`)
	e.str(cu.city)
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
		e.raw(`{"type":`)
		e.str(id.name)
		e.raw(`,"value":`)
		e.str(id.value)
		e.raw(`,"primary":true,"verified":`)
		e.boolean(id.name == "mobile" || cu.userID%2 == 0)
		e.raw(`,"meta":{"residence":`)
		e.boolean(cu.index%3 == 0)
		e.raw(`,"office":false}}`)
	}
	e.raw(`],"source":`)
	e.str(cu.source)
	e.raw(`,"accountId":"","userId":`)
	e.num(cu.userID)
	e.raw(`,"createdDate":`)
	e.time(cu.created, v2Time)
	e.raw(`,"autoUpdateTime":`)
	e.time(cu.updated, v2Time)
	e.raw(`}],"loyaltyInfo":{"loyaltyType":`)
	e.str(cu.loyaltyType)
	e.raw(`,"lifetimePurchases":`)
	e.money(cu.purchases)
	e.raw(`,"loyaltyPoints":`)
	e.num(cu.points)
	e.raw(`,"currentSlab":`)
	e.str(cu.slab)
	e.raw(`}}`)
}

func writeIdentifiers(e *enc, ids []nameValue) {
	e.raw(`[`)
	for i, id := range ids {
		if i > 0 {
			e.raw(`,`)
		}
		e.raw(`{"type":`)
		e.str(id.name)
		e.raw(`,"value":`)
		e.str(id.value)
		e.raw(`}`)
	}
	e.raw(`]`)
}

// writeTransaction writes a v1.1 transaction; e.quote says whether its
// numbers are strings, and bare decides, per list, whether a one-item list
// is a bare object.
func (d *store) writeTransaction(e *enc, t *transaction, bare Mode) {
	bareList := func(which uint64) bool {
		return bare.pick(mix3(d.seed, saltBareList, uint64(t.id)*4+which))
	}
	e.raw(`{"id":`)
	e.num(t.id)
	e.raw(`,"number":`)
	e.str(t.number)
	e.raw(`,"type":`)
	e.str(t.typ)
	e.raw(`,"amount":`)
	e.money(t.amount)
	e.raw(`,"gross_amount":`)
	e.money(t.gross)
	e.raw(`,"discount":`)
	e.money(t.discount)
	e.raw(`,"billing_time":`)
	e.time(t.billing, v11Time)
	e.raw(`,"auto_update_time":`)
	e.time(t.updated, v11Time)
	e.raw(`,"store":`)
	e.str(t.store)
	e.raw(`,"store_code":`)
	e.str(t.storeCode)
	e.raw(`,"basket_size":`)
	e.num(t.basket)
	e.raw(`,"points":{"issued":`)
	e.num(t.issued)
	e.raw(`,"redeemed":`)
	e.num(t.redeemed)
	e.raw(`,"returned":`)
	e.num(t.returned)
	e.raw(`,"expired":`)
	e.num(t.expired)
	e.raw(`,"expiry_date":`)
	e.time(t.expiry, v11Time)
	e.raw(`,"program_id":`)
	e.num(1016)
	e.raw(`},"currency":{"code":"INR","ratio":`)
	e.num(1)
	e.raw(`},"custom_fields":`)
	e.list("field", len(t.custom), bareList(0), func(i int) { writeField(e, t.custom[i]) })
	e.raw(`,"extended_fields":`)
	e.list("field", len(t.extended), bareList(1), func(i int) { writeField(e, t.extended[i]) })
	e.raw(`,"coupons":`)
	e.list("coupon", len(t.coupons), bareList(2), func(i int) {
		c := t.coupons[i]
		e.raw(`{"id":`)
		e.num(c.id)
		e.raw(`,"code":`)
		e.str(c.code)
		e.raw(`,"discount":`)
		e.money(c.discount)
		e.raw(`}`)
	})
	e.raw(`,"line_items":`)
	e.list("line_item", len(t.lines), bareList(3), func(i int) {
		li := &t.lines[i]
		e.raw(`{"serial":`)
		e.num(li.serial)
		e.raw(`,"item_code":`)
		e.str(li.code)
		e.raw(`,"description":`)
		e.str(li.desc)
		e.raw(`,"qty":`)
		e.num(li.qty)
		e.raw(`,"rate":`)
		e.money(li.rate)
		e.raw(`,"value":`)
		e.money(li.value)
		e.raw(`,"discount":`)
		e.money(li.discount)
		e.raw(`,"amount":`)
		e.money(li.amount)
		e.raw(`}`)
	})
	e.raw(`}`)
}

func writeField(e *enc, f nameValue) {
	e.raw(`{"name":`)
	e.str(f.name)
	e.raw(`,"value":`)
	e.str(f.value)
	e.raw(`}`)
}

// handleSearch serves GET /v2/customers/search?q=&limit=&offset=. An empty q
// or "*" lists every customer; otherwise q is matched, case-insensitively,
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
	all := query == "" || query == "*"

	d := s.data
	e := enc{b: make([]byte, 0, 256+1200*min(limit, 1000))}
	d.mu.RLock()
	n := d.customers()
	e.raw(`{"pagination":{"limit":`)
	e.num(int64(limit))
	e.raw(`,"offset":`)
	e.num(int64(offset))
	e.raw(`,"total":`)
	if all {
		e.num(int64(n))
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
		e.num(int64(total))
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
	e := enc{
		b:     make([]byte, 0, 1024+1500*len(page)),
		quote: quirks.StringNumbers.pick(mix3(d.seed, saltEnvelope, h)),
	}
	e.raw(`{"response":{"status":{"success":`)
	e.boolean(true)
	e.raw(`,"code":`)
	e.num(200)
	e.raw(`,"message":"Success","total":`)
	e.num(1)
	e.raw(`,"success_count":`)
	e.num(1)
	e.raw(`},"customer":{"user_id":`)
	e.num(cu.userID)
	e.raw(`,"firstname":`)
	e.str(cu.first)
	e.raw(`,"lastname":`)
	e.str(cu.last)
	e.raw(`,"mobile":`)
	e.str(cu.mobile)
	e.raw(`,"email":`)
	e.str(cu.email)
	e.raw(`,"external_id":`)
	e.str(cu.externalID)
	e.raw(`,"count":`)
	e.num(int64(len(list)))
	e.raw(`,"start":`)
	start := int64(0)
	if len(page) > 0 {
		start = FirstTransactionID + int64(page[0])
	}
	e.num(start)
	e.raw(`,"rows":`)
	e.num(int64(len(page)))
	e.raw(`,"transactions":`)
	envQuote := e.quote
	e.list("transaction", len(page), quirks.BareObjects.pick(mix3(d.seed, saltBareTx, h)), func(i int) {
		t := d.transaction(page[i])
		e.quote = quirks.StringNumbers.pick(mix3(d.seed, saltRecordQuote, uint64(t.id)))
		d.writeTransaction(&e, &t, quirks.BareObjects)
		e.quote = envQuote
	})
	d.mu.RUnlock()
	e.raw(`,"item_status":{"success":`)
	e.boolean(true)
	e.raw(`,"code":`)
	e.num(CodeTxFetched)
	e.raw(`,"message":"Transactions fetched successfully","warnings":{"warning":[]}}}}}`)
	s.page(StreamTransactions)
	s.write(w, r, http.StatusOK, e.b)
}

// v11NotFound answers an unknown customer the v1.1 way: HTTP 200 with
// status code 500 ("all failed") and item_status 1012.
func (s *Server) v11NotFound(w http.ResponseWriter, r *http.Request, kind, value string) {
	e := enc{}
	e.raw(`{"response":{"status":{"success":false,"code":500,"message":"All requests have failed due to errors","total":1,"success_count":0},"customer":{`)
	e.str(kind)
	e.raw(`:`)
	e.str(value)
	e.raw(`,"item_status":{"success":false,"code":1012,"message":"Customer not found","warnings":{"warning":[]}}}}}`)
	s.write(w, r, http.StatusOK, e.b)
}

// v11Error answers a bad v1.1 request: HTTP 400 and code 400 in the body.
func (s *Server) v11Error(w http.ResponseWriter, r *http.Request, msg string) {
	e := enc{}
	e.raw(`{"response":{"status":{"success":false,"code":400,"message":`)
	e.str("Invalid input: " + msg)
	e.raw(`}}}`)
	s.write(w, r, http.StatusBadRequest, e.b)
}

// v2Error answers a bad v2 request: HTTP 400 and a v2 errors list.
func (s *Server) v2Error(w http.ResponseWriter, r *http.Request, msg string) {
	e := enc{}
	e.raw(`{"data":[],"warnings":[],"errors":[{"status":false,"code":400,"message":`)
	e.str(msg)
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
