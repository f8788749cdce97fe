package capillarysim

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxCustomers is how many customers fit in the 8 digits of the index that
// mobile numbers and external ids carry.
const maxCustomers = 99_999_999

// Salts keep the hash streams of different uses apart.
const (
	saltCustomer uint64 = iota + 1
	saltCreated
	saltCount
	saltTx
	saltJitter
	saltAppend
	saltJTI
	saltJWTKey
	saltEnvelope
	saltRecordQuote
	saltBareTx
	saltBareList
)

// mix is the splitmix64 finalizer: a cheap, well-spread hash of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func mix3(a, b, c uint64) uint64 { return mix(mix(mix(a)^b) ^ c) }

// rng is a splitmix64 stream for the fields of one record.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

var (
	firstNames = []string{"Tom", "Asha", "Ravi", "Meera", "Arjun", "Priya", "Kiran", "Sana", "Vikram", "Anita", "Rahul", "Divya", "Imran", "Lakshmi", "Neil", "Zoya"}
	lastNames  = []string{"Sawyer", "Iyer", "Sharma", "Nair", "Reddy", "Khan", "Menon", "Das", "Kapoor", "Rao", "Pillai", "Mehta", "Singh", "Joshi"}
	genders    = []string{"Male", "Female", "Other"}
	cities     = []string{"Bangalore", "Mumbai", "Delhi", "Chennai", "Hyderabad", "Pune", "Kolkata"}
	sources    = []string{"INSTORE", "INSTORE", "INSTORE", "ECOMMERCE", "MOBILE_APP"}
	slabs      = []string{"Bronze", "Silver", "Gold", "Platinum"}
	stores     = []struct{ code, name string }{
		{"blr.koramangala", "Koramangala"}, {"mum.bandra", "Bandra West"}, {"del.saket", "Saket"},
		{"chn.tnagar", "T. Nagar"}, {"hyd.banjara", "Banjara Hills"}, {"web.store", "Online \"Web\" Store"},
	}
	items = []struct {
		code, desc string
		rate       int64 // cents
	}{
		{"SKU-0001", "Cotton shirt", 129900}, {"SKU-0002", "Denim jeans", 249950}, {"SKU-0003", "Socks (3 pack)", 39900},
		{"SKU-0004", "Leather belt", 89999}, {"SKU-0005", "Gift card", 100000}, {"SKU-0006", "Café mug", 34950},
		{"SKU-0007", "Sneakers", 399900}, {"SKU-0008", "Cap", 49900},
	}
	channels     = []string{"POS", "KIOSK", "APP"}
	paymentModes = []string{"CARD", "CASH", "UPI", "WALLET"}
)

// store generates the data and holds the few mutations made to it.
type store struct {
	seed  uint64
	loc   *time.Location
	end   time.Time // every generated (not appended) time is before end
	maxTx int
	alt   bool // Options.Variant is VariantAlt; set before serving

	mu       sync.RWMutex // guards the fields below
	base     int          // customers generated from the seed
	prefix   []int        // base transactions of customer c: global indexes prefix[c] .. prefix[c+1]-1
	added    []time.Time  // registration times of appended customers
	extra    []extraTx    // appended transactions; global index prefix[base]+k
	extraOf  map[int][]int
	last     time.Time // latest billing time so far
	days     int       // days of changes applied (ApplyDay)
	custOver map[int]*override
	txOver   map[int]*override
}

// extraTx is an appended transaction.
type extraTx struct {
	cust    int
	billing time.Time
}

// override is what Update changed in one record.
type override struct {
	sets    []fieldSet
	updated time.Time
}

type fieldSet struct {
	field string
	value any
}

