package host

import (
	"sync"

	"github.com/quiver-etl/quiver/internal/batch"
)

// writeQueueBytes bounds the in-memory size of the Arrow batches waiting
// for a source's writer goroutine. The queue lets the goroutine that
// receives, decodes and stamps batches run ahead of the encoder while the
// encoder works on the other core; 16 MiB is over a hundred milliseconds
// of encoding, enough to smooth over a row group flush or an fsync, while
// it caps what the pipelining adds to the host's memory. The queue fills
// on a long sync (the encoder is the slower stage) and stays part-empty on
// a short one, so its bound is most of the difference in the host's peak
// RSS between the two: with 32 MiB it was 197 MiB at 1M records against
// 116 MiB at 100k, with 16 MiB 166 against 115 (`make bench`).
const writeQueueBytes = 16 << 20

// A writeJob is work for the writer goroutine: do writes pieces (and may
// commit). The writer owns the pieces and releases their records after
// do, or without calling do once an earlier job has failed.
type writeJob struct {
	pieces []piece
	do     func() error
	size   int64 // Arrow bytes of the pieces, set by enqueue
}

// writer runs a source's file writes and commits on a goroutine of its
// own, in the order they were queued: what a stream does to its parts and
// state happens exactly as if done inline, only later. The first error
// stops it: the jobs after it are dropped (as the messages after a failed
// one were never processed), and every later call reports the error.
type writer struct {
	mu     sync.Mutex
	cond   *sync.Cond // broadcast on every change of the fields below
	jobs   []writeJob
	bytes  int64 // Arrow bytes of the queued jobs
	closed bool
	err    error
	done   chan struct{}
}

// startWriter starts a writer goroutine; stop ends it.
func startWriter() *writer {
	w := &writer{done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.run()
	return w
}

func (w *writer) run() {
	defer close(w.done)
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		for len(w.jobs) == 0 && !w.closed {
			w.cond.Wait()
		}
		if len(w.jobs) == 0 {
			return
		}
		job := w.jobs[0]
		w.jobs[0] = writeJob{}
		w.jobs = w.jobs[1:]
		failed := w.err != nil
		w.mu.Unlock()
		var err error
		if !failed {
			err = job.do()
		}
		for _, pc := range job.pieces {
			pc.rec.Release()
		}
		w.mu.Lock()
		w.bytes -= job.size
		if err != nil && w.err == nil {
			w.err = err
		}
		w.cond.Broadcast()
	}
}

// enqueue queues job, waiting while the queue holds writeQueueBytes or
// more (a job larger than that still goes into an empty queue). It takes
// ownership of the job's records. It returns the writer's error, if any:
// then the job is dropped.
func (w *writer) enqueue(job writeJob) error {
	for _, pc := range job.pieces {
		job.size += batch.Bytes(pc.rec)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.err == nil && len(w.jobs) > 0 && w.bytes+job.size > writeQueueBytes {
		w.cond.Wait()
	}
	if w.err != nil {
		for _, pc := range job.pieces {
			pc.rec.Release()
		}
		return w.err
	}
	w.jobs = append(w.jobs, job)
	w.bytes += job.size
	w.cond.Broadcast()
	return nil
}

// failed returns the writer's error, if a job has failed.
func (w *writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// stop runs the queued jobs, ends the goroutine and returns the writer's
// error. It is safe to call twice.
func (w *writer) stop() error {
	w.mu.Lock()
	w.closed = true
	w.cond.Broadcast()
	w.mu.Unlock()
	<-w.done
	return w.failed()
}
