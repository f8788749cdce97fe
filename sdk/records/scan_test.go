package records

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"
)

// A step is one call of a walk over a body and what it returned.
type step struct {
	Op   string // peek, token, value, skip or end
	Kind jsontext.Kind
	Val  string // value: the raw value, and a string's contents unquoted
	Off  int    // the offset after the call, or of its error
	Err  bool
	EOF  bool // the error is a cut-off body
}

// Walk ops: a fuzz input's op bytes choose the calls (modulo 4); past
// them, a walk makes the Decoder's calls: peek, then readToken for a
// delimiter and readValue for anything else.
const (
	opPeek = iota
	opToken
	opValue
	opSkip
)

// chooser picks the op of each step of a walk from ops.
type chooser struct {
	ops    []byte
	i      int
	peeked bool // the fallback's last op was a peek of kind
	kind   jsontext.Kind
}

// next returns the next op.
func (c *chooser) next() int {
	if c.i < len(c.ops) {
		c.i++
		return int(c.ops[c.i-1] % 4)
	}
	if !c.peeked {
		return opPeek
	}
	switch c.kind {
	case '{', '[', '}', ']', 0:
		return opToken
	}
	return opValue
}

// saw records the result of a step for the fallback.
func (c *chooser) saw(op int, k jsontext.Kind) {
	c.peeked, c.kind = op == opPeek && c.i >= len(c.ops), k
}

// maxSteps bounds a walk whose ops peek forever.
const maxSteps = 1 << 16

// A walker is a tokenizer as a walk calls it: a scanner or a
// jsontext.Decoder.
type walker interface {
	peekKind() jsontext.Kind
	token() (jsontext.Kind, error)
	value() (jsontext.Value, error)
	skip() error
	inputOffset() int
	depth() int
	// rest returns -1 if nothing but blanks follows the value read, else
	// the offset of the error.
	rest() int
	// contents returns the unquoted contents of v, the string just read.
	contents(v jsontext.Value) string
	// where returns the offset of err and whether it means a cut-off body.
	where(err error) (off int, eof bool)
}

// walk walks a body with w, by the calls ops choose, and returns the steps.
// It stops at the first error or after the first top-level value.
func walk(w walker, ops []byte) []step {
	var steps []step
	c := chooser{ops: ops}
	for range maxSteps {
		op := c.next()
		var st step
		var err error
		switch op {
		case opPeek:
			st = step{Op: "peek", Kind: w.peekKind()}
		case opToken:
			st.Op = "token"
			st.Kind, err = w.token()
		case opValue:
			st.Op = "value"
			var v jsontext.Value
			v, err = w.value()
			st.Val = string(v)
			if err == nil && v.Kind() == '"' {
				st.Val += " " + w.contents(v)
			}
		case opSkip:
			st.Op = "skip"
			err = w.skip()
		}
		st.Off = w.inputOffset()
		c.saw(op, st.Kind)
		if err != nil {
			st.Err = true
			st.Off, st.EOF = w.where(err)
			return append(steps, st)
		}
		steps = append(steps, st)
		if op != opPeek && w.depth() == 0 {
			off := w.rest()
			return append(steps, step{Op: "end", Off: off, Err: off >= 0})
		}
	}
	return steps
}

// scanWalker walks with a scanner.
type scanWalker struct{ s scanner }

func (w *scanWalker) peekKind() jsontext.Kind             { return w.s.peek() }
func (w *scanWalker) token() (jsontext.Kind, error)       { return w.s.readToken() }
func (w *scanWalker) value() (jsontext.Value, error)      { return w.s.readValue() }
func (w *scanWalker) skip() error                         { return w.s.skipValue() }
func (w *scanWalker) inputOffset() int                    { return w.s.offset() }
func (w *scanWalker) depth() int                          { return len(w.s.stack) }
func (w *scanWalker) where(err error) (off int, eof bool) { return scanErr(err) }

func (w *scanWalker) rest() int {
	if err := w.s.end(); err != nil {
		off, _ := scanErr(err)
		return off
	}
	return -1
}

func (w *scanWalker) contents(v jsontext.Value) string {
	if !w.s.esc {
		if bytes.IndexByte(v, '\\') >= 0 {
			return "(escape not reported)"
		}
		return string(v[1 : len(v)-1])
	}
	u, err := jsontext.AppendUnquote(nil, v)
	if err != nil {
		return err.Error()
	}
	return string(u)
}

// scanErr returns the offset of a scanner error and whether it is a cut-off
// body; a *syntaxError, which has the offset, is the only kind there is.
func scanErr(err error) (off int, eof bool) {
	var se *syntaxError
	if !errors.As(err, &se) {
		return -2, false
	}
	return se.off, errors.Is(err, io.ErrUnexpectedEOF)
}

