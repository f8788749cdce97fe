package host

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/internal/batch"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// maxOpenParts bounds the partition files a stream keeps open at once:
// each open Parquet file holds its row group and its writers' buffers in
// memory. A piece of a 33rd partition first finishes the part written
// least recently (evict), and a stream whose rows span many days commits
// at its next checkpoint once it has this many.
const maxOpenParts = 32

// openRowsBudget and openBytesBudget bound the rows and compressed bytes
// that a stream's open parts hold together in their row groups: past
// either, the parts written least recently are finished (evict). A Parquet
// part holds its row group, up to sink.DefaultMaxRowGroupRows rows, in
// memory until the row group is cut, so without a budget a partitioned
// stream held up to maxOpenParts row groups where an unpartitioned one
// holds one: `bench -stream shifts -records 1000000 -stages "end to end"`
// peaked at 99 MiB in one partition, 173 MiB in 8 and 216 MiB in 32.
// Twice one part's row group lets the part being filled reach its row
// group limit while the rest of the budget holds the partitions written
// before it; for rows in date order (TrackTik's lookback streams) the part
// written least recently holds a day that is over, so finishing it costs
// no extra file.
const (
	openRowsBudget  = 2 * sink.DefaultMaxRowGroupRows
	openBytesBudget = sink.DefaultRowGroupBytes
)

// maxTailBytes bounds the Arrow bytes of an incremental stream's batches
// that wait in memory for a checkpoint (streamRun.tail). Past it they go
// to a spill file and come back, in order, when a checkpoint covers them:
// a connector that checkpoints rarely (stream.UpdatedSince checkpoints
// once, at the end) then costs the host disk, not memory. At twice the
// writer's queue, a connector that checkpoints every page or so never
// spills.
const maxTailBytes = 32 << 20

// streamRun is the run of one stream. Batches wait in tail, and past
// tailBound in a spill file, until a checkpoint covers them; only covered
// batches go into the open parts (one per partition folder), so the parts
// can always be committed together with the latest checkpoint.
type streamRun struct {
	src        *sourceRun
	name       string
	mode       protocol.SyncMode
	schema     *arrow.Schema
	primaryKey []string
	dir        string
	log        *slog.Logger
	res        *StreamResult
	unknown    string       // set when a plugin names a stream that was not requested
	splits     *partitioner // nil: no partition folders
	w          *writer      // runs what happens to parts, state and the result's status during the read

	tail        []piece              // lineage-stamped batches after the last checkpoint, split by partition
	tailBytes   int64                // Arrow bytes of tail
	tailBound   int64                // tail's bytes past which it is spilled (maxTailBytes)
	spill       *spill               // batches after the last checkpoint and before tail, nil if none
	spills      []string             // every spill file of the run, removed by finish at the latest
	parts       map[string]sink.Part // open output files by partition folder ("" when not partitioned)
	used        map[string]int64     // when each open part was last written, in writes (see evict)
	writes      int64                // pieces written
	seq         int                  // parts started
	finished    []sink.File          // parts finished, waiting for the next commit (incremental) or the stream to complete (full refresh)
	torn        bool                 // a write or finish failed: the parts since the last commit are not what a checkpoint covers
	budgetRows  int64                // rows the open parts may hold in their row groups together (openRowsBudget)
	budgetBytes int64                // compressed bytes they may hold (openBytesBudget)
	state       json.RawMessage      // latest checkpoint, covering everything in parts
	done        bool
	warned      map[string]bool // drifted columns and keys logged in this run
}

func (r *streamRun) batch(rec arrow.Record) error {
	if r.unknown != "" {
		return fmt.Errorf("plugin sent a batch for stream %q, which was not requested", r.unknown)
	}
	if !rec.Schema().Equal(r.schema) {
		return fmt.Errorf("stream %s: batch schema differs from the discovered schema:\n got %s\nwant %s", r.name, rec.Schema(), r.schema)
	}
	opts := r.src.opts
	at := opts.Now()
	stamped := sink.AddLineage(opts.Allocator, rec, opts.RunID, at)
	defer stamped.Release()
	pieces, err := r.splits.split(opts.Allocator, stamped, at)
	if err != nil {
		return fmt.Errorf("stream %s: %w", r.name, err)
	}
	r.tail = append(r.tail, pieces...)
	for _, pc := range pieces {
		r.tailBytes += batch.Bytes(pc.rec)
	}
	r.res.read += rec.NumRows()
	// A full refresh publishes nothing before it completes, so its batches
	// need not wait in memory for a checkpoint: writing them now bounds the
	// host's memory however rarely the connector checkpoints.
	if r.mode == protocol.FullRefresh {
		pieces := r.takeTail()
		// The pieces of a partitioned batch are slices of it, each holding
		// the batch's whole buffers: its bytes per row say their size.
		perRow := max(1, batch.Bytes(stamped)/max(1, stamped.NumRows()))
		return r.w.enqueue(writeJob{pieces: pieces, do: func() error { return r.writeRolling(pieces, perRow) }})
	}
	if r.tailBytes > r.tailBound {
		return r.spillTail()
	}
	return nil
}

