package records_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/sdk/records"
)

// TestDecode_KeepsNothingOfTheBody: what a Decode returns or keeps (the
// record, the envelope, rescued values, drift, the next page's sizing) is
// copied out of the body, so that the body's buffer can take the next
// page (rest.Client.ReuseBody, which sdk/stream calls after each Decode).
func TestDecode_KeepsNothingOfTheBody(t *testing.T) {
	t.Parallel()
	schema := arrow.NewSchema([]arrow.Field{
		field("id", arrow.PrimitiveTypes.Int64, false, ""),
		field("name", arrow.BinaryTypes.String, true, ""),
		field("tags", arrow.ListOf(arrow.BinaryTypes.String), true, ""),
		field("address", arrow.StructOf(arrow.Field{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true}), true, ""),
	}, nil)
	body := []byte(`{"meta":{"next":"cursor-abc","count":2},"data":[
		{"id":1,"name":"Ada \u00e9","tags":["a","b"],"address":{"city":"Oslo"},"nickname":"ace"},
		{"id":"2","name":"Bob","tags":[],"address":{"city":{"odd":true}},"extra":[1,2]}]}`)
	drift := &records.DriftReport{}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dec := records.NewDecoder(mem, schema, records.Options{Stream: "s", Records: []string{"data"}, Drift: drift})
	defer dec.Release()
	page, err := dec.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Record.Release()
	snapshot := func() string {
		next, _ := page.Envelope.String("meta.next")
		raw, _ := page.Envelope.Raw("meta")
		return fmt.Sprintf("%v\n%s %s\n%+v", rows(page.Record), next, raw, drift.Snapshot())
	}
	before := snapshot()
	copy(body, bytes.Repeat([]byte{'#'}, len(body))) // the next page's bytes
	if after := snapshot(); after != before {
		t.Errorf("what Decode returned changed with the body's buffer:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// The next page decodes alike in the reused buffer.
	copy(body, `{"meta":{},"data":[{"id":3,"name":"Cy"}]}`)
	next, err := dec.Decode(body[:len(`{"meta":{},"data":[{"id":3,"name":"Cy"}]}`)])
	if err != nil {
		t.Fatal(err)
	}
	defer next.Record.Release()
	if got := fmt.Sprint(rows(next.Record)); got != "[[3 Cy (null) (null) (null)]]" {
		t.Errorf("the next page in the reused buffer = %s", got)
	}
	if after := snapshot(); after != before {
		t.Errorf("what the first Decode returned changed with the next page:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
