package batch

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	{Name: "site", Type: arrow.StructOf(arrow.Field{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true}), Nullable: true},
}, nil)

func record(t *testing.T, mem memory.Allocator, s *arrow.Schema, rows string) arrow.Record {
	t.Helper()
	rec, _, err := array.RecordFromJSON(mem, s, strings.NewReader(rows))
	if err != nil {
		t.Fatalf("RecordFromJSON: %v", err)
	}
	return rec
}

func jsonOf(t *testing.T, rec arrow.Record) string {
	t.Helper()
	var b bytes.Buffer
	if err := array.RecordToJSON(rec, &b); err != nil {
		t.Fatalf("RecordToJSON: %v", err)
	}
	return b.String()
}

func TestConcat(t *testing.T) {
	a := `[{"id": 1, "tags": ["x"], "site": {"city": "Oslo"}}]`
	b := `[{"id": 2, "tags": null, "site": null}, {"id": 3, "tags": [], "site": {"city": null}}]`
	withMeta := arrow.NewSchema(schema.Fields(), func() *arrow.Metadata { m := arrow.NewMetadata([]string{"k"}, []string{"v"}); return &m }())
	for _, tc := range []struct {
		name    string
		parts   []string
		schemas []*arrow.Schema // of each part; nil: schema
		want    string          // rows of the result as JSON; "" for an error
		wantErr string
	}{
		{name: "one is kept", parts: []string{a}, want: a},
		{name: "several join in order", parts: []string{a, b, a}, want: `[{"id": 1, "tags": ["x"], "site": {"city": "Oslo"}}, {"id": 2, "tags": null, "site": null}, {"id": 3, "tags": [], "site": {"city": null}}, {"id": 1, "tags": ["x"], "site": {"city": "Oslo"}}]`},
		{name: "none", wantErr: "nothing to join"},
		{name: "other metadata", parts: []string{a, b}, schemas: []*arrow.Schema{schema, withMeta}, wantErr: "different schemas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			var recs []arrow.Record
			for i, p := range tc.parts {
				s := schema
				if tc.schemas != nil {
					s = tc.schemas[i]
				}
				rec := record(t, mem, s, p)
				defer rec.Release()
				recs = append(recs, rec)
			}
			got, err := Concat(mem, recs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Concat() error = %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Concat() = %v", err)
			}
			defer got.Release()
			want := record(t, mem, schema, tc.want)
			defer want.Release()
			if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
				t.Errorf("Concat() rows\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestBytes(t *testing.T) {
	mem := memory.NewGoAllocator()
	ints := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	small := record(t, mem, ints, `[{"n": 1}]`)
	defer small.Release()
	big := record(t, mem, schema, `[{"id": 1, "tags": ["a long enough tag", "another"], "site": {"city": "Trondheim"}}, {"id": 2, "tags": null, "site": null}]`)
	defer big.Release()
	dict := func() arrow.Record {
		b := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String})
		defer b.Release()
		_ = b.(*array.BinaryDictionaryBuilder).AppendString("dictionary value")
		arr := b.NewArray()
		defer arr.Release()
		return array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "d", Type: arr.DataType()}}, nil), []arrow.Array{arr}, 1)
	}()
	defer dict.Release()
	for _, tc := range []struct {
		name    string
		rec     arrow.Record
		atLeast int64
	}{
		{"an int64 column", small, 8},
		{"lists, structs and strings", big, int64(len("a long enough tag") + len("another") + len("Trondheim") + 2*8)},
		{"a dictionary counts its values", dict, int64(len("dictionary value"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Bytes(tc.rec); got < tc.atLeast {
				t.Errorf("Bytes() = %d, want at least %d", got, tc.atLeast)
			}
		})
	}
}

// TestNextJoin: the join size ramps from nothing (the first batch alone)
// through an eighth of JoinBytes, doubling, to JoinBytes, and stays there.
func TestNextJoin(t *testing.T) {
	var got []int64
	for target := int64(0); len(got) < 6; {
		target = NextJoin(target)
		got = append(got, target)
	}
	want := []int64{JoinBytes / 8, JoinBytes / 4, JoinBytes / 2, JoinBytes, JoinBytes, JoinBytes}
	if !slices.Equal(got, want) {
		t.Errorf("targets after each send = %v, want %v", got, want)
	}
}
