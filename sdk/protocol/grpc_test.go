package protocol

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Tier 1: the protocol over in-process gRPC (plugin.TestPluginGRPCConn).

// fakePlugin is a Plugin whose answers are set by each test.
type fakePlugin struct {
	spec    *Spec
	catalog *Catalog
	err     error // returned by Check and Discover
	read    func(ctx context.Context, req *ReadRequest, w Writer) error

	mu      sync.Mutex
	configs [][]byte // configs received by Check and Discover
}

func (f *fakePlugin) Spec(context.Context) (*Spec, error) { return f.spec, nil }

func (f *fakePlugin) Check(_ context.Context, config []byte) error {
	f.mu.Lock()
	f.configs = append(f.configs, config)
	f.mu.Unlock()
	return f.err
}

func (f *fakePlugin) Discover(_ context.Context, config []byte) (*Catalog, error) {
	f.mu.Lock()
	f.configs = append(f.configs, config)
	f.mu.Unlock()
	return f.catalog, f.err
}

func (f *fakePlugin) Read(ctx context.Context, req *ReadRequest, w Writer) error {
	return f.read(ctx, req, w)
}

var _ Plugin = (*fakePlugin)(nil)

// checkedAllocator returns an allocator that fails t if anything allocated
// through it is still held once t's cleanups have run. The server's Read
// handler may still be ending a read then (the test server's Stop does not
// wait for it): the batches a plugin's Writer held are released as it
// returns, so the check waits for them up to 5 s.
func checkedAllocator(t *testing.T) *memory.CheckedAllocator {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() {
		for deadline := time.Now().Add(5 * time.Second); mem.CurrentAlloc() != 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		mem.AssertSize(t, 0)
	})
	return mem
}

// newTestClient serves impl over in-process gRPC and returns a Client for it.
// Batches are encoded with pluginMem and decoded with hostMem.
func newTestClient(t *testing.T, impl Plugin, pluginMem, hostMem memory.Allocator) *Client {
	t.Helper()
	return newTestClientWait(t, impl, pluginMem, hostMem, 0)
}

// newTestClientWait is newTestClient with batches waiting up to joinWait
// to be joined (0: batch.JoinWait).
func newTestClientWait(t *testing.T, impl Plugin, pluginMem, hostMem memory.Allocator, joinWait time.Duration) *Client {
	t.Helper()
	ps := map[string]plugin.Plugin{pluginName: &grpcPlugin{
		impl:     impl,
		mem:      pluginMem,
		logger:   slog.New(slog.DiscardHandler),
		joinWait: joinWait,
	}}
	client, server := plugin.TestPluginGRPCConn(t, false, ps)
	t.Cleanup(func() {
		// Stop the server first: client.Close asks the server to stop itself,
		// which would race with a second Stop.
		server.Stop()
		_ = client.Close()
	})
	raw, err := client.Dispense(pluginName)
	if err != nil {
		t.Fatalf("Dispense(%q) = %v", pluginName, err)
	}
	return newClient("quiver-fake", hostMem, raw.(*stub))
}

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "updated_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	{Name: "site", Type: arrow.StructOf(
		arrow.Field{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
	), Nullable: true},
}, func() *arrow.Metadata {
	md := arrow.NewMetadata([]string{"quiver.stream"}, []string{"employees"})
	return &md
}())

const testRows = `[
	{"id": 1, "name": "Ada", "updated_at": "2024-01-02T03:04:05.123456Z", "tags": ["a", "b"], "site": {"id": 7, "city": "Oslo"}},
	{"id": 2, "name": null, "updated_at": null, "tags": null, "site": null},
	{"id": 3, "name": "Grace\nHopper", "updated_at": "2024-02-29T00:00:00Z", "tags": [], "site": {"id": 8, "city": null}}
]`

// newRecord builds a record of testSchema from JSON rows.
func newRecord(t *testing.T, mem memory.Allocator, rows string) arrow.Record {
	t.Helper()
	rec, _, err := array.RecordFromJSON(mem, testSchema, strings.NewReader(rows))
	if err != nil {
		t.Fatalf("RecordFromJSON: %v", err)
	}
	return rec
}

