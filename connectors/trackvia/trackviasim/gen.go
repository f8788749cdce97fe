package trackviasim

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Shapes chooses which of the two plausible JSON shapes the simulator uses
// where docs/vendors/trackvia.md#field-types-and-values allows (or leaves
// open) two. The zero value mixes them.
type Shapes int

// The shape modes.
const (
	// ShapesMixed picks the alternate shape for about one value in four,
	// deterministically per (seed, view, field, record).
	ShapesMixed Shapes = iota
	// ShapesCanonical always uses the first shape of each pair.
	ShapesCanonical
	// ShapesAlternate always uses the second shape of each pair.
	ShapesAlternate
)

// String returns the mode's name.
func (s Shapes) String() string {
	switch s {
	case ShapesMixed:
		return "mixed"
	case ShapesCanonical:
		return "canonical"
	case ShapesAlternate:
		return "alternate"
	}
	return "shapes(" + strconv.Itoa(int(s)) + ")"
}

// role is what a field means to the simulator beyond its type.
type role int

const (
	roleNone       role = iota
	roleInternalID      // "id" number field: the id itself, written once
	roleRecordID        // identifier: the id as text
	roleCreated         // "Created" datetime
	roleUpdated         // "Last Updated" datetime
)

func roleOf(fd Field) role {
	switch {
	case fd.Name == "id" && fd.Type == Number:
		return roleInternalID
	case fd.Type == Identifier:
		return roleRecordID
	case fd.Name == "Created" && fd.Type == DateTime:
		return roleCreated
	case fd.Name == "Last Updated" && fd.Type == DateTime:
		return roleUpdated
	}
	return roleNone
}

// epoch is the creation time of the first generated record; records
// created before Append spread over span after it.
var epoch = time.Date(2023, 1, 2, 15, 4, 5, 0, time.UTC)

const span = 2 * 365 * 24 * time.Hour

// mountain is the offset the canonical datetimes are written in; the samples
// of docs/vendors/trackvia.md#field-types-and-values use -07:00. A fixed
// zone keeps output independent of tzdata.
var mountain = time.FixedZone("MST", -7*3600)

// Layouts of the two datetime shapes and the two date shapes. The formats
// are [INFER] in docs/vendors/trackvia.md#field-types-and-values, so both
// an offset form and a UTC form exist.
const (
	layoutDateTime    = "2006-01-02T15:04:05-07:00"
	layoutDateTimeAlt = "2006-01-02T15:04:05.000Z"
	layoutDate        = "2006-01-02"
	layoutDateAlt     = "2006-01-02T00:00:00-07:00"
)

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// hash4 mixes the seed, view, field and record index into one value, so
// every value is generated on its own without any stored state.
func hash4(a, b, c, d uint64) uint64 {
	return splitmix(splitmix(splitmix(splitmix(a)^b)^c) ^ d)
}

// A cell is everything the generator knows about one value.
type cell struct {
	h   uint64 // hash4(seed, view, fieldMetaId, index)
	alt bool   // use the alternate shape
}

func (s *Server) cell(v *viewState, fd *vfield, idx int) cell {
	h := hash4(s.opts.Seed, uint64(v.view.ID), uint64(fd.FieldMetaID), uint64(idx))
	c := cell{h: h}
	switch s.opts.Shapes {
	case ShapesAlternate:
		c.alt = true
	case ShapesMixed:
		c.alt = (h>>8)%4 == 0
	}
	return c
}

// appendRecord appends the JSON object of record idx of v. The caller
// holds s.mu for reading.
func (s *Server) appendRecord(b []byte, v *viewState, idx int) []byte {
	id := v.idOf(idx)
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, id, 10)
	over := v.overrides[idx]
	for i := range v.fields {
		fd := &v.fields[i]
		if fd.role == roleInternalID {
			continue
		}
		b = append(b, ',')
		b = appendString(b, fd.Name)
		b = append(b, ':')
		if raw, ok := over[fd.FieldMetaID]; ok {
			b = append(b, raw...)
			continue
		}
		b = s.appendValue(b, v, fd, idx, id)
	}
	if s.opts.Variant == VariantAlt {
		// Keys the structure does not list.
		b = append(b, `,"Record Owner":`...)
		b = appendQuoted(b, displayName(1+id%97))
		b = append(b, `,"Sync Token":"`...)
		b = strconv.AppendUint(b, hash4(s.opts.Seed, uint64(v.view.ID), 0, uint64(idx))%1e9, 36)
		b = append(b, '"')
	}
	return append(b, '}')
}

