package trackunitsim

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// Salts keep the random streams of different record kinds apart.
const (
	saltAssetID uint64 = 0x61737365742d6964 // shared by assets, locations and fleet equipment
	saltAsset   uint64 = 0x6173736574730001
	saltLoc     uint64 = 0x6c6f636174696f6e
	saltEquip   uint64 = 0x61656d7066656574
	saltEventID uint64 = 0x6576656e742d6964
	saltEvent   uint64 = 0x6576656e74730001
	saltCursor  uint64 = 0x637572736f720001
)

// mix is the splitmix64 finalizer: a cheap, well-spread 64-bit hash.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// rnd is a splitmix64 sequence seeded from (seed, salt, index): record i of a
// stream draws its fields from it, independently of every other record.
type rnd struct{ s uint64 }

func newRnd(seed, salt uint64, i int) rnd {
	return rnd{s: mix(seed ^ mix(salt+uint64(i)*0x9e3779b97f4a7c15))}
}

func (r *rnd) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

// intn returns a number in [0, n).
func (r *rnd) intn(n int) int { return int(r.next() % uint64(n)) }

// float returns a number in [0, 1).
func (r *rnd) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// chance is true with probability 1/n.
func (r *rnd) chance(n int) bool { return r.intn(n) == 0 }

// weighted returns k with probability w[k]/sum(w).
func (r *rnd) weighted(w ...int) int {
	sum := 0
	for _, x := range w {
		sum += x
	}
	n := r.intn(sum)
	for k, x := range w {
		if n < x {
			return k
		}
		n -= x
	}
	return len(w) - 1
}

// round rounds to d decimals, so that the JSON stays short and exact.
func round(v float64, d int) float64 {
	p := math.Pow10(d)
	return math.Round(v*p) / p
}

const hexDigits = "0123456789abcdef"

// appendUUID appends a version-4-shaped UUID drawn from (seed, salt, i).
func appendUUID(b []byte, seed, salt uint64, i int) []byte {
	r := newRnd(seed, salt, i)
	hi, lo := r.next(), r.next()
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	var raw [16]byte
	for k := range 8 {
		raw[k] = byte(hi >> (56 - 8*k))
		raw[8+k] = byte(lo >> (56 - 8*k))
	}
	for k, c := range raw {
		if k == 4 || k == 6 || k == 8 || k == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&15])
	}
	return b
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendKey appends `"k":` after a comma unless the object just opened.
func appendKey(b []byte, k string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' && b[n-1] != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func appendFloat(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'f', -1, 64) }

// appendTime appends t in UTC as a JSON string. With millis it writes what
// Java's Instant.toString writes for millisecond values: three fraction
// digits, or none when they are all zero.
func appendTime(b []byte, t time.Time, millis bool) []byte {
	t = t.UTC()
	b = append(b, '"')
	b = t.AppendFormat(b, "2006-01-02T15:04:05")
	if ms := t.Nanosecond() / int(time.Millisecond); millis && ms != 0 {
		b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	}
	return append(b, 'Z', '"')
}

// writeJSONStatus writes a JSON answer; noStore adds the cache headers the
// token endpoint must send.
func writeJSONStatus(w http.ResponseWriter, status int, body []byte, noStore bool) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if noStore {
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError writes the IRIS error body {"status","code","message"}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	b := append([]byte(`{"status":`), strconv.Itoa(status)...)
	b = append(b, `,"code":`...)
	b = appendString(b, code)
	b = append(b, `,"message":`...)
	b = appendString(b, msg)
	b = append(b, '}')
	writeJSONStatus(w, status, b, false)
}

// violation is one entry of an IRIS constraint_violation answer.
type violation struct{ field, message string }

// writeViolations writes a 400 constraint_violation answer.
func writeViolations(w http.ResponseWriter, vs ...violation) {
	b := []byte(`{"violations":[`)
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"field":`...)
		b = appendString(b, v.field)
		b = append(b, `,"message":`...)
		b = appendString(b, v.message)
		b = append(b, '}')
	}
	b = append(b, `],"message":"Constraint violation","status":400,"code":"constraint_violation"}`...)
	writeJSONStatus(w, http.StatusBadRequest, b, false)
}
