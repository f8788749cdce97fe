package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// A Stream declares a stream that is read page by page from one listing.
// Connectors describe their streams as Stream values and let ReadStreams do
// the paging, decoding, checkpointing and reporting.
type Stream struct {
	Name        string
	Description string
	Schema      *arrow.Schema
	PrimaryKey  []string
	CursorField string
	SyncModes   []sdk.SyncMode // the first is the default
	// Updates is how the stream sees changes to records already read;
	// shown in the catalog.
	Updates sdk.Updates
	// Lookback, if set, makes an incremental read of the stream read again
	// over a trailing window of its date cursor (the "lookback" update
	// strategy): the reader sets Lookback's filter to Lookback.Since (the
	// earlier of the saved mark and the read's start, less the window the
	// host asked for or the declared default), but never before
	// LookbackFloor, over whatever Request set. The listing must be sorted
	// by the cursor; use Lookback.Checkpoint as Checkpoint.
	Lookback      *Watermark
	LookbackFloor time.Time
	// Records is the JSON path of the records array in a page, e.g. ["data"].
	Records []string
	// DecodeSchema, if set, is the schema pages are decoded with, when the
	// vendor's JSON does not have Schema's shape (a GeoJSON point to flatten
	// into columns, say); Select must then turn each page into a record of
	// records.WithRescue(Schema), passing the page's records.RescueColumn
	// on. Nil decodes with Schema.
	DecodeSchema *arrow.Schema
	// FoldCase matches JSON keys to columns case-insensitively when no key
	// matches exactly (records.Options.FoldCase), for vendors that mix key
	// casings.
	FoldCase bool
	// IDField is the JSON key of a record's id, for errors; default "id".
	IDField string
	// Pager pages the listing.
	Pager rest.Pager
	// AltPaths are other paths the listing may be under, for a vendor whose
	// documentation leaves the path unsure (a prefix, say). When the first
	// page answers 404, the first page is asked of the next path, and the
	// path that answered is logged; a 404 after the first page is an error
	// as always. Nil: the path Request returns is the only one.
	AltPaths []string
	// Request returns the listing's request for a read that resumes from
	// state (nil: from the start): its path and filters. The pager adds
	// its own parameters to it.
	Request func(state json.RawMessage) (rest.Request, error)
	// Info reports what a decoded page says about the listing. Default:
	// Items is the page's row count and nothing else is known. A rest.PageInfo
	// without URL gets the page's, for relative next links.
	Info func(p *records.Page) rest.PageInfo
	// Checkpoint returns the state after page p given the state before it,
	// or nil for no checkpoint after this page. A checkpoint must be such
	// that a read resumed from it sends none of the records sent so far.
	// Nil means the stream is never checkpointed (a full refresh).
	Checkpoint func(prev json.RawMessage, p *records.Page) (json.RawMessage, error)
	// Select, if set, returns the records of page p to write: p.Record
	// (retained), a part of it (an incremental read drops the records its
	// state says were sent before, say), an empty record, or with
	// DecodeSchema the page's records reshaped to WithRescue(Schema). The caller
	// releases what Select returns. An error fails the stream before
	// anything of the page is written. Info and Checkpoint still see the
	// whole page. Nil writes every record of every page.
	Select func(p *records.Page) (arrow.Record, error)
	// Finish, if set, returns the state after the listing's last page,
	// given the state before it (the last checkpoint, or the read's start
	// state); a non-nil result is sent as a checkpoint before the stream
	// reports Complete. It is for state that can only advance once the
	// whole listing has been read, such as a watermark over a listing in
	// no known order.
	Finish func(prev json.RawMessage) (json.RawMessage, error)
}

// Catalog returns the stream's catalog entry. Its schema is Schema with
// records.RescueColumn, as every page decodes to.
func (s *Stream) Catalog() sdk.Stream {
	return sdk.Stream{
		Name: s.Name, Description: s.Description, Schema: records.WithRescue(s.Schema),
		PrimaryKey: s.PrimaryKey, CursorField: s.CursorField, SyncModes: s.SyncModes,
		Updates: s.Updates,
	}
}

