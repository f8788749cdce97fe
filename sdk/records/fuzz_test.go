package records_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk/records"
)

// fuzzSchema has a column of every supported type, nested ones included.
const fuzzSchema = `{"name":"fuzz","path":"/fuzz","sync_modes":["full_refresh"],"updates":"snapshot","fields":[
	{"name":"id","type":"int64","nullable":false},
	{"name":"f","type":"float64"},
	{"name":"b","type":"bool"},
	{"name":"s","type":"string"},
	{"name":"d","type":"date32"},
	{"name":"t","type":"timestamp"},
	{"name":"l","type":{"list":"int64"}},
	{"name":"ll","type":{"list":{"list":"string"}}},
	{"name":"o","type":{"struct":[{"name":"x","type":"float64"},{"name":"tags","type":{"list":"string"}},
		{"name":"p","type":{"struct":[{"name":"q","type":"timestamp","nullable":false}]}}]}},
	{"name":"lo","type":{"list":{"struct":[{"name":"k","type":"string"},{"name":"v","type":"int64"}]}}}]}`

func FuzzDecode(f *testing.F) {
	s, err := schemas.Parse([]byte(fuzzSchema))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range records.FuzzSeeds {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	good := []byte(`{"data":[{"id":7,"l":[1],"o":{"p":{"q":"2024-01-01"}}}]}`)
	f.Fuzz(func(t *testing.T, body []byte, envelope bool) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		opts := records.Options{Stream: "fuzz"}
		if envelope {
			opts.Records = []string{"data"}
		}
		dec := records.NewDecoder(mem, s.Schema, opts)
		defer dec.Release()

		page, err := dec.Decode(body)
		if err != nil {
			if strings.Contains(err.Error(), "panic") {
				t.Fatalf("Decode(%q) panicked: %v", body, err)
			}
		} else {
			checkPage(t, page, count(body, envelope))
		}

		// Whatever happened, the next page decodes alone.
		next := good
		if !envelope {
			next = good[len(`{"data":`) : len(good)-1]
		}
		page, err = dec.Decode(next)
		if err != nil {
			t.Fatalf("Decode(good) after Decode(%q): %v", body, err)
		}
		checkPage(t, page, 1)
	})
}

// checkPage checks page has rows rows and consistent columns, and releases it.
func checkPage(t *testing.T, page *records.Page, rows int) {
	t.Helper()
	defer page.Record.Release()
	if got := page.Record.NumRows(); got != int64(rows) {
		t.Errorf("rows = %d, want %d", got, rows)
	}
	for i, col := range page.Record.Columns() {
		if col.Len() != rows {
			t.Errorf("column %d: %d rows, want %d", i, col.Len(), rows)
		}
		for r := range col.Len() {
			_ = col.ValueStr(r) // walks children: panics if they are inconsistent
		}
	}
	// Every rescue value is a JSON object of at least one member.
	rescued := page.Record.Column(page.Record.Schema().FieldIndices(records.RescueColumn)[0]).(*array.String)
	for r := range rescued.Len() {
		if rescued.IsNull(r) {
			continue
		}
		v := jsontext.Value(rescued.Value(r))
		if !v.IsValid(jsontext.AllowDuplicateNames(true)) || v.Kind() != '{' || len(v) < len(`{"":0}`) {
			t.Errorf("row %d: %s = %s, want a JSON object", r, records.RescueColumn, v)
		}
	}
}

// count returns the number of records in a body the Decoder accepted,
// computed independently: the elements of the top-level array, or of the
// first "data" member (a bare object is one record, {} and null none).
func count(body []byte, envelope bool) int {
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true))
	if envelope {
		if _, err := dec.ReadToken(); err != nil { // {
			return -1
		}
		for dec.PeekKind() == '"' {
			name, _ := dec.ReadToken()
			if name.String() == "data" {
				break
			}
			if dec.SkipValue() != nil {
				return -1
			}
		}
		if dec.PeekKind() == '}' {
			return 0
		}
	}
	v, err := dec.ReadValue()
	if err != nil {
		return -1
	}
	switch v.Kind() {
	case 'n':
		return 0
	case '{':
		if len(bytes.TrimSpace(v[1:len(v)-1])) == 0 {
			return 0
		}
		return 1
	case '[':
		n := 0
		elems := jsontext.NewDecoder(bytes.NewReader(v), jsontext.AllowDuplicateNames(true))
		_, _ = elems.ReadToken()
		for elems.PeekKind() != ']' && elems.SkipValue() == nil {
			n++
		}
		return n
	}
	return -1
}