func recordJSON(t *testing.T, rec arrow.Record) string {
	t.Helper()
	var buf bytes.Buffer
	if err := array.RecordToJSON(rec, &buf); err != nil {
		t.Fatalf("RecordToJSON: %v", err)
	}
	return buf.String()
}

func TestSpec(t *testing.T) {
	t.Parallel()
	want := &Spec{
		Name:            "fake",
		Version:         "1.2.3",
		ProtocolVersion: Version,
		Description:     "A fake connector.",
		ConfigSchema:    json.RawMessage(`{"type":"object"}`),
		Streams:         []string{"employees", "shifts"},
	}
	c := newTestClient(t, &fakePlugin{spec: want}, memory.NewGoAllocator(), memory.NewGoAllocator())
	got, err := c.Spec(context.Background())
	if err != nil {
		t.Fatalf("Spec() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Spec() mismatch (-want +got):\n%s", diff)
	}
}

func TestSpecProtocolMismatch(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, &fakePlugin{spec: &Spec{Name: "fake", ProtocolVersion: Version + 1}},
		memory.NewGoAllocator(), memory.NewGoAllocator())
	_, err := c.Spec(context.Background())
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("protocol version %d", Version+1)) {
		t.Errorf("Spec() = %v, want a protocol version error", err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	f := &fakePlugin{}
	c := newTestClient(t, f, memory.NewGoAllocator(), memory.NewGoAllocator())
	config := []byte(`{"base_url":"http://127.0.0.1:1"}`)
	if err := c.Check(context.Background(), config); err != nil {
		t.Fatalf("Check() = %v", err)
	}
	if diff := cmp.Diff([][]byte{config}, f.configs); diff != "" {
		t.Errorf("configs mismatch (-want +got):\n%s", diff)
	}
}

var schemaComparer = cmp.Comparer(func(a, b *arrow.Schema) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b) && a.Metadata().Equal(b.Metadata())
})

func TestDiscover(t *testing.T) {
	t.Parallel()
	pluginMem, hostMem := checkedAllocator(t), checkedAllocator(t)
	want := &Catalog{Streams: []Stream{
		{
			Name:        "employees",
			Description: "People.",
			Schema:      testSchema,
			PrimaryKey:  []string{"id"},
			CursorField: "updated_at",
			SyncModes:   []SyncMode{Incremental, FullRefresh},
		},
		{
			Name:      "view one",
			Schema:    arrow.NewSchema([]arrow.Field{{Name: "a field", Type: arrow.FixedWidthTypes.Date32}}, nil),
			SyncModes: []SyncMode{FullRefresh},
		},
	}}
	c := newTestClient(t, &fakePlugin{catalog: want}, pluginMem, hostMem)
	got, err := c.Discover(context.Background(), []byte(`{}`))
	if err != nil {
		t.Fatalf("Discover() = %v", err)
	}
	if diff := cmp.Diff(want, got, schemaComparer); diff != "" {
		t.Errorf("Discover() mismatch (-want +got):\n%s", diff)
	}
}

func TestDiscoverNoSchema(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, &fakePlugin{catalog: &Catalog{Streams: []Stream{{Name: "employees"}}}},
		memory.NewGoAllocator(), memory.NewGoAllocator())
	_, err := c.Discover(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "stream employees: no schema") {
		t.Errorf("Discover() = %v, want a no-schema error", err)
	}
}

// summary is a comparable form of a Message.
type summary struct {
	Kind, Stream, Data string
	State              State
	Err                string
	Progress           Progress
}

func summarize(t *testing.T, m Message) summary {
	t.Helper()
	switch m := m.(type) {
	case *Batch:
		return summary{Kind: "batch", Stream: m.Stream, Data: recordJSON(t, m.Record)}
	case *Checkpoint:
		return summary{Kind: "checkpoint", Stream: m.Stream, Data: string(m.State)}
	case *StreamStatus:
		s := summary{Kind: "status", Stream: m.Stream, State: m.Status.State}
		if m.Status.Err != nil {
			s.Err = m.Status.Err.Error()
		}
		return s
	case *StreamProgress:
		return summary{Kind: "progress", Stream: m.Stream, Progress: m.Progress}
	}
	t.Fatalf("unknown message %T", m)
	return summary{}
}