// takeTail returns the batches waiting in the tail and empties it.
func (r *streamRun) takeTail() []piece {
	pieces := r.tail
	r.tail, r.tailBytes = nil, 0
	return pieces
}

// spillTail moves the tail's batches to the end of the spill file,
// starting one if need be.
func (r *streamRun) spillTail() error {
	pieces := r.takeTail()
	defer func() {
		for _, pc := range pieces {
			pc.rec.Release()
		}
	}()
	if r.spill == nil {
		opts := r.src.opts
		path := filepath.Join(r.dir, fmt.Sprintf(".spill-%s-%04d.arrows.tmp", opts.RunID, len(r.spills)+1))
		sp, err := createSpill(path, sink.LineageSchema(r.schema), opts.Allocator)
		if err != nil {
			return fmt.Errorf("stream %s: %w", r.name, err)
		}
		r.spill = sp
		r.spills = append(r.spills, path)
	}
	for _, pc := range pieces {
		if err := r.spill.write(pc); err != nil {
			return fmt.Errorf("stream %s: %w", r.name, err)
		}
	}
	return nil
}

// takeSpill closes the spill file and returns it for the writer to read
// back (see unspill); nil if there is none.
func (r *streamRun) takeSpill() (*spill, error) {
	sp := r.spill
	if sp == nil {
		return nil, nil
	}
	r.spill = nil
	if err := sp.close(); err != nil {
		return nil, fmt.Errorf("stream %s: %w", r.name, err)
	}
	return sp, nil
}

// unspill writes the batches of a spill file taken by takeSpill into the
// open parts, in order, and removes the file; it runs on the writer
// goroutine. A nil sp does nothing.
func (r *streamRun) unspill(sp *spill) error {
	if sp == nil {
		return nil
	}
	err := sp.replay(r.src.opts.Allocator, func(pc piece) error { return r.write([]piece{pc}) })
	if err != nil {
		r.torn = true // part of the spill may be in the parts
	}
	if err = errors.Join(err, removeSpill(sp.path)); err != nil {
		return fmt.Errorf("stream %s: %w", r.name, err)
	}
	return nil
}

// dropSpills closes and removes the stream's spill files; it runs once
// the writer has stopped.
func (r *streamRun) dropSpills() error {
	var errs []error
	if r.spill != nil {
		errs = append(errs, r.spill.close())
		r.spill = nil
	}
	for _, path := range r.spills {
		errs = append(errs, removeSpill(path))
	}
	if len(r.spills) > 0 && r.seq == 0 {
		_ = os.Remove(r.dir) // the folder a spill made; fails, as it should, when not empty
	}
	r.spills = nil
	return errors.Join(errs...)
}

// roll commits the stream's files once they are large enough or too
// many: the open parts and, in an incremental stream, the parts evict
// finished, which wait for the same commit. It runs on the writer
// goroutine.
func (r *streamRun) roll() error {
	bytes, files := r.openBytes(), len(r.parts)
	if r.mode != protocol.FullRefresh {
		for _, f := range r.finished {
			bytes += f.Bytes
		}
		files += len(r.finished)
	}
	if bytes >= r.src.opts.FileBytes || files >= maxOpenParts {
		return r.commit()
	}
	return nil
}

func (r *streamRun) checkpoint(st json.RawMessage) error {
	if r.unknown != "" {
		return fmt.Errorf("plugin sent a checkpoint for stream %q, which was not requested", r.unknown)
	}
	st = append(json.RawMessage(nil), st...)
	// The checkpoint covers the batches before it: the writer writes them
	// before it takes the state, so a commit never gets ahead of its data.
	return r.flushTail(func() error {
		r.state = st
		return r.roll()
	})
}

// flushTail hands the batches waiting for a checkpoint to the writer, the
// spilled ones first, and then runs then on the writer goroutine.
func (r *streamRun) flushTail(then func() error) error {
	sp, err := r.takeSpill()
	if err != nil {
		return err
	}
	pieces := r.takeTail()
	return r.w.enqueue(writeJob{pieces: pieces, do: func() error {
		if err := r.unspill(sp); err != nil {
			return err
		}
		if err := r.write(pieces); err != nil {
			return err
		}
		return then()
	}})
}

// openBytes returns the bytes written to the open parts so far.
func (r *streamRun) openBytes() int64 {
	var n int64
	for _, p := range r.parts {
		n += p.Bytes()
	}
	return n
}

