package trackunit

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/connectors/trackunit/trackunitsim"
	"github.com/quiver-etl/quiver/sdk"
)

// countWriter counts rows and drops them.
type countWriter struct{ rows int64 }

func (w *countWriter) WriteBatch(_ context.Context, _ string, rec arrow.Record) error {
	w.rows += rec.NumRows()
	return nil
}
func (*countWriter) Checkpoint(context.Context, string, json.RawMessage) error { return nil }
func (*countWriter) Status(context.Context, string, sdk.Status) error          { return nil }
func (*countWriter) Progress(context.Context, string, sdk.Progress) error      { return nil }

// BenchmarkRead reads 10,000 records of a stream from the simulator
// through the connector (pages of 1,000; the AEMP export's of 100): the
// HTTP round trips, decoding and reshaping.
func BenchmarkRead(b *testing.B) {
	const n = 10000
	for _, stream := range streamNames {
		b.Run(stream, func(b *testing.B) {
			srv := trackunitsim.NewServer(b, simOptions(func(o *trackunitsim.Options) {
				o.Counts = map[string]int{stream: n}
			}))
			tune := fast(memory.NewGoAllocator())
			src, err := newConnector(tune).Open(context.Background(), config(srv, nil))
			if err != nil {
				b.Fatal(err)
			}
			defer src.Close()
			req := sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: stream, Mode: sdk.FullRefresh}}}
			b.ResetTimer()
			for range b.N {
				w := &countWriter{}
				if err := src.Read(context.Background(), req, w); err != nil || w.rows != n {
					b.Fatalf("Read: %v, %d rows", err, w.rows)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