// ReadOptions configure ReadStreams.
type ReadOptions struct {
	// Concurrency is how many streams are read at once; default 2, since a
	// vendor's rate limit, not the CPU, bounds most reads, and two streams
	// keep the pipe full while one waits on a slow page.
	Concurrency int
	// PageConcurrency is the most page requests one stream keeps in flight
	// while it writes the page before them (a connector's `concurrency`
	// config key); default DefaultPageConcurrency. The next page is always
	// fetched while the current one is written; with a listing whose size
	// a page told (a rest.Ahead paging), the pages after it too, up to
	// this many. Only a rest.Prefetcher's listings are fetched ahead; any
	// other Pager's go one page at a time. Pages are written and
	// checkpointed in order all the same.
	// The stream halves it on a rate limit and grows it back (see ahead).
	PageConcurrency int
	// Allocator backs the Arrow records; default the Go allocator.
	Allocator memory.Allocator
	// Logger receives a line per stream milestone; default sdk.Logger(ctx).
	Logger *slog.Logger
	// ProgressEvery is the least time between Progress reports of a
	// stream; default 1s. The first and last pages are always reported.
	ProgressEvery time.Duration
	// Now is the clock a lookback window is measured from; default
	// time.Now.
	Now func() time.Time
}

// ReadStreams reads the requested streams of streams with c and reports to w.
// A stream that fails is reported as Failed and the others go on. It returns
// an error only when w fails (the host has gone) or a requested stream is
// unknown; it returns after every started stream has reported its end.
// ReadAll does the same for a mix of streams and child streams.
func ReadStreams(ctx context.Context, c *rest.Client, streams []*Stream, req sdk.ReadRequest, w sdk.Writer, opts ReadOptions) error {
	return ReadAll(ctx, c, streams, nil, req, w, opts)
}

// streamReader reads one stream.
type streamReader struct {
	c    *rest.Client
	s    *Stream
	req  sdk.StreamRequest
	w    sdk.Writer
	opts *ReadOptions

	contract sdk.SchemaContract   // the read's
	limit    int64                // the read's sample size; 0 for all
	drift    *records.DriftReport // what the stream's pages rescued

	progress     sdk.Progress
	retries      rest.RetryCounter // the stream's retries, by reason
	lastProgress time.Time
	started      time.Time
	concurrency  int // the most page requests the stream had in flight; 0 for one at a time

	// body reads the stream's records; nil means pages (a child stream
	// sets its own).
	body func(ctx context.Context, log *slog.Logger) error
}

// run reads the stream; its error is a Writer failure, which ends the read.
func (r *streamReader) run(ctx context.Context) error {
	r.started = time.Now()
	log := r.opts.Logger.With("stream", r.s.Name)
	if err := r.w.Status(ctx, r.s.Name, sdk.Status{State: sdk.Started}); err != nil {
		return err
	}
	ctx = rest.WithRetryCounter(ctx, &r.retries)
	body := r.pages
	if r.body != nil {
		body = r.body
	}
	err := body(ctx, log)
	var we *writerError
	switch {
	case errors.As(err, &we):
		return we.err
	case err == nil:
		r.report(ctx, true)
		log.Info("stream complete", "records", r.progress.Records, "pages", r.progress.Pages,
			"concurrency", r.progress.Concurrency, "rate_limit_wait", r.progress.RateLimitWait.Round(time.Millisecond).String())
		return r.w.Status(ctx, r.s.Name, sdk.Status{State: sdk.Complete})
	case ctx.Err() != nil:
		// The host cancelled the read; it knows, and the stream stops here.
		return r.w.Status(context.WithoutCancel(ctx), r.s.Name, sdk.Status{State: sdk.Incomplete, Err: err})
	default:
		r.report(ctx, true)
		return r.w.Status(ctx, r.s.Name, sdk.Status{State: sdk.Failed, Err: err})
	}
}

// writerError marks a failure of the Writer, as opposed to the vendor.
type writerError struct{ err error }

func (e *writerError) Error() string { return e.err.Error() }

