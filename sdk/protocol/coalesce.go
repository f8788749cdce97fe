package protocol

import (
	"context"
	"encoding/json"
	"errors"
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
//
// What pending holds was accepted: a WriteBatch or Checkpoint that
// returned nil. It is sent on the Read's own context, not the caller's, so
// that a caller whose context ends still has what it wrote before go out,
// as it went out at once before batches were joined. Once a flush fails,
// the stream's batches are lost, and the stream takes nothing more: its
// every later call returns the error, except a status that does not claim
// the stream complete, so that no later checkpoint covers the lost rows.
type pending struct {
	mu       sync.Mutex // one flush at a time, in the stream's order
	recs     []arrow.Record
	bytes    int64
	state    json.RawMessage
	hasState bool        // a checkpoint came after recs[:covered] (its state may be empty)
	covered  int         // len(recs) when the checkpoint came
	timer    *time.Timer // flushes recs w.wait after the first came
	target   int64       // recs go out once this large (0: the stream sent nothing yet, so at once): see WriteBatch
	err      error       // a flush failed: the stream's batches were lost
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

// accepting returns why stream takes no more batches or checkpoints, or
// nil: the caller's context ended, the read ended, or a flush failed.
// p.mu is held.
func (w *streamWriter) accepting(ctx context.Context, p *pending) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.ending.Load() {
		return errWriterClosed
	}
	return p.err
}

// WriteBatch keeps rec (retained) to send joined with the stream's next
// batches; the caller still releases rec. What the stream holds is sent
// first when rec's schema differs or rec would take it past
// batch.JoinBytes. What it holds with rec goes out once it reaches the
// stream's target, which ramps up to batch.JoinBytes (batch.NextJoin: the
// first batch goes alone), and otherwise at the latest w.wait
// (batch.JoinWait) after the first batch it holds.
func (w *streamWriter) WriteBatch(ctx context.Context, stream string, rec arrow.Record) error {
	p := w.streamPending(stream)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := w.accepting(ctx, p); err != nil {
		return err
	}
	size := batch.Bytes(rec)
	if len(p.recs) > 0 && (p.bytes+size > batch.JoinBytes || !batch.SameSchema(p.recs[0].Schema(), rec.Schema())) {
		if err := w.flush(stream, p); err != nil {
			return err
		}
	}
	rec.Retain()
	p.recs = append(p.recs, rec)
	if p.bytes += size; p.bytes < p.target {
		if p.timer == nil {
			p.timer = time.AfterFunc(w.wait, func() { w.flushLate(stream, p) })
		}
		return nil
	}
	return w.flush(stream, p)
}

// flushLate is the timer's flush of p, for stream: its error is the
// stream's next call's.
func (w *streamWriter) flushLate(stream string, p *pending) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() {
		// On the timer's goroutine a panic would end the plugin.
		if r := recover(); r != nil {
			p.err = fmt.Errorf("protocol: stream %s: sending joined batches: panic: %v", stream, r)
		}
	}()
	_ = w.flush(stream, p) // its error is in p.err
}

// Checkpoint sends state for stream after the stream's batches written
// before it: at once when none waits, else kept to send after them.
func (w *streamWriter) Checkpoint(ctx context.Context, stream string, state json.RawMessage) error {
	p := w.streamPending(stream)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := w.accepting(ctx, p); err != nil {
		return err
	}
	if len(p.recs) == 0 {
		return w.sendCheckpoint(ctx, stream, state)
	}
	// A copy: the caller may reuse its buffer once Checkpoint returns.
	p.state, p.hasState, p.covered = append(json.RawMessage(nil), state...), true, len(p.recs)
	return nil
}

// flushStream sends everything stream has pending; it returns the error of
// a flush that failed before.
func (w *streamWriter) flushStream(stream string) error {
	p := w.streamPending(stream)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	return w.flush(stream, p)
}

// flushAll sends everything every stream has pending, as a read ends; it
// returns the first error of these flushes. A stream whose batches were
// lost before has nothing pending, and its connector was told then.
func (w *streamWriter) flushAll() error {
	w.pmu.Lock()
	streams := make([]string, 0, len(w.pending))
	for s := range w.pending {
		streams = append(streams, s)
	}
	w.pmu.Unlock()
	var first error
	for _, s := range streams {
		if err := w.flushUnlessLost(s); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// flushUnlessLost sends what stream has pending, unless its batches were
// lost before.
func (w *streamWriter) flushUnlessLost(stream string) error {
	p := w.streamPending(stream)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return nil
	}
	return w.flush(stream, p)
}

// flush sends p's batches of stream, joined, in order with its checkpoint:
// the batches the checkpoint covers, the checkpoint, then the batches after
// it. p gives them up before the first send, so that nothing is sent twice
// even when a send panics; they are released however the sends end, and a
// flush that did not finish is kept in p.err. p.mu is held.
func (w *streamWriter) flush(stream string, p *pending) error {
	if p.timer != nil {
		p.timer.Stop() // when it has fired, its flush finds nothing, or later batches
		p.timer = nil
	}
	recs, state, hasState, covered := p.recs, p.state, p.hasState, p.covered
	if len(recs) > 0 {
		p.target = batch.NextJoin(p.target)
	}
	p.recs, p.bytes, p.state, p.hasState, p.covered = nil, 0, nil, false, 0
	lost := func(err error) error {
		p.err = fmt.Errorf("protocol: stream %s: batches lost: %w", stream, err)
		return p.err
	}
	done := false // the sends returned
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
		if !done {
			lost(errFlushCut)
		}
	}()
	ctx := w.stream.Context()
	if err := ctx.Err(); err != nil {
		done = true // the host ended the read: nothing can go out, so nothing is joined
		return lost(err)
	}
	var err error
	if hasState {
		err = w.sendJoined(ctx, stream, recs[:covered])
		if err == nil {
			err = w.sendCheckpoint(ctx, stream, state)
		}
		if err == nil {
			err = w.sendJoined(ctx, stream, recs[covered:])
		}
	} else {
		err = w.sendJoined(ctx, stream, recs)
	}
	done = true
	if err != nil {
		return lost(err)
	}
	return nil
}

// errFlushCut is a flush's error when a panic cut it short.
var errFlushCut = errors.New("the flush was cut short")

// sendJoined sends recs as one batch; none is nothing to send.
func (w *streamWriter) sendJoined(ctx context.Context, stream string, recs []arrow.Record) error {
	if len(recs) == 0 {
		return nil
	}
	rec, err := batch.Concat(w.mem, recs)
	if err != nil {
		return err
	}
	defer rec.Release()
	return w.sendBatch(ctx, stream, rec)
}
