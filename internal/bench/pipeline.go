package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/connectors/tracktik"
	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/internal/batch"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
)

// joiner joins records into batches of up to batch.JoinBytes, by the size
// rules of the plugin's Writer (without its timer or checkpoints): the
// first record alone, then batches that grow as batch.NextJoin says. It
// passes each joined batch to emit, which must Retain what it keeps.
type joiner struct {
	mem     memory.Allocator
	emit    func(arrow.Record) error
	pending []arrow.Record
	size    int64
	target  int64 // emit once this large (batch.NextJoin)
	err     error
}

// add keeps rec (retained) and emits what it joins.
func (j *joiner) add(rec arrow.Record) {
	n := batch.Bytes(rec)
	if j.size+n > batch.JoinBytes {
		j.flush()
	}
	rec.Retain()
	j.pending = append(j.pending, rec)
	if j.size += n; j.size >= j.target {
		j.flush()
	}
}

// flush emits the records kept, joined. The first error sticks; later
// records are dropped.
func (j *joiner) flush() {
	if len(j.pending) == 0 {
		return
	}
	j.target = batch.NextJoin(j.target)
	if j.err == nil {
		var rec arrow.Record
		if rec, j.err = batch.Concat(j.mem, j.pending); j.err == nil {
			j.err = j.emit(rec)
			rec.Release()
		}
	}
	for _, rec := range j.pending {
		rec.Release()
	}
	j.pending, j.size = j.pending[:0], 0
}

// pipelineQueue is how many joined batches wait for the pipeline stage's
// writer: about the 16 MiB the host's write queue holds.
const pipelineQueue = 16

// pipeline runs the connector's Read and the sink in this one process, as
// quiver runs them in two: the connector's batches, joined as the plugin
// joins them and stamped with the lineage columns as the host stamps them,
// go through a bounded queue to a goroutine that writes the Parquet part,
// as the host's writer does. It is end to end without the process
// boundary (IPC, gRPC, two runtimes, the plugin's start), so end to end's
// share of it is about what that boundary costs, and its share of the
// computed limit what sharing the two cores costs. One difference is not
// the boundary's: this process's garbage collector runs at Go's default
// (GOGC=100), a plugin's at sdk.Serve's 400.
func (b *bench) pipeline(ctx context.Context, _ any, r *result) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	src, err := tracktik.New().Open(ctx, []byte(b.connectorConfig()))
	if err != nil {
		return 0, err
	}
	defer src.Close()
	dir := filepath.Join(b.tmp, "pipeline")
	defer os.RemoveAll(dir)
	mem := memory.NewGoAllocator()
	p, err := b.createPart(dir, records.WithRescue(b.sc.Schema), mem)
	if err != nil {
		return 0, err
	}
	defer p.Abort()

	queue := make(chan arrow.Record, pipelineQueue)
	var (
		wg   sync.WaitGroup
		werr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for rec := range queue {
			// After a failure the read is cancelled; what is queued is
			// only released.
			if werr == nil && ctx.Err() == nil {
				if werr = p.Write(rec); werr != nil {
					cancel()
				}
			}
			rec.Release()
		}
	}()
	runID, at := "20260101T000000Z-000000", time.Now()
	w := &pipeWriter{j: joiner{mem: mem, emit: func(rec arrow.Record) error {
		stamped := sink.AddLineage(mem, rec, runID, at)
		select {
		case queue <- stamped:
			return nil
		case <-ctx.Done():
			stamped.Release()
			return ctx.Err()
		}
	}}}
	err = src.Read(ctx, sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: b.stream, Mode: sdk.FullRefresh}}}, w)
	w.mu.Lock()
	w.j.flush()
	err = errors.Join(err, w.j.err, w.failed)
	w.mu.Unlock()
	close(queue)
	wg.Wait()
	if werr != nil { // the cause of the read's cancellation
		return 0, werr
	}
	if err != nil {
		return 0, err
	}
	return publishPart(p, r)
}

// pipeWriter is the sdk.Writer of the pipeline stage: it joins the one
// stream's batches and keeps its failure.
type pipeWriter struct {
	mu     sync.Mutex
	j      joiner
	failed error
}

func (w *pipeWriter) WriteBatch(_ context.Context, _ string, rec arrow.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.j.add(rec)
	return w.j.err
}

func (w *pipeWriter) Checkpoint(context.Context, string, json.RawMessage) error { return nil }

func (w *pipeWriter) Status(_ context.Context, stream string, st sdk.Status) error {
	if st.State == sdk.Failed || st.State == sdk.Incomplete {
		w.mu.Lock()
		w.failed = fmt.Errorf("stream %s %s: %w", stream, st.State, st.Err)
		w.mu.Unlock()
	}
	return nil
}

func (w *pipeWriter) Progress(context.Context, string, sdk.Progress) error { return nil }