// jsontextWalker walks with jsontext.Decoder, as the Decoder used it.
type jsontextWalker struct {
	dec  *jsontext.Decoder
	body []byte
}

func (w *jsontextWalker) peekKind() jsontext.Kind { return w.dec.PeekKind() }
func (w *jsontextWalker) skip() error             { return w.dec.SkipValue() }
func (w *jsontextWalker) value() (jsontext.Value, error) {
	return w.dec.ReadValue()
}
func (w *jsontextWalker) inputOffset() int { return int(w.dec.InputOffset()) }
func (w *jsontextWalker) depth() int       { return w.dec.StackDepth() }

func (w *jsontextWalker) token() (jsontext.Kind, error) {
	tok, err := w.dec.ReadToken()
	if err != nil {
		return 0, err
	}
	return tok.Kind(), nil
}

// rest: jsontext reads a stream of values; the Decoder took anything but
// io.EOF after the first as an error, and the scanner reports it where the
// data after the value starts.
func (w *jsontextWalker) rest() int {
	after := skipBlanks(w.body, w.inputOffset())
	if _, err := w.dec.ReadToken(); err != io.EOF {
		return after
	}
	return -1
}

func (w *jsontextWalker) contents(v jsontext.Value) string {
	u, err := jsontext.AppendUnquote(nil, v)
	if err != nil {
		return err.Error()
	}
	return string(u)
}

// where: a bare io.EOF, with no offset, is for nothing but blanks at the
// top level, which the scanner reports at the end of the body.
func (w *jsontextWalker) where(err error) (off int, eof bool) {
	eof = errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
	if se := (*jsontext.SyntacticError)(nil); errors.As(err, &se) {
		return int(se.ByteOffset), eof
	}
	return len(w.body), eof
}

// walkScanner walks body with a scanner.
func walkScanner(body, ops []byte) []step {
	var w scanWalker
	w.s.reset(body)
	return walk(&w, ops)
}

// walkJSONText walks body with jsontext.Decoder.
func walkJSONText(body, ops []byte) []step {
	dec := jsontext.NewDecoder(bytes.NewBuffer(body), jsontext.AllowDuplicateNames(true))
	return walk(&jsontextWalker{dec: dec, body: body}, ops)
}

// skipBlanks returns the offset of the first non-blank byte of body at or
// after off.
func skipBlanks(body []byte, off int) int {
	return off + len(body[off:]) - len(bytes.TrimLeft(body[off:], " \t\r\n"))
}

// scanSeeds are edge cases of the JSON grammar for FuzzScan.
var scanSeeds = []string{
	``, " \t\r\n", "\xef\xbb\xbf[]", `[] x`, `[]]`, `{} {}`, ` 1 `, `[1]` + "\x00",
	`"\u0000"`, `"\ud83d\ude00"`, `"\uD83D\uDE00"`, `"\ud800"`, `"\udc00"`, `"\ud800\u0041"`,
	`"\ud800\udbff"`, `"\ud800\udc`, `"\ud800\u`, `"\ud800\`, `"\ud800`, `"\u12"`, `"\u12`,
	`"\u12x"`, `"\x"`, `"\`, `"\/\b\f\n\r\t\"\\"`, "\"\x7f\"", "\"\xff\"", "\"\xc0\xaf\"",
	"\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"", "\"\xe2\x82", "\"\xe2\x82\"", "\"a\x01\"", "\"\t\"",
	`"abc`, `"<>&é"`,
	`-0`, `1e999`, `01`, `1.`, `.5`, `1e`, `1e+`, `-`, `+1`, `1.5e-3`, `-x`, `1.x`, `1ex`,
	`[1.5E+10,-0.0,0e0]`, `NaN`, `Infinity`,
	`tru`, `nul`, `truex`, `nulL`, `[true,false,null]`,
	`[1,]`, `{"a":1,}`, `{"a" 1}`, `[1 2]`, `{,}`, `[,1]`, `[1:2]`, `{"a",1}`, `{"a":}`, `{"a":]`,
	`{1:2}`, `{-x}`, `{tru}`, `{{}:1}`, `[}`, `{]`, `{"a":1]`, `[1,`, `{"a":1,`, `{"a"`, `{"a":`,
	`{"a":1 "b":2}`, `[1:`, `[,`, `{"a",`,
	// Deep objects are in TestScanner_*: fuzzing inputs this big is slow.
	strings.Repeat(`[`, maxDepth) + strings.Repeat(`]`, maxDepth),
	strings.Repeat(`[`, maxDepth+1) + strings.Repeat(`]`, maxDepth+1),
}

