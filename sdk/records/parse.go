package records

import (
	"math"
	"strconv"

	"github.com/apache/arrow/go/v17/arrow"
)

// The parsers below take the text of a JSON number or the contents of a
// JSON string and never allocate: they run once per value.

// parseInt parses a decimal integer. A number with a fraction or exponent is
// accepted when it is integral and exactly representable ("42.0", "1e3").
func parseInt(s []byte) (int64, bool) {
	i := 0
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		i = 1
	}
	if i == len(s) {
		return 0, false
	}
	var n uint64
	for ; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return parseIntFloat(s)
		}
		if n > (math.MaxUint64-9)/10 {
			return 0, false
		}
		n = n*10 + uint64(c)
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// parseIntFloat is parseInt's slow path for numbers written with a fraction
// or exponent.
func parseIntFloat(s []byte) (int64, bool) {
	f, ok := parseFloat(s)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// parseFloat parses a number in JSON syntax, allowing leading zeros.
// Infinities, NaN, hex and out-of-range numbers are rejected.
func parseFloat(s []byte) (float64, bool) {
	if !isNumber(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(s), 64)
	return f, err == nil
}

// isNumber reports whether s is a JSON number, leading zeros allowed:
// -?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isNumber(s []byte) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(s) && s[i]-'0' <= 9 {
			i++
		}
		return i > start
	}
	if !digits() {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}

// parseBool accepts true/false in any case and 1/0.
func parseBool(s []byte) (v, ok bool) {
	switch len(s) {
	case 1:
		switch s[0] {
		case '1':
			return true, true
		case '0':
			return false, true
		}
	case 4:
		return true, lower(s[0]) == 't' && lower(s[1]) == 'r' && lower(s[2]) == 'u' && lower(s[3]) == 'e'
	case 5:
		return false, lower(s[0]) == 'f' && lower(s[1]) == 'a' && lower(s[2]) == 'l' && lower(s[3]) == 's' && lower(s[4]) == 'e'
	}
	return false, false
}

func lower(c byte) byte { return c | 0x20 }

// num parses n ASCII digits at s[i:], which the caller has checked exist.
func num(s []byte, i, n int) (int, bool) {
	v := 0
	for _, c := range s[i : i+n] {
		c -= '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + int(c)
	}
	return v, true
}

// parseDate parses the leading "2006-01-02" of s and returns days since the
// Unix epoch and the rest of s.
func parseDate(s []byte) (days int64, rest []byte, ok bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, nil, false
	}
	y, ok1 := num(s, 0, 4)
	m, ok2 := num(s, 5, 2)
	d, ok3 := num(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, nil, false
	}
	return daysFromCivil(y, m, d), s[10:], true
}

// parseDate32 parses a date, or a date-time whose date part is taken as
// written (no time zone conversion).
func parseDate32(s []byte) (int32, bool) {
	days, rest, ok := parseDate(s)
	if !ok {
		return 0, false
	}
	if len(rest) > 0 {
		if _, ok := parseClock(rest); !ok {
			return 0, false
		}
	}
	return int32(days), true
}

// parseTimestamp parses a date-time string: RFC 3339 with an offset or Z,
// or without a zone (taken as UTC), with 'T' or ' ' between date and time,
// optional seconds and fraction; a bare date is midnight UTC. A string of
// digits is an epoch number (see epoch). The result is in unit.
func parseTimestamp(s []byte, unit arrow.TimeUnit) (int64, bool) {
	days, rest, ok := parseDate(s)
	if !ok {
		return parseEpoch(s, unit)
	}
	var c clock
	if len(rest) > 0 {
		if c, ok = parseClock(rest); !ok {
			return 0, false
		}
	}
	sec := days*86400 + c.sec
	return toUnit(sec, c.nsec, unit)
}

// clock is the time-of-day part of a date-time, as seconds since midnight
// UTC (so it may be negative or exceed a day after the offset) and nanoseconds.
type clock struct {
	sec  int64
	nsec int64
}