// displayName is the name of user id as VariantAlt shows it in user
// fields: "Simon Black".
func displayName(id int64) string {
	return pick(firstNames, uint64(id)) + " " + pick(lastNames, uint64(id)/uint64(len(firstNames)))
}

// Display texts of VariantAlt's user groups and files.
var groupNames = esc("Site North", "Site South", "Workshop Team", "Dispatch", "Field Service")

// formatMoney writes cents as VariantAlt's formatted currency text,
// "$1,234.56" (or "-$7.05"), which is not a number.
func formatMoney(b []byte, cents int64) []byte {
	b = append(b, '"')
	if cents < 0 {
		b, cents = append(b, '-'), -cents
	}
	b = append(b, '$')
	whole := strconv.FormatInt(cents/100, 10)
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, byte(c))
	}
	b = append(b, '.', byte('0'+cents%100/10), byte('0'+cents%10))
	return append(b, '"')
}

// appendValue appends the value of field fd in record idx;
// docs/vendors/trackvia.md#field-types-and-values gives the JSON type of
// each field type.
func (s *Server) appendValue(b []byte, v *viewState, fd *vfield, idx int, id int64) []byte {
	c := s.cell(v, fd, idx)
	r := c.h >> 16 // the bits that pick the value; the low bits pick null and shape
	if s.isNull(fd, c) {
		return append(b, "null"...)
	}
	switch fd.Type {
	case ShortAnswer:
		return appendShortText(b, fd.gen, r, idx)
	case Paragraph:
		if n := s.opts.LongTextEvery; n > 0 && idx%n == n-1 {
			return appendLongText(b, r)
		}
		return appendParagraph(b, r)
	case Email:
		b = append(b, '"')
		b = append(b, pick(emailUsers, r)...)
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(idx), 10)
		if r>>20%5 == 0 {
			b = append(b, "+tv"...)
		}
		b = append(b, '@')
		b = append(b, pick(domains, r>>8)...)
		return append(b, '"')
	case URL:
		b = append(b, `"https://www.`...)
		b = append(b, pick(domains, r)...)
		b = append(b, "/kunden/"...)
		b = strconv.AppendInt(b, int64(r%10000), 10)
		return append(b, `?ref=tv&lang=de"`...)
	case Number:
		n := int64(r % 1000000)
		if r>>40%10 == 0 {
			n = -n
		}
		return appendNumber(b, float64(n)/100, c.alt)
	case Currency:
		if s.opts.Variant == VariantAlt && idx/altBlock%2 == 1 {
			return formatMoney(b, int64(r%100000000))
		}
		return appendNumber(b, float64(r%100000000)/100, c.alt)
	case Percentage:
		return appendNumber(b, float64(r%10001)/10000, c.alt)
	case AutoIncrement:
		return appendNumber(b, float64(1000+idx+1), c.alt)
	case DropDown:
		if len(fd.choicesJSON) == 0 {
			return append(b, "null"...)
		}
		return appendQuoted(b, fd.choicesJSON[r%uint64(len(fd.choicesJSON))])
	case Checkbox:
		return appendChoices(b, fd.choicesJSON, r)
	case Date:
		t := v.created(s.opts.Seed, idx).Add(time.Duration(r%90) * 24 * time.Hour).In(mountain)
		if c.alt {
			return appendTime(b, t, layoutDateAlt)
		}
		return appendTime(b, t, layoutDate)
	case DateTime:
		var t time.Time
		switch fd.role {
		case roleCreated:
			t = v.created(s.opts.Seed, idx)
		case roleUpdated:
			t = v.updated(s.opts.Seed, idx)
		default:
			t = v.created(s.opts.Seed, idx).Add(time.Duration(r%(30*86400)) * time.Second)
		}
		if c.alt {
			return appendTime(b, t.UTC(), layoutDateTimeAlt)
		}
		return appendTime(b, t.In(mountain), layoutDateTime)
	case Document, Image:
		file := 700000 + int64(r%100000)
		if s.opts.Variant == VariantAlt {
			b = append(b, `"scan-`...)
			b = strconv.AppendInt(b, file, 10)
			if fd.Type == Image {
				return append(b, `.jpg"`...)
			}
			return append(b, `.pdf"`...)
		}
		return strconv.AppendInt(b, file, 10)
	case User:
		if s.users == 0 {
			return append(b, "null"...)
		}
		user := 1 + int64(r%uint64(s.users))
		if s.opts.Variant == VariantAlt {
			return appendQuoted(b, displayName(user))
		}
		return appendID(b, user, c.alt)
	case UserGroup:
		group := int64(r % 5)
		if s.opts.Variant == VariantAlt {
			return appendQuoted(b, groupNames[group])
		}
		return appendID(b, 1+group, c.alt)
	case UserStatus:
		return appendQuoted(b, pick(userStatuses, r))
	case TimeZone:
		return appendQuoted(b, pick(timeZones, r))
	case Identifier:
		return appendID(b, id, !c.alt) // text first: "Record ID": "51"
	case Relationship:
		rel := s.relatedID(fd, r)
		if s.opts.Variant == VariantAlt {
			// The related record's display value: a site's or a
			// company's name, numbered so that each is unique.
			b = append(b, '"')
			b = append(b, pick(companies, uint64(rel))...)
			b = append(b, " #"...)
			b = strconv.AppendInt(b, rel, 10)
			return append(b, '"')
		}
		return appendID(b, rel, c.alt)
	case Point:
		lat := float64(39000000+int64(r%2000000)) / 1e6
		lon := float64(-109000000+int64(r>>24%7000000)) / 1e6
		b = append(b, `{"latitude":`...)
		b = strconv.AppendFloat(b, lat, 'f', -1, 64)
		b = append(b, `,"longitude":`...)
		b = strconv.AppendFloat(b, lon, 'f', -1, 64)
		return append(b, '}')
	}
	// An unknown type (SetStructure lets tests invent one) reads as text.
	return appendShortText(b, genAuto, r, idx)
}

