package trackunitsim

import (
	"strconv"
	"time"
)

// Fixed reference times, so that generated data never depend on the clock.
var (
	locationEpoch = time.Date(2025, 3, 10, 6, 0, 0, 0, time.UTC) // latest fixes lie in the 72h before
	installEpoch  = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	eventEpoch    = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) // event i happens about i*eventSpacing later
)

// eventSpacing is the mean gap between consecutive asset events; each event
// lies in its own slot [i, i+1)*eventSpacing, so event times increase with i.
const eventSpacing = 7 * time.Minute

// product is one make and model an asset can be.
type product struct {
	typ, brand, model, kind, code string
}

// catalog entries before machineWeight are drawn twice as often: fleets are
// mostly machines. Non-ASCII brands test the JSON encoding.
var catalog = [...]product{
	{"MACHINE", "JCB", "3CX", "backhoe loader", "JCB3CX"},
	{"MACHINE", "Caterpillar", "320", "excavator", "CAT320"},
	{"MACHINE", "Volvo", "EC220E", "excavator", "VCE220"},
	{"MACHINE", "Komatsu", "PC210LC-11", "excavator", "KMT210"},
	{"MACHINE", "Manitou", "MT 1840", "telehandler", "MAN184"},
	{"MACHINE", "Genie", "GS-1932", "scissor lift", "GEN193"},
	{"MACHINE", "Bobcat", "E35", "mini excavator", "BOBE35"},
	{"MACHINE", "Liebherr", "LTM 1060-3.1", "mobile crane", "LBH106"},
	{"VEHICLE", "Mercedes-Benz", "Sprinter 316", "van", "WDB906"},
	{"EQUIPMENT", "Atlas Copco", "XAS 88", "compressor", "ACX088"},
	{"EQUIPMENT", "Åkerman", "H7", "generator", "AKEH07"},
	{"TOOL", "Hilti", "TE 3000-AVR", "breaker", "HIL300"},
	{"TOOL", "Husqvarna", "K 770", "power cutter", "HUSK77"},
	{"ATTACHMENT", "Rototilt", "R5", "tiltrotator", "ROTR05"},
	{"GATEWAY", "Trackunit", "Raw", "gateway", "TURAW1"},
	{"OTHER", "Wacker Neuson", "LTV6L", "light tower", "WNLTV6"},
}

const machineWeight = 8

// assetData are the drawn fields of asset i; strings come from catalog.
type assetData struct {
	i         int
	p         *product
	serial    uint64 // 7-digit number, unique per index
	quoted    bool   // the name carries a nickname in double quotes
	extRef    bool
	year      int // 0: unknown
	month     int // 0: only the year is known
	day       int
	devices   int
	deviceSer uint64
	bluetooth bool // tracked by a Bluetooth tag: no altitude, heading or speed
}

func (s *Server) asset(i int) assetData {
	r := newRnd(s.opts.Seed, saltAsset, i)
	k := r.intn(len(catalog) + machineWeight)
	if k >= len(catalog) {
		k -= len(catalog)
	}
	a := assetData{
		i: i, p: &catalog[k],
		// 7919 is prime and coprime with 10^7, so i -> serial is one-to-one
		// for the first ten million assets.
		serial: (uint64(i)*7919 + s.opts.Seed%10_000_000) % 10_000_000,
	}
	a.quoted = r.chance(40)
	a.extRef = !r.chance(5)
	if !r.chance(6) {
		a.year = 2010 + r.intn(15)
		if !r.chance(3) {
			a.month, a.day = 1+r.intn(12), 1+r.intn(28)
		}
	}
	a.devices = r.intn(3)
	if a.p.typ == "MACHINE" && a.devices == 0 {
		a.devices = 1
	}
	a.deviceSer = 900_000 + uint64(i)*3 // room for up to 3 devices per asset
	a.bluetooth = a.p.typ == "TOOL" || a.p.typ == "ATTACHMENT" || a.p.typ == "EQUIPMENT" && r.chance(2)
	return a
}

func (s *Server) appendSerial(b []byte, i int) []byte {
	a := s.asset(i)
	return appendSerialOf(b, &a)
}