// readAll reads rs to the end and returns its messages and error.
func readAll(t *testing.T, rs *ReadStream) ([]Message, error) {
	t.Helper()
	var msgs []Message
	for rs.Next() {
		msgs = append(msgs, rs.Message())
	}
	return msgs, rs.Err()
}

// testDrift is a drift report with an unknown key and a mismatched column.
var testDrift = []Drift{
	{Key: "nickname", Shapes: []string{"string"}, Count: 3, RecordID: "41"},
	{Key: "site", Column: "site", Shapes: []string{"object", "string"}, Count: 1, RecordID: "42"},
}

func TestRead(t *testing.T) {
	t.Parallel()
	pluginMem, hostMem := checkedAllocator(t), checkedAllocator(t)
	req := &ReadRequest{
		Config: []byte(`{"k":"v"}`),
		Streams: []StreamRequest{
			{Name: "employees", Mode: Incremental, State: json.RawMessage(`{"cursor":"2024-01-01"}`)},
			{Name: "shifts", Mode: FullRefresh},
			{Name: "sites"},
		},
		Contract: SchemaContract{OnUnknown: Ignore, OnMismatch: Fail},
		Limit:    100,
	}
	var gotReq *ReadRequest
	shiftsErr := fmt.Errorf("fake: shifts page 3: %w", ErrTemporary)
	f := &fakePlugin{read: func(ctx context.Context, r *ReadRequest, w Writer) error {
		gotReq = r
		rec := newRecord(t, pluginMem, testRows)
		defer rec.Release()
		for _, step := range []func() error{
			func() error { return w.Status(ctx, "employees", Status{State: Started}) },
			func() error { return w.WriteBatch(ctx, "employees", rec) },
			func() error { return w.Checkpoint(ctx, "employees", json.RawMessage(`{"cursor":"2024-02-29"}`)) },
			func() error {
				return w.Progress(ctx, "employees", Progress{
					Records: 3, Pages: 1, Total: 10,
					Retries: map[string]int64{"429": 2, "lag_401": 1},
					Elapsed: 1500 * time.Millisecond,
					Drift:   testDrift,

					Concurrency: 4, RateLimitWait: 2500 * time.Millisecond,
				})
			},
			func() error { return w.Status(ctx, "employees", Status{State: Complete}) },
			func() error { return w.Status(ctx, "shifts", Status{State: Failed, Err: shiftsErr}) },
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	}}
	c := newTestClient(t, f, pluginMem, hostMem)
	rs, err := c.Read(context.Background(), req)
	if err != nil {
		t.Fatalf("Read() = %v", err)
	}
	defer rs.Close()
	var got []summary
	var shiftsStatus error
	for rs.Next() {
		got = append(got, summarize(t, rs.Message()))
		if s, ok := rs.Message().(*StreamStatus); ok && s.Stream == "shifts" {
			shiftsStatus = s.Status.Err
		}
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
	wantRec := newRecord(t, memory.NewGoAllocator(), testRows)
	defer wantRec.Release()
	want := []summary{
		{Kind: "status", Stream: "employees", State: Started},
		{Kind: "batch", Stream: "employees", Data: recordJSON(t, wantRec)},
		{Kind: "checkpoint", Stream: "employees", Data: `{"cursor":"2024-02-29"}`},
		{Kind: "progress", Stream: "employees", Progress: Progress{
			Records: 3, Pages: 1, Total: 10,
			Retries: map[string]int64{"429": 2, "lag_401": 1},
			Elapsed: 1500 * time.Millisecond,
			Drift:   testDrift,

			Concurrency: 4, RateLimitWait: 2500 * time.Millisecond,
		}},
		{Kind: "status", Stream: "employees", State: Complete},
		{Kind: "status", Stream: "shifts", State: Failed, Err: shiftsErr.Error()},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages mismatch (-want +got):\n%s", diff)
	}
	if !errors.Is(shiftsStatus, ErrTemporary) {
		t.Errorf("shifts status error %v is not ErrTemporary", shiftsStatus)
	}
	if diff := cmp.Diff(req, gotReq); diff != "" {
		t.Errorf("request mismatch (-want +got):\n%s", diff)
	}
}

// TestReadConcurrentWriters writes from several goroutines at once, as the
// Writer contract allows (run with -race).
func TestReadConcurrentWriters(t *testing.T) {
	t.Parallel()
	pluginMem, hostMem := checkedAllocator(t), checkedAllocator(t)
	const writers, batches = 4, 10
	f := &fakePlugin{read: func(ctx context.Context, _ *ReadRequest, w Writer) error {
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stream := fmt.Sprintf("s%d", i)
				for range batches {
					rec := newRecord(t, pluginMem, testRows)
					err := w.WriteBatch(ctx, stream, rec)
					rec.Release()
					if err != nil {
						errs[i] = err
						return
					}
					if err := w.Checkpoint(ctx, stream, json.RawMessage(`{}`)); err != nil {
						errs[i] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}}
	c := newTestClient(t, f, pluginMem, hostMem)
	rs, err := c.Read(context.Background(), &ReadRequest{})
	if err != nil {
		t.Fatalf("Read() = %v", err)
	}
	defer rs.Close()
	rows := map[string]int64{}
	for rs.Next() {
		if b, ok := rs.Message().(*Batch); ok {
			rows[b.Stream] += b.Record.NumRows()
		}
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
	want := map[string]int64{"s0": 30, "s1": 30, "s2": 30, "s3": 30}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows per stream mismatch (-want +got):\n%s", diff)
	}
}

// TestReadLargeBatch sends a batch over gRPC's default 4 MiB limit.
func TestReadLargeBatch(t *testing.T) {
	t.Parallel()
	pluginMem, hostMem := checkedAllocator(t), checkedAllocator(t)
	const rows = 700_000 // 5.6 MB of int64
	f := &fakePlugin{read: func(ctx context.Context, _ *ReadRequest, w Writer) error {
		b := array.NewInt64Builder(pluginMem)
		defer b.Release()
		for i := range rows {
			b.Append(int64(i))
		}
		col := b.NewArray()
		defer col.Release()
		schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
		rec := array.NewRecord(schema, []arrow.Array{col}, rows)
		defer rec.Release()
		return w.WriteBatch(ctx, "big", rec)
	}}
	c := newTestClient(t, f, pluginMem, hostMem)
	rs, err := c.Read(context.Background(), &ReadRequest{})
	if err != nil {
		t.Fatalf("Read() = %v", err)
	}
	defer rs.Close()
	if !rs.Next() {
		t.Fatalf("Next() = false, Err() = %v", rs.Err())
	}
	rec := rs.Message().(*Batch).Record
	if rec.NumRows() != rows {
		t.Errorf("NumRows() = %d, want %d", rec.NumRows(), rows)
	}
	if got := rec.Column(0).(*array.Int64).Value(rows - 1); got != rows-1 {
		t.Errorf("last value = %d, want %d", got, rows-1)
	}
	if rs.Next() {
		t.Errorf("Next() = true after the only batch")
	}
	if err := rs.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}
}

// TestReadCancel cancels the host's ctx mid-read: the plugin's Read sees its
// ctx end, and the host's error is a cancellation.
func TestReadCancel(t *testing.T) {
	t.Parallel()
	pluginMem, hostMem := checkedAllocator(t), checkedAllocator(t)
	pluginErr := make(chan error, 1)
	f := &fakePlugin{read: func(ctx context.Context, _ *ReadRequest, w Writer) error {
		rec := newRecord(t, pluginMem, testRows)
		defer rec.Release()
		for {
			if err := w.WriteBatch(ctx, "employees", rec); err != nil {
				pluginErr <- err
				return err
			}
		}
	}}
	c := newTestClient(t, f, pluginMem, hostMem)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rs, err := c.Read(ctx, &ReadRequest{})
	if err != nil {
		t.Fatalf("Read() = %v", err)
	}
	defer rs.Close()
	if !rs.Next() {
		t.Fatalf("Next() = false, Err() = %v", rs.Err())
	}
	cancel()
	for rs.Next() {
	}
	if err := rs.Err(); !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Errorf("Err() = %v, want ErrCanceled and context.Canceled", err)
	}
	if err := <-pluginErr; !errors.Is(err, context.Canceled) {
		t.Errorf("plugin WriteBatch error = %v, want context.Canceled", err)
	}
}

// TestReadCloseEarly closes the stream while the plugin is still sending.
func TestReadCloseEarly(t *testing.T) {
	t.Parallel()
	pluginMem, hostMem := checkedAllocator(t), checkedAllocator(t)
	done := make(chan struct{})
	f := &fakePlugin{read: func(ctx context.Context, _ *ReadRequest, w Writer) error {
		defer close(done)
		rec := newRecord(t, pluginMem, testRows)
		defer rec.Release()
		for {
			if err := w.WriteBatch(ctx, "employees", rec); err != nil {
				return err
			}
		}
	}}
	c := newTestClient(t, f, pluginMem, hostMem)
	rs, err := c.Read(context.Background(), &ReadRequest{})
	if err != nil {
		t.Fatalf("Read() = %v", err)
	}
	if !rs.Next() {
		t.Fatalf("Next() = false, Err() = %v", rs.Err())
	}
	if err := rs.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if err := rs.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	if rs.Next() {
		t.Errorf("Next() = true after Close")
	}
	<-done
}

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	sentinelsAll := []error{ErrConfig, ErrAuth, ErrTemporary, ErrCanceled}
	tests := []struct {
		name string
		err  error
		want []error // classes errors.Is must match; every other sentinel must not
	}{
		{"config", fmt.Errorf("fake: base_url: %w", ErrConfig), []error{ErrConfig}},
		{"auth", fmt.Errorf("fake: login as %q: %w", "bob", ErrAuth), []error{ErrAuth}},
		{"temporary", fmt.Errorf("fake: GET /employees: 429: %w", ErrTemporary), []error{ErrTemporary}},
		{"canceled", fmt.Errorf("fake: %w", ErrCanceled), []error{ErrCanceled, context.Canceled}},
		{"context canceled", fmt.Errorf("fake: page 2: %w", context.Canceled), []error{ErrCanceled, context.Canceled}},
		{"canceled wins", fmt.Errorf("fake: %w: %w", ErrTemporary, context.Canceled), []error{ErrCanceled}},
		{"unclassed", errors.New("fake: something odd"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			check := func(t *testing.T, what string, got error) {
				t.Helper()
				if got == nil {
					t.Fatalf("%s = nil, want %v", what, tt.err)
				}
				if got.Error() != tt.err.Error() {
					t.Errorf("%s = %q, want %q", what, got, tt.err)
				}
				for _, s := range sentinelsAll {
					want := false
					for _, w := range tt.want {
						want = want || errors.Is(w, s)
					}
					if errors.Is(got, s) != want {
						t.Errorf("errors.Is(%s, %v) = %v, want %v", what, s, !want, want)
					}
				}
				for _, w := range tt.want {
					if !errors.Is(got, w) {
						t.Errorf("errors.Is(%s, %v) = false", what, w)
					}
				}
			}
			f := &fakePlugin{err: tt.err, read: func(ctx context.Context, _ *ReadRequest, w Writer) error {
				if err := w.Status(ctx, "s", Status{State: Failed, Err: tt.err}); err != nil {
					return err
				}
				return tt.err
			}}
			c := newTestClient(t, f, memory.NewGoAllocator(), memory.NewGoAllocator())
			check(t, "Check()", c.Check(context.Background(), nil))
			_, err := c.Discover(context.Background(), nil)
			check(t, "Discover()", err)

			rs, err := c.Read(context.Background(), &ReadRequest{})
			if err != nil {
				t.Fatalf("Read() = %v", err)
			}
			defer rs.Close()
			msgs, err := readAll(t, rs)
			check(t, "ReadStream.Err()", err)
			if len(msgs) != 1 {
				t.Fatalf("got %d messages, want 1 status", len(msgs))
			}
			check(t, "StreamStatus.Err", msgs[0].(*StreamStatus).Status.Err)
		})
	}
}

// panicPlugin panics in every method.
type panicPlugin struct{}

func (panicPlugin) Spec(context.Context) (*Spec, error)                { panic("boom spec") }
func (panicPlugin) Check(context.Context, []byte) error                { panic("boom check") }
func (panicPlugin) Discover(context.Context, []byte) (*Catalog, error) { panic("boom discover") }
func (panicPlugin) Read(context.Context, *ReadRequest, Writer) error   { panic("boom read") }

func TestPluginPanicIsError(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, panicPlugin{}, memory.NewGoAllocator(), memory.NewGoAllocator())
	ctx := context.Background()
	_, specErr := c.Spec(ctx)
	_, discoverErr := c.Discover(ctx, nil)
	rs, err := c.Read(ctx, &ReadRequest{})
	if err != nil {
		t.Fatalf("Read() = %v", err)
	}
	defer rs.Close()
	_, readErr := readAll(t, rs)
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"Spec", specErr, "Spec panicked: boom spec"},
		{"Check", c.Check(ctx, nil), "Check panicked: boom check"},
		{"Discover", discoverErr, "Discover panicked: boom discover"},
		{"Read", readErr, "Read panicked: boom read"},
	} {
		if tt.err == nil || tt.err.Error() != tt.want {
			t.Errorf("%s() = %v, want %q", tt.name, tt.err, tt.want)
		}
	}
}

