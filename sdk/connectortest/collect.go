package connectortest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// streamLog is what one read sent for one stream.
type streamLog struct {
	rows        []map[string]any // every row of every batch, in order (Row)
	checkpoints []checkpoint
	states      []protocol.State // Status states in order
	errs        []error          // the errors of Failed statuses
}

// A checkpoint is a Checkpoint message and how many rows it covers.
type checkpoint struct {
	rows  int
	state json.RawMessage
}

// committed returns the rows covered by the stream's last checkpoint and
// that checkpoint's state (nil when there was none).
func (l *streamLog) committed() ([]map[string]any, json.RawMessage) {
	if len(l.checkpoints) == 0 {
		return nil, nil
	}
	last := l.checkpoints[len(l.checkpoints)-1]
	return l.rows[:last.rows], last.state
}

// final returns the stream's last state, or 0 when it sent no Status.
func (l *streamLog) final() protocol.State {
	if len(l.states) == 0 {
		return 0
	}
	return l.states[len(l.states)-1]
}

// collector is an sdk.Writer that records a read, turning each batch into
// plain rows at once (the batch is not kept). Its hooks let a check act in
// the middle of the read: firstBatch runs once, at the first batch;
// onCheckpoint runs after each checkpoint is recorded, and its error is
// returned to the connector. It is safe for concurrent use.
type collector struct {
	schemas map[string]*arrow.Schema // the catalog's, to check batches against

	firstBatch   func()
	onCheckpoint func(n int) error

	once sync.Once

	mu       sync.Mutex
	streams  map[string]*streamLog
	problems []string // contract breaches seen while writing
	ncp      int      // checkpoints so far, of every stream
	stopped  error    // once set, every call returns it and records nothing
}

func newCollector(cat *sdk.Catalog) *collector {
	c := &collector{schemas: map[string]*arrow.Schema{}, streams: map[string]*streamLog{}}
	for _, st := range cat.Streams {
		c.schemas[st.Name] = st.Schema
	}
	return c
}

// stream returns the log of name; the caller holds c.mu.
func (c *collector) stream(name string) *streamLog {
	l := c.streams[name]
	if l == nil {
		l = &streamLog{}
		c.streams[name] = l
	}
	return l
}

// stop makes every later call return err and record nothing, as a host
// that gave up on the read would.
func (c *collector) stop(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped == nil {
		c.stopped = err
	}
}

// WriteBatch records rec's rows.
func (c *collector) WriteBatch(ctx context.Context, stream string, rec arrow.Record) error {
	if c.firstBatch != nil {
		c.once.Do(c.firstBatch)
	}
	rows := make([]map[string]any, rec.NumRows())
	for i := range rows {
		rows[i] = Row(rec, i)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped != nil {
		return c.stopped
	}
	want, ok := c.schemas[stream]
	switch {
	case !ok:
		c.problems = append(c.problems, fmt.Sprintf("a batch of stream %q, which the catalog does not have", stream))
	case !rec.Schema().Equal(want):
		c.problems = append(c.problems, fmt.Sprintf("stream %s: a batch's schema\n%v\nis not the catalog's\n%v", stream, rec.Schema(), want))
	}
	l := c.stream(stream)
	if n := len(l.states); n > 0 && l.states[n-1] != sdk.Started {
		c.problems = append(c.problems, fmt.Sprintf("stream %s: a batch after status %v", stream, l.states[n-1]))
	}
	l.rows = append(l.rows, rows...)
	return ctx.Err()
}

// Checkpoint records state as covering the rows so far.
func (c *collector) Checkpoint(ctx context.Context, stream string, state json.RawMessage) error {
	c.mu.Lock()
	if c.stopped != nil {
		defer c.mu.Unlock()
		return c.stopped
	}
	if !json.Valid(state) {
		c.problems = append(c.problems, fmt.Sprintf("stream %s: a checkpoint whose state is not JSON", stream))
	}
	l := c.stream(stream)
	l.checkpoints = append(l.checkpoints, checkpoint{rows: len(l.rows), state: append(json.RawMessage(nil), state...)})
	c.ncp++
	n := c.ncp
	c.mu.Unlock()
	if c.onCheckpoint != nil {
		if err := c.onCheckpoint(n); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Status records st.
func (c *collector) Status(ctx context.Context, stream string, st sdk.Status) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped != nil {
		return c.stopped
	}
	l := c.stream(stream)
	if len(l.states) == 0 && st.State != sdk.Started {
		c.problems = append(c.problems, fmt.Sprintf("stream %s: status %v before Started", stream, st.State))
	}
	l.states = append(l.states, st.State)
	if st.Err != nil {
		l.errs = append(l.errs, st.Err)
	}
	return ctx.Err()
}

// Progress is advisory: it is accepted and not recorded.
func (c *collector) Progress(ctx context.Context, _ string, _ sdk.Progress) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped != nil {
		return c.stopped
	}
	return ctx.Err()
}

var _ sdk.Writer = (*collector)(nil)
