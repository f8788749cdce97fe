package tracktiksim

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// kind is the JSON shape of one generated field value.
type kind uint8

const (
	kNull  kind = iota
	kInt        // n
	kFloat      // f, written PHP-style with at least one decimal ("8.0")
	kStr        // s
	kBuf        // row.buf[off:end], a string composed while filling the row
	kTime       // n = Unix seconds, written as 2006-01-02T15:04:05+00:00
	kDate       // n = days since 1970-01-01, written as 2006-01-02
	kTags       // tags, a JSON array of strings
	kBool       // n != 0
	kRaw        // raw, already-encoded JSON (overlay values of other types)
)

// value is one field of a generated record. It is a small tagged union so
// that filling a row allocates nothing.
type value struct {
	k        kind
	n        int64
	f        float64
	s        string
	off, end int32
	tags     []string
	raw      []byte
}

// row is a reusable record being filled and encoded.
type row struct {
	v      []value
	buf    []byte    // backing store of kBuf strings
	tagBuf [4]string // backing store of a kTags value

	// The last date written, because consecutive timestamps share days.
	day     int64
	dayText []byte
}

func (r *row) reset(nfields int) {
	if cap(r.v) < nfields {
		r.v = make([]value, nfields)
	}
	r.v = r.v[:nfields]
	r.buf = r.buf[:0]
}

// str returns the string form of a kStr or kBuf value, and whether it is one.
// For kBuf it allocates; only filters and tests use it.
func (r *row) str(v *value) (string, bool) {
	switch v.k {
	case kStr:
		return v.s, true
	case kBuf:
		return string(r.buf[v.off:v.end]), true
	}
	return "", false
}

// begin starts a composed string in r.buf; finish turns it into a kBuf value.
func (r *row) begin() int32 { return int32(len(r.buf)) }

func (r *row) finish(i int, off int32) {
	r.v[i] = value{k: kBuf, off: off, end: int32(len(r.buf))}
}

func (r *row) setNull(i int)             { r.v[i] = value{k: kNull} }
func (r *row) setInt(i int, n int64)     { r.v[i] = value{k: kInt, n: n} }
func (r *row) setFloat(i int, f float64) { r.v[i] = value{k: kFloat, f: f} }
func (r *row) setStr(i int, s string)    { r.v[i] = value{k: kStr, s: s} }
func (r *row) setTime(i int, unix int64) { r.v[i] = value{k: kTime, n: unix} }
func (r *row) setDate(i int, days int64) { r.v[i] = value{k: kDate, n: days} }

// setRef sets an id reference, or null when the referenced index is negative.
func (r *row) setRef(i int, id int64, ok bool) {
	if !ok {
		r.setNull(i)
		return
	}
	r.setInt(i, id)
}

// appendValue appends v as JSON.
func (r *row) appendValue(b []byte, v *value) []byte {
	switch v.k {
	case kInt:
		return strconv.AppendInt(b, v.n, 10)
	case kFloat:
		return appendFloat(b, v.f)
	case kStr:
		return appendString(b, v.s)
	case kBuf:
		return appendString(b, r.buf[v.off:v.end])
	case kTime:
		b = append(b, '"')
		b = r.appendTimestamp(b, v.n)
		return append(b, '"')
	case kDate:
		b = append(b, '"')
		b = appendDate(b, v.n)
		return append(b, '"')
	case kTags:
		b = append(b, '[')
		for j, t := range v.tags {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, t)
		}
		return append(b, ']')
	case kBool:
		if v.n != 0 {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case kRaw:
		return append(b, v.raw...)
	}
	return append(b, "null"...)
}

// appendFloat writes f the way PHP's json_encode does: shortest form, with a
// ".0" on whole numbers, so clients must accept both 8 and 8.0 as floats.
func appendFloat(b []byte, f float64) []byte {
	// Fast path for the money and hour values generated here: whole cents.
	if c := f * 100; c >= 0 && c < 1e12 && c == float64(int64(c)) && float64(int64(c))/100 == f {
		n := int64(c)
		b = strconv.AppendInt(b, n/100, 10)
		b = append(b, '.')
		switch frac := n % 100; {
		case frac == 0:
			return append(b, '0')
		case frac%10 == 0:
			return append(b, byte('0'+frac/10))
		default:
			return append(b, byte('0'+frac/10), byte('0'+frac%10))
		}
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	for _, c := range b[start:] {
		if c == '.' {
			return b
		}
	}
	return append(b, ".0"...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. UTF-8 passes through; invalid
// bytes become U+FFFD.
func appendString[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			var rb [utf8.UTFMax]byte
			n := copy(rb[:], s[i:min(i+utf8.UTFMax, len(s))])
			r, size := utf8.DecodeRune(rb[:n])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
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
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's days_from_civil inverse), without time.Time's cost.
func civil(days int64) (y int64, m, d int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }

func appendDate(b []byte, days int64) []byte {
	y, m, d := civil(days)
	if y < 0 || y > 9999 {
		return time.Unix(days*86400, 0).UTC().AppendFormat(b, time.DateOnly)
	}
	yy := int(y)
	b = append2(b, yy/100)
	b = append2(b, yy%100)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	return append2(b, d)
}

// appendTimestamp writes Unix seconds as TrackTik does: ISO-8601 with an
// explicit +00:00 offset.
func appendTimestamp(b []byte, unix int64) []byte {
	var r row
	return r.appendTimestamp(b, unix)
}

func (r *row) appendTimestamp(b []byte, unix int64) []byte {
	days := unix / 86400
	secs := unix % 86400
	if secs < 0 {
		secs += 86400
		days--
	}
	if r.dayText == nil || days != r.day {
		r.day, r.dayText = days, appendDate(r.dayText[:0], days)
	}
	b = append(b, r.dayText...)
	b = append(b, 'T')
	b = append2(b, int(secs/3600))
	b = append(b, ':')
	b = append2(b, int(secs/60%60))
	b = append(b, ':')
	b = append2(b, int(secs%60))
	return append(b, "+00:00"...)
}

// overlayValue converts a value given to Server.Update into a field value.
func overlayValue(x any) (value, error) {
	switch x := x.(type) {
	case nil:
		return value{k: kNull}, nil
	case string:
		return value{k: kStr, s: x}, nil
	case int:
		return value{k: kInt, n: int64(x)}, nil
	case int32:
		return value{k: kInt, n: int64(x)}, nil
	case int64:
		return value{k: kInt, n: x}, nil
	case float64:
		return value{k: kFloat, f: x}, nil
	case bool:
		if x {
			return value{k: kBool, n: 1}, nil
		}
		return value{k: kBool}, nil
	case time.Time:
		return value{k: kTime, n: x.Unix()}, nil
	case []string:
		return value{k: kTags, tags: append([]string(nil), x...)}, nil
	}
	raw, err := json.Marshal(x)
	if err != nil {
		return value{}, err
	}
	return value{k: kRaw, raw: raw}, nil
}