// FuzzScan walks every input with a scanner and with jsontext.Decoder, by
// the same calls, and wants the same results: kinds, values, offsets, and
// errors at the same offsets (see walkJSONText for the one difference,
// data after the top-level value).
func FuzzScan(f *testing.F) {
	for _, seed := range append(append([]string(nil), FuzzSeeds...), scanSeeds...) {
		for _, ops := range [][]byte{
			nil,                // the Decoder's calls
			{opValue},          // the whole value at once
			{opSkip},           // skipped
			{opToken, opSkip},  // its first member or element skipped
			{opToken, opValue}, // its first member or element read whole
			{opToken, opToken, opToken, opPeek, opSkip, opToken, opValue, opToken, opToken},
		} {
			f.Add([]byte(seed), ops)
		}
	}
	f.Fuzz(func(t *testing.T, body, ops []byte) {
		want := walkJSONText(body, ops)
		got := walkScanner(body, ops)
		if i := firstDiff(want, got); i >= 0 {
			// Show the steps from the first that differs: cmp.Diff of
			// whole walks (20,000 steps for deep nesting) is too slow.
			t.Errorf("walk(%.200q, %v) from step %d: mismatch (-jsontext +scanner):\n%s",
				body, ops, i, cmp.Diff(want[i:min(i+3, len(want))], got[i:min(i+3, len(got))]))
		}
	})
}

// firstDiff returns the index of the first step where a and b differ, or
// -1 if they are the same.
func firstDiff(a, b []step) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// A scanErrorCase is a body the scanner must refuse, and how.
type scanErrorCase struct {
	name string
	body string
	off  int
	eof  bool   // a cut-off body: io.ErrUnexpectedEOF
	msg  string // in the error
}

func TestScanner_Errors(t *testing.T) {
	t.Parallel()
	tests := []scanErrorCase{
		{"empty", ``, 0, true, "unexpected EOF"},
		{"blank", " \n", 2, true, "unexpected EOF"},
		{"cut in array", `[1,`, 3, true, "unexpected EOF"},
		{"cut in name", `{"ab`, 4, true, "unexpected EOF"},
		{"cut in number", `[1.`, 1, true, "unexpected EOF"},
		{"cut in exponent", `[1e+`, 1, true, "unexpected EOF"},
		{"cut in literal", `[nul`, 4, true, "unexpected EOF"},
		{"cut in escape", `["\u12`, 2, true, "unexpected EOF"},
		{"cut in surrogate pair", `["\ud800\udc`, 2, true, "unexpected EOF"},
		{"cut in UTF-8", "[\"\xe2\x82", 2, true, "unexpected EOF"},
		{"trailing comma", `[1,]`, 2, false, "invalid character ',' at start of value"},
		{"trailing comma in object", `{"a":1,}`, 6, false, "invalid character ','"},
		{"leading zero", `[01]`, 2, false, "invalid character '1' after array element"},
		{"bare dot", `[.5]`, 1, false, "invalid character '.' at start of value"},
		{"plus", `[+1]`, 1, false, "invalid character '+' at start of value"},
		{"dot without digits", `[1.]`, 3, false, "invalid character ']' in number (expecting digit)"},
		{"exponent without digits", `[1e]`, 3, false, "in number (expecting digit)"},
		{"minus alone", `[-]`, 2, false, "in number (expecting digit)"},
		{"bad literal", `[tru]`, 4, false, "invalid character ']' in literal true (expecting 'e')"},
		{"capital literal", `[Null]`, 1, false, "invalid character 'N' at start of value"},
		{"bad escape", `["\q"]`, 2, false, `invalid escape sequence "\\q"`},
		{"lone high surrogate", `["\ud800"]`, 2, false, "invalid escape sequence"},
		{"lone low surrogate", `["\udc00\udc00"]`, 2, false, "invalid escape sequence"},
		{"surrogate and letter", `["\ud800\u0041"]`, 2, false, "invalid escape sequence"},
		{"control character", "[\"a\x01\"]", 3, false, `invalid character '\x01' in string`},
		{"newline in string", "[\"a\nb\"]", 3, false, "in string (expecting non-control character)"},
		{"invalid UTF-8", "[\"\xff\"]", 2, false, "invalid UTF-8 in string"},
		{"overlong UTF-8", "[\"\xc0\xaf\"]", 2, false, "invalid UTF-8 in string"},
		{"UTF-8 surrogate", "[\"\xed\xa0\x80\"]", 2, false, "invalid UTF-8 in string"},
		{"no colon", `{"a" 1}`, 5, false, "invalid character '1' after object name (expecting ':')"},
		{"no value", `{"a":}`, 5, false, "missing value after object name"},
		{"number name", `{1:2}`, 1, false, "object member name must be a string"},
		{"no comma", `[1 2]`, 3, false, "invalid character '2' after array element (expecting ',' or ']')"},
		{"object closed by ]", `{"a":1]`, 6, false, "after object value (expecting ',' or '}')"},
		{"array closed by }", `[}`, 1, false, "invalid character '}' at start of value"},
		{"single quotes", `['a']`, 1, false, "invalid character '\\'' at start of value"},
		{"byte order mark", "\xef\xbb\xbf[]", 0, false, "invalid character '\\ufeff' at start of value"},
		{"data after", `[] 1`, 3, false, "data after the end of the response"},
		{"garbage after", "{}\n}", 3, false, "data after the end of the response"},
		{"too deep", strings.Repeat("[", maxDepth+1), maxDepth, false, "exceeded max depth"},
		{"too deep objects", strings.Repeat(`{"a":`, maxDepth+1), 5 * maxDepth, false, "exceeded max depth"},
		{"too deep in a value", `[` + strings.Repeat(`{"":`, maxDepth) + `0` + strings.Repeat(`}`, maxDepth) + `]`,
			1 + 4*(maxDepth-1), false, "exceeded max depth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			off, eof, msg := scanError(t, tt.body)
			if off != tt.off || eof != tt.eof || !strings.Contains(msg, tt.msg) {
				t.Errorf("ScanWalk(%.40q) error at %d (cut off: %t) %q, want at %d (cut off: %t) %q",
					tt.body, off, eof, msg, tt.off, tt.eof, tt.msg)
			}
		})
	}
}

