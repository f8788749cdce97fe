package protocol

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"

	"github.com/quiver-etl/quiver/sdk/protocol/internal/connectorpb"
)

var (
	idSchema    = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	otherSchema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "extra", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
)

// op is one call a plugin makes on its Writer in TestWriterJoinsBatches.
type op struct {
	kind   string // "batch", "other" (a batch of otherSchema), "checkpoint", "progress", "status"
	stream string
	rows   int    // batch, other
	state  string // checkpoint
}

func batchOp(stream string, rows int) op { return op{kind: "batch", stream: stream, rows: rows} }
func otherOp(stream string, rows int) op { return op{kind: "other", stream: stream, rows: rows} }
func ckptOp(stream, state string) op     { return op{kind: "checkpoint", stream: stream, state: state} }
func progressOp(stream string) op        { return op{kind: "progress", stream: stream} }
func statusOp(stream string) op          { return op{kind: "status", stream: stream} }

// repeatOp returns n copies of o.
func repeatOp(o op, n int) []op {
	ops := make([]op, n)
	for i := range ops {
		ops[i] = o
	}
	return ops
}
func idRecord(mem memory.Allocator, schema *arrow.Schema, from, n int) arrow.Record {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(from + i))
		if schema.NumFields() > 1 {
			b.Field(1).AppendNull()
		}
	}
	return b.NewRecord()
}

