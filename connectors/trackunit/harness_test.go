package trackunit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"

	"github.com/quiver-etl/quiver/connectors/trackunit/trackunitsim"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/protocol"
	"github.com/quiver-etl/quiver/sdk/rest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fast are tunings that keep tests quick: short backoff, and a locations
// limiter that does not slow paging (the simulators run with their own
// per-page limit off unless a test turns it on).
func fast(mem memory.Allocator) tuning {
	return tuning{
		policy: rest.Policy{
			InitialInterval: time.Millisecond,
			MaxInterval:     5 * time.Millisecond,
			RateLimitFloor:  5 * time.Millisecond,
		},
		accountRate:      1000,
		locationInterval: time.Millisecond,
		mem:              mem,
	}
}

// simOptions returns simulator options with the limits that would slow a
// unit test off; edit changes them.
func simOptions(edit func(*trackunitsim.Options)) trackunitsim.Options {
	o := trackunitsim.Options{Seed: 7, LocationInterval: -1, AEMPWindow: -1, AEMPPerSecond: -1}
	if edit != nil {
		edit(&o)
	}
	return o
}

// config returns a config for srv as JSON; extra adds or replaces keys.
func config(srv *trackunitsim.Server, extra map[string]any) []byte {
	m := map[string]any{
		"api_url":       srv.URL,
		"token_url":     srv.TokenURL,
		"client_id":     trackunitsim.DefaultClientID,
		"client_secret": trackunitsim.DefaultClientSecret,
		"username":      trackunitsim.DefaultUsername,
		"password":      trackunitsim.DefaultPassword,
		"start_date":    "2024-01-01",
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return b
}

// open opens a source for srv with tune; logs collects what it logs.
func open(t *testing.T, srv *trackunitsim.Server, extra map[string]any, tune tuning, logs *syncBuffer) sdk.Source {
	t.Helper()
	ctx := context.Background()
	if logs != nil {
		ctx = sdk.WithLogger(ctx, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	src, err := newConnector(tune).Open(ctx, config(srv, extra))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// result is what a read reported for one stream.
type result struct {
	rows        []map[string]any // every row written, decoded from Arrow JSON
	batches     int
	checkpoints []string
	status      protocol.State
	err         error
	retries     map[string]int64
	schema      *arrow.Schema
}

// memWriter is an sdk.Writer that keeps everything, by stream.
type memWriter struct {
	mu      sync.Mutex
	streams map[string]*result
	t       *testing.T
}

func newMemWriter(t *testing.T) *memWriter { return &memWriter{streams: map[string]*result{}, t: t} }

func (w *memWriter) get(stream string) *result {
	r := w.streams[stream]
	if r == nil {
		r = &result{}
		w.streams[stream] = r
	}
	return r
}

func (w *memWriter) WriteBatch(_ context.Context, stream string, rec arrow.Record) error {
	var buf bytes.Buffer
	if err := array.RecordToJSON(rec, &buf); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.get(stream)
	if r.schema != nil && !r.schema.Equal(rec.Schema()) {
		w.t.Errorf("stream %s: batch schema changed", stream)
	}
	r.schema = rec.Schema()
	r.batches++
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return err
		}
		r.rows = append(r.rows, m)
	}
	return nil
}

func (w *memWriter) Checkpoint(_ context.Context, stream string, st json.RawMessage) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.get(stream)
	r.checkpoints = append(r.checkpoints, string(st))
	return nil
}

func (w *memWriter) Status(_ context.Context, stream string, st sdk.Status) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.get(stream)
	if st.State != sdk.Started {
		r.status, r.err = st.State, st.Err
	}
	return nil
}

func (w *memWriter) Progress(_ context.Context, stream string, p sdk.Progress) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.get(stream).retries = p.Retries
	return nil
}

// read reads streams (all when none) from src in mode, starting from
// states (by stream; may be nil), and returns what each reported.
func read(t *testing.T, src sdk.Source, mode sdk.SyncMode, states map[string]string, streams ...string) map[string]*result {
	t.Helper()
	if len(streams) == 0 {
		streams = streamNames
	}
	var req sdk.ReadRequest
	for _, s := range streams {
		sr := sdk.StreamRequest{Name: s, Mode: mode}
		if st, ok := states[s]; ok {
			sr.State = json.RawMessage(st)
		}
		req.Streams = append(req.Streams, sr)
	}
	w := newMemWriter(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := src.Read(ctx, req, w); err != nil {
		t.Fatalf("Read: %v", err)
	}
	return w.streams
}

// ids returns the key column of rows, in order.
func ids(rows []map[string]any, key string) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, fmt.Sprint(r[key]))
	}
	return out
}

// keys are the columns that identify each stream's records, matching
// trackunitsim's Server.IDs.
var keys = map[string]string{
	StreamAssets:        "id",
	StreamLocations:     "asset_id",
	StreamFleetSnapshot: "pin",
	StreamAssetEvents:   "id",
}

// checkRead fails the test unless every stream of res completed and sent
// every record of srv exactly once, in the API's order.
func checkRead(t *testing.T, srv *trackunitsim.Server, res map[string]*result) {
	t.Helper()
	complete(t, res)
	for name, r := range res {
		if diff := cmp.Diff(srv.IDs(name), ids(r.rows, keys[name]), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("stream %s: ids mismatch (-want +got):\n%s", name, diff)
		}
	}
}

// complete fails the test unless every stream of res completed.
func complete(t *testing.T, res map[string]*result) {
	t.Helper()
	for name, r := range res {
		if r.status != sdk.Complete {
			t.Fatalf("stream %s: status %v, error %v", name, r.status, r.err)
		}
	}
}