func (r *streamReader) pages(ctx context.Context, log *slog.Logger) error {
	s := r.s
	state := r.req.State
	if r.req.Mode == sdk.FullRefresh {
		state = nil
	}
	base, err := s.Request(state)
	if err != nil {
		return fmt.Errorf("stream %s: %w", s.Name, err)
	}
	state = r.lookback(&base, state, log)
	schema := s.Schema
	if s.DecodeSchema != nil {
		schema = s.DecodeSchema
	}
	dec := records.NewDecoder(r.opts.Allocator, schema, records.Options{Stream: s.Name, Records: s.Records, IDField: s.IDField, FoldCase: s.FoldCase,
		Contract: r.contract, Drift: r.drift, DriftRecords: r.limit})
	defer dec.Release()
	pg := s.Pager.Start()
	alts := s.AltPaths
	// A rest.Prefetcher's pages are fetched ahead while the current one is
	// decoded and written (see ahead), except for a sample, which wants
	// few pages.
	var ah *ahead
	if r.limit <= 0 && prefetch(s.Pager) {
		ah = newAhead(ctx, r.c, &r.retries, r.opts.PageConcurrency)
		defer ah.close()
	}
	for page := 1; ; page++ {
		req := pageRequest(s, base, pg, page)
		p, pageURL, err := r.fetch(ctx, ah, dec, req)
		if page == 1 && len(alts) > 0 && isNotFound(err) {
			log.Info("listing not found; trying its other path", "path", base.Path, "next", alts[0])
			base.Path, alts = alts[0], alts[1:]
			page--
			continue
		}
		if err != nil {
			return err
		}
		if page == 1 && len(s.AltPaths) > 0 {
			log.Debug("listing path", "path", base.Path)
		}
		info := rest.PageInfo{Items: int(p.Record.NumRows())}
		if s.Info != nil {
			info = s.Info(p)
		}
		if info.URL == nil {
			info.URL = pageURL // a relative next link resolves against it
		}
		// A rest.Prefetcher's paging moves on before the page is written,
		// so that the pages after it are on their way meanwhile; a paging
		// error still comes after the page is written, as the page itself
		// is good. Any other Paging moves on after: it may share state
		// with Select (trackvia's overlapPager does), and then nothing is
		// fetched ahead.
		var more bool
		var nextErr error
		early := ah != nil
		if early {
			if more, nextErr = pg.Next(info); more && nextErr == nil {
				ah.want(nextRequests(s, base, pg, page, ah.window))
				r.concurrency = ah.peak
			}
		}
		written, err := r.emit(ctx, p, &state)
		if err != nil {
			p.Record.Release()
			return err
		}
		r.progress.Pages++
		r.progress.Records += written
		if info.Total > 0 {
			r.progress.Total = int64(info.Total)
		}
		p.Record.Release()
		log.Debug("page", "page", page, "records", info.Items)
		r.report(ctx, false)
		if r.limit > 0 && r.progress.Records >= r.limit {
			return nil // a sample: no more pages, and no final state
		}
		if !early {
			more, nextErr = pg.Next(info)
		}
		if nextErr != nil {
			return fmt.Errorf("stream %s page %d: %w", s.Name, page, nextErr)
		}
		if !more {
			return r.finish(ctx, state)
		}
	}
}

// prefetch reports whether p's listings may be fetched ahead: whether it
// is a rest.Prefetcher that says so.
func prefetch(p rest.Pager) bool {
	f, ok := p.(rest.Prefetcher)
	return ok && f.Prefetch()
}

// pageRequest is the request of page number page: base with pg's
// parameters.
func pageRequest(s *Stream, base rest.Request, pg rest.Paging, page int) rest.Request {
	req := base
	req.Query = cloneValues(base.Query)
	pg.Apply(&req)
	req.Label = fmt.Sprintf("stream %s page %d", s.Name, page)
	return req
}

// nextRequests returns the requests of up to n pages after page, the
// current one, whose successor pg is now at: that page's, and the ones
// after it that pg can tell (a rest.Ahead paging).
func nextRequests(s *Stream, base rest.Request, pg rest.Paging, page, n int) []rest.Request {
	out := []rest.Request{pageRequest(s, base, pg, page+1)}
	if a, ok := pg.(rest.Ahead); ok && n > 1 {
		for i, req := range a.Ahead(base, n-1) {
			req.Label = fmt.Sprintf("stream %s page %d", s.Name, page+2+i)
			out = append(out, req)
		}
	}
	return out
}

// fetch returns page req decoded: the one ah fetched ahead, if it did,
// or else fetched now. A page fetched ahead that does not decode is
// fetched again, so that a malformed body is retried and an error reads
// as it would have.
func (r *streamReader) fetch(ctx context.Context, ah *ahead, dec *records.Decoder, req rest.Request) (*records.Page, *url.URL, error) {
	if ah != nil {
		body, u, err, ok := ah.take(req)
		if ok && err != nil {
			return nil, nil, err
		}
		if ok {
			// The decoder keeps nothing of a body: its buffer can take
			// a later page, decoded or not.
			p, err := dec.Decode(body)
			r.c.ReuseBody(body)
			if err == nil {
				return p, u, nil
			}
		}
	}
	var p *records.Page
	var pageURL *url.URL
	var body []byte
	err := r.c.Do(ctx, req, func(resp *rest.Response) error {
		var err error
		p, err = dec.Decode(resp.Body)
		pageURL, body = resp.URL, resp.Body
		return err
	})
	if err == nil {
		r.c.ReuseBody(body)
	}
	return p, pageURL, err
}

