package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/internal/batch"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// Child stream defaults, used when the Child's field is zero.
const (
	// DefaultChildConcurrency: four listings in flight keep a rate limit of
	// a few requests a second busy over slow round trips, while the
	// rest.Client's shared limiter keeps them under the vendor's limit.
	DefaultChildConcurrency = 4
	// DefaultChildBatchRows: children are mostly a handful of records per
	// parent; batching them to a couple of thousand rows keeps Arrow IPC
	// and Parquet overheads per row low.
	DefaultChildBatchRows = 2048
	// DefaultChildCheckpointEvery: a checkpoint carries the list of the
	// parents done so far, which grows during a run; one every few seconds
	// bounds both that cost and the work a crash loses.
	DefaultChildCheckpointEvery = 5 * time.Second
)

// A Child declares a child stream: a listing read once for each record of
// a parent Stream, such as each customer's transactions. ReadAll lists the
// parent's keys itself (every record of the parent, whether or not the
// parent stream is read too), and reads the children of several parents at
// once (Concurrency), every request waiting on the rest.Client's shared limiter.
// The parent's key values flow to the child: into its Request, and into
// the child's records through Keys.
//
// # State
//
// A child stream's state is a watermark at the level of the stream, not a
// state per parent (which would grow with the number of parents). Each run
// reads, for every parent, the child records of a window: a JSON value that
// Window derives from the window of the last complete run (say, the
// transactions billed since the last run's end). A run's checkpoints hold
// its window and the keys of the parents whose child records have all been
// sent, so a run resumed after a crash reads the same window and skips
// exactly those parents; once every parent is read, the checkpoint marks
// the window complete and the next run asks Window for the next one. The
// state only ever causes records to be read again, never skipped: a parent
// whose records were partly sent (one with more than BatchRows records, sent
// in parts) is read again from the start of the window on resume.
//
// The checkpointed state is, for the connector's information:
//
//	{"window": <Window's JSON>, "done": [<key>, ...]}   a run in progress
//	{"window": <Window's JSON>, "complete": true}         a complete run
//
// where a key is the JSON of the parent's key value (of the array of values
// for several Keys).
type Child struct {
	Name        string
	Description string
	// Schema holds the child's columns: those decoded from its pages and
	// the Keys' columns, which are filled from the parent.
	Schema      *arrow.Schema
	PrimaryKey  []string
	CursorField string
	SyncModes   []sdk.SyncMode // the first is the default
	// Updates is how the stream sees changes to records already read;
	// shown in the catalog.
	Updates sdk.Updates
	// Parent lists the parent records. Its Request(nil), Pager, Records,
	// DecodeSchema, FoldCase, IDField and Info are used; its Select,
	// Checkpoint and Finish are not.
	Parent *Stream
	// Keys name the parent columns that identify a parent, and the child
	// columns they are copied into. They must be top-level int64, float64,
	// bool or string columns of the parent's records as decoded
	// (Parent.DecodeSchema, or else Parent.Schema), of the same type in
	// Schema.
	Keys []Key
	// Records is the JSON path of the records array in a child page.
	Records []string
	// IDField is the JSON key of a record's id, for errors; default "id".
	IDField string
	// Pager pages one parent's listing.
	Pager rest.Pager
	// Request returns the request listing parent's children in window (nil
	// when Window is nil). The pager adds its own parameters to it.
	Request func(parent ParentKey, window json.RawMessage) (rest.Request, error)
	// Info reports what a decoded page says about the listing; p.Record
	// lacks the Keys' columns. Default: Items is the page's row count.
	Info func(p *records.Page) rest.PageInfo
	// Gone, if set, reports whether a response says that the parent no
	// longer exists (deleted since it was listed). The parent is then
	// skipped with a warning, and the response not decoded. Only responses
	// the rest.Client's Policy judges OK are shown to Gone.
	Gone func(resp *rest.Response) bool
	// Empty, if set, is called when the parent listing holds no records at
	// all. A non-nil error fails the child stream, and its window stays
	// where it was for the next run, instead of completing a window no
	// parent was read in: for a parent that is only empty when it was
	// misread (a search whose "list everything" form is a guess, say).
	Empty func() error
	// Window returns the window of a run given the window of the last
	// complete run (nil for the first run, or a full refresh). Nil means
	// the stream has no window: every run reads everything, and it must not
	// offer sdk.Incremental.
	Window func(last json.RawMessage) (json.RawMessage, error)
	// Concurrency is how many parents' listings are read at once; default
	// DefaultChildConcurrency.
	Concurrency int
	// BatchRows is how many rows are gathered before they are sent as one
	// batch, and how many rows of one parent are held before they are sent
	// in parts; default DefaultChildBatchRows.
	BatchRows int
	// CheckpointEvery is the least time between checkpoints that are not
	// due to a full batch; default DefaultChildCheckpointEvery.
	CheckpointEvery time.Duration
}

