package stream

import (
	"testing"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk/records"
)

// TestFromSchema_Next: a schema file's "next" path fills PageInfo.Next,
// for the next-link and cursor pagers; null there ends the listing.
func TestFromSchema_Next(t *testing.T) {
	t.Parallel()
	sc, err := schemas.Parse([]byte(`{"name":"clients","path":"/v2/clients","records":"clients","total":"total_entries",
		"next":"links.next","primary_key":["id"],"sync_modes":["full_refresh"],"updates":"snapshot",
		"fields":[{"name":"id","type":"int64","nullable":false}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ body, next string }{
		{`{"clients":[{"id":1}],"total_entries":2,"links":{"next":"https://api.example/v2/clients?cursor=x"}}`, "https://api.example/v2/clients?cursor=x"},
		{`{"clients":[{"id":2}],"total_entries":2,"links":{"next":null}}`, ""},
		{`{"clients":[{"id":2}],"total_entries":2}`, ""},
	} {
		st, err := FromSchema(sc)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range []func(*records.Page) (string, int){
			func(p *records.Page) (string, int) { i := st.Info(p); return i.Next, i.Total },
			func(p *records.Page) (string, int) { i := ChildFromSchema(sc, st).Info(p); return i.Next, i.Total },
		} {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			dec := records.NewDecoder(mem, sc.Schema, records.Options{Records: sc.Records})
			p, err := dec.Decode([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if next, total := info(p); next != tt.next || total != 2 {
				t.Errorf("%s: Info = next %q, total %d; want %q, 2", tt.body, next, total, tt.next)
			}
			p.Record.Release()
			dec.Release()
			mem.AssertSize(t, 0)
		}
	}
}
