package tracktiksim

import (
	"strconv"
	"time"
)

// Stream indexes.
const (
	sEmployees = iota
	sClients
	sPositions
	sShifts
	sWorkSessions
	sReports
	numStreams
)

// The time span generated records fall in: 2024-01-01 to 2026-01-01 UTC.
// Records appended later continue past the end at the same spacing.
const (
	spanStart = 1704067200 // 2024-01-01T00:00:00Z
	spanEnd   = 1767225600 // 2026-01-01T00:00:00Z
	// shiftCutover splits past shifts (COMPLETED) from future ones (SCHEDULED),
	// a fixed date so that data does not depend on the wall clock.
	shiftCutover = 1756684800 // 2025-09-01T00:00:00Z
	// avatarHost is fixed, not the server URL, so that page bytes are the
	// same whatever port the server listens on.
	avatarHost = "https://demo.staffr.net"
)

// streamDef describes one stream: its JSON keys in order and how its ids
// are spaced.
type streamDef struct {
	name      string
	fields    []string
	keys      [][]byte // `"name":` per field, pre-encoded
	fieldIdx  map[string]int
	timeField int          // index of the field that grows with the id, or -1
	temporal  map[int]bool // fields holding a date or timestamp
	firstID   int64        // id of record 0 is in [firstID, firstID+stride)
	stride    int64        // ids of consecutive records are 1..2*stride-1 apart
	defCount  int
	security  []byte // meta.security, pre-encoded
	fill      func(w *world, r *row, i int)
}

func newDef(name string, firstID, stride int64, defCount int, timeField string, fill func(*world, *row, int), fields ...string) *streamDef {
	d := &streamDef{name: name, fields: fields, fieldIdx: map[string]int{}, timeField: -1,
		temporal: map[int]bool{}, firstID: firstID, stride: stride, defCount: defCount, fill: fill}
	for i, f := range fields {
		d.fieldIdx[f] = i
		d.keys = append(d.keys, []byte(`"`+f+`":`))
		switch f {
		case "startDate", "createdOn", "startedOn", "endedOn", "reportDateTime":
			d.temporal[i] = true
		}
	}
	if timeField != "" {
		d.timeField = d.fieldIdx[timeField]
	}
	d.security = []byte(`{"granted":true,"requested":"admin:` + name + `:view","grantedBy":"admin:*","scope":"core:entities:` + name + `:read"}`)
	return d
}

// defs returns the six stream definitions, indexed by the s* constants. The
// field lists follow the fixed stream field list shared with the schemas.
func defs() [numStreams]*streamDef {
	return [numStreams]*streamDef{
		sEmployees: newDef("employees", 3000, 3, 250, "", fillEmployee,
			"id", "customId", "firstName", "lastName", "name", "jobTitle", "email", "primaryPhone",
			"secondaryPhone", "status", "region", "employmentProfile", "address", "startDate", "avatar"),
		sClients: newDef("clients", 600, 4, 40, "createdOn", fillClient,
			"id", "customId", "company", "name", "email", "status", "region", "address", "timeZone", "createdOn"),
		sPositions: newDef("positions", 1200, 3, 120, "", fillPosition,
			"id", "customId", "name", "account", "status", "payRate", "billRate"),
		sShifts: newDef("shifts", 100000, 2, 1500, "startedOn", fillShift,
			"id", "startedOn", "endedOn", "hoursCount", "position", "employee", "account", "status"),
		sWorkSessions: newDef("work-sessions", 700000, 3, 1200, "startedOn", fillWorkSession,
			"id", "startedOn", "endedOn", "employee", "shift", "position", "account", "clockInMethod", "status"),
		sReports: newDef("reports", 20000, 5, 600, "reportDateTime", fillReport,
			"id", "reportDateTime", "reportTemplate", "account", "position", "createdBy", "status", "title", "tags"),
	}
}

// world is the immutable part of the generator: the seed and the record
// counts at start. References between streams and time spacing use the
// counts at start, so appending records never changes existing ones.
type world struct {
	seed uint64
	defs [numStreams]*streamDef
	base [numStreams]int
	step [numStreams]int64 // seconds between consecutive records' time fields
	span [numStreams]int64 // seconds the records at start spread over; 0: step apart
}

// newWorld returns the world of seed and counts whose time fields spread
// over span from spanStart (0: to spanEnd).
func newWorld(seed uint64, counts [numStreams]int, span time.Duration) *world {
	w := &world{seed: seed, defs: defs(), base: counts}
	for s := range numStreams {
		n := max(int64(counts[s]), 1)
		w.step[s] = max((spanEnd-spanStart)/n, 60)
		if span > 0 {
			w.step[s] = max(int64(span/time.Second)/n, 1)
			w.span[s] = int64(span / time.Second)
		}
	}
	return w
}