func newStore(seed uint64, customers, maxTx int, loc *time.Location) *store {
	s := &store{
		seed:     seed,
		loc:      loc,
		end:      time.Date(2025, 6, 30, 0, 0, 0, 0, loc),
		maxTx:    maxTx,
		base:     customers,
		prefix:   make([]int, customers+1),
		extraOf:  map[int][]int{},
		custOver: map[int]*override{},
		txOver:   map[int]*override{},
	}
	s.last = s.end
	for c := range customers {
		s.prefix[c+1] = s.prefix[c] + s.baseCount(c)
	}
	return s
}

// baseCount is the number of generated transactions of customer c.
func (s *store) baseCount(c int) int {
	switch {
	case s.maxTx == 0 || c%10 == 3: // some customers never bought anything
		return 0
	case c%10 == 7: // and some exactly once: a one-item list in v1.1
		return 1
	}
	return int(mix3(s.seed, saltCount, uint64(c)) % uint64(s.maxTx+1))
}

// customers returns the number of customers; s.mu is held.
func (s *store) customers() int { return s.base + len(s.added) }

// transactions returns the number of transactions; s.mu is held.
func (s *store) transactions() int { return s.prefix[s.base] + len(s.extra) }

// customer is one generated customer.
type customer struct {
	index                     int
	userID                    int64
	first, last               string
	mobile, email, externalID string // email and externalID may be empty
	gender, city, source      string
	loyaltyType, slab         string
	points                    int64
	purchases                 int64 // cents
	created, updated          time.Time
}

func pad8(prefix string, n int) string {
	b := make([]byte, 0, len(prefix)+8)
	b = append(b, prefix...)
	d := strconv.Itoa(n)
	for range 8 - len(d) {
		b = append(b, '0')
	}
	return string(append(b, d...))
}

// mobileOf and externalIDOf carry the customer index, so lookups need no map.
func mobileOf(c int) string     { return pad8("9198", c+1) }
func externalIDOf(c int) string { return pad8("EXT", c+1) }

func (s *store) baseCreated(c int) time.Time {
	h := mix3(s.seed, saltCreated, uint64(c))
	days := 365 + int64(h%730)
	secs := int64((h >> 20) % 86400)
	return s.end.Add(-time.Duration(days*86400+secs) * time.Second)
}

// customer generates customer c with its updates applied; s.mu is held.
func (s *store) customer(c int) customer {
	r := rng{mix3(s.seed, saltCustomer, uint64(c))}
	cu := customer{index: c, userID: FirstUserID + int64(c)}
	cu.first = firstNames[r.intn(len(firstNames))]
	cu.last = lastNames[r.intn(len(lastNames))]
	cu.mobile = mobileOf(c)
	if c%7 != 5 {
		cu.email = strings.ToLower(cu.first) + "." + strings.ToLower(cu.last) + "." + strconv.FormatInt(cu.userID, 10) + "@example.com"
	}
	if c%5 != 2 {
		cu.externalID = externalIDOf(c)
	}
	cu.gender = genders[r.intn(len(genders))]
	cu.city = cities[r.intn(len(cities))]
	cu.source = sources[r.intn(len(sources))]
	cu.loyaltyType = "loyalty"
	if c%11 == 4 {
		cu.loyaltyType = "non_loyalty"
	}
	cu.slab = slabs[r.intn(len(slabs))]
	cu.points = int64(r.intn(5000))
	cu.purchases = int64(r.intn(10_000_000))
	if c < s.base {
		cu.created = s.baseCreated(c)
		cu.updated = cu.created.Add(time.Duration(r.intn(30*86400)) * time.Second)
		if n := s.prefix[c+1] - s.prefix[c]; n > 0 {
			cu.updated = s.baseBilling(c, n-1, n, s.prefix[c+1]-1).Add(time.Hour)
		}
	} else {
		cu.created = s.added[c-s.base]
		cu.updated = cu.created
	}
	if ov := s.custOver[c]; ov != nil {
		for _, f := range ov.sets {
			_ = applyCustomer(&cu, f) // validated by Update
		}
		cu.updated = ov.updated
	}
	return cu
}

