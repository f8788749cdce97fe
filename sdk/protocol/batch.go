package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// maxDecodedBytes bounds what decoding one payload may allocate. Our encoder
// never compresses, so a batch decodes to about its payload size (at most
// maxMessageSize); the headroom admits compressed IPC from other encoders,
// while a lying length field in a hostile payload cannot make the host
// allocate gigabytes.
const maxDecodedBytes = 4 * maxMessageSize

// encodeBatch returns rec as an Arrow IPC stream of its schema and one record
// batch. Each call writes into a buffer of its own: gRPC may read a sent
// message lazily, so a buffer given to Send is never reused. A batch that
// encodes to more than limit bytes is an error.
//
// A first pass only counts the bytes, so that the second writes into a
// buffer of the exact size: growing a buffer from empty cleared and copied
// about twice the payload, a tenth of the plugin's CPU in `make bench`.
func encodeBatch(mem memory.Allocator, rec arrow.Record, limit int) ([]byte, error) {
	var size countWriter
	if err := writeIPC(&size, mem, rec); err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	if size > countWriter(limit) {
		return nil, fmt.Errorf("batch of %d rows encodes to %d bytes, more than %d; use a smaller page or batch size", rec.NumRows(), size, limit)
	}
	out := bytes.NewBuffer(make([]byte, 0, size))
	if err := writeIPC(out, mem, rec); err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	if out.Len() != int(size) {
		return nil, fmt.Errorf("encode batch: wrote %d bytes, counted %d", out.Len(), size)
	}
	return out.Bytes(), nil
}

// writeIPC writes rec to w as an Arrow IPC stream.
func writeIPC(w io.Writer, mem memory.Allocator, rec arrow.Record) error {
	iw := ipc.NewWriter(w, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(mem))
	err := iw.Write(rec)
	if cerr := iw.Close(); err == nil {
		err = cerr
	}
	return err
}

// countWriter counts the bytes written to it and keeps none.
type countWriter int

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// encodeSchema returns schema as an Arrow IPC stream holding only the schema.
func encodeSchema(mem memory.Allocator, schema *arrow.Schema) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode schema: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeBatch decodes an Arrow IPC stream of one record batch of rows rows.
// The payload comes from another process and may be corrupt or hostile:
// every failure, including a panic inside the IPC reader, is an error, and
// the record is validated (offsets, bitmaps, dictionary indices) so that it
// cannot make a later reader panic. The caller owns (and releases) the
// record. After a failure, memory the reader allocated so far is left to the
// garbage collector.
func decodeBatch(mem memory.Allocator, payload []byte, rows int64) (rec arrow.Record, err error) {
	// Every row of a real batch costs at least a bit of payload; only null
	// columns (which have no buffers) could claim more, and a hostile plugin
	// would use them to make the host write billions of rows.
	if rows < 0 || rows > 8*int64(len(payload)) {
		return nil, fmt.Errorf("decode batch: %d rows declared for %d bytes", rows, len(payload))
	}
	defer func() {
		if err != nil && rec != nil { // validation panicked
			rec.Release()
			rec = nil
		}
	}()
	defer recoverDecode("decode batch", &err)
	rdr, err := newIPCReader(mem, payload)
	if err != nil {
		return nil, fmt.Errorf("decode batch: %w", err)
	}
	defer rdr.Release()
	if !rdr.Next() {
		if err := rdr.Err(); err != nil {
			return nil, fmt.Errorf("decode batch: %w", err)
		}
		return nil, errors.New("decode batch: no record batch in payload")
	}
	rec = rdr.Record()
	rec.Retain()
	if rdr.Next() || rdr.Err() != nil {
		rec.Release()
		return nil, errors.New("decode batch: payload holds more than one record batch")
	}
	if rec.NumRows() != rows {
		rec.Release()
		return nil, fmt.Errorf("decode batch: %d rows, sender declared %d", rec.NumRows(), rows)
	}
	if err := validateRecord(rec); err != nil {
		rec.Release()
		return nil, fmt.Errorf("decode batch: %w", err)
	}
	return rec, nil
}

// decodeSchema decodes an Arrow IPC stream holding a schema, with the same
// care as decodeBatch.
func decodeSchema(mem memory.Allocator, payload []byte) (schema *arrow.Schema, err error) {
	defer recoverDecode("decode schema", &err)
	rdr, err := newIPCReader(mem, payload)
	if err != nil {
		return nil, fmt.Errorf("decode schema: %w", err)
	}
	defer rdr.Release()
	return rdr.Schema(), nil
}