// isNotFound reports whether err is an HTTP 404.
func isNotFound(err error) bool {
	var se *rest.StatusError
	return errors.As(err, &se) && se.StatusCode == http.StatusNotFound
}

// lookback sets a lookback stream's window filter in base from state and
// returns the state the read goes on from. A state the watermark cannot
// read (one saved before the stream had this cursor, say) is dropped with
// a warning: the read starts over, which reads records again but never
// skips one.
func (r *streamReader) lookback(base *rest.Request, state json.RawMessage, log *slog.Logger) json.RawMessage {
	lb := r.s.Lookback
	if lb == nil {
		return state
	}
	now := time.Now
	if r.opts.Now != nil {
		now = r.opts.Now
	}
	since, ok, err := lb.Since(state, now(), r.req.Lookback)
	if err != nil {
		log.Warn("the saved state is not this stream's lookback mark; reading the stream from the start", "error", err)
		return nil
	}
	if !ok {
		return state
	}
	if since.Before(r.s.LookbackFloor) {
		since = r.s.LookbackFloor
	}
	if base.Query == nil {
		base.Query = url.Values{}
	}
	lb.SetSince(base.Query, since)
	log.Info("reading again from the lookback window", "since", since.Format(time.RFC3339))
	return state
}

// finish sends the stream's Finish checkpoint, if it has one.
func (r *streamReader) finish(ctx context.Context, state json.RawMessage) error {
	if r.s.Finish == nil {
		return nil
	}
	next, err := r.s.Finish(state)
	if err != nil {
		return fmt.Errorf("stream %s: finish: %w", r.s.Name, err)
	}
	if next == nil {
		return nil
	}
	if err := r.w.Checkpoint(ctx, r.s.Name, next); err != nil {
		return &writerError{err}
	}
	return nil
}

// emit sends a page's records (those Select picks) and the checkpoint
// after them; it returns how many records it sent.
func (r *streamReader) emit(ctx context.Context, p *records.Page, state *json.RawMessage) (int64, error) {
	rec := p.Record
	if r.s.Select != nil {
		var err error
		if rec, err = r.s.Select(p); err != nil {
			return 0, fmt.Errorf("stream %s: %w", r.s.Name, err)
		}
		defer rec.Release()
	}
	if left := r.limit - r.progress.Records; r.limit > 0 && rec.NumRows() > left {
		// A sample takes the records it asked for, no more.
		rec = rec.NewSlice(0, max(left, 0))
		defer rec.Release()
	}
	written := rec.NumRows()
	if written > 0 {
		if err := r.w.WriteBatch(ctx, r.s.Name, rec); err != nil {
			return 0, &writerError{err}
		}
	}
	if r.s.Checkpoint == nil {
		return written, nil
	}
	next, err := r.s.Checkpoint(*state, p)
	if err != nil {
		return written, fmt.Errorf("stream %s: checkpoint: %w", r.s.Name, err)
	}
	if next == nil {
		return written, nil
	}
	*state = next
	if err := r.w.Checkpoint(ctx, r.s.Name, next); err != nil {
		return written, &writerError{err}
	}
	return written, nil
}

// report sends progress when due, or always when final.
func (r *streamReader) report(ctx context.Context, final bool) {
	now := time.Now()
	if !final && r.progress.Pages > 1 && now.Sub(r.lastProgress) < r.opts.ProgressEvery {
		return
	}
	r.lastProgress = now
	r.progress.Elapsed = now.Sub(r.started)
	r.progress.Retries = r.retries.Counts()
	r.progress.Concurrency = max(1, r.concurrency)
	r.progress.RateLimitWait = r.retries.Waited()
	r.progress.Drift = r.drift.Snapshot()
	// Progress is advisory: a failure to send it shows up on the next
	// batch or status, which are not.
	_ = r.w.Progress(ctx, r.s.Name, r.progress)
}

func cloneValues(v map[string][]string) map[string][]string {
	if v == nil {
		return map[string][]string{}
	}
	return maps.Clone(v)
}