// baseBilling is the billing time of customer c's k-th of n generated
// transactions (global index g): spread between registration and s.end,
// strictly increasing in k.
func (s *store) baseBilling(c, k, n, g int) time.Time {
	created := s.baseCreated(c)
	span := int64(s.end.Sub(created) / time.Second)
	off := span * int64(k+1) / int64(n+1)
	jitter := int64(mix3(s.seed, saltJitter, uint64(g)) % 3600) // < the gap between transactions (≥ 40 days)
	return created.Add(time.Duration(off-jitter) * time.Second)
}

// locate returns the customer and billing time of transaction g; s.mu is held.
func (s *store) locate(g int) (cust int, billing time.Time, appended bool) {
	if g < s.prefix[s.base] {
		c := sort.Search(s.base, func(i int) bool { return s.prefix[i+1] > g })
		k := g - s.prefix[c]
		n := s.prefix[c+1] - s.prefix[c]
		return c, s.baseBilling(c, k, n, g), false
	}
	x := s.extra[g-s.prefix[s.base]]
	return x.cust, x.billing, true
}

// customerTx returns the global indexes of customer c's transactions in
// billing order (which is also id order); s.mu is held.
func (s *store) customerTx(c int) []int {
	var out []int
	if c < s.base {
		for g := s.prefix[c]; g < s.prefix[c+1]; g++ {
			out = append(out, g)
		}
	}
	return append(out, s.extraOf[c]...)
}

type nameValue struct{ name, value string }

type coupon struct {
	id       int64
	code     string
	discount int64 // cents
}

type lineItem struct {
	serial                int64
	code, desc            string
	qty                   int64
	rate, value, discount int64 // cents
	amount                int64 // cents
}

// transaction is one generated transaction. Money is in cents.
type transaction struct {
	index                    int
	id                       int64
	cust                     int
	number, typ              string
	amount, gross, discount  int64
	billing, updated, expiry time.Time
	store, storeCode         string
	basket                   int64
	issued, redeemed         int64
	returned, expired        int64
	custom, extended         []nameValue
	coupons                  []coupon
	lines                    []lineItem
}

// transaction generates transaction g with its updates applied; s.mu is held.
func (s *store) transaction(g int) transaction {
	c, billing, appended := s.locate(g)
	r := rng{mix3(s.seed, saltTx, uint64(g))}
	t := transaction{index: g, id: FirstTransactionID + int64(g), cust: c, billing: billing}
	t.number = "B" + strconv.FormatInt(t.id, 10)
	t.typ = "REGULAR"
	if r.intn(10) == 0 {
		t.typ = "RETURN"
	}
	st := stores[r.intn(len(stores))]
	t.store, t.storeCode = st.name, st.code
	t.lines = make([]lineItem, 1+r.intn(4))
	for i := range t.lines {
		it := items[r.intn(len(items))]
		li := lineItem{serial: int64(i + 1), code: it.code, desc: it.desc, qty: int64(1 + r.intn(3)), rate: it.rate}
		li.value = li.qty * li.rate
		if r.intn(4) == 0 {
			li.discount = li.value / 10
		}
		li.amount = li.value - li.discount
		t.lines[i] = li
		t.gross += li.value
		t.discount += li.discount
		t.basket += li.qty
	}
	t.amount = t.gross - t.discount
	if t.typ == "RETURN" {
		t.returned = t.amount / 10000 // one point per 100 currency units
	} else {
		t.issued = t.amount / 10000
	}
	if r.intn(3) == 0 {
		t.redeemed = int64(r.intn(50))
	}
	if r.intn(10) == 0 {
		t.expired = int64(r.intn(20))
	}
	t.expiry = billing.AddDate(1, 0, 0)
	custom := []nameValue{{"channel", channels[r.intn(len(channels))]}, {"cashier", pad8("C", r.intn(500))}}
	t.custom = custom[:r.intn(3)]
	extended := []nameValue{{"payment_mode", paymentModes[r.intn(len(paymentModes))]}, {"delivery_status", "DELIVERED"}}
	t.extended = extended[:r.intn(3)]
	if r.intn(4) == 0 {
		t.coupons = []coupon{{id: 44000000 + int64(g), code: couponCode(r.next()), discount: 5000}}
	}
	t.updated = billing
	if !appended {
		t.updated = billing.Add(time.Duration(r.intn(2*86400)) * time.Second)
	}
	if ov := s.txOver[g]; ov != nil {
		for _, f := range ov.sets {
			_ = applyTransaction(&t, f) // validated by Update
		}
		t.updated = ov.updated
	}
	return t
}