// rng is a splitmix64 sequence.
type rng uint64

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) next() uint64 {
	*r += 0x9e3779b97f4a7c15
	return mix64(uint64(*r))
}

// intn returns a number in [0, n); n must be positive.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// pct reports true with probability p percent.
func (r *rng) pct(p int) bool { return r.intn(100) < p }

// Salts separate the independent draws made for one record.
const (
	saltRecord uint64 = iota + 1
	saltID
	saltTime
	saltRef
	saltEmployee
)

// rand returns the generator for one (stream, index, purpose).
func (w *world) rand(s, i int, salt uint64) rng {
	return rng(mix64(mix64(w.seed^uint64(s+1)<<48^salt<<40) ^ uint64(i)))
}

// id returns the id of record i of stream s. Ids grow with i and have gaps.
func (w *world) id(s, i int) int64 {
	d := w.defs[s]
	r := w.rand(s, i, saltID)
	return d.firstID + int64(i)*d.stride + int64(r.next()%uint64(d.stride))
}

// ref returns the id of record i of stream s, or false when the stream had
// no records at start.
func (w *world) ref(s int, r *rng) (int64, int, bool) {
	if w.base[s] == 0 {
		return 0, -1, false
	}
	i := r.intn(w.base[s])
	return w.id(s, i), i, true
}

// baseTime returns the value of stream s's time field for record i before
// any overlay; it never decreases as i grows.
func (w *world) baseTime(s, i int) int64 {
	r := w.rand(s, i, saltTime)
	t := spanStart + int64(i)*w.step[s] + int64(r.next()%uint64(w.step[s]))
	if w.span[s] > 0 {
		t = spanStart + int64(i)*w.span[s]/int64(max(w.base[s], 1)) + int64(r.next()%uint64(w.step[s]))
	}
	if s == sShifts {
		t -= t % 900 // shifts start on the quarter hour
	}
	return t
}

// positionClient returns the client (account) index of position p.
func (w *world) positionClient(p int) (int64, bool) {
	if w.base[sClients] == 0 {
		return 0, false
	}
	r := w.rand(sPositions, p, saltRef)
	return w.id(sClients, r.intn(w.base[sClients])), true
}

// shiftRefs returns shift j's position index and employee index (-1 when
// the shift is unassigned).
func (w *world) shiftRefs(j int) (pos, emp int) {
	r := w.rand(sShifts, j, saltRef)
	pos, emp = -1, -1
	if w.base[sPositions] > 0 {
		pos = r.intn(w.base[sPositions])
	}
	if w.base[sEmployees] > 0 && !r.pct(8) {
		emp = r.intn(w.base[sEmployees])
	}
	return pos, emp
}

type person struct{ name, slug string }

var firstNames = []person{
	{"James", "james"}, {"Mary", "mary"}, {"Robert", "robert"}, {"Patricia", "patricia"},
	{"Michael", "michael"}, {"Jennifer", "jennifer"}, {"David", "david"}, {"Linda", "linda"},
	{"Ted", "ted"}, {"Sarah", "sarah"}, {"Kevin", "kevin"}, {"Aisha", "aisha"},
	{"Mohammed", "mohammed"}, {"Priya", "priya"}, {"Wei", "wei"}, {"Olga", "olga"},
	{"Carlos", "carlos"}, {"Fatima", "fatima"}, {"Daniel", "daniel"}, {"Emily", "emily"},
	{"Marc-André", "marc-andre"}, {"José", "jose"}, {"Zoë", "zoe"}, {"Łukasz", "lukasz"},
	{"Chloé", "chloe"}, {"Søren", "soren"}, {"Björn", "bjorn"}, {"Renée", "renee"},
	{"Nguyễn Thị", "nguyen"}, {"Mei", "mei"}, {"Jamal", "jamal"}, {"Grace", "grace"},
}