// scanError walks body with ScanWalk, which must fail, and returns the
// offset of the error, whether it is io.ErrUnexpectedEOF, and its text.
func scanError(t *testing.T, body string) (off int, eof bool, msg string) {
	t.Helper()
	err := ScanWalk([]byte(body))
	var se *syntaxError
	if !errors.As(err, &se) {
		t.Fatalf("ScanWalk(%.40q) error = %v, want a *syntaxError", body, err)
	}
	return se.off, errors.Is(err, io.ErrUnexpectedEOF), err.Error()
}

func TestScanner_Valid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"negative zero", `-0`},
		{"huge exponent", `1e999`},
		{"numbers", `[1.5E+10,-0.0,0e0,12345678901234567890]`},
		{"literals", `[true,false,null]`},
		{"blanks", " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } }\n"},
		{"surrogate pair", `"\ud83d\ude00"`},
		{"upper-case surrogate pair", `"\uD83D\uDE00"`},
		{"NUL escape", `"\u0000"`},
		{"DEL", "\"\x7f\""},
		{"all escapes", `"\/\b\f\n\r\t\"\\"`},
		{"non-ASCII", `"Émilie Sofía 東京 😀"`},
		{"duplicate names", `{"a":1,"a":2}`},
		{"deepest nesting", strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)},
		{"deepest objects", strings.Repeat(`{"":`, maxDepth) + `0` + strings.Repeat(`}`, maxDepth)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := ScanWalk([]byte(tt.body)); err != nil {
				t.Errorf("ScanWalk(%.40q) = %v, want nil", tt.body, err)
			}
			var s scanner
			s.reset([]byte(tt.body))
			if v, err := s.readValue(); err != nil || s.end() != nil {
				t.Errorf("readValue(%.40q) = %.40q, %v, want all of it", tt.body, v, err)
			}
		})
	}
}

func TestScanner_Escaped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		esc  bool
	}{
		{`"abc"`, false},
		{`"Émilie"`, false},
		{`""`, false},
		{`"a\nb"`, true},
		{`"\u00e9"`, true},
		{`"a very long string without any escape in it at all"`, false},
		{`"a very long string with an escape at the very end\/"`, true},
	}
	for _, tt := range tests {
		var s scanner
		s.reset([]byte(tt.body))
		if _, err := s.readValue(); err != nil || s.esc != tt.esc {
			t.Errorf("readValue(%s): escaped %t, %v, want %t", tt.body, s.esc, err, tt.esc)
		}
	}
}

func TestScanner_EndInsideContainer(t *testing.T) {
	t.Parallel()
	tests := []scanErrorCase{
		{"cut off after the opening", "[ ", 2, true, "unexpected EOF"},
		{"more to read", `{"a":1}`, 1, false, "not read to the end of its value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s scanner
			s.reset([]byte(tt.body))
			if _, err := s.readToken(); err != nil {
				t.Fatalf("readToken: %v", err)
			}
			err := s.end()
			var se *syntaxError
			if !errors.As(err, &se) || se.off != tt.off || errors.Is(err, io.ErrUnexpectedEOF) != tt.eof || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("end() after the first token of %q = %v, want a *syntaxError at %d (cut off: %t) %q", tt.body, err, tt.off, tt.eof, tt.msg)
			}
		})
	}
}