func couponCode(h uint64) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var b [8]byte
	for i := range b {
		b[i] = alphabet[h%uint64(len(alphabet))]
		h /= uint64(len(alphabet))
	}
	return string(b[:])
}

// lookup finds a customer by a v1.1 identifier; s.mu is held.
func (s *store) lookup(kind, value string) (int, bool) {
	var c int
	switch kind {
	case "mobile":
		c = indexFrom(value, "9198", 12)
	case "external_id":
		c = indexFrom(value, "EXT", 11)
	case "email":
		at := strings.LastIndexByte(value, '@')
		dot := strings.LastIndexByte(value[:max(at, 0)], '.')
		if at < 0 || dot < 0 {
			return 0, false
		}
		id, err := strconv.ParseInt(value[dot+1:at], 10, 64)
		if err != nil {
			return 0, false
		}
		c = int(id - FirstUserID)
	case "id":
		id, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return 0, false
		}
		c = int(id - FirstUserID)
	default:
		return 0, false
	}
	if c < 0 || c >= s.customers() {
		return 0, false
	}
	cu := s.customer(c)
	switch kind {
	case "mobile":
		return c, cu.mobile == value
	case "external_id":
		return c, cu.externalID == value
	case "email":
		return c, cu.email != "" && strings.EqualFold(cu.email, value)
	}
	return c, true
}

// indexFrom reads the customer index out of a mobile number or external id.
func indexFrom(v, prefix string, n int) int {
	if len(v) != n || !strings.HasPrefix(v, prefix) {
		return -1
	}
	i, err := strconv.Atoi(v[len(prefix):])
	if err != nil {
		return -1
	}
	return i - 1
}

// Count returns the number of records in stream (0 for an unknown stream).
func (s *Server) Count(stream string) int {
	d := s.data
	d.mu.RLock()
	defer d.mu.RUnlock()
	switch stream {
	case StreamCustomers:
		return d.customers()
	case StreamTransactions:
		return d.transactions()
	}
	return 0
}

// IDs returns the ids of stream's records in index order: userId for
// customers, id for transactions. Both increase with the index.
func (s *Server) IDs(stream string) []int64 {
	n := s.Count(stream)
	first := FirstUserID
	if stream == StreamTransactions {
		first = FirstTransactionID
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = first + int64(i)
	}
	return ids
}

// Record returns the i-th record of stream as decoded JSON (numbers are
// float64), in the plain shape: numbers as JSON numbers and lists as arrays.
// A customer is the v2 search item (matchedIdentifiers empty); a
// transaction is the v1.1 transaction object. It returns nil when i is out
// of range or the stream unknown.
func (s *Server) Record(stream string, i int) map[string]any {
	b := s.RecordJSON(stream, i)
	if b == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil // cannot happen: the encoder writes valid JSON
	}
	return m
}

// RecordJSON returns the i-th record of stream as Record finds it, but as
// the raw JSON the API serves, for tests that compare values kept as the
// vendor sent them; nil when there is no such record.
func (s *Server) RecordJSON(stream string, i int) []byte {
	d := s.data
	e := enc{}
	d.mu.RLock()
	defer d.mu.RUnlock()
	switch {
	case stream == StreamCustomers && i >= 0 && i < d.customers():
		cu := d.customer(i)
		d.writeCustomer(&e, &cu, nil)
	case stream == StreamTransactions && i >= 0 && i < d.transactions():
		t := d.transaction(i)
		d.writeTransaction(&e, &t, Plain)
	}
	if len(e.b) == 0 {
		return nil
	}
	return e.b
}

