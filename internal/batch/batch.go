// Package batch joins Arrow record batches of one schema, for the parts of
// Quiver that gather small batches into larger ones.
package batch

import (
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// JoinBytes is the size a plugin gathers a stream's batches to before it
// sends them as one (sdk/protocol's Writer does). A batch per API page costs
// the host a Parquet write call per column, and both sides an IPC message
// and a gRPC message each, whatever the page's size: `make bench` with
// pages of 100 records took twice the time of pages of 1000. A few MiB
// makes those costs small against the data, and stays far under the
// protocol's 63 MiB limit on a batch; 4 MiB was faster still, but took the
// bench's sink stage past its memory target (137 MiB, from 110).
const JoinBytes = 1 << 20

// NextJoin returns the size to join a stream's next batches to, after
// batches were sent with target prev: 0 before the stream's first batch,
// which therefore goes out alone, then JoinBytes/8, doubled at each send
// up to JoinBytes. The ramp keeps the host busy from a stream's start: it
// starts encoding the first page while the next ones are fetched, instead
// of idling until a whole joined batch has come (at the start of a `make
// bench` sync it waited 30-50 ms for its second batch).
func NextJoin(prev int64) int64 {
	return min(JoinBytes, max(JoinBytes/8, 2*prev))
}

// JoinWait is the longest a batch waits to be joined with the ones after
// it. Only pages that come fast are worth joining; a slow API's pages go
// out nearly one by one, and the host sees data, and commits checkpoints,
// at most this much later than it would see each page.
const JoinWait = 100 * time.Millisecond

// Concat returns recs, which share one schema, as one record allocated
// from mem. The caller releases it and still owns recs; a single record is
// returned retained rather than copied.
func Concat(mem memory.Allocator, recs []arrow.Record) (arrow.Record, error) {
	switch len(recs) {
	case 0:
		return nil, errors.New("batch: nothing to join")
	case 1:
		recs[0].Retain()
		return recs[0], nil
	}
	schema := recs[0].Schema()
	var rows int64
	for _, rec := range recs {
		if !SameSchema(rec.Schema(), schema) {
			return nil, fmt.Errorf("batch: joining batches of different schemas:\n%v\nand\n%v", schema, rec.Schema())
		}
		rows += rec.NumRows()
	}
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	parts := make([]arrow.Array, len(recs))
	for i := range cols {
		for j, rec := range recs {
			parts[j] = rec.Column(i)
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, fmt.Errorf("batch: joining %d batches, column %s: %w", len(recs), schema.Field(i).Name, err)
		}
		cols[i] = c
	}
	return array.NewRecord(schema, cols, rows), nil
}

// SameSchema reports whether records of a and b can be joined: the same
// fields and the same metadata.
func SameSchema(a, b *arrow.Schema) bool {
	return a == b || a.Equal(b) && a.Metadata().Equal(b.Metadata())
}

// Bytes returns the bytes of rec's buffers: the memory it holds, which for
// a slice is its whole buffers.
func Bytes(rec arrow.Record) int64 {
	var n int64
	for _, c := range rec.Columns() {
		n += dataBytes(c.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	// Dictionary is a nil *array.Data, not a nil interface, when there
	// is none.
	if dict, ok := d.Dictionary().(*array.Data); ok && dict != nil {
		n += dataBytes(dict)
	}
	return n
}