func appendSerialOf(b []byte, a *assetData) []byte {
	b = append(b, a.p.code...)
	var d [7]byte // the number, left-padded to 7 digits
	v := a.serial
	for k := len(d) - 1; k >= 0; k-- {
		d[k] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:]...)
}

func appendName(b []byte, a *assetData) []byte {
	b = append(b, '"')
	b = append(b, a.p.brand...)
	b = append(b, ' ')
	b = append(b, a.p.model...)
	if a.quoted {
		b = append(b, ` \"Big Red\"`...)
	}
	b = append(b, " #"...)
	b = strconv.AppendInt(b, int64(a.i+1), 10)
	return append(b, '"')
}

func appendExtRef(b []byte, a *assetData) []byte {
	b = append(b, `"ERP-`...)
	b = strconv.AppendInt(b, int64(100000+a.i), 10)
	return append(b, '"')
}

// appendAsset appends asset i:
// {"id","name","type","assetType","brand","model","serialNumber",
// "externalReference"|null,"productionYear"|null,"productionDate"|null,
// "telematicsDevices":[{"serialNumber"}]}.
func (s *Server) appendAsset(b []byte, i int) []byte {
	a := s.asset(i)
	b = append(b, `{"id":"`...)
	b = appendUUID(b, s.opts.Seed, saltAssetID, i)
	b = append(b, `","name":`...)
	b = appendName(b, &a)
	b = append(b, `,"type":`...)
	b = appendString(b, a.p.typ)
	b = append(b, `,"assetType":`...)
	b = appendString(b, a.p.kind)
	b = append(b, `,"brand":`...)
	b = appendString(b, a.p.brand)
	b = append(b, `,"model":`...)
	b = appendString(b, a.p.model)
	b = append(b, `,"serialNumber":"`...)
	b = appendSerialOf(b, &a)
	b = append(b, `","externalReference":`...)
	if a.extRef {
		b = appendExtRef(b, &a)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"productionYear":`...)
	if a.year > 0 && s.alt() && i/altBlock%2 == 1 {
		b = append(b, '"')
		b = strconv.AppendInt(b, int64(a.year), 10)
		b = append(b, ` (est.)"`...)
	} else if a.year > 0 {
		b = strconv.AppendInt(b, int64(a.year), 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"productionDate":`...)
	if a.month > 0 {
		b = append(b, '"')
		b = time.Date(a.year, time.Month(a.month), a.day, 0, 0, 0, 0, time.UTC).AppendFormat(b, time.DateOnly)
		b = append(b, '"')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"telematicsDevices":[`...)
	for d := range a.devices {
		if d > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"serialNumber":"`...)
		b = strconv.AppendUint(b, a.deviceSer+uint64(d), 10)
		b = append(b, `"}`...)
	}
	return append(b, "]}"...)
}

// region is a place where assets work.
type region struct {
	city, zip, country, street string
	lat, lon                   float64
}

var regions = [...]region{
	{"København", "2300", "Denmark", "Amager Strandvej", 55.6761, 12.5683},
	{"Aarhus", "8000", "Denmark", "Søndergade", 56.1629, 10.2039},
	{"Malmö", "211 20", "Sweden", "Östra Rönneholmsvägen", 55.6050, 13.0038},
	{"Hamburg", "20095", "Germany", "Mönckebergstraße", 53.5511, 9.9937},
	{"Rotterdam", "3011", "Netherlands", "Coolsingel", 51.9244, 4.4777},
	{"Chicago", "60601", "United States", "W Randolph St", 41.8781, -87.6298},
	{"Denver", "80202", "United States", "Larimer St", 39.7392, -104.9903},
	{"Perth", "6000", "Australia", "Hay St", -31.9523, 115.8613},
}

// locData is the latest position of asset i, plus the fleet snapshot
// readings of equipment i (filled in by equipment).
type locData struct {
	reg               *region
	lat, lon, alt     float64
	accuracy, speed   float64
	heading, houseNo  int
	noZip, bluetooth  bool
	updatedAt         time.Time
	noFix             bool // the fleet snapshot has no Location element
	idle, fuel        bool // the fleet snapshot has CumulativeIdleHours, FuelUsed/FuelRemaining
	hours, idleHours  float64
	fuelUsed          float64
	fuelPct           int
	installed, unitID int64
	hoursAgo          time.Duration
}

func (s *Server) location(i int, a *assetData) locData {
	r := newRnd(s.opts.Seed, saltLoc, i)
	l := locData{reg: &regions[r.intn(len(regions))], bluetooth: a.bluetooth}
	l.lat = round(l.reg.lat+(r.float()-0.5)*0.4, 6)
	l.lon = round(l.reg.lon+(r.float()-0.5)*0.4, 6)
	l.alt = round(r.float()*400, 1)
	l.accuracy = round(2+r.float()*40, 1)
	l.heading = r.intn(360)
	if !r.chance(3) {
		l.speed = 0 // parked
	} else {
		l.speed = round(r.float()*45, 1)
	}
	l.houseNo = 1 + r.intn(180)
	l.noZip = r.chance(7)
	ms := r.intn(72 * 3600 * 1000)
	if r.chance(8) {
		ms -= ms % 1000 // a whole second: Instant.toString prints no fraction
	}
	l.updatedAt = locationEpoch.Add(-time.Duration(ms) * time.Millisecond)
	return l
}

// appendLocation appends location i as a GeoJSON Feature:
// {"type":"Feature","geometry":{"type":"Point","coordinates":[lon,lat(,alt)]},
// "properties":{"assetId","accuracy","heading"?,"locationAddress":{...},"speed"?,"updatedAt"}}.
// Assets tracked by a Bluetooth tag have two coordinates and no heading or speed.
func (s *Server) appendLocation(b []byte, i int) []byte {
	a := s.asset(i)
	l := s.location(i, &a)
	b = append(b, `{"type":"Feature","geometry":{"type":"Point","coordinates":[`...)
	b = appendFloat(b, l.lon)
	b = append(b, ',')
	b = appendFloat(b, l.lat)
	if !l.bluetooth {
		b = append(b, ',')
		b = appendFloat(b, l.alt)
	}
	b = append(b, `]},"properties":{"assetId":"`...)
	b = appendUUID(b, s.opts.Seed, saltAssetID, i)
	b = append(b, `","accuracy":`...)
	b = appendFloat(b, l.accuracy)
	if !l.bluetooth {
		b = append(b, `,"heading":`...)
		b = strconv.AppendInt(b, int64(l.heading), 10)
	}
	b = append(b, `,"locationAddress":{"street":"`...)
	b = append(b, l.reg.street...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(l.houseNo), 10)
	b = append(b, `","zip":`...)
	if l.noZip {
		b = append(b, "null"...)
	} else {
		b = appendString(b, l.reg.zip)
	}
	b = append(b, `,"city":`...)
	b = appendString(b, l.reg.city)
	b = append(b, `,"country":`...)
	b = appendString(b, l.reg.country)
	b = append(b, '}')
	if !l.bluetooth {
		b = append(b, `,"speed":`...)
		b = appendFloat(b, l.speed)
	}
	b = append(b, `,"updatedAt":`...)
	b = appendTime(b, l.updatedAt, true)
	return append(b, "}}"...)
}

// aempKeys are the JSON keys of the fleet snapshot in one casing.
type aempKeys struct {
	version, snapshotTime, links, equipment                                  string
	header, install, oem, model, equipmentID, serial, pin                    string
	location, latitude, longitude, altitude, altitudeUnits                   string
	opHours, idleHours, hour, fuelUsed, fuelUnits, fuelConsumed, fuelRemain  string
	percent, metadata, telematicSerial, machineID, unitID, externalReference string
}

var pascalKeys = aempKeys{
	"Version", "SnapshotTime", "Links", "Equipment",
	"EquipmentHeader", "UnitInstallDateTime", "OEMName", "Model", "EquipmentID", "SerialNumber", "PIN",
	"Location", "Latitude", "Longitude", "Altitude", "AltitudeUnits",
	"CumulativeOperatingHours", "CumulativeIdleHours", "Hour", "FuelUsed", "FuelUnits", "FuelConsumed", "FuelRemaining",
	"Percent", "Metadata", "TelematicSerialNumber", "MachineId", "UnitId", "ExternalReferenceNumber",
}

var camelKeys = aempKeys{
	"version", "snapshotTime", "links", "equipment",
	"equipmentHeader", "unitInstallDateTime", "oemName", "model", "equipmentId", "serialNumber", "pin",
	"location", "latitude", "longitude", "altitude", "altitudeUnits",
	"cumulativeOperatingHours", "cumulativeIdleHours", "hour", "fuelUsed", "fuelUnits", "fuelConsumed", "fuelRemaining",
	"percent", "metadata", "telematicSerialNumber", "machineId", "unitId", "externalReferenceNumber",
}

func (s *Server) keys() *aempKeys {
	if s.opts.AEMPKeys == CamelCase {
		return &camelKeys
	}
	return &pascalKeys
}

// equipment draws the snapshot-only fields of equipment i into l.
func (s *Server) equipment(i int, a *assetData, l *locData) {
	r := newRnd(s.opts.Seed, saltEquip, i)
	l.noFix = r.chance(20)
	l.idle = !r.chance(4)
	l.fuel = (a.p.typ == "MACHINE" || a.p.typ == "VEHICLE") && !r.chance(5)
	l.hours = float64(200+r.intn(36000)) / 4 // quarter hours, 50 to 9050 h
	l.idleHours = float64(r.intn(int(l.hours*4)/5+1)) / 4
	l.fuelUsed = round(l.hours*(3+r.float()*12), 1)
	l.fuelPct = r.intn(101)
	l.installed = int64(r.intn(6 * 365 * 24 * 3600))
	l.unitID = int64(950_000 + i)
	l.hoursAgo = time.Duration(r.intn(6*3600)) * time.Second
}

// appendEquipment appends fleet equipment i in the AEMP 2.0 JSON shape:
// EquipmentHeader, Location (absent without a fix), CumulativeOperatingHours,
// CumulativeIdleHours (absent for some), FuelUsed and FuelRemaining (machines
// and vehicles with fuel data only), and Metadata with addMetadata=true.
func (s *Server) appendEquipment(b []byte, i int, meta bool) []byte {
	k := s.keys()
	a := s.asset(i)
	l := s.location(i, &a)
	s.equipment(i, &a, &l)
	fix := l.updatedAt.Truncate(time.Second)
	reading := locationEpoch.Add(-l.hoursAgo)

	b = append(b, '{')
	b = appendKey(b, k.header)
	b = append(b, '{')
	b = appendKey(b, k.install)
	b = appendTime(b, installEpoch.Add(time.Duration(l.installed)*time.Second), false)
	b = appendKey(b, k.oem)
	b = appendString(b, a.p.brand)
	b = appendKey(b, k.model)
	b = appendString(b, a.p.model)
	b = appendKey(b, k.equipmentID)
	b = appendName(b, &a)
	b = appendKey(b, k.serial)
	b = append(b, '"')
	b = appendSerialOf(b, &a)
	b = append(b, '"')
	b = appendKey(b, k.pin)
	b = append(b, '"')
	b = appendSerialOf(b, &a)
	b = append(b, `"}`...)

	if !l.noFix {
		b = appendKey(b, k.location)
		b = append(b, `{"datetime":`...)
		b = appendTime(b, fix, false)
		b = appendKey(b, k.latitude)
		b = appendFloat(b, l.lat)
		b = appendKey(b, k.longitude)
		b = appendFloat(b, l.lon)
		if !l.bluetooth {
			b = appendKey(b, k.altitude)
			b = appendFloat(b, l.alt)
			b = appendKey(b, k.altitudeUnits)
			b = append(b, `"metres"`...)
		}
		b = append(b, '}')
	}
	b = appendHours(b, k.opHours, k.hour, reading, l.hours)
	if l.idle {
		b = appendHours(b, k.idleHours, k.hour, reading, l.idleHours)
	}
	if l.fuel {
		b = appendKey(b, k.fuelUsed)
		b = append(b, `{"datetime":`...)
		b = appendTime(b, reading, false)
		b = appendKey(b, k.fuelUnits)
		b = append(b, `"litre"`...)
		b = appendKey(b, k.fuelConsumed)
		b = appendFloat(b, l.fuelUsed)
		b = append(b, '}')
		b = appendKey(b, k.fuelRemain)
		b = append(b, `{"datetime":`...)
		b = appendTime(b, reading, false)
		b = appendKey(b, k.percent)
		b = strconv.AppendInt(b, int64(l.fuelPct), 10)
		b = append(b, '}')
	}
	if meta {
		b = appendKey(b, k.metadata)
		b = append(b, '{')
		b = appendKey(b, k.telematicSerial)
		b = append(b, '"')
		b = strconv.AppendUint(b, a.deviceSer, 10)
		b = append(b, '"')
		b = appendKey(b, k.machineID)
		b = append(b, '"')
		b = appendUUID(b, s.opts.Seed, saltAssetID, i)
		b = append(b, '"')
		b = appendKey(b, k.unitID)
		b = append(b, '"')
		b = strconv.AppendInt(b, l.unitID, 10)
		b = append(b, '"')
		if a.extRef {
			b = appendKey(b, k.externalReference)
			b = appendExtRef(b, &a)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendHours(b []byte, key, hourKey string, at time.Time, h float64) []byte {
	b = appendKey(b, key)
	b = append(b, `{"datetime":`...)
	b = appendTime(b, at, false)
	b = appendKey(b, hourKey)
	b = appendFloat(b, h)
	return append(b, '}')
}

// Event vocabularies of the asset event log.
var (
	eventTypes = [...]struct{ name, details string }{
		{"MACHINE_FAULT", "AssetEventMachineFaultDetails"},
		{"ALERT", "AssetEventAlertDetails"},
		{"SERVICE_MANAGEMENT", "AssetEventServiceManagementDetails"},
		{"CLASSIC_SERVICE", "AssetEventClassicServiceDetails"},
		{"INSPECTION", "AssetEventInspectionDetails"},
		{"DAMAGE_REPORT", "AssetEventDamageReportDetails"},
		{"PRE_CHECK", "AssetEventPreCheckDetails"},
	}
	criticalities = [...]string{"CRITICAL", "LOW", "NONE"}
	statuses      = [...]string{"OPEN", "RESOLVED", "DISMISSED", "CLOSED"}
	descriptions  = [...][]string{
		{"Engine coolant temperature high", "Hydraulic oil filter restriction", "Battery potential low", "DPF soot load high", "Water in fuel"},
		{"Geofence exit: Site Nord", "Operating outside working hours", "Low fuel level", "Unauthorised movement"},
		{"Service due in 50 hours", "Annual service overdue"},
		{"Classic service plan: 500 h service"},
		{"Daily inspection failed: tyres", "Monthly inspection passed"},
		{"Damage reported: dented bucket", "Damage reported: cracked window"},
		{"Pre-check completed with remarks", "Pre-check: fire extinguisher missing"},
	}
)

// eventData are the drawn fields of event i; the first draw is the time.
type eventData struct {
	at                   time.Time
	typ, crit, status    int
	asset                int
	desc                 string
	fault                int // fault code number, MACHINE_FAULT only
	j1939                bool
	spn, fmi, sa         int
	onBefore, offAfterMs int
}

// eventTime is the time of event i; it increases strictly with i. The
// events the server started with are spread after eventEpoch; appended
// ones happened when they were appended (see Append).
func (s *Server) eventTime(i int) time.Time {
	if i >= s.initialEvents {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.appendedTimeLocked(i)
	}
	return s.initialEventTime(i)
}

// initialEventTime is eventTime of an event the server started with.
func (s *Server) initialEventTime(i int) time.Time {
	r := newRnd(s.opts.Seed, saltEvent, i)
	return eventEpoch.Add(time.Duration(i)*eventSpacing + time.Duration(r.intn(int(eventSpacing/time.Millisecond)))*time.Millisecond)
}

// An eventRun is a batch of appended asset events: events first to
// first+n-1 happened a microsecond apart, the last at end.
type eventRun struct {
	first, n int
	end      time.Time
}

// appendedTimeLocked is eventTime of an event i at or after the first
// appended one (or past the last); the caller holds s.mu.
func (s *Server) appendedTimeLocked(i int) time.Time {
	for _, r := range s.eventRuns {
		if i < r.first+r.n {
			return r.end.Add(-time.Duration(r.first+r.n-1-i) * time.Microsecond)
		}
	}
	// Past the last event, for callers picking a window's end.
	if len(s.eventRuns) == 0 {
		return s.initialEventTime(i)
	}
	r := s.eventRuns[len(s.eventRuns)-1]
	return r.end.Add(time.Duration(i-(r.first+r.n-1)) * time.Microsecond)
}

// EventTime returns the eventTime of asset event i, for tests that pick
// time windows.
func (s *Server) EventTime(i int) time.Time { return s.eventTime(i) }

func (s *Server) event(i int) eventData {
	e := eventData{at: s.eventTime(i)}
	r := newRnd(s.opts.Seed, saltEvent, i)
	r.next()                                  // the time's draw
	e.typ = r.weighted(16, 12, 4, 2, 2, 2, 2) // faults and alerts dominate
	e.crit = r.weighted(2, 5, 3)
	e.status = r.weighted(5, 7, 2, 6)
	e.asset = r.intn(s.eventAssets)
	d := descriptions[e.typ]
	e.desc = d[r.intn(len(d))]
	e.fault = 1000 + r.intn(9000)
	e.j1939 = e.typ == 0 && !r.chance(3)
	e.spn, e.fmi, e.sa = 100+r.intn(5000), r.intn(32), r.intn(254)
	e.onBefore = r.intn(300_000)
	e.offAfterMs = 60_000 * (1 + r.intn(600))
	return e
}

// eventTimeKey is the key of event i's time, "" for none: "eventTime",
// or in VariantAlt "timestamp", "occurredAt" or none.
func (s *Server) eventTimeKey(i int) string {
	switch {
	case !s.alt():
		return "eventTime"
	case i%10 == 9:
		return ""
	case i%7 == 3:
		return "occurredAt"
	}
	return "timestamp"
}

// appendEvent appends asset event i:
// {"id","assetId","type","criticality","status","eventTime","timeOn",
// "timeOff"|null,"assetEventDomainDetails":{"eventTypeName","faultCode"|null,
// "description","j1939":{"spn","fmi","sa"}|null}}.
func (s *Server) appendEvent(b []byte, i int) []byte {
	e := s.event(i)
	b = append(b, `{"id":"`...)
	b = appendUUID(b, s.opts.Seed, saltEventID, i)
	b = append(b, `","assetId":"`...)
	b = appendUUID(b, s.opts.Seed, saltAssetID, e.asset)
	b = append(b, `","type":`...)
	b = appendString(b, eventTypes[e.typ].name)
	b = append(b, `,"criticality":`...)
	b = appendString(b, criticalities[e.crit])
	b = append(b, `,"status":`...)
	b = appendString(b, statuses[e.status])
	switch key := s.eventTimeKey(i); key {
	case "":
	default:
		b = append(b, `,"`...)
		b = append(b, key...)
		b = append(b, `":`...)
		b = appendTime(b, e.at, true)
	}
	b = append(b, `,"timeOn":`...)
	b = appendTime(b, e.at.Add(-time.Duration(e.onBefore)*time.Millisecond), true)
	b = append(b, `,"timeOff":`...)
	switch {
	case e.status == 0:
		b = append(b, "null"...)
	case s.alt() && i/altBlock%2 == 1:
		b = append(b, `{"time":`...)
		b = appendTime(b, e.at.Add(time.Duration(e.offAfterMs)*time.Millisecond), true)
		b = append(b, `,"by":"system"}`...)
	default:
		b = appendTime(b, e.at.Add(time.Duration(e.offAfterMs)*time.Millisecond), true)
	}
	b = append(b, `,"assetEventDomainDetails":{"eventTypeName":`...)
	b = appendString(b, eventTypes[e.typ].details)
	b = append(b, `,"faultCode":`...)
	if e.typ == 0 {
		b = append(b, `"E`...)
		b = strconv.AppendInt(b, int64(e.fault), 10)
		b = append(b, '"')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"description":`...)
	b = appendString(b, e.desc)
	b = append(b, `,"j1939":`...)
	if e.j1939 {
		b = append(b, `{"spn":`...)
		b = strconv.AppendInt(b, int64(e.spn), 10)
		b = append(b, `,"fmi":`...)
		b = strconv.AppendInt(b, int64(e.fmi), 10)
		b = append(b, `,"sa":`...)
		b = strconv.AppendInt(b, int64(e.sa), 10)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	return append(b, "}}"...)
}