// CustomerTransactions returns the ids of the customer's transactions in
// billing order (nil for an unknown userID). Tests use it to find customers
// with none or exactly one.
func (s *Server) CustomerTransactions(userID int64) []int64 {
	d := s.data
	d.mu.RLock()
	defer d.mu.RUnlock()
	c := int(userID - FirstUserID)
	if c < 0 || c >= d.customers() {
		return nil
	}
	var ids []int64
	for _, g := range d.customerTx(c) {
		ids = append(ids, FirstTransactionID+int64(g))
	}
	return ids
}

// TransactionUser returns the userId of the customer a transaction
// belongs to.
func (s *Server) TransactionUser(id int64) (int64, bool) {
	d := s.data
	d.mu.RLock()
	defer d.mu.RUnlock()
	g := int(id - FirstTransactionID)
	if g < 0 || g >= d.transactions() {
		return 0, false
	}
	c, _, _ := d.locate(g)
	return FirstUserID + int64(c), true
}

// Append adds n records to stream and returns their ids. New customers
// register now (by Options.Now) and have no transactions. New transactions
// go to existing customers (chosen from the seed) with billing times now or
// later, strictly increasing, so a start_date filter finds them.
func (s *Server) Append(stream string, n int) ([]int64, error) {
	if n < 0 {
		return nil, fmt.Errorf("capillarysim: append %d %s: %w", n, stream, errBadOption)
	}
	now := s.now().In(s.loc).Truncate(time.Second)
	d := s.data
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []int64
	switch stream {
	case StreamCustomers:
		if d.customers()+n > maxCustomers {
			return nil, fmt.Errorf("capillarysim: append %d customers: more than %d: %w", n, maxCustomers, errBadOption)
		}
		for range n {
			ids = append(ids, FirstUserID+int64(d.customers()))
			d.added = append(d.added, now)
		}
	case StreamTransactions:
		if d.customers() == 0 {
			return nil, fmt.Errorf("capillarysim: append %d transactions: no customers: %w", n, errBadOption)
		}
		for range n {
			g := d.transactions()
			c := int(mix3(d.seed, saltAppend, uint64(g)) % uint64(d.customers()))
			billing := now
			if !billing.After(d.last) {
				billing = d.last.Add(time.Second)
			}
			d.last = billing
			d.extra = append(d.extra, extraTx{cust: c, billing: billing})
			d.extraOf[c] = append(d.extraOf[c], g)
			ids = append(ids, FirstTransactionID+int64(g))
		}
	default:
		return nil, fmt.Errorf("capillarysim: append: unknown stream %q", stream)
	}
	return ids, nil
}

// Update sets field of the record with id in stream to value and moves the
// record's update time (customers: profiles[0].autoUpdateTime; transactions:
// auto_update_time) to now. Customer fields: firstName, lastName, source,
// currentSlab (strings), loyaltyPoints (integer), lifetimePurchases
// (number). Transaction fields: number, type, store (strings), amount
// (number). Identifiers and times cannot be changed.
func (s *Server) Update(stream string, id int64, field string, value any) error {
	now := s.now().In(s.loc).Truncate(time.Second)
	d := s.data
	d.mu.Lock()
	defer d.mu.Unlock()
	f := fieldSet{field: field, value: value}
	var over map[int]*override
	var idx int
	switch stream {
	case StreamCustomers:
		idx = int(id - FirstUserID)
		if idx < 0 || idx >= d.customers() {
			return fmt.Errorf("capillarysim: update customer %d: no such customer", id)
		}
		var cu customer
		if err := applyCustomer(&cu, f); err != nil {
			return fmt.Errorf("capillarysim: update customer %d: %w", id, err)
		}
		over = d.custOver
	case StreamTransactions:
		idx = int(id - FirstTransactionID)
		if idx < 0 || idx >= d.transactions() {
			return fmt.Errorf("capillarysim: update transaction %d: no such transaction", id)
		}
		var t transaction
		if err := applyTransaction(&t, f); err != nil {
			return fmt.Errorf("capillarysim: update transaction %d: %w", id, err)
		}
		over = d.txOver
	default:
		return fmt.Errorf("capillarysim: update: unknown stream %q", stream)
	}
	ov := over[idx]
	if ov == nil {
		ov = &override{}
		over[idx] = ov
	}
	ov.sets = append(ov.sets, f)
	ov.updated = now
	return nil
}