func (r *streamRun) status(st protocol.Status) error {
	if r.unknown != "" {
		return fmt.Errorf("plugin sent a status for stream %q, which was not requested", r.unknown)
	}
	switch st.State {
	case protocol.Started:
		r.res.started = r.src.opts.Now()
		r.log.Info("stream started", "mode", r.mode)
		if o := r.src.opts.Observer; o != nil {
			o.StreamStarted(r.src.cfg.Name, r.name)
		}
	case protocol.Complete:
		// The batches of a complete stream are all kept, even those after
		// the last checkpoint: a connector checkpoints before Complete, so
		// for incremental streams the tail is empty, and a full refresh
		// needs every batch.
		if (len(r.tail) > 0 || r.spill != nil) && r.mode == protocol.Incremental {
			r.log.Warn("connector sent batches after its last checkpoint; the next incremental run may fetch them again")
		}
		return r.flushTail(func() error {
			r.res.Status = "complete"
			r.res.Seconds = r.src.opts.Now().Sub(r.res.started).Seconds()
			return nil
		})
	case protocol.Incomplete, protocol.Failed:
		// The status goes through the writer too, so that the result is
		// only written by one goroutine at a time.
		return r.w.enqueue(writeJob{do: func() error {
			r.res.Status = "incomplete"
			if st.State == protocol.Failed {
				r.res.Status = "failed"
				if st.Err != nil {
					r.res.Error = st.Err.Error()
					r.res.err = st.Err
				}
			}
			return nil
		}})
	}
	return nil
}

// write writes covered batches into the open parts; it runs on the
// writer goroutine, which releases the pieces. It keeps the open parts
// within maxOpenParts and the budget (see bound).
func (r *streamRun) write(pieces []piece) (err error) {
	defer func() {
		if err != nil {
			r.torn = true
		}
	}()
	for _, pc := range pieces {
		p, err := r.part(pc.dir)
		if err != nil {
			return err
		}
		if err := p.Write(pc.rec); err != nil {
			return fmt.Errorf("stream %s: write %s: %w", r.name, filepath.Join(r.dir, pc.dir), err)
		}
		r.writes++
		r.used[pc.dir] = r.writes
		if err := r.bound(); err != nil {
			return err
		}
	}
	return nil
}

