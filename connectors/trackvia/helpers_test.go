package trackvia

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"go.uber.org/goleak"

	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/protocol"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/stream"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// viewStreams maps the simulator's views to their stream names.
var viewStreams = map[int64]string{
	trackviasim.ViewAllContacts:     "all_contacts",
	trackviasim.ViewAllContactsDash: "all_contacts_102",
	trackviasim.ViewWorkOrders:      "work_orders",
	trackviasim.ViewLager:           "grossenubersicht_lager",
	trackviasim.ViewEmpty:           "leere_ansicht",
	trackviasim.UsersViewID:         "users",
}

// config returns a JSON config for srv with the default credentials and
// extra keys.
func config(t *testing.T, srv *trackviasim.Server, extra map[string]any) []byte {
	t.Helper()
	c := map[string]any{
		"base_url":     srv.URL,
		"user_key":     trackviasim.DefaultUserKey,
		"access_token": trackviasim.DefaultAccessToken,
	}
	for k, v := range extra {
		c[k] = v
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testConnector returns a Connector whose records come from mem.
func testConnector(mem memory.Allocator) *stream.Connector[Config] {
	return newConnector(&conn{alloc: mem})
}

// open opens c for srv; the source is closed when t ends.
func open(ctx context.Context, t *testing.T, c *stream.Connector[Config], srv *trackviasim.Server, extra map[string]any) sdk.Source {
	t.Helper()
	src, err := c.Open(ctx, config(t, srv, extra))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// streamLog is what a read reported for one stream.
type streamLog struct {
	schema      *arrow.Schema
	rows        []map[string]any
	batches     int
	checkpoints []json.RawMessage
	states      []protocol.State
	err         error // of a Failed status
}

// last returns the stream's last checkpoint, or nil.
func (l *streamLog) last() json.RawMessage {
	if len(l.checkpoints) == 0 {
		return nil
	}
	return l.checkpoints[len(l.checkpoints)-1]
}

// final returns the stream's final state.
func (l *streamLog) final() protocol.State {
	if len(l.states) == 0 {
		return 0
	}
	return l.states[len(l.states)-1]
}

// memWriter is an sdk.Writer that converts batches into rows.
type memWriter struct {
	mu      sync.Mutex
	streams map[string]*streamLog
	// onBatch, if set, runs after each batch, outside the lock.
	onBatch func(stream string, n int)
	// countOnly keeps only the number of rows, for benchmarks.
	countOnly bool
	rows      int64
}

func newMemWriter() *memWriter { return &memWriter{streams: map[string]*streamLog{}} }

func (w *memWriter) log(stream string) *streamLog {
	if w.streams[stream] == nil {
		w.streams[stream] = &streamLog{}
	}
	return w.streams[stream]
}

// get returns the log of stream, which must exist.
func (w *memWriter) get(t *testing.T, stream string) *streamLog {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.streams[stream]
	if l == nil {
		t.Fatalf("stream %s reported nothing", stream)
	}
	return l
}

func (w *memWriter) WriteBatch(_ context.Context, stream string, rec arrow.Record) error {
	w.mu.Lock()
	if w.countOnly {
		w.rows += rec.NumRows()
		w.mu.Unlock()
		return nil
	}
	l := w.log(stream)
	if l.schema == nil {
		l.schema = rec.Schema()
	} else if !l.schema.Equal(rec.Schema()) {
		w.mu.Unlock()
		return fmt.Errorf("stream %s: batch schema changed", stream)
	}
	l.batches++
	for i := range int(rec.NumRows()) {
		row := connectortest.Row(rec, i)
		// The simulator's records have nothing to rescue.
		if v, ok := row[records.RescueColumn]; !ok || v != nil {
			w.mu.Unlock()
			return fmt.Errorf("stream %s row %d: %s = %v (present: %v), want null", stream, i, records.RescueColumn, v, ok)
		}
		delete(row, records.RescueColumn)
		l.rows = append(l.rows, row)
	}
	hook := w.onBatch
	w.mu.Unlock()
	if hook != nil {
		hook(stream, int(rec.NumRows()))
	}
	return nil
}

func (w *memWriter) Checkpoint(_ context.Context, stream string, st json.RawMessage) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.log(stream)
	l.checkpoints = append(l.checkpoints, append(json.RawMessage(nil), st...))
	return nil
}

func (w *memWriter) Status(_ context.Context, stream string, st sdk.Status) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.log(stream)
	l.states = append(l.states, st.State)
	if st.Err != nil {
		l.err = st.Err
	}
	return nil
}

func (w *memWriter) Progress(context.Context, string, sdk.Progress) error { return nil }

// read reads streams (full refresh unless modes say otherwise) with src.
func read(ctx context.Context, t *testing.T, src sdk.Source, w *memWriter, modes map[string]sdk.SyncMode, states map[string]json.RawMessage, streams ...string) error {
	t.Helper()
	var req sdk.ReadRequest
	for _, s := range streams {
		mode := sdk.FullRefresh
		if m, ok := modes[s]; ok {
			mode = m
		}
		req.Streams = append(req.Streams, sdk.StreamRequest{Name: s, Mode: mode, State: states[s]})
	}
	return src.Read(ctx, req, w)
}

// expect returns the row a stream of schema should hold for a simulator
// record.
func expect(t *testing.T, schema *arrow.Schema, rec map[string]any) map[string]any {
	t.Helper()
	row, err := connectortest.Expect(schema, rec)
	if err != nil {
		t.Fatal(err)
	}
	return row
}

// noSecrets fails if text holds one of the simulator's credentials.
func noSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range []string{trackviasim.DefaultUserKey, trackviasim.DefaultAccessToken} {
		if strings.Contains(text, s) {
			t.Errorf("%s holds a credential: %s", what, text)
		}
	}
}
