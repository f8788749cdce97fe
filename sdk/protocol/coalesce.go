package protocol

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/quiver-etl/quiver/internal/batch"
)

// pending is what a stream has written and the streamWriter not yet sent:
// batches of one schema, and the stream's latest checkpoint, which covers
// the first covered of them. Older checkpoints are dropped: the latest
// covers every batch they did.
type pending struct {
	mu      sync.Mutex // one flush at a time, in the stream's order
	recs    []arrow.Record
	bytes   int64
	state   json.RawMessage
	covered int         // len(recs) when state came; 0 when state is nil
	timer   *time.Timer // flushes recs w.wait after the first came
	err     error       // the timer's flush failed: the stream's next call returns it
}

// streamPending returns stream's pending batches, made on first use.
func (w *streamWriter) streamPending(stream string) *pending {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	p := w.pending[stream]
	if p == nil {
		if w.pending == nil {
			w.pending = map[string]*pending{}
		}
		p = &pending{}
		w.pending[stream] = p
	}
	return p
}

// add keeps rec for stream. What the stream holds is sent first when rec's
// schema differs or rec would take it past batch.JoinBytes, and rec goes
// out at once when it is that large itself; otherwise it goes at the latest
// w.wait (batch.JoinWait) after the first batch the stream holds.
func (w *streamWriter) add(ctx context.Context, stream string, rec arrow.Record) error {
	p := w.streamPending(stream)
	p.mu.Lock()
	defer p.mu.Unlock()
	size := batch.Bytes(rec)
	if len(p.recs) > 0 && (p.bytes+size > batch.JoinBytes || !batch.SameSchema(p.recs[0].Schema(), rec.Schema())) {
		if err := w.flush(ctx, stream, p); err != nil {
			return err
		}
	}
	if p.err != nil {
		return p.err
	}
	rec.Retain()
	p.recs = append(p.recs, rec)
	if p.bytes += size; p.bytes < batch.JoinBytes {
		if p.timer == nil {
			p.timer = time.AfterFunc(w.wait, func() { w.flushLate(stream, p) })
		}
		return nil
	}
	return w.flush(ctx, stream, p)
}

// flushLate is the timer's flush of p, for stream: its error waits for the
// stream's next call.
func (w *streamWriter) flushLate(stream string, p *pending) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := w.flush(w.stream.Context(), stream, p); err != nil && p.err == nil {
		p.err = err
	}
}

// checkpoint sends state for stream, or, while batches of the stream wait,
// keeps it to send after them.
func (w *streamWriter) checkpoint(ctx context.Context, stream string, state json.RawMessage) error {
	p := w.streamPending(stream)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	if len(p.recs) == 0 {
		return w.sendCheckpoint(ctx, stream, state)
	}
	// A copy: the caller may reuse its buffer once Checkpoint returns.
	p.state, p.covered = append(json.RawMessage(nil), state...), len(p.recs)
	return nil
}

// flushStream sends everything stream has pending.
func (w *streamWriter) flushStream(ctx context.Context, stream string) error {
	p := w.streamPending(stream)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	return w.flush(ctx, stream, p)
}

// flushAll sends everything every stream has pending, as a read ends; it
// returns the first error.
func (w *streamWriter) flushAll(ctx context.Context) error {
	w.pmu.Lock()
	streams := make([]string, 0, len(w.pending))
	for s := range w.pending {
		streams = append(streams, s)
	}
	w.pmu.Unlock()
	var first error
	for _, s := range streams {
		if err := w.flushStream(ctx, s); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// flush sends p's batches of stream, joined, in order with its checkpoint:
// the batches the checkpoint covers, the checkpoint, then the batches after
// it. What is sent is released whether or not the sends succeed. p.mu is
// held.
func (w *streamWriter) flush(ctx context.Context, stream string, p *pending) error {
	if p.timer != nil {
		p.timer.Stop() // when it has fired, its flush finds nothing, or later batches
		p.timer = nil
	}
	err := w.sendJoined(ctx, stream, p.recs[:p.covered])
	if err == nil && p.state != nil {
		err = w.sendCheckpoint(ctx, stream, p.state)
	}
	if err == nil {
		err = w.sendJoined(ctx, stream, p.recs[p.covered:])
	}
	for _, rec := range p.recs {
		rec.Release()
	}
	clear(p.recs)
	p.recs, p.bytes = p.recs[:0], 0
	p.state, p.covered = nil, 0
	return err
}

// sendJoined sends recs as one batch; none is nothing to send.
func (w *streamWriter) sendJoined(ctx context.Context, stream string, recs []arrow.Record) error {
	if len(recs) == 0 {
		return nil
	}
	rec, err := batch.Concat(w.mem, recs)
	if err != nil {
		return fmt.Errorf("protocol: stream %s: %w", stream, err)
	}
	defer rec.Release()
	return w.sendBatch(ctx, stream, rec)
}