// newIPCReader returns an IPC reader of payload that allocates from mem
// within the decode budget.
func newIPCReader(mem memory.Allocator, payload []byte) (*ipc.Reader, error) {
	return ipc.NewReaderFromMessageReader(newPayloadReader(payload), ipc.WithAllocator(newBudget(mem)))
}

// recoverDecode turns a panic of the IPC reader into the error of what,
// which it sets. Deferred by functions whose other results are then zero
// values the caller ignores.
func recoverDecode(what string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: corrupt IPC payload: %v", what, r)
	}
}

// payloadReader is an ipc.MessageReader over an in-memory IPC stream. Unlike
// ipc.NewMessageReader it checks each length prefix against the bytes that
// are left, and each message's flatbuffer metadata (verifyMessage), before
// the ipc package uses them, so a corrupt payload cannot trigger a huge
// allocation or unbounded recursion. It hands out metadata and bodies as
// sub-slices of the payload instead of copies.
type payloadReader struct {
	data []byte
	refs atomic.Int64
	msg  *ipc.Message
}

var _ ipc.MessageReader = (*payloadReader)(nil)

func newPayloadReader(data []byte) *payloadReader {
	r := &payloadReader{data: data}
	r.refs.Store(1)
	return r
}

// continuation marks the start of an IPC message (Arrow >= 0.15).
const continuation = 0xFFFFFFFF

func (r *payloadReader) Message() (*ipc.Message, error) {
	r.releaseMsg()
	n, err := r.uint32()
	if err != nil {
		return nil, err
	}
	if n == continuation {
		if n, err = r.uint32(); err != nil {
			return nil, err
		}
	}
	if n == 0 { // end of stream
		return nil, io.EOF
	}
	if uint64(n) > uint64(len(r.data)) {
		return nil, fmt.Errorf("IPC message metadata of %d bytes, only %d left", n, len(r.data))
	}
	if err := verifyMessage(r.data[:n]); err != nil {
		return nil, err
	}
	meta := memory.NewBufferBytes(r.data[:n])
	r.data = r.data[n:]
	head := ipc.NewMessage(meta, memory.NewBufferBytes(nil))
	bodyLen := head.BodyLen()
	head.Release()
	if bodyLen < 0 || bodyLen > int64(len(r.data)) {
		return nil, fmt.Errorf("IPC message body of %d bytes, only %d left", bodyLen, len(r.data))
	}
	body := memory.NewBufferBytes(r.data[:bodyLen])
	r.data = r.data[bodyLen:]
	r.msg = ipc.NewMessage(meta, body)
	return r.msg, nil
}

func (r *payloadReader) uint32() (uint32, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	if len(r.data) < 4 {
		return 0, fmt.Errorf("IPC stream truncated: %d trailing bytes", len(r.data))
	}
	n := binary.LittleEndian.Uint32(r.data)
	r.data = r.data[4:]
	return n, nil
}

func (r *payloadReader) releaseMsg() {
	if r.msg != nil {
		r.msg.Release()
		r.msg = nil
	}
}

func (r *payloadReader) Retain() { r.refs.Add(1) }

func (r *payloadReader) Release() {
	if r.refs.Add(-1) == 0 {
		r.releaseMsg()
	}
}

// budget is an allocator that panics (which decodeBatch recovers) once the
// bytes allocated through it pass maxDecodedBytes.
type budget struct {
	mem  memory.Allocator
	left atomic.Int64
}

func newBudget(mem memory.Allocator) *budget {
	b := &budget{mem: mem}
	b.left.Store(maxDecodedBytes)
	return b
}

func (b *budget) take(n int) {
	if n < 0 || b.left.Add(-int64(n)) < 0 {
		panic(fmt.Sprintf("allocation of %d bytes exceeds the %d-byte decode budget", n, maxDecodedBytes))
	}
}

func (b *budget) Allocate(size int) []byte {
	b.take(size)
	return b.mem.Allocate(size)
}

func (b *budget) Reallocate(size int, p []byte) []byte {
	if grow := size - len(p); grow > 0 {
		b.take(grow)
	}
	return b.mem.Reallocate(size, p)
}

func (b *budget) Free(p []byte) { b.mem.Free(p) }
