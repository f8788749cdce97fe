package records

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A FieldError reports a value that does not fit its column: an object where
// an int64 is expected, "abc" for an int64, a date that is not a date, or a
// null or missing value for a non-nullable column; or, when the contract
// says fail, a value that is not a column's (Unknown). The page that held
// it is not decoded.
type FieldError struct {
	Stream   string // Options.Stream
	RecordID string // value of the record's Options.IDField, if it has one; at most 40 characters
	Index    int    // 0-based index of the record in the page
	// Field is the column name, dotted for struct fields, "[]" marking list
	// elements ("contacts[].email"); for an Unknown key, the key's path
	// ("location.accuracy").
	Field string
	Want  string // Arrow type wanted, e.g. "int64", "list<string>"; "" if Unknown
	// Got is the JSON text found, at most 40 characters, or "missing"; for
	// an Unknown key only its JSON shape ("string", "object", ...).
	Got     string
	Unknown bool // Field is a key the schema does not know
}

// Error reads like
// `records: stream employees record id=42: field start_date: want date32, got "31/12/2024"`
// or, for an unknown key,
// `records: stream employees record id=42: key nickname is not in the schema (a string)`.
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString("records: ")
	if e.Stream != "" {
		b.WriteString("stream ")
		b.WriteString(e.Stream)
		b.WriteByte(' ')
	}
	if e.RecordID != "" {
		b.WriteString("record id=")
		b.WriteString(e.RecordID)
	} else {
		b.WriteString("record #")
		b.WriteString(strconv.Itoa(e.Index))
	}
	if e.Unknown {
		fmt.Fprintf(&b, ": key %s is not in the schema (%s %s)", e.Field, article(e.Got), e.Got)
		return b.String()
	}
	fmt.Fprintf(&b, ": field %s: want %s, got %s", e.Field, e.Want, e.Got)
	return b.String()
}

// article returns "an" before a word that starts with a vowel, else "a".
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// maxShown is the most characters of a vendor value an error shows.
const maxShown = 40

// shorten returns b as a string of at most maxShown characters, cut with "…".
func shorten(b []byte) string {
	if utf8.RuneCount(b) <= maxShown {
		return string(b)
	}
	n := 0
	for range maxShown - 1 {
		_, size := utf8.DecodeRune(b[n:])
		n += size
	}
	return string(b[:n]) + "…"
}