// isNull decides whether a value is null: never for required and system
// fields, one in three for files, one in eight otherwise.
func (s *Server) isNull(fd *vfield, c cell) bool {
	if fd.Required || fd.role != roleNone || fd.Type == AutoIncrement {
		return false
	}
	switch fd.Type {
	case Document, Image:
		return c.h%3 == 0
	}
	return c.h%8 == 0
}

// relatedID picks a record id of the target view of a relationship field,
// among the records it was created with, so the id exists (until deleted).
func (s *Server) relatedID(fd *vfield, r uint64) int64 {
	if t := s.views[fd.target]; t != nil && t.initial > 0 {
		return t.idBase + int64(r%uint64(t.initial))
	}
	return 1 + int64(r%1000)
}

// appendNumber writes a double as a JSON number, or as a JSON string when
// alt is set (docs/vendors/trackvia.md#field-types-and-values leaves
// number-vs-string open for connectors).
func appendNumber(b []byte, x float64, alt bool) []byte {
	if alt {
		b = append(b, '"')
		b = strconv.AppendFloat(b, x, 'f', -1, 64)
		return append(b, '"')
	}
	return strconv.AppendFloat(b, x, 'f', -1, 64)
}

// appendID writes an id as a JSON number, or as a JSON string when text is set.
func appendID(b []byte, id int64, text bool) []byte {
	if text {
		b = append(b, '"')
		b = strconv.AppendInt(b, id, 10)
		return append(b, '"')
	}
	return strconv.AppendInt(b, id, 10)
}

func appendTime(b []byte, t time.Time, layout string) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, layout)
	return append(b, '"')
}