// writeRolling writes a full refresh's pieces, of perRow Arrow bytes a
// row, rolling the files by size after every write. A piece larger than a
// row group (a plugin joins its pages into batches of about a MiB) is
// written in slices of one, so that a file still ends within a row group
// of --max-file-size; slices hold at least minSliceBytes, so that a tiny
// limit does not turn into a file per row. It runs on the writer
// goroutine.
func (r *streamRun) writeRolling(pieces []piece, perRow int64) error {
	step := max(1, max(r.rowGroupBytes(), minSliceBytes)/perRow) // rows a slice
	for _, pc := range pieces {
		rows := pc.rec.NumRows()
		for from := int64(0); from < rows; from += step {
			slice := pc
			if step < rows {
				slice.rec = pc.rec.NewSlice(from, min(from+step, rows))
			}
			err := r.write([]piece{slice})
			if step < rows {
				slice.rec.Release()
			}
			if err == nil {
				err = r.roll()
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// minSliceBytes is the least a slice of writeRolling holds.
const minSliceBytes = 64 << 10

// rowGroupBytes is the row group size of the stream's parts: at most a
// quarter of --max-file-size, so that a file rolled by size ends within a
// row group of it.
func (r *streamRun) rowGroupBytes() int64 {
	return min(sink.DefaultRowGroupBytes, max(1, r.src.opts.FileBytes/4))
}

// bound finishes the parts written least recently while the open parts
// hold more than r.budgetRows rows or r.budgetBytes bytes in their row groups.
// The part written last stays open: on its own it is within the budget,
// as its row group is cut at half of it.
func (r *streamRun) bound() error {
	for len(r.parts) > 1 {
		var rows, bytes int64
		for _, p := range r.parts {
			n, b := p.Buffered()
			rows += n
			bytes += b
		}
		if rows <= r.budgetRows && bytes <= r.budgetBytes {
			return nil
		}
		if err := r.evict(); err != nil {
			return err
		}
	}
	return nil
}

// evict finishes the open part written least recently, freeing its
// memory. Its file waits, finished, for the stream's next commit, as the
// open parts do (a full refresh's is uploaded now, as commit does); rows
// of its partition that come later go to a new part.
func (r *streamRun) evict() error {
	dir, oldest := "", int64(math.MaxInt64)
	for d := range r.parts {
		if r.used[d] < oldest {
			dir, oldest = d, r.used[d]
		}
	}
	p := r.parts[dir]
	delete(r.parts, dir)
	delete(r.used, dir)
	if p.Rows() == 0 {
		return p.Abort()
	}
	f, err := p.Finish()
	if err != nil {
		_ = p.Abort()
		return fmt.Errorf("stream %s: finish file: %w", r.name, err)
	}
	r.finished = append(r.finished, *f)
	if r.mode == protocol.FullRefresh {
		return r.upload(r.finished[len(r.finished)-1:])
	}
	return nil
}

// part returns the open part of a partition folder, starting one if
// needed, once the part written least recently is finished if
// maxOpenParts are open.
func (r *streamRun) part(dir string) (sink.Part, error) {
	if p, ok := r.parts[dir]; ok {
		return p, nil
	}
	if len(r.parts) >= maxOpenParts {
		if err := r.evict(); err != nil {
			return nil, err
		}
	}
	opts := r.src.opts
	r.seq++
	name := fmt.Sprintf("part-%s-%04d", opts.RunID, r.seq)
	meta := map[string]string{
		"quiver:run_id":    opts.RunID,
		"quiver:source":    r.src.cfg.Name,
		"quiver:connector": r.src.cfg.Connector,
		"quiver:stream":    r.name,
	}
	create := r.src.create
	if create == nil {
		create = sink.Create
	}
	p, err := create(filepath.Join(r.dir, dir), name, sink.LineageSchema(r.schema), sink.Options{
		Format: r.src.format, Allocator: opts.Allocator, Metadata: meta,
		Compression: r.src.cfg.compression, CompressionLevel: r.src.cfg.compressionLevel,
		RowGroupBytes: r.rowGroupBytes(),
		WriteBuffer:   r.writeBuffer(),
	})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", r.name, err)
	}
	r.parts[dir] = p
	return p, nil
}

// partWriteBuffer is the write buffer of a partitioned stream's parts.
// With maxOpenParts open, sink's default of 1 MiB each was the largest
// fixed cost of a stream whose rows span many days: `bench -stream
// employees -records 10000 -partition start_date -stages "end to end"`
// (rows on ~5,000 days, 32 parts open) peaked at 187 MiB with it and 124
// MiB with 64 KiB. A part's pages still reach the file in few writes: a
// write larger than the buffer goes through whole.
const partWriteBuffer = 64 << 10

// writeBuffer returns the write buffer size of the stream's parts: the
// sink's default when it has one part at a time.
func (r *streamRun) writeBuffer() int {
	if r.splits == nil {
		return 0
	}
	return partWriteBuffer
}

// finish ends the stream after the read: it commits what is covered and
// drops what is not.
func (r *streamRun) finish() error {
	if r.done {
		return nil
	}
	r.done = true
	defer func() {
		if r.res.Seconds == 0 {
			r.res.Seconds = r.src.opts.Now().Sub(r.res.started).Seconds()
		}
		r.res.Uncommitted = max(0, r.res.read-r.res.Records)
		if o := r.src.opts.Observer; o != nil {
			o.StreamDone(r.src.cfg.Name, r.name, r.res)
		}
	}()
	dropped := len(r.tail) > 0 || r.spill != nil
	for _, pc := range r.takeTail() {
		pc.rec.Release()
	}
	if dropped {
		r.log.Info("dropped batches after the last checkpoint; the next run fetches them again")
	}
	// A spill file left here is one the writer never read back: its
	// batches are dropped as the tail's are.
	if err := r.dropSpills(); err != nil {
		r.log.Warn("could not remove spilled batches; the next run removes them", "error", err)
	}
	if r.mode == protocol.FullRefresh && r.res.Status != "complete" {
		err := errors.Join(r.abort(), r.dropFinished())
		r.log.Warn("full refresh did not complete; the previous snapshot is kept")
		return err
	}
	if r.torn {
		// After a failed write the parts hold rows of batches after the
		// last checkpoint, which the next run would read again
		// (duplicates); after a failed finish, the finished files lack
		// rows the checkpoint covers (a loss). So nothing since the last
		// commit is committed, and the next run reads it again.
		err := errors.Join(r.abort(), r.dropFinished())
		r.log.Warn("a write failed; the files since the last commit are dropped and the next run reads their records again")
		return err
	}
	if err := r.commit(); err != nil {
		return err
	}
	if r.mode == protocol.FullRefresh {
		obsolete, have, err := r.current()
		if err != nil {
			return err
		}
		if refused, err := r.shrinkGuard(have); refused || err != nil {
			return err
		}
		return r.publish(obsolete)
	}
	if r.res.StateAfter == nil {
		r.res.StateAfter = r.state
	}
	return nil
}

// schemaID identifies a schema by a short hash of its text form, which
// covers names, types, nullability and metadata.
func schemaID(s *arrow.Schema) string {
	sum := sha256.Sum256([]byte(s.String()))
	return hex.EncodeToString(sum[:8])
}
