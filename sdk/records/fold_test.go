package records_test

import (
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/sdk/records"
)

func TestDecode_FoldCase(t *testing.T) {
	t.Parallel()
	header := arrow.StructOf(
		field("oem_name", arrow.BinaryTypes.String, true, "OEMName"),
		field("pin", arrow.BinaryTypes.String, false, "PIN"),
	)
	schema := arrow.NewSchema([]arrow.Field{
		field("header", header, false, "EquipmentHeader"),
		field("hours", arrow.PrimitiveTypes.Float64, true, "Hours"),
		field("id", arrow.BinaryTypes.String, true, ""),
		field("upper_id", arrow.BinaryTypes.String, true, "ID"),
	}, nil)
	tests := []struct {
		name string
		opts records.Options
		body string
		want [][]string
		err  bool
	}{
		{
			name: "pascal case, exact",
			opts: records.Options{Records: []string{"Equipment"}, FoldCase: true},
			body: `{"Links":[],"Equipment":[{"EquipmentHeader":{"OEMName":"JCB","PIN":"P1"},"Hours":1.5,"id":"a","ID":"A"}]}`,
			want: [][]string{{`{"oem_name":"JCB","pin":"P1"}`, "1.5", "a", "A", "(null)"}},
		},
		{
			name: "camel case, folded, path too",
			opts: records.Options{Records: []string{"Equipment"}, FoldCase: true},
			body: `{"links":[],"equipment":[{"equipmentHeader":{"oemName":"Volvo","pin":"P2"},"hours":2},{"EQUIPMENTHEADER":{"pin":"P3"}}]}`,
			want: [][]string{{`{"oem_name":"Volvo","pin":"P2"}`, "2", "(null)", "(null)", "(null)"}, {`{"oem_name":null,"pin":"P3"}`, "(null)", "(null)", "(null)", "(null)"}},
		},
		{
			name: "exact keys keep their columns; the first value for a column wins",
			opts: records.Options{FoldCase: true},
			body: `[{"EquipmentHeader":{"PIN":"P4"},"ID":"X","Id":"folded","id":"exact"}]`,
			want: [][]string{{`{"oem_name":null,"pin":"P4"}`, "(null)", "folded", "X", "(null)"}},
		},
		{
			name: "without FoldCase other casings are unknown keys",
			opts: records.Options{Records: []string{"Equipment"}},
			body: `{"equipment":[{"equipmentHeader":{"pin":"P5"}}]}`,
			err:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := decodeOne(t, schema, tt.opts, tt.body)
			if (err != nil) != tt.err {
				t.Fatalf("Decode(%s) error = %v, want error %v", tt.body, err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode(%s) mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}