// parseClock parses "Thh:mm[:ss[.fff]][Z|±hh:mm|±hhmm|±hh]" ('T', 't' or ' ').
func parseClock(s []byte) (clock, bool) {
	if len(s) < 6 || (s[0] != 'T' && s[0] != 't' && s[0] != ' ') || s[3] != ':' {
		return clock{}, false
	}
	h, ok1 := num(s, 1, 2)
	mi, ok2 := num(s, 4, 2)
	if !ok1 || !ok2 || h > 23 || mi > 59 {
		return clock{}, false
	}
	s = s[6:]
	var sec, nsec int
	if len(s) >= 3 && s[0] == ':' {
		var ok bool
		if sec, ok = num(s, 1, 2); !ok || sec > 59 {
			return clock{}, false
		}
		s = s[3:]
		if len(s) > 0 && (s[0] == '.' || s[0] == ',') {
			i := 1
			scale := 100_000_000
			for ; i < len(s) && s[i]-'0' <= 9; i++ {
				nsec += int(s[i]-'0') * scale
				scale /= 10
			}
			if i == 1 {
				return clock{}, false
			}
			s = s[i:]
		}
	}
	off, ok := parseOffset(s)
	if !ok {
		return clock{}, false
	}
	return clock{sec: int64(h*3600+mi*60+sec) - off, nsec: int64(nsec)}, true
}

// parseOffset parses the zone suffix of a date-time: "" (UTC), "Z", "±hh",
// "±hhmm" or "±hh:mm", and returns it in seconds east of UTC.
func parseOffset(s []byte) (int64, bool) {
	switch {
	case len(s) == 0:
		return 0, true
	case len(s) == 1 && (s[0] == 'Z' || s[0] == 'z'):
		return 0, true
	case s[0] != '+' && s[0] != '-':
		return 0, false
	}
	var h, m int
	var ok1, ok2 = false, true
	switch len(s) {
	case 3:
		h, ok1 = num(s, 1, 2)
	case 5:
		h, ok1 = num(s, 1, 2)
		m, ok2 = num(s, 3, 2)
	case 6:
		if s[3] != ':' {
			return 0, false
		}
		h, ok1 = num(s, 1, 2)
		m, ok2 = num(s, 4, 2)
	}
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, false
	}
	off := int64(h*3600 + m*60)
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

// parseEpoch parses a Unix time number: integer or fractional, its unit
// decided by magnitude. Below 1e11 it is seconds (until the year 5138),
// below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds.
func parseEpoch(s []byte, unit arrow.TimeUnit) (int64, bool) {
	if !isNumber(s) {
		return 0, false
	}
	neg := s[0] == '-'
	t := s
	if neg {
		t = s[1:]
	}
	// Integer part, then up to 9 fraction digits, exactly; exponents go
	// through float64.
	var ip int64
	i := 0
	for ; i < len(t) && t[i]-'0' <= 9; i++ {
		if ip > (math.MaxInt64-9)/10 {
			return 0, false
		}
		ip = ip*10 + int64(t[i]-'0')
	}
	var frac int64 // in units of 1e-9 of the integer part's unit
	if i < len(t) && t[i] == '.' {
		scale := int64(100_000_000)
		for i++; i < len(t) && t[i]-'0' <= 9; i++ {
			frac += int64(t[i]-'0') * scale
			scale /= 10
		}
	}
	if i < len(t) { // exponent
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil || f >= 1<<62 {
			return 0, false
		}
		ip = int64(f)
		frac = int64((f - math.Trunc(f)) * 1e9)
	}
	if neg {
		ip, frac = -ip, -frac
	}
	abs := ip
	if abs < 0 {
		abs = -abs
	}
	var sec, nsec int64
	switch {
	case abs < 1e11:
		sec, nsec = ip, frac
	case abs < 1e14:
		sec, nsec = ip/1e3, ip%1e3*1e6+frac/1e3
	case abs < 1e17:
		sec, nsec = ip/1e6, ip%1e6*1e3+frac/1e6
	default:
		sec, nsec = ip/1e9, ip%1e9
	}
	return toUnit(sec, nsec, unit)
}

// toUnit converts seconds and nanoseconds to unit, truncating toward the
// past, and reports overflow.
func toUnit(sec, nsec int64, unit arrow.TimeUnit) (int64, bool) {
	var mul, div int64
	switch unit {
	case arrow.Second:
		mul, div = 1, 1e9
	case arrow.Millisecond:
		mul, div = 1e3, 1e6
	case arrow.Microsecond:
		mul, div = 1e6, 1e3
	default:
		mul, div = 1e9, 1
	}
	if sec > math.MaxInt64/mul-1 || sec < math.MinInt64/mul+1 {
		return 0, false
	}
	q := nsec / div
	if nsec%div < 0 {
		q--
	}
	return sec*mul + q, true
}

// daysIn returns the number of days in month m of year y.
func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
