package records_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
)

// decodeOne decodes body with a fresh Decoder over a checked allocator and
// returns the values of every column, row by row, as ValueStr strings.
func decodeOne(t *testing.T, schema *arrow.Schema, opts records.Options, body string) ([][]string, records.Envelope, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dec := records.NewDecoder(mem, schema, opts)
	defer dec.Release()
	page, err := dec.Decode([]byte(body))
	if err != nil {
		if page != nil {
			t.Errorf("Decode returned a page and error %v", err)
		}
		return nil, records.Envelope{}, err
	}
	defer page.Record.Release()
	return rows(page.Record), page.Envelope, nil
}

// rows renders rec as ValueStr strings, one slice per row.
func rows(rec arrow.Record) [][]string {
	out := make([][]string, rec.NumRows())
	for r := range out {
		for _, col := range rec.Columns() {
			out[r] = append(out[r], col.ValueStr(r))
		}
	}
	return out
}

func field(name string, dt arrow.DataType, nullable bool, json string) arrow.Field {
	f := arrow.Field{Name: name, Type: dt, Nullable: nullable}
	if json != "" {
		f.Metadata = arrow.NewMetadata([]string{schemas.MetaJSON}, []string{json})
	}
	return f
}

func TestDecode_Types(t *testing.T) {
	t.Parallel()
	var (
		i64   = arrow.PrimitiveTypes.Int64
		f64   = arrow.PrimitiveTypes.Float64
		boolT = arrow.FixedWidthTypes.Boolean
		str   = arrow.BinaryTypes.String
		date  = arrow.FixedWidthTypes.Date32
		ts    = arrow.FixedWidthTypes.Timestamp_us
		tsMS  = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
		tsNS  = &arrow.TimestampType{Unit: arrow.Nanosecond}
		strs  = arrow.ListOf(arrow.BinaryTypes.String)
		ints  = arrow.ListOf(arrow.PrimitiveTypes.Int64)
		pt    = arrow.StructOf(
			arrow.Field{Name: "x", Type: i64, Nullable: true},
			arrow.Field{Name: "y", Type: str, Nullable: true})
		pts = arrow.ListOf(pt)
	)
	const null = array.NullValueStr
	tests := []struct {
		name string
		typ  arrow.DataType
		in   string // JSON value of key "v"
		want string // ValueStr, or "error: <substring>"
	}{
		{"int64 number", i64, `42`, "42"},
		{"int64 negative", i64, `-9223372036854775808`, "-9223372036854775808"},
		{"int64 max", i64, `9223372036854775807`, "9223372036854775807"},
		{"int64 string", i64, `"42"`, "42"},
		{"int64 integral float", i64, `42.0`, "42"},
		{"int64 exponent", i64, `1e3`, "1000"},
		{"int64 empty string", i64, `""`, null},
		{"int64 null", i64, `null`, null},
		{"int64 fraction", i64, `4.5`, `error: field v: want int64, got 4.5`},
		{"int64 overflow", i64, `9223372036854775808`, "error: want int64"},
		{"int64 word", i64, `"abc"`, `error: got "abc"`},
		{"int64 object", i64, `{"a":1}`, `error: got {"a":1}`},
		{"int64 bool", i64, `true`, "error: got true"},
		{"float64 number", f64, `1.5`, "1.5"},
		{"float64 integer", f64, `-3`, "-3"},
		{"float64 string", f64, `"2.25e1"`, "22.5"},
		{"float64 empty", f64, `""`, null},
		{"float64 NaN string", f64, `"NaN"`, "error: want float64"},
		{"float64 hex string", f64, `"0x10"`, "error: want float64"},
		{"float64 huge", f64, `1e400`, "error: want float64"},
		{"bool true", boolT, `true`, "true"},
		{"bool false", boolT, `false`, "false"},
		{"bool string", boolT, `"true"`, "true"},
		{"bool string upper", boolT, `"FALSE"`, "false"},
		{"bool one", boolT, `1`, "true"},
		{"bool zero string", boolT, `"0"`, "false"},
		{"bool two", boolT, `2`, "error: want bool, got 2"},
		{"bool yes", boolT, `"yes"`, "error: want bool"},
		{"string", str, `"héllo"`, "héllo"},
		{"string escaped", str, `"a\"b\n\u00e9"`, "a\"b\né"},
		{"string empty", str, `""`, ""},
		{"string number", str, `12.50`, "12.50"},
		{"string bool", str, `false`, "false"},
		{"string null", str, `null`, null},
		{"string object", str, `{}`, "error: want string, got {}"},
		{"string array", str, `["a"]`, "error: want string"},
		{"date32", date, `"2010-01-01"`, "2010-01-01"},
		{"date32 leap day", date, `"2024-02-29"`, "2024-02-29"},
		{"date32 old", date, `"1901-12-31"`, "1901-12-31"},
		{"date32 datetime", date, `"2024-12-31T23:30:00-05:00"`, "2024-12-31"},
		{"date32 datetime space", date, `"2024-12-31 08:00:00"`, "2024-12-31"},
		{"date32 empty", date, `""`, null},
		{"date32 european", date, `"31/12/2024"`, `error: field v: want date32, got "31/12/2024"`},
		{"date32 no leap day", date, `"2023-02-29"`, "error: want date32"},
		{"date32 month 13", date, `"2023-13-01"`, "error: want date32"},
		{"date32 number", date, `20240101`, "error: want date32"},
		{"date32 bad time", date, `"2024-01-01Tnoon"`, "error: want date32"},
		{"timestamp offset", ts, `"2025-08-13T11:56:11+00:00"`, "2025-08-13 11:56:11Z"},
		{"timestamp Z", ts, `"2025-08-13T11:56:11Z"`, "2025-08-13 11:56:11Z"},
		{"timestamp negative offset", ts, `"2025-08-13T07:56:11-04:00"`, "2025-08-13 11:56:11Z"},
		{"timestamp offset hhmm", ts, `"2025-08-13T13:56:11+0200"`, "2025-08-13 11:56:11Z"},
		{"timestamp fraction", ts, `"2025-08-13T11:56:11.123456789Z"`, "2025-08-13 11:56:11.123456Z"},
		{"timestamp space no zone", ts, `"2022-12-16 15:17:00"`, "2022-12-16 15:17:00Z"},
		{"timestamp T no zone", ts, `"2022-12-16T15:17:00"`, "2022-12-16 15:17:00Z"},
		{"timestamp no seconds", ts, `"2022-12-16T15:17"`, "2022-12-16 15:17:00Z"},
		{"timestamp date only", ts, `"2022-12-16"`, "2022-12-16 00:00:00Z"},
		{"timestamp before epoch", ts, `"1969-12-31T23:59:59.5Z"`, "1969-12-31 23:59:59.5Z"},
		{"timestamp epoch seconds", ts, `1755086171`, "2025-08-13 11:56:11Z"},
		{"timestamp epoch fractional", ts, `1755086171.25`, "2025-08-13 11:56:11.25Z"},
		{"timestamp epoch millis", ts, `1755086171123`, "2025-08-13 11:56:11.123Z"},
		{"timestamp epoch micros", ts, `1755086171123456`, "2025-08-13 11:56:11.123456Z"},
		{"timestamp epoch nanos", ts, `1755086171123456789`, "2025-08-13 11:56:11.123456Z"},
		{"timestamp epoch string", ts, `"1755086171"`, "2025-08-13 11:56:11Z"},
		{"timestamp epoch exponent", ts, `1.755086171e9`, "2025-08-13 11:56:11Z"},
		{"timestamp epoch negative", ts, `-1`, "1969-12-31 23:59:59Z"},
		{"timestamp ms unit", tsMS, `"2025-08-13T11:56:11.123456Z"`, "2025-08-13 11:56:11.123Z"},
		{"timestamp ns unit", tsNS, `"2025-08-13T11:56:11.123456789Z"`, "2025-08-13 11:56:11.123456789Z"},
		{"timestamp ns overflow", tsNS, `"9999-01-01T00:00:00Z"`, "error: want timestamp"},
		{"timestamp empty", ts, `""`, null},
		{"timestamp hour 24", ts, `"2025-08-13T24:00:00Z"`, "error: want timestamp"},
		{"timestamp bad zone", ts, `"2025-08-13T11:56:11 EST"`, "error: want timestamp"},
		{"timestamp word", ts, `"yesterday"`, `error: got "yesterday"`},
		{"timestamp bool", ts, `true`, "error: want timestamp"},
		{"list", strs, `["a","b"]`, `["a","b"]`},
		{"list empty", strs, `[]`, `[]`},
		{"list null item", strs, `["a",null]`, `["a",null]`},
		{"list bare value", strs, `"a"`, `["a"]`},
		{"list bare number", ints, `"7"`, `[7]`},
		{"list empty object", strs, `{}`, `[]`},
		{"list empty string", strs, `""`, null},
		{"list null", strs, `null`, null},
		{"list bad item", ints, `[1,"x"]`, `error: field v[]: want int64, got "x"`},
		{"list bare bad item", ints, `"x"`, `error: field v: want list<int64>, got "x"`},
		{"list object of strings", strs, `{"a":1}`, `error: want list<string>`},
		{"list of structs", pts, `[{"x":1,"y":"a"},{"x":2}]`, `[{"x":1,"y":"a"},{"x":2,"y":null}]`},
		{"list bare struct", pts, `{"x":1,"y":"a"}`, `[{"x":1,"y":"a"}]`},
		{"list bare empty struct", pts, `{}`, `[]`},
		{"struct", pt, `{"y":"b","x":"3"}`, `{"x":3,"y":"b"}`},
		{"struct empty", pt, `{}`, `{"x":null,"y":null}`},
		{"struct null", pt, `null`, null},
		{"struct php empty", pt, `[]`, null},
		{"struct array", pt, `[1]`, "error: want struct, got [1]"},
		{"struct bad member", pt, `{"x":"one"}`, `error: field v.x: want int64, got "one"`},
		{"struct string", pt, `"x"`, `error: want struct`},
		{"long value shortened", i64, `"` + strings.Repeat("é", 50) + `"`, `error: got "` + strings.Repeat("é", 38) + "…"},
	}
	// What the default contract makes of the values that fail with
	// on_mismatch: fail, where it is not a null column and the value
	// rescued under "v".
	rescued := map[string][2]string{
		"list bad item":     {`[1,null]`, `{"v[1]":"x"}`},
		"struct bad member": {`{"x":null,"y":null}`, `{"v.x":"one"}`},
	}
	strict := records.Options{Stream: "s", Contract: sdk.SchemaContract{OnMismatch: sdk.Fail}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			schema := arrow.NewSchema([]arrow.Field{field("v", tt.typ, true, "")}, nil)
			body := `[{"v":` + tt.in + `}]`
			want := [][]string{{tt.want, null}}
			if msg, ok := strings.CutPrefix(tt.want, "error: "); ok {
				_, _, err := decodeOne(t, schema, strict, body)
				var fe *records.FieldError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), msg) {
					t.Fatalf("Decode(%s) with on_mismatch fail: error = %v, want a FieldError containing %q", tt.in, err, msg)
				}
				want = [][]string{{null, `{"v":` + tt.in + `}`}}
				if r, ok := rescued[tt.name]; ok {
					want = [][]string{{r[0], r[1]}}
				}
			}
			got, _, err := decodeOne(t, schema, records.Options{Stream: "s"}, body)
			if err != nil {
				t.Fatalf("Decode(%s) error = %v", tt.in, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Decode(%s) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestDecode_NestedStructAndList(t *testing.T) {
	t.Parallel()
	s, err := schemas.Parse([]byte(`{"name":"sites","path":"/sites","sync_modes":["full_refresh"],"updates":"snapshot","fields":[
		{"name":"id","type":"int64","nullable":false},
		{"name":"location","json":"Location","type":{"struct":[
			{"name":"latitude","json":"lat","type":"float64"},
			{"name":"longitude","json":"lng","type":"float64"},
			{"name":"seen_at","json":"seenAt","type":"timestamp"}]}},
		{"name":"contacts","type":{"list":{"struct":[
			{"name":"email","type":"string"},
			{"name":"phones","type":{"list":"string"}}]}}},
		{"name":"tags","type":{"list":"string"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := decodeOne(t, s.Schema, records.Options{Stream: "sites"}, `[
		{"id":1,"Location":{"lat":45.5,"lng":"-73.6","seenAt":"2025-01-02T03:04:05Z"},
		 "contacts":[{"email":"a@x","phones":["1","2"]},{"email":"b@x","phones":"3"}],"tags":["x"]},
		{"id":2,"Location":null,"contacts":{"email":"c@x"},"tags":"solo"},
		{"tags":[],"id":"3","contacts":{},"Location":{}},
		{"id":4}
	]`)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := [][]string{
		{"1", `{"latitude":45.5,"longitude":-73.6,"seen_at":"2025-01-02 03:04:05Z"}`,
			`[{"email":"a@x","phones":["1","2"]},{"email":"b@x","phones":["3"]}]`, `["x"]`, "(null)"},
		{"2", "(null)", `[{"email":"c@x","phones":null}]`, `["solo"]`, "(null)"},
		{"3", `{"latitude":null,"longitude":null,"seen_at":null}`, `[]`, `[]`, "(null)"},
		{"4", "(null)", "(null)", "(null)", "(null)"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Decode mismatch (-want +got):\n%s", diff)
	}
}

func TestDecode_Keys(t *testing.T) {
	t.Parallel()
	schema := arrow.NewSchema([]arrow.Field{
		field("id", arrow.PrimitiveTypes.Int64, false, ""),
		field("first_name", arrow.BinaryTypes.String, true, "firstName"),
		field("last_name", arrow.BinaryTypes.String, true, "lastName"),
	}, nil)
	tests := []struct {
		name string
		body string
		want [][]string
	}{
		{"order changes between records",
			`[{"id":1,"firstName":"a","lastName":"b"},{"lastName":"d","id":2,"firstName":"c"},{"id":3,"lastName":"f"},{"firstName":"g","id":4,"lastName":"h"}]`,
			[][]string{{"1", "a", "b", "(null)"}, {"2", "c", "d", "(null)"}, {"3", "(null)", "f", "(null)"}, {"4", "g", "h", "(null)"}}},
		{"unknown keys rescued",
			`[{"x":{"firstName":"no"},"id":1,"y":[1,2,{"id":9}],"firstName":"a","z":null}]`,
			[][]string{{"1", "a", "(null)", `{"x":{"firstName":"no"},"y":[1,2,{"id":9}],"z":null}`}}},
		{"column name is not the key",
			`[{"id":1,"first_name":"no","firstName":"yes"}]`,
			[][]string{{"1", "yes", "(null)", `{"first_name":"no"}`}}},
		{"escaped key", `[{"id":1,"first\u004eame":"a","last\u004eame":"b"}]`,
			[][]string{{"1", "a", "b", "(null)"}}},
		{"duplicate key: first wins", `[{"id":1,"firstName":"a","firstName":{"bad":1},"id":2}]`,
			[][]string{{"1", "a", "(null)", "(null)"}}},
		{"empty", `[]`, [][]string{}},
		{"blanks", " \n[ {\"id\" : 1 } ]\r\n", [][]string{{"1", "(null)", "(null)", "(null)"}}},
		{"expected key in other forms",
			`[{"id":1,"firstName":"a"},{"id":2,"first\u004eame":"b"},{"id":3, "firstName" :"c"},` +
				`{"id":4,"firstNameX":"d"},{"id":5,"firstNam":"e"},{"id":6,"firstName\"":"f"},{"id":7,"firstName":"g"},{"id":8,"firstNameX:":"h"}]`,
			[][]string{{"1", "a", "(null)", "(null)"}, {"2", "b", "(null)", "(null)"}, {"3", "c", "(null)", "(null)"},
				{"4", "(null)", "(null)", `{"firstNameX":"d"}`}, {"5", "(null)", "(null)", `{"firstNam":"e"}`},
				{"6", "(null)", "(null)", `{"firstName\"":"f"}`}, {"7", "g", "(null)", "(null)"},
				{"8", "(null)", "(null)", `{"firstNameX:":"h"}`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := decodeOne(t, schema, records.Options{}, tt.body)
			if err != nil {
				t.Fatalf("Decode(%s) error = %v", tt.body, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode(%s) mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

func TestDecode_FieldError(t *testing.T) {
	t.Parallel()
	s, err := schemas.Load("tracktik", "employees")
	if err != nil {
		t.Fatal(err)
	}
	opts := records.Options{Stream: "employees", Records: []string{"data"}}
	strict := sdk.SchemaContract{OnUnknown: sdk.Fail, OnMismatch: sdk.Fail}
	tests := []struct {
		name string
		opts records.Options
		body string
		want *records.FieldError
		msg  string
	}{
		{"id after the bad field", records.Options{Stream: "employees", Records: []string{"data"}, Contract: sdk.SchemaContract{OnMismatch: sdk.Fail}},
			`{"data":[{"id":41},{"startDate":"31/12/2024","name":{"id":7},"id":42}]}`,
			&records.FieldError{Stream: "employees", RecordID: "42", Index: 1, Field: "start_date", Want: "date32", Got: `"31/12/2024"`},
			`records: stream employees record id=42: field start_date: want date32, got "31/12/2024"`},
		{"string id", records.Options{Stream: "employees", Records: []string{"data"}, IDField: "customId", Contract: strict},
			`{"data":[{"region":"north","id":1,"customId":"a\"b"}]}`,
			&records.FieldError{Stream: "employees", RecordID: `a"b`, Field: "region", Want: "int64", Got: `"north"`},
			`records: stream employees record id=a"b: field region: want int64, got "north"`},
		{"other id field", records.Options{Stream: "employees", IDField: "customId"},
			`[{"id":1,"customId":"E-1","status":tru}]`, nil, ""},
		{"other id field mismatch", records.Options{Stream: "employees", IDField: "customId", Contract: strict},
			`[{"id":1,"customId":"E-1","status":[]}]`,
			&records.FieldError{Stream: "employees", RecordID: "E-1", Field: "status", Want: "string", Got: `[]`},
			`records: stream employees record id=E-1: field status: want string, got []`},
		{"unknown key", records.Options{Stream: "employees", Contract: sdk.SchemaContract{OnUnknown: sdk.Fail}},
			`[{"id":1},{"id":2,"nickname":"sam"}]`,
			&records.FieldError{Stream: "employees", RecordID: "2", Index: 1, Field: "nickname", Got: "string", Unknown: true},
			`records: stream employees record id=2: key nickname is not in the schema (a string)`},
		{"missing id", opts,
			`{"data":[{"id":1},{"id":2},{"name":"x"}]}`,
			&records.FieldError{Stream: "employees", Index: 2, Field: "id", Want: "int64", Got: "missing"},
			`records: stream employees record #2: field id: want int64, got missing`},
		{"null id", opts,
			`{"data":[{"id":null}]}`,
			&records.FieldError{Stream: "employees", Field: "id", Want: "int64", Got: "null"},
			`records: stream employees record #0: field id: want int64, got null`},
		{"empty id", opts,
			`{"data":[{"id":""}]}`,
			&records.FieldError{Stream: "employees", Field: "id", Want: "int64", Got: `""`},
			`records: stream employees record #0: field id: want int64, got ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := decodeOne(t, s.Schema, tt.opts, tt.body)
			if tt.want == nil {
				if err == nil || errors.As(err, new(*records.FieldError)) {
					t.Fatalf("Decode error = %v, want a non-FieldError", err)
				}
				return
			}
			var fe *records.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Decode error = %v, want a *FieldError", err)
			}
			if diff := cmp.Diff(tt.want, fe); diff != "" {
				t.Errorf("FieldError mismatch (-want +got):\n%s", diff)
			}
			if got := err.Error(); got != tt.msg {
				t.Errorf("Error() = %q, want %q", got, tt.msg)
			}
		})
	}
}

func TestDecode_Malformed(t *testing.T) {
	t.Parallel()
	schema := arrow.NewSchema([]arrow.Field{field("id", arrow.PrimitiveTypes.Int64, false, "")}, nil)
	env := []string{"data"}
	nested := []string{"response", "customers", "customer"}
	tests := []struct {
		name    string
		records []string
		body    string
		eof     bool // also io.ErrUnexpectedEOF
	}{
		{"empty body", nil, ``, true},
		{"blank body", env, "  \n", true},
		{"truncated array", nil, `[{"id":1},{"id":2`, true},
		{"truncated in string", env, `{"meta":{"count":2},"data":[{"id":1,"name":"Jo`, true},
		{"truncated envelope", env, `{"meta":{"count":2},"data":[]`, true},
		{"truncated before records", env, `{"meta":{"co`, true},
		{"arrow reader crasher", env, `{0}0`, false},
		{"arrow reader crasher bare", nil, `{0}0`, false},
		{"not an array", nil, `{"id":1}`, false},
		{"null body", nil, `null`, false},
		{"record not an object", nil, `[{"id":1},2]`, false},
		{"record is null", env, `{"data":[null]}`, false},
		{"records is a string", env, `{"data":"x"}`, false},
		{"envelope is an array", env, `[{"id":1}]`, false},
		{"records key missing", env, `{"meta":{}}`, false},
		{"nested key missing", nested, `{"response":{"status":{"code":200}}}`, false},
		{"nested not an object", nested, `{"response":{"customers":[1]}}`, false},
		{"trailing data", nil, `[{"id":1}] [`, false},
		{"trailing value", env, `{"data":[]}{}`, false},
		{"trailing comma", nil, `[{"id":1},]`, false},
		{"single quotes", nil, `[{'id':1}]`, false},
		{"no comma between members", nil, `[{"id":1 "x":2}]`, false},
		{"no comma before the expected key", nil, `[{"id":1,"x":1},{"id":2 "x":2}]`, false},
		{"no colon", nil, `[{"id" 1}]`, false},
		{"no colon after the expected key", nil, `[{"id":1},{"id" 2}]`, false},
		{"comma for colon after the expected key", nil, `[{"id":1},{"id",2}]`, false},
		{"invalid utf-8", nil, "[{\"id\":1,\"x\":\"\xff\"}]", false},
		{"deep nesting", nil, `[{"id":1,"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := decodeOne(t, schema, records.Options{Stream: "things", Records: tt.records}, tt.body)
			if !errors.Is(err, sdk.ErrMalformed) {
				t.Fatalf("Decode(%.40q) error = %v, want sdk.ErrMalformed", tt.body, err)
			}
			if !strings.HasPrefix(err.Error(), "records: stream things: ") {
				t.Errorf("Decode(%.40q) error = %q, want it to name the stream", tt.body, err)
			}
			if tt.eof && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("Decode(%.40q) error = %v, want io.ErrUnexpectedEOF", tt.body, err)
			}
		})
	}
}

func TestDecode_MalformedSaysWhere(t *testing.T) {
	t.Parallel()
	schema := arrow.NewSchema([]arrow.Field{
		field("id", arrow.PrimitiveTypes.Int64, false, ""),
		field("s", arrow.BinaryTypes.String, true, ""),
		field("l", arrow.ListOf(arrow.BinaryTypes.String), true, ""),
	}, nil)
	tests := []struct {
		name    string
		records []string
		body    string
		want    string // after "records: stream things: "
	}{
		{"in a value", nil, "[{\"id\":1},{\"id\":2,\"s\":\"a\xff\"}]",
			"offset 24 (record #1, id=2, key s): malformed response: invalid UTF-8 in string"},
		{"in a list element", nil, "[{\"id\":7,\"l\":[\"a\",\"\xff\"]}]",
			"offset 19 (record #0, id=7, key l[1]): malformed response"},
		{"an unknown key's value", nil, `[{"id":3,"x":{"y":tru}}]`,
			"(record #0, id=3, key x): malformed response"},
		{"before the id", nil, `[{"s":"a","id":}]`,
			"offset 15 (record #0, key id): malformed response: missing value"},
		{"a record cut off", []string{"data"}, `{"data":[{"id":1},{"id":2,"s":"ab`,
			"(record #1, id=2, key s): malformed response: unexpected EOF"},
		{"outside records", []string{"data"}, `{"meta":{"count":}, "data":[]}`,
			"offset 17: malformed response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := decodeOne(t, schema, records.Options{Stream: "things", Records: tt.records}, tt.body)
			if err == nil || !strings.Contains(err.Error(), "records: stream things: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode(%q) error = %v, want it to say %q", tt.body, err, tt.want)
			}
		})
	}
}

func TestDecode_ShapeErrorOffset(t *testing.T) {
	t.Parallel()
	schema := arrow.NewSchema([]arrow.Field{field("id", arrow.PrimitiveTypes.Int64, false, "")}, nil)
	tests := []struct {
		name    string
		records []string
		body    string
		want    string
	}{
		{"records not an array", []string{"data"}, `{"data":   5}`, "offset 11: want an array of records, got a number"},
		{"record not an object", nil, `[{"id":1},  "x"]`, "offset 12: want a record object, got a string"},
		{"body not an object", []string{"data"}, "\n  [1]", "offset 3: want a JSON object, got an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := decodeOne(t, schema, records.Options{Stream: "things", Records: tt.records}, tt.body)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode(%q) error = %v, want %q: the offset of the value, after its blanks", tt.body, err, tt.want)
			}
		})
	}
}

func TestDecode_RecordsPath(t *testing.T) {
	t.Parallel()
	schema := arrow.NewSchema([]arrow.Field{field("id", arrow.PrimitiveTypes.Int64, false, "")}, nil)
	nested := []string{"response", "customers", "customer"}
	tests := []struct {
		name    string
		records []string
		body    string
		want    int
	}{
		{"array", []string{"data"}, `{"data":[{"id":1},{"id":2}]}`, 2},
		{"single record object", []string{"data"}, `{"meta":{},"data":{"id":3064}}`, 1},
		{"null records", []string{"data"}, `{"data":null}`, 0},
		{"empty object records", []string{"data"}, `{"data":{}}`, 0},
		{"empty envelope", []string{"data"}, `{}`, 0},
		{"records first", []string{"data"}, `{"data":[{"id":1}],"meta":{"count":1}}`, 1},
		{"second records key ignored", []string{"data"}, `{"data":[{"id":1}],"data":[{"id":2},{"id":3}]}`, 1},
		{"nested", nested, `{"response":{"status":{"code":200},"customers":{"count":2,"customer":[{"id":1},{"id":2}]}}}`, 2},
		{"nested bare object", nested, `{"response":{"customers":{"customer":{"id":1}}}}`, 1},
		{"nested empty object", nested, `{"response":{"customers":{}}}`, 0},
		{"nested null", nested, `{"response":{"customers":null}}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := decodeOne(t, schema, records.Options{Records: tt.records}, tt.body)
			if err != nil {
				t.Fatalf("Decode(%s) error = %v", tt.body, err)
			}
			if len(got) != tt.want {
				t.Errorf("Decode(%s) = %d rows, want %d", tt.body, len(got), tt.want)
			}
		})
	}
}

func TestDecode_Envelope(t *testing.T) {
	t.Parallel()
	schema := arrow.NewSchema([]arrow.Field{field("id", arrow.PrimitiveTypes.Int64, false, "")}, nil)
	body := `{"meta":{"count":3357,"request":["zone-clients"],"itemCount":"2","debug":null,"limit":1000,
		"offset":0,"security":{"granted":true,"scope":null}},
		"data":[{"id":1},{"id":2}],
		"next":"https://x.example/p?after=a\u0026b","total":12.0,"page":{"last":false}}`
	_, env, err := decodeOne(t, schema, records.Options{Records: []string{"data"}}, body)
	if err != nil {
		t.Fatal(err)
	}
	ints := []struct {
		path string
		want int64
		ok   bool
	}{
		{"meta.count", 3357, true},
		{"meta.itemCount", 2, true}, // numeric string
		{"meta.limit", 1000, true},
		{"meta.offset", 0, true},
		{"total", 12, true},
		{"meta.debug", 0, false},
		{"meta.request", 0, false},
		{"meta.missing", 0, false},
		{"next", 0, false},
		{"data", 0, false}, // the records are not part of the envelope
	}
	for _, tt := range ints {
		if got, ok := env.Int(tt.path); got != tt.want || ok != tt.ok {
			t.Errorf("Int(%q) = %d, %v, want %d, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
	strs := []struct {
		path, want string
		ok         bool
	}{
		{"next", "https://x.example/p?after=a&b", true},
		{"meta.request.0", "zone-clients", true},
		{"meta.request.1", "", false},
		{"meta.count", "3357", true},
		{"page.last", "false", true},
		{"meta.security.granted", "true", true},
		{"meta.security.scope", "", false},
		{"meta", "", false},
	}
	for _, tt := range strs {
		if got, ok := env.String(tt.path); got != tt.want || ok != tt.ok {
			t.Errorf("String(%q) = %q, %v, want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
	if raw, ok := env.Raw("meta.security"); !ok || string(raw) != `{"granted":true,"scope":null}` {
		t.Errorf("Raw(meta.security) = %s, %v", raw, ok)
	}
	for path, want := range map[string]bool{"meta": true, "meta.debug": true, "meta.security.scope": true,
		"meta.nope": false, "nope": false, "data": false, "": false, "meta.": false, "meta.request.x": false} {
		if got := env.Exists(path); got != want {
			t.Errorf("Exists(%q) = %v, want %v", path, got, want)
		}
	}

	// Nested records path: siblings on the way are kept under their path.
	_, env, err = decodeOne(t, schema, records.Options{Records: []string{"response", "customers", "customer"}},
		`{"response":{"status":{"code":"200","success":true},"customers":{"count":"2","customer":[]}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := env.Int("response.status.code"); got != 200 || !ok {
		t.Errorf("Int(response.status.code) = %d, %v, want 200, true", got, ok)
	}
	if got, ok := env.Int("response.customers.count"); got != 2 || !ok {
		t.Errorf("Int(response.customers.count) = %d, %v, want 2, true", got, ok)
	}
	if env.Exists("response.customers.customer") {
		t.Error("Exists(response.customers.customer) = true, want false")
	}
	var zero records.Envelope
	if _, ok := zero.Int("meta.count"); ok || zero.Exists("meta") {
		t.Error("zero Envelope has values")
	}
}

// TestDecoder_Pages checks that a Decoder carries nothing from a failed page
// into the next one and leaks nothing.
func TestDecoder_Pages(t *testing.T) {
	t.Parallel()
	s, err := schemas.Load("tracktik", "reports")
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dec := records.NewDecoder(mem, s.Schema, records.Options{Stream: "reports", Records: []string{"data"},
		Contract: sdk.SchemaContract{OnMismatch: sdk.Fail}})
	defer dec.Release()

	pages := []struct {
		body string
		ids  []string // nil: want an error
	}{
		{`{"data":[{"id":1,"tags":["a"]},{"id":2,"title":"t"}]}`, []string{"1", "2"}},
		// Fails mid-record, after some columns of record 3 were appended.
		{`{"data":[{"id":3,"title":"x","tags":["b","c"],"reportDateTime":"soon"}]}`, nil},
		// Fails in the middle of a list.
		{`{"data":[{"id":4,"tags":["d",{}]}]}`, nil},
		{`{"data":[{"id":5,"tags":"e"},{"id":6`, nil},
		{`{"data":[{"id":7,"title":"y","tags":[]}]}`, []string{"7"}},
		{`{"data":[]}`, []string{}},
		{`{"data":[{"id":8}]}`, []string{"8"}},
	}
	for i, p := range pages {
		page, err := dec.Decode([]byte(p.body))
		if p.ids == nil {
			if err == nil {
				page.Record.Release()
				t.Fatalf("page %d: Decode error = nil, want one", i)
			}
			continue
		}
		if err != nil {
			t.Fatalf("page %d: Decode error = %v", i, err)
		}
		var ids []string
		idCol := page.Record.Column(0)
		for r := range idCol.Len() {
			ids = append(ids, idCol.ValueStr(r))
		}
		for c, col := range page.Record.Columns() {
			if int64(col.Len()) != page.Record.NumRows() {
				t.Errorf("page %d: column %d has %d rows, want %d", i, c, col.Len(), page.Record.NumRows())
			}
		}
		page.Record.Release()
		if diff := cmp.Diff(p.ids, ids, cmp.Comparer(func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") })); diff != "" {
			t.Errorf("page %d ids mismatch (-want +got):\n%s", i, diff)
		}
	}
}

func TestDecoder_UnsupportedSchema(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)},
	}, nil)
	dec := records.NewDecoder(mem, schema, records.Options{Stream: "s"})
	defer dec.Release()
	if _, err := dec.Decode([]byte(`[]`)); err == nil || !strings.Contains(err.Error(), "column m: unsupported type") {
		t.Errorf("Decode error = %v, want unsupported type", err)
	}
}

func TestDecoder_DecodeAfterRelease(t *testing.T) {
	t.Parallel()
	schema := arrow.NewSchema([]arrow.Field{field("id", arrow.PrimitiveTypes.Int64, false, "")}, nil)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dec := records.NewDecoder(mem, schema, records.Options{Stream: "s"})
	page, err := dec.Decode([]byte(`[{"id":1}]`))
	if err != nil {
		t.Fatal(err)
	}
	dec.Release()
	if page.Record.NumRows() != 1 { // still valid after Release
		t.Errorf("rows = %d, want 1", page.Record.NumRows())
	}
	page.Record.Release()
	dec.Release()
	if _, err := dec.Decode([]byte(`[]`)); err == nil {
		t.Error("Decode after Release: error = nil, want one")
	}
}

// TestDecode_AllocsPerPage pins the promise that allocations depend on the
// number of columns, not of records.
func TestDecode_AllocsPerPage(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	s, err := schemas.Load("tracktik", "employees")
	if err != nil {
		t.Fatal(err)
	}
	allocs := func(n int) float64 {
		body := employeesPage(n, 0)
		dec := records.NewDecoder(memory.NewGoAllocator(), s.Schema, records.Options{Records: []string{"data"}})
		defer dec.Release()
		return testing.AllocsPerRun(10, func() {
			page, err := dec.Decode(body)
			if err != nil {
				t.Fatal(err)
			}
			page.Record.Release()
		})
	}
	small, large := allocs(10), allocs(2000)
	if large > small+5 {
		t.Errorf("allocs per page: %v for 10 records, %v for 2000; want about the same", small, large)
	}
}
