package host

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"
)

func partitionSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "local", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "America/New_York"}, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "ms", Type: arrow.FixedWidthTypes.Date64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
}

const partitionRows = `[
 {"id":1,"at":"2024-03-01T23:59:59Z","local":"2024-03-01T23:30:00-05:00","day":"2024-03-01","ms":"2024-03-01","name":"a"},
 {"id":2,"at":"2024-03-02T00:00:00Z","local":null,"day":"1969-12-31","ms":"1969-12-31","name":"b"},
 {"id":3,"at":null,"local":"2024-03-02T01:00:00Z","day":"2024-03-01","ms":"2024-03-01","name":"c"},
 {"id":4,"at":"2024-03-01T00:00:00Z","local":"2024-03-01T12:00:00Z","day":null,"ms":null,"name":"d"},
 {"id":5,"at":"2024-03-01T10:00:00Z","local":"2024-03-01T13:00:00Z","day":"2024-03-01","ms":"2024-03-01","name":"e"}
]`

func TestPartitioner_Split(t *testing.T) {
	t.Parallel()
	extracted := time.Date(2026, 11, 23, 23, 30, 0, 0, time.FixedZone("east", -5*3600)) // 2026-11-24 UTC
	for _, tt := range []struct {
		setting string
		want    map[string][]int64 // folder -> ids, in order
		order   []string           // folders in order of first appearance
	}{
		{"", map[string][]int64{"": {1, 2, 3, 4, 5}}, []string{""}},
		{"none", map[string][]int64{"": {1, 2, 3, 4, 5}}, []string{""}},
		{"extracted", map[string][]int64{"dt=2026-11-24": {1, 2, 3, 4, 5}}, []string{"dt=2026-11-24"}},
		{"at", map[string][]int64{
			"dt=2024-03-01": {1, 4, 5}, "dt=2024-03-02": {2}, "dt=__HIVE_DEFAULT_PARTITION__": {3},
		}, []string{"dt=2024-03-01", "dt=2024-03-02", "dt=__HIVE_DEFAULT_PARTITION__"}},
		{"local", map[string][]int64{ // the UTC date, whatever the column's zone
			"dt=2024-03-02": {1, 3}, "dt=__HIVE_DEFAULT_PARTITION__": {2}, "dt=2024-03-01": {4, 5},
		}, []string{"dt=2024-03-02", "dt=__HIVE_DEFAULT_PARTITION__", "dt=2024-03-01"}},
		{"day", map[string][]int64{
			"dt=2024-03-01": {1, 3, 5}, "dt=1969-12-31": {2}, "dt=__HIVE_DEFAULT_PARTITION__": {4},
		}, []string{"dt=2024-03-01", "dt=1969-12-31", "dt=__HIVE_DEFAULT_PARTITION__"}},
		{"ms", map[string][]int64{
			"dt=2024-03-01": {1, 3, 5}, "dt=1969-12-31": {2}, "dt=__HIVE_DEFAULT_PARTITION__": {4},
		}, []string{"dt=2024-03-01", "dt=1969-12-31", "dt=__HIVE_DEFAULT_PARTITION__"}},
	} {
		t.Run(tt.setting, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rec, _, err := array.RecordFromJSON(mem, partitionSchema(), strings.NewReader(partitionRows))
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Release()
			p, err := newPartitioner(tt.setting, rec.Schema())
			if err != nil {
				t.Fatal(err)
			}
			pieces, err := p.split(mem, rec, extracted)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]int64{}
			var order []string
			for _, pc := range pieces {
				order = append(order, pc.dir)
				if !pc.rec.Schema().Equal(rec.Schema()) {
					t.Errorf("piece %s has schema %s", pc.dir, pc.rec.Schema())
				}
				ids := pc.rec.Column(0).(*array.Int64)
				for i := 0; i < ids.Len(); i++ {
					got[pc.dir] = append(got[pc.dir], ids.Value(i))
				}
				names := pc.rec.Column(5).(*array.String) // every column is gathered, not only the key
				if names.Len() != ids.Len() || names.Value(0) != string(rune('a'+ids.Value(0)-1)) {
					t.Errorf("piece %s: names %v do not follow ids %v", pc.dir, names, ids)
				}
				pc.rec.Release()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("split by %q mismatch (-want +got):\n%s", tt.setting, diff)
			}
			if diff := cmp.Diff(tt.order, order); diff != "" {
				t.Errorf("split by %q order mismatch (-want +got):\n%s", tt.setting, diff)
			}
		})
	}
}

func TestPartitioner_Empty(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec, _, err := array.RecordFromJSON(mem, partitionSchema(), strings.NewReader(`[]`))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	p, _ := newPartitioner("at", rec.Schema())
	pieces, err := p.split(mem, rec, time.Now())
	if err != nil || len(pieces) != 1 || pieces[0].rec.NumRows() != 0 {
		t.Fatalf("split of an empty record = %v, %v", pieces, err)
	}
	pieces[0].rec.Release()
}

func TestNewPartitioner_Errors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ setting, want string }{
		{"nope", `no date or timestamp column "nope" to partition by (it has at, local, day, ms; or use "extracted")`},
		{"name", `no date or timestamp column "name"`},
	} {
		_, err := newPartitioner(tt.setting, partitionSchema())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("newPartitioner(%q) = %v, want %q", tt.setting, err, tt.want)
		}
	}
	noDates := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	if _, err := newPartitioner("id", noDates); err == nil || !strings.Contains(err.Error(), "it has none") {
		t.Errorf("newPartitioner(id) = %v", err)
	}
}

func TestIsPartitionDir(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"dt=2024-03-01": true, "dt=__HIVE_DEFAULT_PARTITION__": true, "dt=1969-12-31": true,
		"dt=2024-3-1": false, "day=2024-03-01": false, "employees": false, ".tmp": false,
	} {
		if got := isPartitionDir(name); got != want {
			t.Errorf("isPartitionDir(%q) = %v, want %v", name, got, want)
		}
	}
}
