package records

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// An Envelope is the part of a response body around the records: every
// value that is not on the path to the records array, as raw JSON, keyed by
// its dotted path. For {"meta":{"count":5},"data":[…]} with records at
// ["data"] it holds "meta" -> {"count":5}. Lookups reach inside the values:
// Int("meta.count") is 5, and a path element that is a number indexes an
// array ("meta.request.0"). Keys that contain dots cannot be reached inside
// a value. The zero Envelope is empty.
type Envelope struct {
	m map[string]jsontext.Value
}

// set stores a copy of v at path.
func (e *Envelope) set(path string, v jsontext.Value) {
	if e.m == nil {
		e.m = make(map[string]jsontext.Value, 4)
	}
	e.m[path] = bytes.Clone(v)
}

// Raw returns the JSON value at path, which the caller must not modify.
func (e Envelope) Raw(path string) (jsontext.Value, bool) {
	if v, ok := e.m[path]; ok {
		return v, true
	}
	for i := strings.LastIndexByte(path, '.'); i > 0; i = strings.LastIndexByte(path[:i], '.') {
		if v, ok := e.m[path[:i]]; ok {
			return lookup(v, path[i+1:])
		}
	}
	return nil, false
}

// Exists reports whether there is a value at path; null counts as a value.
func (e Envelope) Exists(path string) bool {
	_, ok := e.Raw(path)
	return ok
}

// Int returns the integer at path, given as a JSON number or as a numeric
// string ("5").
func (e Envelope) Int(path string) (int64, bool) {
	v, ok := e.Raw(path)
	if !ok {
		return 0, false
	}
	switch v.Kind() {
	case '0':
		return parseInt(v)
	case '"':
		s, err := jsontext.AppendUnquote(nil, v)
		if err != nil {
			return 0, false
		}
		return parseInt(s)
	}
	return 0, false
}

// String returns the string at path; a number or boolean is returned as its
// JSON text.
func (e Envelope) String(path string) (string, bool) {
	v, ok := e.Raw(path)
	if !ok {
		return "", false
	}
	switch v.Kind() {
	case '"':
		s, err := jsontext.AppendUnquote(nil, v)
		if err != nil {
			return "", false
		}
		return string(s), true
	case '0', 't', 'f':
		return string(v), true
	}
	return "", false
}

// lookup follows the dotted path rest inside the JSON value v.
func lookup(v jsontext.Value, rest string) (jsontext.Value, bool) {
	for {
		key, tail, more := strings.Cut(rest, ".")
		var ok bool
		if v, ok = member(v, key); !ok {
			return nil, false
		}
		if !more {
			return v, true
		}
		rest = tail
	}
}

// member returns the member key of object v, or element key (a decimal
// index) of array v.
func member(v jsontext.Value, key string) (jsontext.Value, bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(v), jsontext.AllowDuplicateNames(true))
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, false
	}
	switch tok.Kind() {
	case '{':
		for dec.PeekKind() == '"' {
			name, err := dec.ReadToken()
			if err != nil {
				return nil, false
			}
			if name.String() == key {
				return readValue(dec)
			}
			if dec.SkipValue() != nil {
				return nil, false
			}
		}
	case '[':
		n, err := strconv.Atoi(key)
		if err != nil || n < 0 {
			return nil, false
		}
		for i := 0; dec.PeekKind() != ']' && dec.PeekKind() != 0; i++ {
			if i == n {
				return readValue(dec)
			}
			if dec.SkipValue() != nil {
				return nil, false
			}
		}
	}
	return nil, false
}

// readValue returns the next value of dec, copied.
func readValue(dec *jsontext.Decoder) (jsontext.Value, bool) {
	v, err := dec.ReadValue()
	if err != nil {
		return nil, false
	}
	return v.Clone(), true
}
