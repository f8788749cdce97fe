package trackvia

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"go.uber.org/goleak"

	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/protocol"
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
func testConnector(mem memory.Allocator) *Connector { return &Connector{alloc: mem} }

// open opens c for srv; the source is closed when t ends.
func open(ctx context.Context, t *testing.T, c *Connector, srv *trackviasim.Server, extra map[string]any) sdk.Source {
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
	l := w.log(stream)
	if l.schema == nil {
		l.schema = rec.Schema()
	} else if !l.schema.Equal(rec.Schema()) {
		w.mu.Unlock()
		return fmt.Errorf("stream %s: batch schema changed", stream)
	}
	l.batches++
	for i := range int(rec.NumRows()) {
		row := map[string]any{}
		for c, f := range rec.Schema().Fields() {
			row[f.Name] = value(rec.Column(c), i)
		}
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

// value converts one Arrow value to a plain Go value: int64, float64,
// string, time.Time (UTC), []any or map[string]any.
func value(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Date32:
		return a.Value(i).ToTime().UTC()
	case *array.Timestamp:
		return a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit).UTC()
	case *array.List:
		start, end := a.ValueOffsets(i)
		out := []any{}
		for j := start; j < end; j++ {
			out = append(out, value(a.ListValues(), int(j)))
		}
		return out
	case *array.Struct:
		out := map[string]any{}
		st := a.DataType().(*arrow.StructType)
		for f := range a.NumField() {
			out[st.Field(f).Name] = value(a.Field(f), i)
		}
		return out
	}
	return fmt.Sprintf("unsupported %s", a.DataType())
}

// expect converts a simulator record (decoded JSON, either value shape)
// into the row the stream should hold, following schema.
func expect(t *testing.T, schema *arrow.Schema, rec map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, f := range schema.Fields() {
		out[f.Name] = convert(t, f.Type, rec[f.Name])
	}
	return out
}

func convert(t *testing.T, dt arrow.DataType, v any) any {
	t.Helper()
	if v == nil {
		return nil
	}
	num := func() float64 {
		switch v := v.(type) {
		case float64:
			return v
		case string:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("number %q: %v", v, err)
			}
			return f
		}
		t.Fatalf("number %v (%T)", v, v)
		return 0
	}
	switch dt.ID() {
	case arrow.INT64:
		return int64(num())
	case arrow.FLOAT64:
		return num()
	case arrow.STRING:
		if f, ok := v.(float64); ok {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
		return v
	case arrow.DATE32:
		s := v.(string)
		d, err := time.Parse(time.DateOnly, s[:min(len(s), 10)])
		if err != nil {
			t.Fatal(err)
		}
		return d
	case arrow.TIMESTAMP:
		ts, err := time.Parse(time.RFC3339Nano, v.(string))
		if err != nil {
			t.Fatal(err)
		}
		return ts.UTC().Truncate(time.Microsecond)
	case arrow.LIST:
		out := []any{}
		for _, e := range v.([]any) {
			out = append(out, convert(t, dt.(*arrow.ListType).Elem(), e))
		}
		return out
	case arrow.STRUCT:
		out := map[string]any{}
		m := v.(map[string]any)
		for _, f := range dt.(*arrow.StructType).Fields() {
			out[f.Name] = convert(t, f.Type, m[f.Name])
		}
		return out
	}
	t.Fatalf("no conversion for %s", dt)
	return nil
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