// TestWriterJoinsBatches checks what the host receives for a plugin's
// calls: a stream's first batch at once, the batches after it joined up
// to a target that grows to batch.JoinBytes, each checkpoint after exactly
// the batches written before it, and nothing lost or reordered within a
// stream.
func TestWriterJoinsBatches(t *testing.T) {
	t.Parallel()
	readErr := fmt.Errorf("fake: page 3: %w", ErrTemporary)
	for _, tc := range []struct {
		name string
		ops  []op
		err  error // returned by Read after ops
		want []string
	}{
		{
			name: "a stream's first batch goes at once, and the pages after it join",
			ops:  []op{batchOp("a", 1), progressOp("x"), batchOp("a", 3), batchOp("a", 3), batchOp("a", 3), statusOp("a")},
			want: []string{"batch a 1-1 of 1", "progress x", "batch a 2-10 of 1", "status a"},
		},
		{
			name: "a checkpoint follows the batches it covers",
			ops:  []op{batchOp("a", 1), batchOp("a", 3), ckptOp("a", "c1"), batchOp("a", 3), ckptOp("a", "c2"), batchOp("a", 3), statusOp("a")},
			want: []string{"batch a 1-1 of 1", "batch a 2-7 of 1", "checkpoint a c2", "batch a 8-10 of 1", "status a"},
		},
		{
			name: "a checkpoint with nothing waiting goes at once",
			ops:  []op{ckptOp("a", "c0"), batchOp("a", 2), ckptOp("a", "c1"), statusOp("a")},
			want: []string{"checkpoint a c0", "batch a 1-2 of 1", "checkpoint a c1", "status a"},
		},
		{
			name: "progress sends what waits",
			ops:  []op{batchOp("a", 1), batchOp("a", 2), progressOp("a"), batchOp("a", 2)},
			want: []string{"batch a 1-1 of 1", "batch a 2-3 of 1", "progress a", "batch a 4-5 of 1"},
		},
		{
			name: "a read that ends without a status still sends its batches",
			ops:  []op{batchOp("a", 1), batchOp("a", 2), ckptOp("a", "c1"), batchOp("a", 2)},
			want: []string{"batch a 1-1 of 1", "batch a 2-3 of 1", "checkpoint a c1", "batch a 4-5 of 1"},
		},
		{
			name: "a read that fails sends what it wrote before the error",
			ops:  []op{batchOp("a", 1), batchOp("a", 2), ckptOp("a", "c1"), batchOp("a", 2)},
			err:  readErr,
			want: []string{"batch a 1-1 of 1", "batch a 2-3 of 1", "checkpoint a c1", "batch a 4-5 of 1"},
		},
		{
			name: "another schema is not joined",
			ops:  []op{batchOp("a", 1), batchOp("a", 2), otherOp("a", 2), otherOp("a", 1), batchOp("a", 2), statusOp("a")},
			want: []string{"batch a 1-1 of 1", "batch a 2-3 of 1", "batch a 4-6 of 2", "batch a 7-8 of 1", "status a"},
		},
		{
			// 10,000 int64 are 81 kB with their validity bitmap. After the
			// first batch, joined ones reach 128 KiB, 256 KiB, 512 KiB, then
			// stop short of 1 MiB (12 of them).
			name: "joined batches grow to JoinBytes",
			ops:  append(append([]op{batchOp("a", 1)}, repeatOp(batchOp("a", 10_000), 30)...), statusOp("a")),
			want: []string{"batch a 1-1 of 1", "batch a 2-20001 of 1", "batch a 20002-60001 of 1", "batch a 60002-130001 of 1",
				"batch a 130002-250001 of 1", "batch a 250002-300001 of 1", "status a"},
		},
		{
			name: "a batch past JoinBytes goes at once",
			ops:  []op{batchOp("a", 1), batchOp("a", 3), batchOp("a", 150_000), progressOp("a")},
			want: []string{"batch a 1-1 of 1", "batch a 2-4 of 1", "batch a 5-150004 of 1", "progress a"},
		},
		{
			name: "streams wait apart",
			ops: []op{batchOp("a", 1), batchOp("b", 1), batchOp("a", 3), batchOp("b", 3), ckptOp("a", "a1"), statusOp("b"),
				batchOp("a", 3), statusOp("a")},
			want: []string{"batch a 1-1 of 1", "batch b 1-1 of 1", "batch b 2-4 of 1", "status b",
				"batch a 2-4 of 1", "checkpoint a a1", "batch a 5-7 of 1", "status a"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pluginMem, hostMem := checkedAllocator(t), checkedAllocator(t)
			f := &fakePlugin{read: func(ctx context.Context, _ *ReadRequest, w Writer) error {
				next := map[string]int{}
				for _, o := range tc.ops {
					var err error
					switch o.kind {
					case "batch", "other":
						schema := idSchema
						if o.kind == "other" {
							schema = otherSchema
						}
						rec := idRecord(pluginMem, schema, next[o.stream]+1, o.rows)
						next[o.stream] += o.rows
						err = w.WriteBatch(ctx, o.stream, rec)
						rec.Release()
					case "checkpoint":
						err = w.Checkpoint(ctx, o.stream, json.RawMessage(`"`+o.state+`"`))
					case "progress":
						err = w.Progress(ctx, o.stream, Progress{Records: int64(next[o.stream])})
					case "status":
						err = w.Status(ctx, o.stream, Status{State: Complete})
					}
					if err != nil {
						return err
					}
				}
				return tc.err
			}}
			// No batch waits out its time here: what is joined depends on
			// the calls alone.
			rs := startRead(t, newTestClientWait(t, f, pluginMem, hostMem, time.Hour))
			var got []string
			for rs.Next() {
				got = append(got, describe(t, rs.Message()))
			}
			// An error crosses gRPC as its class and text.
			if err := rs.Err(); (err == nil) != (tc.err == nil) || err != nil && (!errors.Is(err, ErrTemporary) || !strings.Contains(err.Error(), tc.err.Error())) {
				t.Errorf("Err() = %v, want %v", err, tc.err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWriterSendsWaitingBatches: a batch that waits to be joined (one
// after the stream's first) goes out after the join wait even when the
// plugin writes nothing more for a while, as when it waits on a slow page
// or a rate limit, together with the checkpoint after it.
func TestWriterSendsWaitingBatches(t *testing.T) {
	t.Parallel()
	pluginMem, hostMem := checkedAllocator(t), checkedAllocator(t)
	received := make(chan struct{})
	f := &fakePlugin{read: func(ctx context.Context, _ *ReadRequest, w Writer) error {
		for _, from := range []int{1, 2} {
			rec := idRecord(pluginMem, idSchema, from, from)
			err := w.WriteBatch(ctx, "a", rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
		if err := w.Checkpoint(ctx, "a", json.RawMessage(`"c1"`)); err != nil {
			return err
		}
		select {
		case <-received:
			return w.Status(ctx, "a", Status{State: Complete})
		case <-time.After(10 * time.Second):
			return errors.New("the host did not get the batch within 10 s of it being written")
		}
	}}
	rs := startRead(t, newTestClientWait(t, f, pluginMem, hostMem, 20*time.Millisecond))
	var got []string
	for rs.Next() {
		got = append(got, describe(t, rs.Message()))
		if len(got) == 3 {
			close(received)
		}
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
	want := []string{"batch a 1-1 of 1", "batch a 2-3 of 1", "checkpoint a c1", "status a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

// startRead starts an empty read on c; the stream closes when t ends.
func startRead(t *testing.T, c *Client) *ReadStream {
	t.Helper()
	rs, err := c.Read(context.Background(), &ReadRequest{})
	if err != nil {
		t.Fatalf("Read() = %v", err)
	}
	t.Cleanup(func() { rs.Close() })
	return rs
}

// describe says what m is in TestWriterJoinsBatches's terms: a batch by
// its stream, first and last id and number of columns (its ids must run
// without a gap).
func describe(t *testing.T, m Message) string {
	t.Helper()
	switch m := m.(type) {
	case *Batch:
		ids := m.Record.Column(0).(*array.Int64).Int64Values()
		for i := 1; i < len(ids); i++ {
			if ids[i] != ids[i-1]+1 {
				t.Fatalf("stream %s: batch of ids %d..%d skips from %d to %d", m.Stream, ids[0], ids[len(ids)-1], ids[i-1], ids[i])
			}
		}
		return fmt.Sprintf("batch %s %d-%d of %d", m.Stream, ids[0], ids[len(ids)-1], m.Record.NumCols())
	case *Checkpoint:
		var s string
		if err := json.Unmarshal(m.State, &s); err != nil {
			t.Fatalf("checkpoint %s: %v", m.State, err)
		}
		return "checkpoint " + m.Stream + " " + s
	case *StreamProgress:
		return "progress " + m.Stream
	case *StreamStatus:
		return "status " + m.Stream
	}
	t.Fatalf("unknown message %T", m)
	return ""
}

// sendStream is the plugin's end of a Read stream for streamWriter unit
// tests: it records what is sent, and fails every send from the failAt-th
// on (0: never), or panics at the panicAt-th (0: never).
type sendStream struct {
	grpc.ServerStream // not used; nil
	ctx               context.Context
	failAt, panicAt   int
	sent              []string
}

func (s *sendStream) Context() context.Context { return s.ctx }

func (s *sendStream) Send(m *connectorpb.Read_Response) error {
	if s.failAt > 0 && len(s.sent)+1 >= s.failAt {
		return errors.New("transport is closing")
	}
	if s.panicAt > 0 && len(s.sent)+1 == s.panicAt {
		panic("send panicked")
	}
	switch m := m.Message.(type) {
	case *connectorpb.Read_Response_Batch:
		s.sent = append(s.sent, fmt.Sprintf("batch %s %d rows", m.Batch.Stream, m.Batch.Rows))
	case *connectorpb.Read_Response_Checkpoint:
		s.sent = append(s.sent, fmt.Sprintf("checkpoint %s %s", m.Checkpoint.Stream, m.Checkpoint.State))
	case *connectorpb.Read_Response_Status:
		s.sent = append(s.sent, "status "+m.Status.Stream+" "+m.Status.State.String())
	case *connectorpb.Read_Response_Progress:
		s.sent = append(s.sent, "progress "+m.Progress.Stream)
	}
	return nil
}

// newUnitWriter returns a streamWriter over st whose batches wait for no
// timer, with a checked allocator.
func newUnitWriter(t *testing.T, st *sendStream) *streamWriter {
	t.Helper()
	return &streamWriter{stream: st, mem: checkedAllocator(t), limit: maxBatchBytes, wait: time.Hour}
}

// writeIDs writes a batch of n ids from from to stream.
func writeIDs(ctx context.Context, w *streamWriter, stream string, from, n int) error {
	rec := idRecord(w.mem, idSchema, from, n)
	defer rec.Release()
	return w.WriteBatch(ctx, stream, rec)
}

// TestWriterAfterLostBatches: once a stream's joined batches could not be
// sent, nothing the stream writes later goes out, least of all a
// checkpoint that would cover the lost rows, and it cannot be reported
// complete; a failure still can, and other streams go on.
func TestWriterAfterLostBatches(t *testing.T) {
	t.Parallel()
	st := &sendStream{ctx: context.Background(), failAt: 2}
	w, ctx := newUnitWriter(t, st), context.Background()
	write := func(stream string) error { return writeIDs(ctx, w, stream, 1, 3) }
	// The first batch goes at once; the second waits, and is lost.
	if err := errors.Join(write("a"), write("a")); err != nil {
		t.Fatalf("WriteBatch = %v", err)
	}
	if err := w.Checkpoint(ctx, "a", json.RawMessage(`"c1"`)); err != nil {
		t.Fatalf("Checkpoint = %v", err)
	}
	if err := w.Progress(ctx, "a", Progress{}); err == nil {
		t.Fatal("Progress after a failed send = nil, want the error")
	}
	st.failAt = 0 // the transport recovers: what stream a writes must still not go out
	if err := write("a"); err == nil || !strings.Contains(err.Error(), "stream a: batches lost") {
		t.Errorf("WriteBatch after lost batches = %v, want one saying so", err)
	}
	if err := w.Checkpoint(ctx, "a", json.RawMessage(`"c2"`)); err == nil {
		t.Error("Checkpoint after lost batches = nil, want the error")
	}
	if err := w.Status(ctx, "a", Status{State: Complete}); err == nil {
		t.Error("Status complete after lost batches = nil, want the error")
	}
	if err := w.Status(ctx, "a", Status{State: Failed, Err: errors.New("boom")}); err != nil {
		t.Errorf("Status failed after lost batches = %v, want it sent", err)
	}
	// Another stream goes on: its first batch at once, its second waits.
	if err := errors.Join(write("b"), write("b")); err != nil {
		t.Errorf("WriteBatch of another stream = %v", err)
	}
	// Stream a's loss was told to its calls; the end of the read sends
	// what b has waiting.
	if err := w.flushAll(); err != nil {
		t.Errorf("flushAll = %v, want nil", err)
	}
	want := []string{"batch a 3 rows", "status a STATE_FAILED", "batch b 3 rows", "batch b 3 rows"}
	if diff := cmp.Diff(want, st.sent); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
}

// TestWriterCallerContextEnds: what a stream wrote before its caller's
// context ended still goes out; what it writes after is refused.
func TestWriterCallerContextEnds(t *testing.T) {
	t.Parallel()
	mem := checkedAllocator(t)
	st := &sendStream{ctx: context.Background()}
	w := &streamWriter{stream: st, mem: mem, limit: maxBatchBytes, wait: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	rec := idRecord(mem, idSchema, 1, 3)
	defer rec.Release()
	// The first batch goes at once; the second waits with the checkpoint.
	if err := errors.Join(w.WriteBatch(ctx, "a", rec), w.WriteBatch(ctx, "a", rec)); err != nil {
		t.Fatalf("WriteBatch = %v", err)
	}
	if err := w.Checkpoint(ctx, "a", nil); err != nil {
		t.Fatalf("Checkpoint = %v", err)
	}
	cancel()
	// The report itself is refused; what it flushes was accepted, and goes.
	if err := w.Progress(ctx, "a", Progress{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Progress after the context ended = %v, want context.Canceled", err)
	}
	if err := w.WriteBatch(ctx, "a", rec); !errors.Is(err, context.Canceled) {
		t.Errorf("WriteBatch after the context ended = %v, want context.Canceled", err)
	}
	if err := w.Status(context.Background(), "a", Status{State: Incomplete, Err: context.Canceled}); err != nil {
		t.Fatalf("Status = %v", err)
	}
	w.ending.Store(true) // as when Read returns
	if err := w.WriteBatch(context.Background(), "a", rec); !errors.Is(err, errWriterClosed) {
		t.Errorf("WriteBatch after the read = %v, want errWriterClosed", err)
	}
	want := []string{"batch a 3 rows", "batch a 3 rows", "checkpoint a ", "status a STATE_INCOMPLETE"}
	if diff := cmp.Diff(want, st.sent); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
}

// TestWriterFlushCutByPanic: a flush that a panic cuts short leaves
// nothing to send again (the end of the read would have sent the batch and
// checkpoint a second time), releases its batches, and loses the stream.
func TestWriterFlushCutByPanic(t *testing.T) {
	t.Parallel()
	st := &sendStream{ctx: context.Background(), panicAt: 3}
	w, ctx := newUnitWriter(t, st), context.Background()
	write := func(from int) error { return writeIDs(ctx, w, "a", from, 3) }
	// The first batch goes at once; the flush sends the second and panics
	// at the checkpoint.
	if err := errors.Join(write(1), write(4), w.Checkpoint(ctx, "a", json.RawMessage(`"c1"`)), write(7)); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the send's panic did not reach the caller")
			}
		}()
		_ = w.Status(ctx, "a", Status{State: Complete})
	}()
	if err := w.flushAll(); err != nil {
		t.Errorf("flushAll = %v", err)
	}
	if err := write(10); err == nil || !strings.Contains(err.Error(), "cut short") {
		t.Errorf("WriteBatch after the cut flush = %v, want one saying it was cut short", err)
	}
	if diff := cmp.Diff([]string{"batch a 3 rows", "batch a 3 rows"}, st.sent); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
}