// Setters of the fields Update may change; each reports whether the value fits.
var (
	customerSetters = map[string]func(*customer, any) bool{
		"firstName":         func(c *customer, v any) (ok bool) { c.first, ok = v.(string); return ok },
		"lastName":          func(c *customer, v any) (ok bool) { c.last, ok = v.(string); return ok },
		"source":            func(c *customer, v any) (ok bool) { c.source, ok = v.(string); return ok },
		"currentSlab":       func(c *customer, v any) (ok bool) { c.slab, ok = v.(string); return ok },
		"loyaltyPoints":     func(c *customer, v any) (ok bool) { c.points, ok = asInt(v); return ok },
		"lifetimePurchases": func(c *customer, v any) (ok bool) { c.purchases, ok = asCents(v); return ok },
	}
	transactionSetters = map[string]func(*transaction, any) bool{
		"number": func(t *transaction, v any) (ok bool) { t.number, ok = v.(string); return ok },
		"type":   func(t *transaction, v any) (ok bool) { t.typ, ok = v.(string); return ok },
		"store":  func(t *transaction, v any) (ok bool) { t.store, ok = v.(string); return ok },
		"amount": func(t *transaction, v any) (ok bool) { t.amount, ok = asCents(v); return ok },
	}
)

func applyCustomer(cu *customer, f fieldSet) error { return apply(customerSetters, cu, f) }

func applyTransaction(t *transaction, f fieldSet) error { return apply(transactionSetters, t, f) }

func apply[T any](setters map[string]func(*T, any) bool, rec *T, f fieldSet) error {
	set, ok := setters[f.field]
	if !ok {
		return fmt.Errorf("field %q cannot be updated", f.field)
	}
	if !set(rec, f.value) {
		return fmt.Errorf("field %q: value of type %T does not fit", f.field, f.value)
	}
	return nil
}

func asInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int64:
		return v, true
	case int32:
		return int64(v), true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), true
		}
	}
	return 0, false
}

func asCents(v any) (int64, bool) {
	if f, ok := v.(float64); ok {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<50 {
			return 0, false
		}
		return int64(math.Round(f * 100)), true
	}
	n, ok := asInt(v)
	return n * 100, ok
}

// identifiers returns the customer's identifiers in v2 form.
func (cu *customer) identifiers() []nameValue {
	ids := []nameValue{{"mobile", cu.mobile}}
	if cu.email != "" {
		ids = append(ids, nameValue{"email", cu.email})
	}
	if cu.externalID != "" {
		ids = append(ids, nameValue{"externalId", cu.externalID})
	}
	return ids
}

// matches reports whether q (lower case) occurs in the customer's names or
// identifiers, and which identifiers matched.
func (cu *customer) matches(q string) (bool, []nameValue) {
	var matched []nameValue
	for _, id := range cu.identifiers() {
		if strings.Contains(strings.ToLower(id.value), q) {
			matched = append(matched, id)
		}
	}
	ok := len(matched) > 0 ||
		strings.Contains(strings.ToLower(cu.first), q) ||
		strings.Contains(strings.ToLower(cu.last), q)
	return ok, matched
}

// reversed returns a reversed copy of xs.
func reversed(xs []int) []int {
	out := slices.Clone(xs)
	slices.Reverse(out)
	return out
}
