package records

import (
	"encoding/binary"
	"io"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// maxDepth is the deepest nesting of objects and arrays a scanner accepts.
// It is jsontext's limit (RFC 8259 §9 allows one), so a body the Decoder
// once took is still taken, and it bounds the recursion of consume.
const maxDepth = 10000

// A scanner reads the tokens and values of one JSON body held whole in
// memory, validating as it goes, for the Decoder. It accepts exactly what
// jsontext.Decoder with AllowDuplicateNames(true) accepts, reports errors
// at the same byte offsets, and never panics (FuzzScan checks all three):
// RFC 8259 JSON with strict UTF-8 (no invalid bytes, no lone surrogate
// escapes), no control characters in strings, at most maxDepth levels of
// nesting.
//
// Its methods are the part of jsontext.Decoder's that the Decoder used
// (peek is PeekKind, readToken, readValue, skipValue, offset is
// InputOffset), over an index into the body rather than a reader, plus
// name and nameIs, fast paths for the names of object members. Like
// jsontext, it reads a stream of top-level values; end checks that nothing
// but blanks follows the first, and reports what does at its start. Errors
// are *syntaxError.
type scanner struct {
	buf   []byte
	pos   int     // offset just after the last token or value read
	st    state   // where the innermost container (or the top level) is
	stack []state // the states of the containers around it, outermost first

	// peek caches the next token: its offset (-1 when nothing is cached),
	// its kind, and, when the kind is 0, the error reading it will return
	// (err is set only then, and not cleared: see fail).
	next int
	kind jsontext.Kind
	err  error

	esc bool // the last string read had an escape sequence
}

// A state says what may come next in a container.
type state uint8

const (
	stTop         state = iota // at the top level: values, no delimiters
	stArrayEmpty               // after '['
	stArray                    // after an element: ',' or ']'
	stObjectEmpty              // after '{'
	stObjectName               // after a name: ':' and a value
	stObjectValue              // after a member: ',' or '}'
)

// delim returns the delimiter that must come before a token of kind k in
// state st, or 0 for none.
func (st state) delim(k jsontext.Kind) byte {
	switch st {
	case stObjectName:
		return ':'
	case stArray, stObjectValue:
		if k != '}' && k != ']' {
			return ','
		}
	}
	return 0
}

// name reports whether the next token must be an object member's name.
func (st state) name() bool { return st == stObjectEmpty || st == stObjectValue }

// then returns the state after a value is read in state st.
func (st state) then() state {
	switch st {
	case stArrayEmpty, stArray:
		return stArray
	case stObjectName:
		return stObjectValue
	}
	return st
}

// kinds maps the first byte of a token to its kind, as jsontext.Kind does
// ('0' for every number); 0 for a byte that starts none.
var kinds = [256]jsontext.Kind{
	'n': 'n', 'f': 'f', 't': 't', '"': '"',
	'{': '{', '}': '}', '[': '[', ']': ']',
	'-': '0', '0': '0', '1': '0', '2': '0', '3': '0', '4': '0',
	'5': '0', '6': '0', '7': '0', '8': '0', '9': '0',
}

// A syntaxError is input that is not JSON, or is cut off, at byte offset
// off of the body.
type syntaxError struct {
	off int
	msg string // what is wrong; "" for a cut-off body
}

// Error says what is wrong, without the offset (the Decoder's errors give
// it first).
func (e *syntaxError) Error() string {
	if e.msg == "" {
		return io.ErrUnexpectedEOF.Error()
	}
	return e.msg
}

// Unwrap returns io.ErrUnexpectedEOF for a cut-off body.
func (e *syntaxError) Unwrap() error {
	if e.msg == "" {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// cutOff returns the error of a body that ends at off, inside a value.
func cutOff(off int) error { return &syntaxError{off: off} }

// invalid returns the error of the unexpected character at b[off], found
// where (e.g. "at start of value").
func invalid(b []byte, off int, where string) error {
	return &syntaxError{off: off, msg: "invalid character " + quoteRune(b[off:]) + " " + where}
}

// quoteRune quotes the character at the start of b for errors: '\xff' for
// a byte that starts no valid UTF-8 sequence.
func quoteRune(b []byte) string {
	r, n := utf8.DecodeRune(b)
	if r == utf8.RuneError && n == 1 {
		return `'\x` + strconv.FormatUint(uint64(b[0]), 16) + `'`
	}
	return strconv.QuoteRune(r)
}

// reset makes s read b from its start.
func (s *scanner) reset(b []byte) {
	*s = scanner{buf: b, stack: s.stack[:0], next: -1}
}

// offset returns the offset just after the last token or value read, as
// jsontext.Decoder.InputOffset does.
func (s *scanner) offset() int { return s.pos }

// skipSpace returns the offset of the first byte at or after p that is not
// JSON whitespace (space, tab, CR, LF), or len(b).
func skipSpace(b []byte, p int) int {
	for p < len(b) && b[p] <= ' ' && (b[p] == ' ' || b[p] == '\n' || b[p] == '\r' || b[p] == '\t') {
		p++
	}
	return p
}

// peek returns the kind of the next token without reading it, or 0 if it
// cannot be read (the next read returns why), as jsontext's PeekKind
// does. It checks the delimiter before the token, not the token itself.
func (s *scanner) peek() jsontext.Kind {
	if s.next >= 0 {
		return s.kind
	}
	return s.find()
}

// find is peek when nothing is cached.
func (s *scanner) find() jsontext.Kind {
	b := s.buf
	p := skipSpace(b, s.pos)
	if p == len(b) {
		return s.fail(p, cutOff(p))
	}
	var delim byte
	if c := b[p]; c == ',' || c == ':' {
		delim = c
		if p = skipSpace(b, p+1); p == len(b) {
			// A string could follow: is the delimiter right for one?
			if s.st.delim('"') != delim {
				return s.fail(p, s.delimError('"'))
			}
			return s.fail(p, cutOff(p))
		}
	}
	k := kinds[b[p]]
	switch {
	case s.st.delim(k) != delim:
		return s.fail(p, s.delimError(k))
	case k == 0:
		return s.fail(p, invalid(b, p, "at start of value"))
	}
	s.next, s.kind = p, k
	return k
}

// fail caches err as what reading the token at offset p returns, and
// returns kind 0. Only here is s.err set, so that the paths without an
// error write no pointer (which would cost a GC write barrier).
func (s *scanner) fail(p int, err error) jsontext.Kind {
	s.next, s.kind, s.err = p, 0, err
	return 0
}

// delimError returns the error of a missing, wrong or extra delimiter
// before a token of kind k, at the first byte after the last token.
func (s *scanner) delimError(k jsontext.Kind) error {
	where := "at start of value"
	switch s.st.delim(k) {
	case ':':
		where = "after object name (expecting ':')"
	case ',':
		where = s.afterWhat()
	}
	return invalid(s.buf, skipSpace(s.buf, s.pos), where)
}

// afterWhat describes the position after an element or member, for errors.
func (s *scanner) afterWhat() string {
	if s.st >= stObjectEmpty {
		return "after object value (expecting ',' or '}')"
	}
	return "after array element (expecting ',' or ']')"
}

// take returns the offset and kind of the next token, and the error of
// reading it (when the kind is 0), and clears what peek cached.
func (s *scanner) take() (int, jsontext.Kind, error) {
	if s.next < 0 {
		s.find()
	}
	p, k := s.next, s.kind
	s.next = -1
	if k == 0 {
		return p, 0, s.err
	}
	return p, k, nil
}

// readToken reads the next token and returns its kind, as jsontext's
// ReadToken does: a string, number or literal whole, or one of { } [ ].
func (s *scanner) readToken() (jsontext.Kind, error) {
	p, k, err := s.take()
	if err != nil {
		return 0, err
	}
	switch k {
	case '{', '[':
		switch {
		case s.st.name():
			return 0, &syntaxError{off: p, msg: "object member name must be a string"}
		case len(s.stack) == maxDepth:
			return 0, &syntaxError{off: p, msg: "exceeded max depth"}
		}
		s.stack = append(s.stack, s.st.then())
		s.st = stObjectEmpty
		if k == '[' {
			s.st = stArrayEmpty
		}
		s.pos = p + 1
		return k, nil
	case '}', ']':
		if err := s.close(p, k); err != nil {
			return 0, err
		}
		s.st = s.stack[len(s.stack)-1]
		s.stack = s.stack[:len(s.stack)-1]
		s.pos = p + 1
		return k, nil
	}
	end, err := s.consume(p, len(s.stack)+1)
	if err == nil {
		err = s.advance(p, end, k)
	}
	if err != nil {
		return 0, err
	}
	return k, nil
}

// close checks that the token k, '}' or ']' at offset p, may end the
// innermost container.
func (s *scanner) close(p int, k jsontext.Kind) error {
	switch {
	case k == '}' && (s.st == stObjectEmpty || s.st == stObjectValue):
		return nil
	case k == ']' && (s.st == stArrayEmpty || s.st == stArray):
		return nil
	case k == '}' && s.st == stObjectName:
		return &syntaxError{off: p, msg: "missing value after object name"}
	case s.st == stArray || s.st >= stObjectName:
		return invalid(s.buf, p, s.afterWhat())
	}
	return invalid(s.buf, p, "at start of value")
}

// advance moves s past the value of kind k at buf[p:end], as a name if one
// is due.
func (s *scanner) advance(p, end int, k jsontext.Kind) error {
	switch s.st {
	case stObjectEmpty, stObjectValue:
		if k != '"' {
			return &syntaxError{off: p, msg: "object member name must be a string"}
		}
		s.st = stObjectName
	case stObjectName:
		s.st = stObjectValue
	case stArrayEmpty:
		s.st = stArray
	}
	s.pos = end
	return nil
}

// readValue reads the next value whole (an object or array with all it
// holds) and returns its bytes, as jsontext's ReadValue does. The value is
// part of the body: the caller must not modify it, and appending to it
// copies.
func (s *scanner) readValue() (jsontext.Value, error) {
	p, k, err := s.take()
	if err != nil {
		return nil, err
	}
	var end int
	switch k {
	case '"':
		end, err = s.str(p)
	case '0':
		end, err = s.number(p)
	default:
		end, err = s.consume(p, len(s.stack)+1)
	}
	if err == nil {
		err = s.advance(p, end, k)
	}
	if err != nil {
		return nil, err
	}
	return jsontext.Value(s.buf[p:end:end]), nil
}

// name is a fast path for the Decoder's commonest step: in an object, it
// reads the next member's name and the ':' after it, and peeks at the
// value, leaving s as peek and readValue would. It takes only the plain
// case, with no blanks around the name, the ':' and the value's first
// byte; otherwise it reads nothing and returns false, and the caller goes
// the general way (peek, readValue), which reports any error.
func (s *scanner) name() (jsontext.Value, bool) {
	p := s.nameStart()
	if p < 0 {
		return nil, false
	}
	end, err := s.str(p)
	if err != nil {
		return nil, false
	}
	return s.named(p, end)
}

// nameIs is name for a member named key, which the caller expects: it
// compares the bytes rather than scanning them. key must be plain (see
// isPlain), so that its bytes between quotes are a valid JSON string with
// no escapes; for any other name it reads nothing and returns false.
func (s *scanner) nameIs(key string) (jsontext.Value, bool) {
	p := s.nameStart()
	end := p + len(key) + 2
	if p < 0 || end > len(s.buf) || s.buf[end-1] != '"' || string(s.buf[p+1:end-1]) != key {
		return nil, false
	}
	s.esc = false
	return s.named(p, end)
}

// nameStart returns the offset of the opening '"' of the next member's
// name if it comes without blanks, after a ',' unless it is the first;
// else -1.
func (s *scanner) nameStart() int {
	p, b := s.pos, s.buf
	switch {
	case s.next >= 0:
		return -1
	case s.st == stObjectValue:
		if p >= len(b) || b[p] != ',' {
			return -1
		}
		p++
	case s.st != stObjectEmpty:
		return -1
	}
	if p >= len(b) || b[p] != '"' {
		return -1
	}
	return p
}

// named ends name and nameIs for the name buf[p:end]: a ':' and the start
// of a value must follow it at once.
func (s *scanner) named(p, end int) (jsontext.Value, bool) {
	b := s.buf
	if end+1 >= len(b) || b[end] != ':' {
		return nil, false
	}
	k := kinds[b[end+1]]
	if k == 0 {
		return nil, false
	}
	s.st, s.pos = stObjectName, end
	s.next, s.kind = end+1, k
	return jsontext.Value(b[p:end:end]), true
}

// isPlain reports whether key, between quotes, is a JSON string without
// escapes: valid UTF-8 with no '"', '\\' or control character.
func isPlain(key string) bool {
	for i := range len(key) {
		if c := key[i]; c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.ValidString(key)
}

// skipValue reads the next value and drops it, as jsontext's SkipValue
// does: token by token for an object or array, so that its errors are
// reported where jsontext reports them.
func (s *scanner) skipValue() error {
	switch s.peek() {
	case '{', '[':
		depth := len(s.stack)
		for {
			if _, err := s.readToken(); err != nil {
				return err
			}
			if len(s.stack) <= depth {
				return nil
			}
		}
	}
	_, err := s.readValue()
	return err
}

// end checks that nothing but whitespace follows the last value read.
func (s *scanner) end() error {
	p := skipSpace(s.buf, s.pos)
	switch {
	case s.st != stTop && p == len(s.buf):
		return cutOff(p) // the body ends inside an object or array
	case s.st != stTop:
		// The caller stopped reading inside a container; no path of the
		// Decoder does, but a whole value it is not.
		return &syntaxError{off: p, msg: "the response was not read to the end of its value"}
	case p < len(s.buf):
		return &syntaxError{off: p, msg: "data after the end of the response"}
	}
	return nil
}

// consume validates the value at buf[p] (not whitespace, p < len(buf)),
// found at nesting depth (1 for a top-level value), and returns the
// offset just after it.
func (s *scanner) consume(p, depth int) (int, error) {
	switch s.buf[p] {
	case '"':
		return s.str(p)
	case '{', '[':
		return s.container(p, depth)
	case 't':
		return s.literal(p, "true")
	case 'f':
		return s.literal(p, "false")
	case 'n':
		return s.literal(p, "null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return s.number(p)
	}
	return p, invalid(s.buf, p, "at start of value")
}

// container validates the object or array at buf[p] (a '{' or '['); see
// consume.
func (s *scanner) container(p, depth int) (int, error) {
	b := s.buf
	obj := b[p] == '{'
	end, after := byte(']'), "after array element (expecting ',' or ']')"
	if obj {
		end, after = '}', "after object value (expecting ',' or '}')"
	}
	if depth > maxDepth {
		return p, &syntaxError{off: p, msg: "exceeded max depth"}
	}
	if p = skipSpace(b, p+1); p == len(b) {
		return p, cutOff(p)
	}
	if b[p] == end {
		return p + 1, nil
	}
	for {
		if p = skipSpace(b, p); p == len(b) {
			return p, cutOff(p)
		}
		var err error
		if obj {
			if p, err = s.member(p); err != nil {
				return p, err
			}
		}
		if p, err = s.consume(p, depth+1); err != nil {
			return p, err
		}
		if p = skipSpace(b, p); p == len(b) {
			return p, cutOff(p)
		}
		switch b[p] {
		case ',':
			p++
		case end:
			return p + 1, nil
		default:
			return p, invalid(b, p, after)
		}
	}
}

// member validates the name of an object member at buf[p] and the ':'
// after it, and returns the offset of its value.
func (s *scanner) member(p int) (int, error) {
	b := s.buf
	if b[p] != '"' {
		return p, invalid(b, p, `at start of string (expecting '"')`)
	}
	p, err := s.str(p)
	if err != nil {
		return p, err
	}
	if p = skipSpace(b, p); p == len(b) {
		return p, cutOff(p)
	}
	if b[p] != ':' {
		return p, invalid(b, p, "after object name (expecting ':')")
	}
	if p = skipSpace(b, p+1); p == len(b) {
		return p, cutOff(p)
	}
	return p, nil
}

// literal validates the literal lit (true, false or null) at buf[p].
func (s *scanner) literal(p int, lit string) (int, error) {
	b := s.buf[p:]
	if len(b) >= len(lit) && string(b[:len(lit)]) == lit {
		return p + len(lit), nil
	}
	for i := range len(lit) {
		if i == len(b) {
			return len(s.buf), cutOff(len(s.buf))
		}
		if b[i] != lit[i] {
			return p + i, invalid(s.buf, p+i, "in literal "+lit+" (expecting "+strconv.QuoteRune(rune(lit[i]))+")")
		}
	}
	return p + len(lit), nil // not reached: the fast path took it
}

// number validates the number at buf[p] (a '-' or digit). A cut-off number
// is reported at its start, as jsontext does.
func (s *scanner) number(p int) (int, error) {
	b := s.buf
	i := p
	if b[i] == '-' {
		i++
	}
	switch {
	case i == len(b):
		return p, cutOff(p)
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i++
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return i, invalid(b, i, "in number (expecting digit)")
	}
	var err error
	if i < len(b) && b[i] == '.' {
		if i, err = digits(b, p, i+1); err != nil {
			return i, err
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i, err = digits(b, p, i); err != nil {
			return i, err
		}
	}
	return i, nil
}

// digits passes over the digits at b[i] of the fraction or exponent of the
// number at b[p], of which there must be one.
func digits(b []byte, p, i int) (int, error) {
	switch {
	case i == len(b):
		return p, cutOff(p)
	case b[i] < '0' || b[i] > '9':
		return i, invalid(b, i, "in number (expecting digit)")
	}
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i, nil
}

// Bytes of 8 at a time, for str's search (SWAR: SIMD within a register).
const (
	swarOnes  = 0x0101010101010101 // 0x01 in every byte
	swarHighs = 0x8080808080808080 // 0x80 in every byte
)

// special returns, in the high bit of each byte, which of the 8 bytes of
// x (little-endian) str must look at: '"', '\\', a control character
// (< 0x20) or a non-ASCII byte (>= 0x80). Bits above the first such byte
// may be wrong (borrows carry upward); the lowest set bit is exact.
func special(x uint64) uint64 {
	q := x ^ (swarOnes * '"')
	e := x ^ (swarOnes * '\\')
	return ((x-swarOnes*0x20)&^x | (q-swarOnes)&^q | (e-swarOnes)&^e | x) & swarHighs
}

// plain says which bytes str can pass over: printable ASCII other than
// '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str validates the string at buf[p] (a '"') and sets s.esc to whether it
// has an escape sequence. Errors are reported where jsontext reports them:
// a bad or cut-off escape at its backslash, bad or cut-off UTF-8 at its
// first byte, a string cut off in plain text at the end of the body.
func (s *scanner) str(p int) (int, error) {
	b := s.buf
	i := p + 1
	esc := false
	for {
		// Pass over plain text, 8 bytes at a time while there are 8.
		for {
			if i+8 > len(b) {
				for i < len(b) && plain[b[i]] {
					i++
				}
				break
			}
			if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			return i, cutOff(i)
		}
		switch c := b[i]; {
		case c == '"':
			s.esc = esc
			return i + 1, nil
		case c == '\\':
			esc = true
			n, err := escape(b, i)
			if err != nil {
				return i, err
			}
			i += n
		case c < 0x20:
			return i, invalid(b, i, "in string (expecting non-control character)")
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				if !utf8.FullRune(b[i:]) {
					return i, cutOff(i)
				}
				return i, &syntaxError{off: i, msg: "invalid UTF-8 in string"}
			}
			i += n
		}
	}
}

// escape validates the escape sequence at b[i] (a '\\') and returns its
// length: a \uXXXX that is half of a surrogate pair must be followed by
// the other half, as jsontext requires.
func escape(b []byte, i int) (int, error) {
	if i+2 > len(b) {
		return 0, cutOff(i)
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, nil
	case 'u':
	default:
		return 0, badEscape(b, i, i+2, "")
	}
	if i+6 > len(b) {
		if uPrefix(b[i:], false) {
			return 0, cutOff(i)
		}
		return 0, badEscape(b, i, len(b), "")
	}
	v1, ok := hex4(b[i+2 : i+6])
	if !ok {
		return 0, badEscape(b, i, i+6, "")
	}
	if !utf16.IsSurrogate(rune(v1)) {
		return 6, nil
	}
	j := i + 6
	switch {
	case j+6 > len(b):
		if uPrefix(b[j:], true) {
			return 0, cutOff(i)
		}
		return 0, badEscape(b, i, j, ": a lone surrogate")
	case b[j] != '\\' || b[j+1] != 'u':
		return 0, badEscape(b, i, j, ": a lone surrogate")
	}
	if v2, ok := hex4(b[j+2 : j+6]); !ok || utf16.DecodeRune(rune(v1), rune(v2)) == utf8.RuneError {
		return 0, badEscape(b, i, j+6, ": not a surrogate pair")
	}
	return 12, nil
}

// badEscape returns the error of the invalid escape sequence b[i:j], and
// why if it is not plain.
func badEscape(b []byte, i, j int, why string) error {
	return &syntaxError{off: i, msg: "invalid escape sequence " + strconv.Quote(string(b[i:j])) + " in string" + why}
}

// uPrefix reports whether b (shorter than 6 bytes) may be the start of a
// \uXXXX escape cut off by the end of the body; low, whether it must be
// the low half of a surrogate pair (\uDC00 to \uDFFF).
func uPrefix(b []byte, low bool) bool {
	for i, c := range b {
		switch {
		case i == 0 && c != '\\', i == 1 && c != 'u':
			return false
		case i == 2 && low && c != 'd' && c != 'D':
			return false
		case i == 3 && low && !('c' <= c && c <= 'f') && !('C' <= c && c <= 'F'):
			return false
		case i >= 2 && i < 6 && !isHex(c):
			return false
		}
	}
	return true
}

// hex4 parses the 4 hex digits of a \u escape.
func hex4(b []byte) (v uint16, ok bool) {
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(c)
	}
	return v, true
}

// isHex reports whether c is a hex digit.
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
