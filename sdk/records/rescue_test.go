package records_test

import (
	"errors"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
)

// rescueSchema has a column of each kind a rescue can happen in.
const rescueSchema = `{"name":"sites","path":"/sites","sync_modes":["full_refresh"],"updates":"snapshot","fields":[
	{"name":"id","type":"int64","nullable":false},
	{"name":"name","type":"string"},
	{"name":"site","type":"int64"},
	{"name":"opened","type":"date32"},
	{"name":"location","type":{"struct":[{"name":"lat","type":"float64"},{"name":"lng","type":"float64"}]}},
	{"name":"tags","type":{"list":"int64"}},
	{"name":"contacts","type":{"list":{"struct":[{"name":"email","type":"string"},{"name":"phone","type":"int64"}]}}}]}`

// decodeRescued decodes body with opts and returns, per row, the values of
// the columns named in cols and then of the rescue column.
func decodeRescued(t *testing.T, opts records.Options, body string, cols ...string) ([][]string, error) {
	t.Helper()
	s, err := schemas.Parse([]byte(rescueSchema))
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dec := records.NewDecoder(mem, s.Schema, opts)
	defer dec.Release()
	page, err := dec.Decode([]byte(body))
	if err != nil {
		return nil, err
	}
	defer page.Record.Release()
	if got, want := page.Record.Schema(), records.WithRescue(s.Schema); !got.Equal(want) {
		t.Fatalf("schema = %v, want %v", got, want)
	}
	out := make([][]string, page.Record.NumRows())
	for r := range out {
		for _, name := range append(cols, records.RescueColumn) {
			col := page.Record.Column(page.Record.Schema().FieldIndices(name)[0])
			out[r] = append(out[r], col.ValueStr(r))
		}
	}
	return out, nil
}