var lastNames = []person{
	{"Smith", "smith"}, {"Johnson", "johnson"}, {"Williams", "williams"}, {"Brown", "brown"},
	{"Tremblay", "tremblay"}, {"Gagnon", "gagnon"}, {"Roy", "roy"}, {"Patel", "patel"},
	{"Singh", "singh"}, {"Kim", "kim"}, {"Chen", "chen"}, {"Okafor", "okafor"},
	{"Haddad", "haddad"}, {"Rossi", "rossi"}, {"Walker", "walker"}, {"Martin", "martin"},
	{"Lefebvre", "lefebvre"}, {"Kowalski", "kowalski"}, {"Dubois", "dubois"}, {"Doe", "doe"},
	{"O'Brien", "obrien"}, {"Müller", "muller"}, {"García", "garcia"}, {"Côté", "cote"},
	{"Nowak", "nowak"}, {"李", "li"}, {"Ødegård", "odegard"}, {"Fernández", "fernandez"},
}

var jobTitles = []string{
	"Security Officer", "Security Officer", "Security Officer", "Mobile Patrol Officer",
	"Site Supervisor", "Field Supervisor", "Concierge", "Dispatcher", "Loss Prevention Officer",
	"Account Manager", "Operations Manager", "Fire Watch Guard",
}

var areaCodes = []string{"514", "438", "416", "647", "604", "403", "212", "312", "617", "202"}

var companies = []person{
	{"Riverside Properties Inc.", "riverside"}, {"Northwind Logistics", "northwind"},
	{"Maple Leaf Hospital", "mapleleaf"}, {"Harbourfront Condominiums", "harbourfront"},
	{"Union Station Retail", "unionstation"}, {"Globex Corporation", "globex"},
	{"Initech", "initech"}, {"Château Laurier Hôtel", "chateaulaurier"},
	{"Summit Data Centers", "summitdc"}, {"Lakeshore University", "lakeshore"},
	{"Pacific Port Authority", "pacificport"}, {"Brightline Pharmaceuticals", "brightline"},
}

var siteNames = []string{
	"Main Campus", "Warehouse 3", "North Tower", "Parking P2", "Distribution Centre",
	"Head Office", "East Wing", "Loading Bay", "Terminal B", "Residences",
}

var timeZones = []string{
	"America/Toronto", "America/Toronto", "America/Montreal", "America/New_York",
	"America/Chicago", "America/Vancouver", "America/Los_Angeles", "Europe/London",
}

var positionNames = []string{
	"Main Gate", "Front Desk", "Mobile Patrol", "Loading Dock", "Lobby Concierge",
	"Parking Garage", "Control Room", "Roving Patrol", "Emergency Department Entrance",
	"Fire Watch", "Reception", "Access Control",
}

var clockInMethods = []string{"MOBILE", "MOBILE", "MOBILE", "WEB", "KIOSK", "PHONE"}

var reportTemplates = []struct {
	titles []string
	tags   []string
}{
	{[]string{"Daily Activity Report"}, []string{"patrol", "routine"}},
	{[]string{"Incident Report", `Incident: "Door left open"`, "Incident – slip and fall"}, []string{"incident", "medical", "safety"}},
	{[]string{"Maintenance Request – broken light", "Maintenance Request"}, []string{"maintenance", "facilities"}},
	{[]string{"Parking Violation"}, []string{"parking", "vehicle"}},
	{[]string{"Fire Alarm Test", "Fire Alarm Activation"}, []string{"fire", "alarm", "safety"}},
	{[]string{"Visitor Log"}, []string{"visitor", "access"}},
	{[]string{"Suspicious Activity: vehicle idling > 30 min", "Suspicious Person"}, []string{"incident", "vehicle", "police"}},
	{[]string{"Lost & Found"}, []string{"property"}},
}