// appendChoices writes a checkbox value: an array of the chosen (escaped)
// choices, sometimes empty; isNull makes it null.
func appendChoices(b []byte, choices []string, r uint64) []byte {
	b = append(b, '[')
	if r%16 != 0 { // one in sixteen is the empty array
		n := 0
		for i, ch := range choices {
			if r>>(4+uint(i%40))&1 == 0 && !(n == 0 && i == len(choices)-1) {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			b = appendQuoted(b, ch)
			n++
		}
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendQuoted appends already escaped text between quotes.
func appendQuoted(b []byte, escaped string) []byte {
	b = append(b, '"')
	b = append(b, escaped...)
	return append(b, '"')
}

// appendString appends s as a JSON string. UTF-8 passes through; quotes,
// backslashes and control characters are escaped; invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

// appendEscaped appends the inside of the JSON string s, without quotes.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

func pick(list []string, r uint64) string { return list[r%uint64(len(list))] }

// appendShortText appends a shortAnswer value (at most 255 characters).
func appendShortText(b []byte, g gen, r uint64, idx int) []byte {
	b = append(b, '"')
	switch g {
	case genCompany:
		b = append(b, pick(companies, r)...)
	case genPerson:
		b = append(b, pick(firstNames, r)...)
		b = append(b, ' ')
		b = append(b, pick(lastNames, r>>8)...)
	case genFirst:
		b = append(b, pick(firstNames, r)...)
	case genLast:
		b = append(b, pick(lastNames, r>>8)...)
	case genZip:
		// Leading zeros on purpose: a zip code is text, not a number.
		z := r % 100000
		for d := uint64(10000); d > 0; d /= 10 {
			b = append(b, byte('0'+z/d%10))
		}
	case genTitle:
		b = append(b, pick(titles, r)...)
		b = append(b, " #"...)
		b = strconv.AppendInt(b, int64(idx+1), 10)
	case genArticle:
		b = append(b, pick(articles, r)...)
		b = append(b, ' ')
		b = strconv.AppendUint(b, r>>20%90+10, 10)
	case genEmoji:
		b = append(b, pick(emojiNotes, r)...)
	default:
		b = append(b, pick(words, r)...)
		b = append(b, ' ')
		b = append(b, pick(words, r>>8)...)
	}
	return append(b, '"')
}

// appendParagraph appends a paragraph value of one to three lines.
func appendParagraph(b []byte, r uint64) []byte {
	b = append(b, '"')
	for i := range 1 + int(r%3) {
		if i > 0 {
			b = append(b, `\n`...)
		}
		b = append(b, pick(sentences, r>>(8*uint(i+1)))...)
	}
	return append(b, '"')
}

// appendLongText appends a paragraph value of 12-16 KB (the limit is 65,536
// characters, docs/vendors/trackvia.md#field-types-and-values), to exercise
// large cells.
func appendLongText(b []byte, r uint64) []byte {
	b = append(b, '"')
	start := len(b)
	target := 12*1024 + int(r%4096)
	x := r
	for len(b)-start < target {
		x = splitmix(x)
		b = append(b, pick(sentences, x)...)
		if x%7 == 0 {
			b = append(b, `\n`...)
		} else {
			b = append(b, ' ')
		}
	}
	return append(b, '"')
}

// The word lists hold JSON-escaped text (esc), ready to append between quotes.
var (
	companies = esc(
		"Cryogenic Futures", "Sunshine Industries", "Müller & Söhne GmbH", "Café Zoë",
		`Acme "Rockets" Inc.`, "北京贸易有限公司", "Ñandú S.A.", `Back\Slash Ltd`,
		"O'Neil Partners", "Fjällräven Outfitters", "Łódź Logistics", "Rocket Labs 🚀",
	)
	firstNames = esc("James", "Simon", "Zoë", "José", "Ærin", "Søren", "Ana-María", "Nguyễn", "李", "Chloé", "Björn", "Priya")
	lastNames  = esc("Randall", "Black", "Müller", "García", "Øster", "王", "O'Brien", "Smith", "Dvořák", "Kowalski", "Nakamura")
	emailUsers = esc("james", "simon", "zoe", "jose", "aerin", "soren", "ana", "priya", "bjorn", "chloe")
	domains    = esc("example.com", "example.org", "beispiel.de", "acme.example", "cryo.example.net")
	titles     = esc("Replace pump", "Inspect boiler", "Fix leaking valve", "Install meter", "Quarterly HVAC check", "Repair gate – north side")
	articles   = esc("Schraubenschlüssel", "Drehmomentschlüssel", "Dichtungsring", "Kabelbinder", "Sicherung", "Filtereinsatz", "Ölkanne")
	emojiNotes = esc("✅ geprüft", "⚠️ Nachbestellen", "📦 im Lager", "🔧 in Reparatur", "👍", "Größe passt 👌", "\"zitiert\" 🙂")
	words      = esc("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "Grüße", "naïve", "façade", "smörgåsbord")
	sentences  = esc(
		"Customer called about the invoice.",
		"Kunde möchte einen Rückruf am Dienstag.",
		`Said "ship it" and hung up.`,
		"Path is C:\\temp\\trackvia.",
		"Tab\tseparated\tvalues slipped in.",
		"Follow-up scheduled – see notes ✅.",
		"顧客は満足しています。",
		"Zoë's team prefers e-mail.",
	)
	userStatuses = esc("ACTIVE", "ACTIVE", "ACTIVE", "INACTIVE", "UNVERIFIED")
	timeZones    = esc("America/Denver", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "UTC", "MST")
)

// esc returns the JSON-escaped form of each string, without quotes.
func esc(list ...string) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = string(appendEscaped(nil, x))
	}
	return out
}