func TestDecode_Rescue(t *testing.T) {
	t.Parallel()
	const null = array.NullValueStr
	tests := []struct {
		name string
		body string // one record's members after "id":1
		cols []string
		want []string // the cols' values, then the rescue column's
	}{
		{"nothing to rescue", `"name":"a","site":7`, []string{"name", "site"}, []string{"a", "7", null}},
		{"unknown keys of every shape", `"n":1.50e+3,"s":"x","b":false,"z":null,"o":{"a":[1,{}]},"l":[]`, nil,
			[]string{`{"n":1.50e+3,"s":"x","b":false,"z":null,"o":{"a":[1,{}]},"l":[]}`}},
		{"original text with blanks", "\"o\" : { \"a\" :\t[ 1 , 2 ] }", nil, []string{"{\"o\":{ \"a\" :\t[ 1 , 2 ] }}"}},
		{"unicode escapes kept", `"nick\u006eame":"Andr\u00e9 \ud83d\ude00 \"q\""`, nil,
			[]string{`{"nick\u006eame":"Andr\u00e9 \ud83d\ude00 \"q\""}`}},
		{"raw unicode kept", `"note":"Zoë 🚀"`, nil, []string{`{"note":"Zoë 🚀"}`}},
		{"scalar mismatch", `"site":"Montreal HQ","name":"a"`, []string{"site", "name"},
			[]string{null, "a", `{"site":"Montreal HQ"}`}},
		{"object for a scalar", `"site":{"id":7,"name":"HQ"}`, []string{"site"}, []string{null, `{"site":{"id":7,"name":"HQ"}}`}},
		{"array for a scalar", `"name":["a","b"]`, []string{"name"}, []string{null, `{"name":["a","b"]}`}},
		{"bad date", `"opened":"31/12/2024"`, []string{"opened"}, []string{null, `{"opened":"31/12/2024"}`}},
		{"scalar for a struct", `"location":"north"`, []string{"location"}, []string{null, `{"location":"north"}`}},
		{"array for a struct", `"location":[45.5,-73.6]`, []string{"location"}, []string{null, `{"location":[45.5,-73.6]}`}},
		{"mismatch inside a struct", `"location":{"lat":"n/a","lng":-73.6}`, []string{"location"},
			[]string{`{"lat":null,"lng":-73.6}`, `{"location.lat":"n/a"}`}},
		{"unknown key inside a struct", `"location":{"lat":45.5,"acc":{"m":3}}`, []string{"location"},
			[]string{`{"lat":45.5,"lng":null}`, `{"location.acc":{"m":3}}`}},
		{"escaped keys in a path", `"location":{"l\u0061t":"x","\u00e9":1}`, []string{"location"},
			[]string{`{"lat":null,"lng":null}`, `{"location.lat":"x","location.é":1}`}},
		{"list item mismatch", `"tags":[1,"two",3,{"n":4}]`, []string{"tags"},
			[]string{`[1,null,3,null]`, `{"tags[1]":"two","tags[3]":{"n":4}}`}},
		{"bare item that does not fit", `"tags":"two"`, []string{"tags"}, []string{null, `{"tags":"two"}`}},
		{"object for a list of scalars", `"tags":{"a":1}`, []string{"tags"}, []string{null, `{"tags":{"a":1}}`}},
		{"mismatch in a list of structs", `"contacts":[{"phone":1},{"phone":"ext. 2","fax":3}]`, []string{"contacts"},
			[]string{`[{"email":null,"phone":1},{"email":null,"phone":null}]`, `{"contacts[1].phone":"ext. 2","contacts[1].fax":3}`}},
		{"mismatch in a bare struct for a list", `"contacts":{"phone":"x"}`, []string{"contacts"},
			[]string{`[{"email":null,"phone":null}]`, `{"contacts.phone":"x"}`}},
		{"mismatch and unknown key together", `"x":1,"site":true,"y":"2"`, []string{"site"},
			[]string{null, `{"x":1,"site":true,"y":"2"}`}},
		{"empty string is null, not rescued", `"site":""`, []string{"site"}, []string{null, null}},
		{"repeated key: first value kept", `"site":1,"site":"two"`, []string{"site"}, []string{"1", null}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeRescued(t, records.Options{Stream: "sites"}, `[{"id":1,`+tt.body+`},{"id":2}]`, tt.cols...)
			if err != nil {
				t.Fatalf("Decode error = %v", err)
			}
			second := make([]string, len(tt.want)) // {"id":2}: every column null, nothing rescued
			for i := range second {
				second[i] = null
			}
			if diff := cmp.Diff([][]string{tt.want, second}, got); diff != "" {
				t.Errorf("Decode(%s) mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

func TestDecode_RescueContract(t *testing.T) {
	t.Parallel()
	const null = array.NullValueStr
	body := `{"data":[{"id":1,"site":"HQ","nickname":"sam","location":{"acc":3}}]}`
	tests := []struct {
		name     string
		contract sdk.SchemaContract
		want     []string // site, location, rescue
		err      string   // the FieldError's text, if it fails
	}{
		{"default rescues both", sdk.SchemaContract{}, []string{null, `{"lat":null,"lng":null}`, `{"site":"HQ","nickname":"sam","location.acc":3}`}, ""},
		{"explicit rescue", sdk.SchemaContract{OnUnknown: sdk.Rescue, OnMismatch: sdk.Rescue},
			[]string{null, `{"lat":null,"lng":null}`, `{"site":"HQ","nickname":"sam","location.acc":3}`}, ""},
		{"ignore unknown keys", sdk.SchemaContract{OnUnknown: sdk.Ignore}, []string{null, `{"lat":null,"lng":null}`, `{"site":"HQ"}`}, ""},
		{"ignore unknown, nothing else", sdk.SchemaContract{OnUnknown: sdk.Ignore, OnMismatch: sdk.Fail}, nil,
			`records: stream sites record id=1: field site: want int64, got "HQ"`},
		{"fail on unknown", sdk.SchemaContract{OnUnknown: sdk.Fail}, nil,
			`records: stream sites record id=1: key nickname is not in the schema (a string)`},
		{"fail on mismatch", sdk.SchemaContract{OnMismatch: sdk.Fail}, nil,
			`records: stream sites record id=1: field site: want int64, got "HQ"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := records.Options{Stream: "sites", Records: []string{"data"}, Contract: tt.contract}
			got, err := decodeRescued(t, opts, body, "site", "location")
			if tt.err != "" {
				var fe *records.FieldError
				if !errors.As(err, &fe) || err.Error() != tt.err {
					t.Fatalf("Decode error = %v, want a FieldError %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode error = %v", err)
			}
			if diff := cmp.Diff([][]string{tt.want}, got); diff != "" {
				t.Errorf("Decode mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// Unknown keys inside structs follow the contract too.
	if _, err := decodeRescued(t, records.Options{Contract: sdk.SchemaContract{OnUnknown: sdk.Fail}},
		`[{"id":1,"location":{"acc":3}}]`); err == nil || err.Error() != "records: record id=1: key location.acc is not in the schema (a number)" {
		t.Errorf("Decode error = %v, want the unknown location.acc", err)
	}
}

// TestDecode_RescueStillFails checks what rescue does not cover: a non-nullable
// column (the primary key) without a value that fits.
func TestDecode_RescueStillFails(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`[{"id":1},{"id":"abc"}]`,
		`[{"id":1},{"id":{"n":2}}]`,
		`[{"id":1},{"name":"no id"}]`,
		`[{"id":1},{"id":null}]`,
	} {
		_, err := decodeRescued(t, records.Options{Stream: "sites"}, body)
		var fe *records.FieldError
		if !errors.As(err, &fe) || fe.Field != "id" || fe.Index != 1 {
			t.Errorf("Decode(%s) error = %v, want a FieldError for id of record #1", body, err)
		}
	}
}

func TestDecode_DriftReport(t *testing.T) {
	t.Parallel()
	var report records.DriftReport
	dec := newRescueDecoder(t, records.Options{Stream: "sites", Records: []string{"data"}, Drift: &report})
	for _, body := range []string{
		`{"data":[{"id":1,"site":"HQ","extra":1},{"id":2,"site":{"n":1},"tags":[1,"x","y"]}]}`,
		`{"data":[{"id":3,"site":"Annex","extra":"one"}]}`,
		`{"data":[{"id":4,"site":"never counted","extra":[]},{"id":"bad"}]}`, // fails: counts nothing
		`{"data":[{"id":5,"location":{"lat":"n/a"}}]}`,
	} {
		page, err := dec.Decode([]byte(body))
		if err == nil {
			page.Record.Release()
		}
	}
	want := []sdk.Drift{
		{Key: "extra", Shapes: []string{"number", "string"}, Count: 2, RecordID: "1"},
		{Key: "location.lat", Column: "location.lat", Shapes: []string{"string"}, Count: 1, RecordID: "5"},
		{Key: "site", Column: "site", Shapes: []string{"object", "string"}, Count: 3, RecordID: "1"},
		{Key: "tags[]", Column: "tags[]", Shapes: []string{"string"}, Count: 2, RecordID: "2"},
	}
	if diff := cmp.Diff(want, report.Snapshot()); diff != "" {
		t.Errorf("drift mismatch (-want +got):\n%s", diff)
	}
}

func TestWithRescue(t *testing.T) {
	t.Parallel()
	md := arrow.NewMetadata([]string{"k"}, []string{"v"})
	s := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, &md)
	w := records.WithRescue(s)
	if w.NumFields() != 2 || w.Field(1).Name != records.RescueColumn || !arrow.TypeEqual(w.Field(1).Type, arrow.BinaryTypes.String) || !w.Field(1).Nullable {
		t.Fatalf("WithRescue(%v) = %v, want id and a nullable string %s", s, w, records.RescueColumn)
	}
	if !w.HasMetadata() || w.Metadata().FindKey("k") < 0 {
		t.Errorf("WithRescue lost the schema metadata: %v", w)
	}
	if again := records.WithRescue(w); again != w {
		t.Errorf("WithRescue(WithRescue(s)) = %v, want the same schema", again)
	}
	if s.NumFields() != 1 {
		t.Errorf("WithRescue changed its argument: %v", s)
	}
}

// TestDecode_DriftRecords: with DriftRecords, only the first records count
// in the drift report, though every record's values are rescued.
func TestDecode_DriftRecords(t *testing.T) {
	t.Parallel()
	var report records.DriftReport
	dec := newRescueDecoder(t, records.Options{Drift: &report, DriftRecords: 3})
	for _, body := range []string{`[{"id":1,"x":1},{"id":2,"x":2}]`, `[{"id":3,"x":3},{"id":4,"x":4,"y":5}]`} {
		page, err := dec.Decode([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if got := page.Record.Column(page.Record.Schema().FieldIndices(records.RescueColumn)[0]).ValueStr(1); got == array.NullValueStr {
			t.Errorf("record 2 of %s: nothing rescued", body)
		}
		page.Record.Release()
	}
	want := []sdk.Drift{{Key: "x", Shapes: []string{"number"}, Count: 3, RecordID: "1"}}
	if diff := cmp.Diff(want, report.Snapshot()); diff != "" {
		t.Errorf("drift mismatch (-want +got):\n%s", diff)
	}
}

// newRescueDecoder returns a Decoder of rescueSchema over a checked
// allocator; both are checked and released when the test ends.
func newRescueDecoder(t *testing.T, opts records.Options) *records.Decoder {
	t.Helper()
	s, err := schemas.Parse([]byte(rescueSchema))
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	dec := records.NewDecoder(mem, s.Schema, opts)
	t.Cleanup(func() {
		dec.Release()
		mem.AssertSize(t, 0)
	})
	return dec
}
