package trackunit

import (
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/sdk/records"
)

// TestNextLink: the "next" href of an AEMP page in the shapes the export's
// JSON may take.
func TestNextLink(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{"PascalCase", `{"Links":[{"rel":"self","href":"/Fleet/1"},{"rel":"next","href":"/Fleet/2"}],"Equipment":[]}`, "/Fleet/2"},
		{"camelCase", `{"links":[{"rel":"next","href":"https://iris.example/Fleet/3"}],"equipment":[]}`, "https://iris.example/Fleet/3"},
		{"PascalCase members", `{"Links":[{"Rel":"next","Href":"/Fleet/4"}],"Equipment":[]}`, "/Fleet/4"},
		{"a lone link object", `{"Links":{"rel":"next","href":"/Fleet/5"},"Equipment":[]}`, "/Fleet/5"},
		{"last page", `{"Links":[{"rel":"self","href":"/Fleet/9"},{"rel":"last","href":"/Fleet/9"}],"Equipment":[]}`, ""},
		{"no links", `{"Equipment":[]}`, ""},
		{"links of another shape", `{"Links":"none","Equipment":[]}`, ""},
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "pin", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	dec := records.NewDecoder(mem, schema, records.Options{Records: []string{"Equipment"}, FoldCase: true})
	defer dec.Release()
	for _, tt := range tests {
		p, err := dec.Decode([]byte(tt.body))
		if err != nil {
			t.Fatalf("%s: Decode: %v", tt.name, err)
		}
		p.Record.Release()
		if got := nextLink(p.Envelope); got != tt.want {
			t.Errorf("%s: nextLink() = %q, want %q", tt.name, got, tt.want)
		}
	}
}
