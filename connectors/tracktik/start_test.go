package tracktik_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/quiver-etl/quiver/connectors/tracktik"
	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/sdk"
)

// TestStartDate_Inclusive: whether the vendor's :after takes records dated
// at its value or not (the docs do not say), a shift dated exactly at
// start_date is read and one dated a second before it is not. The
// simulator's :after leaves its value out; the inclusive vendor is the
// simulator behind a proxy that moves every :after a second earlier.
func TestStartDate_Inclusive(t *testing.T) {
	t.Parallel()
	for _, inclusive := range []bool{false, true} {
		t.Run(fmt.Sprintf("inclusive=%t", inclusive), func(t *testing.T) {
			t.Parallel()
			testStartDate(t, inclusive)
		})
	}
}

func testStartDate(t *testing.T, inclusive bool) {
	t.Helper()
	srv := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 7, Counts: map[string]int{"shifts": 60}})
	start := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	ids := srv.IDs("shifts")
	atStart, justBefore := ids[10], ids[20]
	if err := srv.Update("shifts", atStart, "startedOn", start); err != nil {
		t.Fatal(err)
	}
	if err := srv.Update("shifts", justBefore, "startedOn", start.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	base := srv.URL
	if inclusive {
		base = inclusiveAfter(t, srv.URL)
	}
	var want []int64
	for i := range srv.Count("shifts") {
		r := srv.Record("shifts", i)
		at, err := time.Parse(time.RFC3339, r["startedOn"].(string))
		if err != nil {
			t.Fatalf("shift %v: startedOn %v: %v", r["id"], r["startedOn"], err)
		}
		if id := int64(r["id"].(float64)); id != justBefore && !at.Before(start) {
			want = append(want, id)
		}
	}

	config, err := json.Marshal(map[string]any{
		"base_url": base, "client_id": tracktiksim.ClientID, "client_secret": tracktiksim.ClientSecret,
		"username": tracktiksim.Username, "password": tracktiksim.Password,
		"start_date": "2024-06-01", "page_size": 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, err := tracktik.New().Open(ctx, config)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	w := &idWriter{}
	if err := src.Read(ctx, sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "shifts", Mode: sdk.Incremental}}}, w); err != nil {
		t.Fatal(err)
	}
	got := w.sorted()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("shifts read from start_date 2024-06-01: ids %v, want %v (shift %d at start_date, %d a second before)", got, want, atStart, justBefore)
	}
	if !slices.Contains(got, atStart) || slices.Contains(got, justBefore) {
		t.Errorf("shift %d dated at start_date read: %t (want true); shift %d before it read: %t (want false)",
			atStart, slices.Contains(got, atStart), justBefore, slices.Contains(got, justBefore))
	}
}

// inclusiveAfter starts a proxy to the simulator at target that moves the
// value of every :after filter a second earlier, so that the simulator's
// strict :after includes records dated at the value asked for, and
// returns its URL.
func inclusiveAfter(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	const layout = "2006-01-02 15:04:05"
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		q := r.Out.URL.Query()
		for key, vs := range q {
			if !strings.HasSuffix(key, ":after") {
				continue
			}
			at, err := time.Parse(layout, vs[0])
			if err != nil {
				t.Errorf("proxy: %s=%s: %v", key, vs[0], err)
				continue
			}
			q.Set(key, at.Add(-time.Second).Format(layout))
		}
		r.Out.URL.RawQuery = q.Encode()
	}}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	return ps.URL
}

// idWriter collects the ids of the records written.
type idWriter struct {
	mu  sync.Mutex
	ids []int64
}

func (w *idWriter) WriteBatch(_ context.Context, _ string, rec arrow.Record) error {
	col := rec.Column(rec.Schema().FieldIndices("id")[0]).(*array.Int64)
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range col.Len() {
		w.ids = append(w.ids, col.Value(i))
	}
	return nil
}

func (w *idWriter) Checkpoint(context.Context, string, json.RawMessage) error { return nil }
func (w *idWriter) Status(context.Context, string, sdk.Status) error          { return nil }
func (w *idWriter) Progress(context.Context, string, sdk.Progress) error      { return nil }

func (w *idWriter) sorted() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Sorted(slices.Values(w.ids))
}
