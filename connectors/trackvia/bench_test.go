package trackvia

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
	"github.com/quiver-etl/quiver/sdk"
)

// BenchmarkReadView reads a view of 20,000 work orders (14 fields of every
// kind, pages of 1000) from the simulator: decoding, the structure check
// and the overlap of pages.
func BenchmarkReadView(b *testing.B) {
	const n = 20000
	srv := trackviasim.NewServer(b, trackviasim.Options{Seed: 1, Records: map[int64]int{trackviasim.ViewWorkOrders: n}})
	ctx := context.Background()
	c := testConnector(memory.NewGoAllocator())
	cfg, _ := json.Marshal(map[string]any{"base_url": srv.URL, "user_key": trackviasim.DefaultUserKey, "access_token": trackviasim.DefaultAccessToken})
	src, err := c.Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	req := sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "work_orders", Mode: sdk.FullRefresh}}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w := newMemWriter()
		w.countOnly = true
		if err := src.Read(ctx, req, w); err != nil || w.rows != n {
			b.Fatalf("read %d rows: %v", w.rows, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