// appendPhone appends a North American number such as +1-514-555-0123.
func appendPhone(b []byte, r *rng) []byte {
	b = append(b, "+1-"...)
	b = append(b, areaCodes[r.intn(len(areaCodes))]...)
	b = append(b, "-555-"...)
	n := r.intn(10000)
	return append(b, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}

func fillEmployee(w *world, rw *row, i int) {
	r := w.rand(sEmployees, i, saltRecord)
	id := w.id(sEmployees, i)
	first := firstNames[r.intn(len(firstNames))]
	last := lastNames[r.intn(len(lastNames))]

	rw.setInt(0, id)
	if r.pct(10) {
		rw.setNull(1)
	} else {
		off := rw.begin()
		rw.buf = strconv.AppendInt(rw.buf, id, 10)
		rw.finish(1, off)
	}
	rw.setStr(2, first.name)
	rw.setStr(3, last.name)
	off := rw.begin()
	rw.buf = append(rw.buf, first.name...)
	rw.buf = append(rw.buf, ' ')
	rw.buf = append(rw.buf, last.name...)
	rw.finish(4, off)
	rw.setStr(5, jobTitles[r.intn(len(jobTitles))])
	if r.pct(4) {
		rw.setNull(6)
	} else {
		off = rw.begin()
		rw.buf = append(rw.buf, first.slug...)
		rw.buf = append(rw.buf, '.')
		rw.buf = append(rw.buf, last.slug...)
		rw.buf = strconv.AppendInt(rw.buf, id, 10)
		rw.buf = append(rw.buf, "@example.com"...)
		rw.finish(6, off)
	}
	if r.pct(10) {
		rw.setStr(7, "")
	} else {
		off = rw.begin()
		rw.buf = appendPhone(rw.buf, &r)
		rw.finish(7, off)
	}
	switch p := r.intn(100); {
	case p < 70:
		rw.setStr(8, "")
	case p < 90:
		off = rw.begin()
		rw.buf = appendPhone(rw.buf, &r)
		rw.finish(8, off)
	default:
		rw.setNull(8)
	}
	switch p := r.intn(100); {
	case p < 80:
		rw.setStr(9, "ACTIVE")
	case p < 92:
		rw.setStr(9, "INACTIVE")
	default:
		rw.setStr(9, "TERMINATED")
	}
	rw.setInt(10, 1914+int64(r.intn(6)))
	rw.setInt(11, 1920+int64(r.intn(4)))
	rw.setInt(12, 15000+int64(i)*3+int64(r.intn(3)))
	rw.setDate(13, 14610+int64(r.intn(5840))) // 2010-01-01 .. 2025-12
	if r.pct(30) {
		rw.setNull(14)
	} else {
		off = rw.begin()
		rw.buf = append(rw.buf, avatarHost+"/rest/v1/avatar/employees/"...)
		rw.buf = strconv.AppendInt(rw.buf, id, 10)
		rw.buf = append(rw.buf, '/')
		for range 2 {
			x := r.next()
			for k := range 16 {
				rw.buf = append(rw.buf, hexDigits[x>>(60-4*k)&0xf])
			}
		}
		rw.finish(14, off)
	}
}

func fillClient(w *world, rw *row, i int) {
	r := w.rand(sClients, i, saltRecord)
	id := w.id(sClients, i)
	co := companies[r.intn(len(companies))]

	rw.setInt(0, id)
	off := rw.begin()
	rw.buf = append(rw.buf, "SITE-"...)
	rw.buf = strconv.AppendInt(rw.buf, id, 10)
	rw.finish(1, off)
	rw.setStr(2, co.name)
	off = rw.begin()
	rw.buf = append(rw.buf, co.name...)
	rw.buf = append(rw.buf, " - "...)
	rw.buf = append(rw.buf, siteNames[r.intn(len(siteNames))]...)
	rw.finish(3, off)
	if r.pct(15) {
		rw.setNull(4)
	} else {
		off = rw.begin()
		rw.buf = append(rw.buf, "security@"...)
		rw.buf = append(rw.buf, co.slug...)
		rw.buf = append(rw.buf, ".example.com"...)
		rw.finish(4, off)
	}
	if r.pct(90) {
		rw.setStr(5, "ACTIVE")
	} else {
		rw.setStr(5, "INACTIVE")
	}
	rw.setInt(6, 1914+int64(r.intn(6)))
	rw.setInt(7, 40000+int64(i)*5+int64(r.intn(5)))
	rw.setStr(8, timeZones[r.intn(len(timeZones))])
	rw.setTime(9, w.baseTime(sClients, i))
}

func fillPosition(w *world, rw *row, i int) {
	r := w.rand(sPositions, i, saltRecord)
	id := w.id(sPositions, i)
	rw.setInt(0, id)
	if r.pct(10) {
		rw.setNull(1)
	} else {
		off := rw.begin()
		rw.buf = append(rw.buf, "POS-"...)
		rw.buf = strconv.AppendInt(rw.buf, id, 10)
		rw.finish(1, off)
	}
	off := rw.begin()
	rw.buf = append(rw.buf, positionNames[r.intn(len(positionNames))]...)
	if n := r.intn(4); n > 0 {
		rw.buf = append(rw.buf, " #"...)
		rw.buf = strconv.AppendInt(rw.buf, int64(n), 10)
	}
	rw.finish(2, off)
	acct, ok := w.positionClient(i)
	rw.setRef(3, acct, ok)
	if r.pct(92) {
		rw.setStr(4, "ACTIVE")
	} else {
		rw.setStr(4, "INACTIVE")
	}
	pay := 1700 + 25*int64(r.intn(64)) // cents: 17.00 .. 32.75
	rw.setFloat(5, float64(pay)/100)
	bill := pay * int64(135+r.intn(26)) / 100
	rw.setFloat(6, float64(bill)/100)
}

var shiftHours = []float64{4, 6, 7.5, 8, 8, 8, 10, 12}

func fillShift(w *world, rw *row, i int) {
	r := w.rand(sShifts, i, saltRecord)
	rw.setInt(0, w.id(sShifts, i))
	start := w.baseTime(sShifts, i)
	rw.setTime(1, start)
	hours := shiftHours[r.intn(len(shiftHours))]
	rw.setTime(2, start+int64(hours*3600))
	rw.setFloat(3, hours)
	pos, emp := w.shiftRefs(i)
	rw.setRef(4, w.id(sPositions, max(pos, 0)), pos >= 0)
	rw.setRef(5, w.id(sEmployees, max(emp, 0)), emp >= 0)
	acct, ok := int64(0), false
	if pos >= 0 {
		acct, ok = w.positionClient(pos)
	}
	rw.setRef(6, acct, ok)
	switch {
	case r.pct(3):
		rw.setStr(7, "CANCELLED")
	case emp < 0:
		rw.setStr(7, "UNASSIGNED")
	case start < shiftCutover:
		rw.setStr(7, "COMPLETED")
	default:
		rw.setStr(7, "SCHEDULED")
	}
}

func fillWorkSession(w *world, rw *row, i int) {
	r := w.rand(sWorkSessions, i, saltRecord)
	rw.setInt(0, w.id(sWorkSessions, i))
	start := w.baseTime(sWorkSessions, i)
	rw.setTime(1, start)
	open := r.pct(4)
	if open {
		rw.setNull(2)
	} else {
		rw.setTime(2, start+4*3600+int64(r.intn(8*3600)))
	}
	// The session belongs to the shift at the same relative position.
	pos, emp, shift := -1, -1, -1
	if ns := w.base[sShifts]; ns > 0 {
		shift = min(int(int64(i)*int64(ns)/int64(max(w.base[sWorkSessions], 1))), ns-1)
		pos, emp = w.shiftRefs(shift)
	}
	if emp < 0 && w.base[sEmployees] > 0 {
		emp = r.intn(w.base[sEmployees])
	}
	rw.setRef(3, w.id(sEmployees, max(emp, 0)), emp >= 0)
	rw.setRef(4, w.id(sShifts, max(shift, 0)), shift >= 0)
	rw.setRef(5, w.id(sPositions, max(pos, 0)), pos >= 0)
	acct, ok := int64(0), false
	if pos >= 0 {
		acct, ok = w.positionClient(pos)
	}
	rw.setRef(6, acct, ok)
	rw.setStr(7, clockInMethods[r.intn(len(clockInMethods))])
	if open {
		rw.setStr(8, "OPEN")
	} else {
		rw.setStr(8, "CLOSED")
	}
}

func fillReport(w *world, rw *row, i int) {
	r := w.rand(sReports, i, saltRecord)
	rw.setInt(0, w.id(sReports, i))
	rw.setTime(1, w.baseTime(sReports, i))
	t := r.intn(len(reportTemplates))
	tpl := &reportTemplates[t]
	rw.setInt(2, 101+int64(t))
	pos := -1
	if w.base[sPositions] > 0 {
		pos = r.intn(w.base[sPositions])
	}
	acct, ok := int64(0), false
	if pos >= 0 {
		acct, ok = w.positionClient(pos)
	}
	rw.setRef(3, acct, ok)
	rw.setRef(4, w.id(sPositions, max(pos, 0)), pos >= 0)
	emp, _, ok := w.ref(sEmployees, &r)
	rw.setRef(5, emp, ok)
	switch p := r.intn(100); {
	case p < 60:
		rw.setStr(6, "APPROVED")
	case p < 90:
		rw.setStr(6, "SUBMITTED")
	default:
		rw.setStr(6, "REJECTED")
	}
	rw.setStr(7, tpl.titles[r.intn(len(tpl.titles))])
	n := 0
	if !r.pct(25) {
		// A distinct, ordered subset of the template's tags.
		mask := 1 + r.intn(1<<len(tpl.tags)-1)
		for k, tag := range tpl.tags {
			if mask&(1<<k) != 0 && n < len(rw.tagBuf) {
				rw.tagBuf[n] = tag
				n++
			}
		}
	}
	rw.v[8] = value{k: kTags, tags: rw.tagBuf[:n]}
}
