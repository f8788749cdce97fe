package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// TestReadStreamsDecodeSchema: pages decoded with DecodeSchema (keys in
// either casing, with FoldCase) are reshaped by Select into Schema, and a
// relative next link resolves against the page's URL.
func TestReadStreamsDecodeSchema(t *testing.T) {
	t.Parallel()
	// Two pages: /v1/items?page=1 links to "?page=2" (relative) in
	// PascalCase; page 2 is camelCase and has no next link.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("page") {
		case "1":
			fmt.Fprint(w, `{"Next":"?page=2","Items":[{"Inner":{"ID":1}},{"Inner":{"ID":2}}]}`)
		case "2":
			fmt.Fprint(w, `{"items":[{"inner":{"id":3}}]}`)
		default:
			http.Error(w, "no such page", http.StatusNotFound)
		}
	}))
	defer srv.Close()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	idField := arrow.Field{Name: "id", Type: arrow.PrimitiveTypes.Int64, Metadata: arrow.NewMetadata([]string{"quiver:json"}, []string{"ID"})}
	flat := arrow.NewSchema([]arrow.Field{idField}, nil)
	nested := arrow.NewSchema([]arrow.Field{{
		Name: "inner", Type: arrow.StructOf(idField),
		Metadata: arrow.NewMetadata([]string{"quiver:json"}, []string{"Inner"}),
	}}, nil)
	st := &Stream{
		Name: "items", Schema: flat, DecodeSchema: nested, FoldCase: true,
		Records: []string{"Items"},
		Pager:   rest.NextLink{},
		Request: func(json.RawMessage) (rest.Request, error) {
			return rest.Request{Path: "/v1/items", Query: map[string][]string{"page": {"1"}}}, nil
		},
		Info: func(p *records.Page) rest.PageInfo {
			next, _ := p.Envelope.String("Next")
			return rest.PageInfo{Items: int(p.Record.NumRows()), Next: next}
		},
		Checkpoint: func(_ json.RawMessage, p *records.Page) (json.RawMessage, error) {
			if !p.Record.Schema().Equal(records.WithRescue(nested)) {
				return nil, fmt.Errorf("Checkpoint sees schema %s, want the decoded one", p.Record.Schema())
			}
			return nil, nil
		},
		Select: func(p *records.Page) (arrow.Record, error) {
			inner := p.Record.Column(0).(*array.Struct)
			return array.NewRecord(records.WithRescue(flat), []arrow.Array{inner.Field(0), records.Rescued(p.Record)}, p.Record.NumRows()), nil
		},
	}
	c, err := rest.New(rest.Options{BaseURL: srv.URL, OnRetry: func(context.Context, string) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	w := &recordingWriter{}
	req := sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "items", Mode: sdk.FullRefresh}}}
	if err := ReadStreams(context.Background(), c, []*Stream{st}, req, w, ReadOptions{Allocator: mem}); err != nil {
		t.Fatalf("ReadStreams: %v", err)
	}
	want := []string{"status started", "batch [1 2]", "batch [3]", "status complete"}
	if diff := cmp.Diff(want, w.events); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s\nerrors: %v", diff, w.errs)
	}
}