// A Key maps a parent column to a child column.
type Key struct {
	Parent string // top-level column of the parent stream
	Column string // child column that receives the value; "" if not stored
}

// A ParentKey holds one parent record's key values, in Child.Keys order;
// each is an int64, float64, bool or string.
type ParentKey []any

// String returns the key values as text separated by commas, e.g.
// "10000001".
func (k ParentKey) String() string {
	parts := make([]string, len(k))
	for i, v := range k {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ",")
}

// id returns the key's canonical JSON: the value, or the array of values.
func (k ParentKey) id() json.RawMessage {
	var v any = []any(k)
	if len(k) == 1 {
		v = k[0]
	}
	b, err := json.Marshal(v)
	if err != nil { // NaN or infinity: not JSON, but still a stable name
		b, _ = json.Marshal(k.String())
	}
	return b
}

// Catalog returns the child stream's catalog entry; its schema is Schema
// with records.RescueColumn.
func (s *Child) Catalog() sdk.Stream {
	return sdk.Stream{
		Name: s.Name, Description: s.Description, Schema: records.WithRescue(s.Schema),
		PrimaryKey: s.PrimaryKey, CursorField: s.CursorField, SyncModes: s.SyncModes,
		Updates: s.Updates,
	}
}

// ReadAll reads the requested streams and child streams with c and reports
// to w, as ReadStreams does: a stream that fails is reported as Failed and
// the others go on; it returns an error only when w fails or a requested
// stream is unknown, after every started stream has reported its end.
// opts.Concurrency bounds the streams read at once; a child stream counts as
// one, whatever its own Concurrency.
func ReadAll(ctx context.Context, c *rest.Client, streams []*Stream, children []*Child, req sdk.ReadRequest, w sdk.Writer, opts ReadOptions) error {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 2
	}
	if opts.Allocator == nil {
		opts.Allocator = memory.NewGoAllocator()
	}
	if opts.Logger == nil {
		opts.Logger = sdk.Logger(ctx)
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = time.Second
	}
	readers := make(map[string]func(sdk.StreamRequest) *streamReader, len(streams)+len(children))
	for _, s := range streams {
		readers[s.Name] = func(r sdk.StreamRequest) *streamReader {
			return &streamReader{c: c, s: s, req: r, w: w, opts: &opts}
		}
	}
	for _, ch := range children {
		readers[ch.Name] = func(r sdk.StreamRequest) *streamReader {
			return newChildReader(c, ch, r, w, &opts)
		}
	}
	reader := func(r sdk.StreamRequest) *streamReader {
		sr := readers[r.Name](r)
		sr.contract, sr.limit, sr.drift = req.Contract, req.Limit, &records.DriftReport{}
		return sr
	}
	for _, r := range req.Streams {
		if readers[r.Name] == nil {
			return fmt.Errorf("%s: no stream %q: %w", c.Name(), r.Name, sdk.ErrConfig)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, opts.Concurrency)
		mu       sync.Mutex
		writeErr error
	)
	for _, r := range req.Streams {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := reader(r).run(ctx); err != nil {
				mu.Lock()
				if writeErr == nil {
					writeErr = err
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	return writeErr
}

// childState is a child stream's checkpoint; see Child.
type childState struct {
	Window   json.RawMessage   `json:"window,omitempty"`
	Complete bool              `json:"complete,omitempty"`
	Done     []json.RawMessage `json:"done,omitempty"`
}

// parentResult is what a worker read of one parent: all of its records
// (final), or the first part of a large parent's records.
type parentResult struct {
	key   ParentKey
	recs  []arrow.Record // in the child schema
	rows  int
	pages int
	final bool // the parent's listing is complete
	gone  bool // the parent was gone at its first page
}

func (p *parentResult) release() {
	for _, r := range p.recs {
		r.Release()
	}
	p.recs = nil
}

// childReader reads one child stream. It lends its base streamReader the
// body that reads the stream, and uses the base's status and progress
// reporting.
type childReader struct {
	*streamReader
	ch *Child

	conc, batchRows int
	every           time.Duration

	schema *arrow.Schema // Schema with records.RescueColumn: what batches hold
	sub    *arrow.Schema // schema without the key columns: what pages decode to
	keyOf  []int         // per column of schema: the index in Keys, or -1
	pcols  []int         // per Key: the column of Parent.Schema
	window json.RawMessage
	done   []json.RawMessage // parents whose records are all sent, prior runs' included

	// Owned by the lister goroutine until it ends.
	skip     map[string]bool // keys not to read: done, or listed already
	skipped  int             // parents skipped as done or listed twice
	nullKeys int             // parent records without a key

	// Owned by the collecting goroutine.
	pending     []arrow.Record
	pendingRows int
	sampled     bool // the read has the records of a sample (ReadRequest.Limit)
	dirty       bool // sent rows or done parents not yet checkpointed
	lastFlush   time.Time
	parents     int // parents read completely in this run
	gone        int // parents gone before their first page
}

func newChildReader(c *rest.Client, ch *Child, req sdk.StreamRequest, w sdk.Writer, opts *ReadOptions) *streamReader {
	base := &streamReader{c: c, s: &Stream{Name: ch.Name}, req: req, w: w, opts: opts}
	r := &childReader{
		streamReader: base, ch: ch,
		conc: ch.Concurrency, batchRows: ch.BatchRows, every: ch.CheckpointEvery,
	}
	if r.conc <= 0 {
		r.conc = DefaultChildConcurrency
	}
	if r.batchRows <= 0 {
		r.batchRows = DefaultChildBatchRows
	}
	if r.every <= 0 {
		r.every = DefaultChildCheckpointEvery
	}
	base.body = r.read
	return base
}

// prepare checks the declaration and works out the column mappings.
func (r *childReader) prepare() error {
	ch := r.ch
	switch {
	case ch.Parent == nil || ch.Parent.Schema == nil || ch.Parent.Pager == nil || ch.Parent.Request == nil:
		return errors.New("Child.Parent needs a Schema, Pager and Request")
	case ch.Schema == nil || ch.Pager == nil || ch.Request == nil:
		return errors.New("a Child needs a Schema, Pager and Request")
	case len(ch.Keys) == 0:
		return errors.New("a Child needs Keys")
	case ch.Window == nil && slices.Contains(ch.SyncModes, sdk.Incremental):
		return errors.New("an incremental Child needs a Window")
	}
	r.schema = records.WithRescue(ch.Schema)
	r.keyOf = make([]int, r.schema.NumFields())
	for i := range r.keyOf {
		r.keyOf[i] = -1
	}
	r.pcols = make([]int, len(ch.Keys))
	ps := parentSchema(ch.Parent)
	for i, k := range ch.Keys {
		pi := ps.FieldIndices(k.Parent)
		if len(pi) != 1 {
			return fmt.Errorf("key %q is not a column of the parent stream %s", k.Parent, ch.Parent.Name)
		}
		pt := ps.Field(pi[0]).Type
		switch pt.ID() {
		case arrow.INT64, arrow.FLOAT64, arrow.BOOL, arrow.STRING:
		default:
			return fmt.Errorf("key %q has type %s; want int64, float64, bool or string", k.Parent, pt)
		}
		r.pcols[i] = pi[0]
		if k.Column == "" {
			continue
		}
		ci := ch.Schema.FieldIndices(k.Column)
		if len(ci) != 1 {
			return fmt.Errorf("key column %q is not a column of the stream", k.Column)
		}
		if ct := ch.Schema.Field(ci[0]).Type; !arrow.TypeEqual(ct, pt) {
			return fmt.Errorf("key column %q has type %s, the parent's %q %s", k.Column, ct, k.Parent, pt)
		}
		r.keyOf[ci[0]] = i
	}
	var fields []arrow.Field
	for i, f := range r.schema.Fields() {
		if r.keyOf[i] < 0 {
			fields = append(fields, f)
		}
	}
	md := r.schema.Metadata()
	r.sub = arrow.NewSchema(fields, &md)
	return nil
}

// start sets the window and the parents done from the saved state.
func (r *childReader) start(state json.RawMessage) error {
	if r.req.Mode == sdk.FullRefresh {
		state = nil
	}
	var st childState
	if len(state) > 0 && string(state) != "null" {
		if err := json.Unmarshal(state, &st); err != nil {
			return fmt.Errorf("saved state %.100s is not a child stream's state (reset it with quiver state reset): %w", state, sdk.ErrConfig)
		}
	}
	if string(st.Window) == "null" {
		st.Window = nil
	}
	switch {
	case st.Window != nil && !st.Complete:
		// A run in progress: the same window, less the parents done.
		r.window, r.done = st.Window, st.Done
	case r.ch.Window == nil:
		// No windows: a run in progress, or a new one.
		if !st.Complete {
			r.done = st.Done
		}
	default:
		// A new run: the window after the last complete one.
		var last json.RawMessage
		if st.Complete {
			last = st.Window
		}
		w, err := r.ch.Window(last)
		if err != nil {
			return fmt.Errorf("window: %w", err)
		}
		r.window = w
	}
	r.skip = make(map[string]bool, len(r.done))
	for _, id := range r.done {
		r.skip[string(id)] = true
	}
	return nil
}

// read is the child stream's body: it lists the parents, reads their
// children with a pool of workers, and sends the records in batches with a
// checkpoint after each.
func (r *childReader) read(outer context.Context, log *slog.Logger) error {
	if err := r.prepare(); err != nil {
		return fmt.Errorf("stream %s: %w", r.ch.Name, err)
	}
	if err := r.start(r.req.State); err != nil {
		return fmt.Errorf("stream %s: %w", r.ch.Name, err)
	}
	r.lastFlush = time.Now()
	ctx, cancel := context.WithCancel(outer)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
		cancel()
	}
	keys := make(chan ParentKey, r.conc)
	results := make(chan *parentResult, r.conc)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(keys)
		if err := r.list(ctx, keys); err != nil {
			fail(err)
		}
	}()
	var workers sync.WaitGroup
	for range r.conc {
		workers.Add(1)
		go func() {
			defer workers.Done()
			r.work(ctx, log, keys, results, fail)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		workers.Wait()
		close(results)
	}()
	werr := r.collect(outer, results, cancel)
	wg.Wait()
	if r.nullKeys > 0 {
		log.Warn("parent records without a key were skipped", "parent", r.ch.Parent.Name, "records", r.nullKeys)
	}
	switch {
	case werr != nil:
		r.releasePending()
		return werr
	case outer.Err() != nil:
		r.releasePending()
		if first == nil {
			first = outer.Err()
		}
		return first
	case r.sampled:
		// A sample, stopped once it had enough: what was read, no state.
		r.dirty = false
		return r.flush(outer, false)
	case first != nil:
		// Keep what is complete: the next run resumes after it.
		if err := r.flush(outer, false); err != nil {
			return err
		}
		return first
	}
	if err := r.flush(outer, true); err != nil {
		return err
	}
	log.Info("child stream read", "parents", r.parents, "skipped", r.skipped, "gone", r.gone)
	return nil
}

// list pages through the parent stream and sends the keys of the parents
// to read; it skips those done already or listed twice (offset paging over
// changing data can repeat a record).
func (r *childReader) list(ctx context.Context, keys chan<- ParentKey) error {
	p := r.ch.Parent
	base, err := p.Request(nil)
	if err != nil {
		return fmt.Errorf("stream %s: parent %s: %w", r.ch.Name, p.Name, err)
	}
	// The parent stream reports its own drift, if it is read.
	dec := records.NewDecoder(r.opts.Allocator, parentSchema(p), records.Options{Stream: p.Name, Records: p.Records, IDField: p.IDField, FoldCase: p.FoldCase,
		Contract: r.contract})
	defer dec.Release()
	pg := p.Pager.Start()
	listed := 0 // parent records, with or without a key, read or skipped
	for page := 1; ; page++ {
		req := base
		req.Query = cloneValues(base.Query)
		pg.Apply(&req)
		req.Label = fmt.Sprintf("stream %s parents (%s) page %d", r.ch.Name, p.Name, page)
		var pp *records.Page
		var body []byte
		err := r.c.Do(ctx, req, func(resp *rest.Response) error {
			var err error
			pp, err = dec.Decode(resp.Body)
			body = resp.Body
			return err
		})
		if err != nil {
			return err
		}
		r.c.ReuseBody(body) // decoded: the decoder kept nothing of it
		info := rest.PageInfo{Items: int(pp.Record.NumRows())}
		if p.Info != nil {
			info = p.Info(pp)
		}
		listed += int(pp.Record.NumRows())
		ks := r.keys(pp.Record)
		pp.Record.Release()
		for _, k := range ks {
			id := string(k.id())
			if r.skip[id] {
				r.skipped++
				continue
			}
			r.skip[id] = true
			select {
			case keys <- k:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		more, err := pg.Next(info)
		if err != nil {
			return fmt.Errorf("stream %s parents (%s) page %d: %w", r.ch.Name, p.Name, page, err)
		}
		if !more {
			if listed == 0 && r.ch.Empty != nil {
				if err := r.ch.Empty(); err != nil {
					return fmt.Errorf("stream %s: parent %s: %w", r.ch.Name, p.Name, err)
				}
			}
			return nil
		}
	}
}

// parentSchema is the schema p's pages decode to.
func parentSchema(p *Stream) *arrow.Schema {
	if p.DecodeSchema != nil {
		return p.DecodeSchema
	}
	return p.Schema
}

// keys returns the parent keys of rec's rows; rows with a null key are
// counted and left out.
func (r *childReader) keys(rec arrow.Record) []ParentKey {
	n := int(rec.NumRows())
	out := make([]ParentKey, 0, n)
rows:
	for i := range n {
		k := make(ParentKey, len(r.pcols))
		for j, c := range r.pcols {
			col := rec.Column(c)
			if col.IsNull(i) {
				r.nullKeys++
				continue rows
			}
			switch a := col.(type) {
			case *array.Int64:
				k[j] = a.Value(i)
			case *array.Float64:
				k[j] = a.Value(i)
			case *array.Boolean:
				k[j] = a.Value(i)
			case *array.String:
				k[j] = strings.Clone(a.Value(i)) // Value aliases the record's memory
			}
		}
		out = append(out, k)
	}
	return out
}

// work reads the children of the parents on keys until keys closes or the
// read fails.
func (r *childReader) work(ctx context.Context, log *slog.Logger, keys <-chan ParentKey, out chan<- *parentResult, fail func(error)) {
	dec := records.NewDecoder(r.opts.Allocator, r.sub, records.Options{Stream: r.ch.Name, Records: r.ch.Records, IDField: r.ch.IDField,
		Contract: r.contract, Drift: r.drift, DriftRecords: r.limit})
	defer dec.Release()
	for k := range keys {
		if ctx.Err() != nil {
			return
		}
		if err := r.fetch(ctx, log, dec, k, out); err != nil {
			fail(err)
			return
		}
	}
}

// fetch reads one parent's listing and sends its records: at the end, or
// in parts of BatchRows when there are many.
func (r *childReader) fetch(ctx context.Context, log *slog.Logger, dec *records.Decoder, key ParentKey, out chan<- *parentResult) error {
	ch := r.ch
	base, err := ch.Request(key, r.window)
	if err != nil {
		return fmt.Errorf("stream %s parent %s: %w", ch.Name, key, err)
	}
	res := &parentResult{key: key}
	pg := ch.Pager.Start()
	for page := 1; ; page++ {
		req := base
		req.Query = cloneValues(base.Query)
		pg.Apply(&req)
		req.Label = fmt.Sprintf("stream %s parent %s page %d", ch.Name, key, page)
		var p *records.Page
		gone := false
		var body []byte
		err := r.c.Do(ctx, req, func(resp *rest.Response) error {
			if ch.Gone != nil && ch.Gone(resp) {
				gone = true
				return nil
			}
			var err error
			if p, err = dec.Decode(resp.Body); err == nil {
				body = resp.Body
			}
			return err
		})
		if err != nil {
			res.release()
			return err
		}
		r.c.ReuseBody(body) // decoded, and kept nowhere; nil when gone
		if gone {
			log.Warn("the parent is gone; its children are skipped", "parent", key.String(), "page", page)
			res.gone = page == 1
			break
		}
		info := rest.PageInfo{Items: int(p.Record.NumRows())}
		if ch.Info != nil {
			info = ch.Info(p)
		}
		rec, err := r.attach(p.Record, key)
		p.Record.Release()
		if err != nil {
			res.release()
			return fmt.Errorf("stream %s parent %s page %d: %w", ch.Name, key, page, err)
		}
		res.recs = append(res.recs, rec)
		res.rows += int(rec.NumRows())
		res.pages++
		log.Debug("page", "parent", key.String(), "page", page, "records", info.Items)
		more, err := pg.Next(info)
		if err != nil {
			res.release()
			return fmt.Errorf("stream %s parent %s page %d: %w", ch.Name, key, page, err)
		}
		if !more {
			break
		}
		if res.rows >= r.batchRows {
			if err := send(ctx, out, res); err != nil {
				return err
			}
			res = &parentResult{key: key}
		}
	}
	res.final = true
	return send(ctx, out, res)
}

// send hands res to the collector, or releases it if the read is over.
func send(ctx context.Context, out chan<- *parentResult, res *parentResult) error {
	select {
	case out <- res:
		return nil
	case <-ctx.Done():
		res.release()
		return ctx.Err()
	}
}

// attach returns rec (of the sub-schema) with the key columns added, in
// the child schema. The caller releases both.
func (r *childReader) attach(rec arrow.Record, key ParentKey) (arrow.Record, error) {
	n := int(rec.NumRows())
	cols := make([]arrow.Array, 0, len(r.keyOf))
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	j := 0
	for i, f := range r.schema.Fields() {
		if k := r.keyOf[i]; k >= 0 {
			c, err := records.Constant(r.opts.Allocator, f.Type, key[k], n)
			if err != nil {
				return nil, fmt.Errorf("key column %s: %w", f.Name, err)
			}
			cols = append(cols, c)
			continue
		}
		c := rec.Column(j)
		c.Retain()
		cols = append(cols, c)
		j++
	}
	return array.NewRecord(r.schema, cols, int64(n)), nil
}

// collect receives the workers' results until they are all done, and
// sends the records in batches with checkpoints. After a Writer failure it
// stops the read and drains the rest.
func (r *childReader) collect(ctx context.Context, results <-chan *parentResult, stop func()) error {
	var werr error
	for res := range results {
		if werr != nil || r.sampled {
			res.release()
			continue
		}
		r.progress.Pages += int64(res.pages)
		r.pending = append(r.pending, res.recs...)
		r.pendingRows += res.rows
		res.recs = nil
		r.dirty = r.dirty || res.rows > 0
		if res.final {
			r.done = append(r.done, res.key.id())
			r.dirty = true
			r.parents++
			if res.gone {
				r.gone++
			}
		}
		if r.limit > 0 && r.progress.Records+int64(r.pendingRows) >= r.limit {
			r.sampled = true // enough for a sample: stop reading
			stop()
		}
		if r.pendingRows >= r.batchRows || r.dirty && time.Since(r.lastFlush) >= r.every {
			if err := r.flush(ctx, false); err != nil {
				werr = err
				stop()
				continue
			}
		}
		r.report(ctx, false)
	}
	return werr
}

// flush sends the pending records as one batch and checkpoints: the
// parents done so far, or with complete, the whole window.
func (r *childReader) flush(ctx context.Context, complete bool) error {
	if r.pendingRows > 0 {
		rec, err := batch.Concat(r.opts.Allocator, r.pending)
		r.releasePending()
		if err != nil {
			return fmt.Errorf("stream %s: %w", r.ch.Name, err)
		}
		if left := r.limit - r.progress.Records; r.limit > 0 && rec.NumRows() > left {
			// A sample takes the records it asked for, no more.
			cut := rec.NewSlice(0, max(left, 0))
			rec.Release()
			rec = cut
		}
		err = r.w.WriteBatch(ctx, r.ch.Name, rec)
		r.progress.Records += rec.NumRows()
		rec.Release()
		if err != nil {
			return &writerError{err}
		}
	}
	r.releasePending()
	if !complete && !r.dirty {
		return nil
	}
	st := childState{Window: r.window, Complete: complete}
	if !complete {
		st.Done = r.done
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("stream %s: checkpoint: %w", r.ch.Name, err)
	}
	if err := r.w.Checkpoint(ctx, r.ch.Name, b); err != nil {
		return &writerError{err}
	}
	r.dirty = false
	r.lastFlush = time.Now()
	return nil
}

func (r *childReader) releasePending() {
	for _, rec := range r.pending {
		rec.Release()
	}
	r.pending, r.pendingRows = nil, 0
}