func TestWriterUsedAfterRead(t *testing.T) {
	t.Parallel()
	var kept Writer
	f := &fakePlugin{read: func(_ context.Context, _ *ReadRequest, w Writer) error {
		kept = w
		return nil
	}}
	c := newTestClient(t, f, memory.NewGoAllocator(), memory.NewGoAllocator())
	rs, err := c.Read(context.Background(), &ReadRequest{})
	if err != nil {
		t.Fatalf("Read() = %v", err)
	}
	defer rs.Close()
	if _, err := readAll(t, rs); err != nil {
		t.Fatalf("Err() = %v", err)
	}
	if err := kept.Checkpoint(context.Background(), "s", nil); !errors.Is(err, errWriterClosed) {
		t.Errorf("Checkpoint after Read = %v, want %v", err, errWriterClosed)
	}
}

func TestReadBadRequest(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, &fakePlugin{}, memory.NewGoAllocator(), memory.NewGoAllocator())
	_, err := c.Read(context.Background(), &ReadRequest{Streams: []StreamRequest{{Name: "s", Mode: "sometimes"}}})
	if err == nil || !strings.Contains(err.Error(), `unknown sync mode "sometimes"`) {
		t.Errorf("Read() = %v, want an unknown sync mode error", err)
	}
}

// TestTransportErrors covers errors that did not come from the plugin's code.
func TestTransportErrors(t *testing.T) {
	t.Parallel()
	exited, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		done    context.Context
		err     error
		wantMsg string
		want    []error
		notWant []error
	}{
		{
			name:    "plugin exited",
			done:    exited,
			err:     status.Error(codes.Unavailable, "error reading from server: EOF"),
			wantMsg: "plugin quiver-fake exited unexpectedly: error reading from server: EOF",
			notWant: []error{ErrTemporary, ErrCanceled},
		},
		{
			name:    "message too large",
			done:    context.Background(),
			err:     status.Error(codes.ResourceExhausted, "grpc: received message larger than max (70000000 vs. 67108864)"),
			wantMsg: "plugin quiver-fake: grpc: received message larger than max (70000000 vs. 67108864)",
			notWant: []error{ErrTemporary, ErrConfig},
		},
		{
			name:    "code without detail",
			done:    context.Background(),
			err:     status.Error(codes.Unauthenticated, "token expired"),
			wantMsg: "plugin quiver-fake: token expired",
			want:    []error{ErrAuth},
		},
		{
			name:    "not a status",
			done:    context.Background(),
			err:     errors.New("dial: refused"),
			wantMsg: "plugin quiver-fake: dial: refused",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClient("quiver-fake", memory.NewGoAllocator(), &stub{done: tt.done})
			got := c.callError(context.Background(), tt.err)
			if got.Error() != tt.wantMsg {
				t.Errorf("callError() = %q, want %q", got, tt.wantMsg)
			}
			for _, w := range tt.want {
				if !errors.Is(got, w) {
					t.Errorf("errors.Is(%v, %v) = false", got, w)
				}
			}
			for _, w := range tt.notWant {
				if errors.Is(got, w) {
					t.Errorf("errors.Is(%v, %v) = true", got, w)
				}
			}
		})
	}
}
