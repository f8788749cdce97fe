package host

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/host/state"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// DefaultFileBytes is the size at which a stream's output file is closed and
// a new one started: large enough for few files per stream, small enough that
// a crash re-fetches little and one file stays easy to move around.
const DefaultFileBytes = 256 << 20

// SyncOptions configure one run of `quiver sync`.
type SyncOptions struct {
	Config      *Config
	Plugins     Plugins
	Logger      *slog.Logger     // nil discards
	Streams     []string         // only these streams ("stream" or "source.stream"); empty: as configured
	FullRefresh bool             // ignore saved state and replace each stream's files on success
	Observer    Observer         // progress; nil for none
	RunID       string           // default: a new time-ordered id
	Now         func() time.Time // default time.Now
	Allocator   memory.Allocator // default the Go allocator
	FileBytes   int64            // default DefaultFileBytes
	// AllowShrink accepts new snapshots that the shrink guard would refuse
	// (see SourceConfig.MinSnapshotRatio).
	AllowShrink bool
	// Compact compacts each stream of a source after the source synced
	// without errors (see Compact); the format must be parquet or arrow.
	Compact bool
	// Files publishes and removes committed part files; default sink.OS.
	// Tests inject faults here.
	Files sink.Files
	// Shard selects the sources this process runs when several split the
	// config (see Shard); the zero value runs every source.
	Shard Shard
	// Parallel is how many sources run at once, each with its own plugin
	// process and lock; 0 or 1 runs them one after another.
	Parallel int
	// TakeOverState lets each source take over state recorded for another
	// account instead of refusing it. Only `quiver demo` sets it: its
	// simulators listen on new loopback ports every run, so the account
	// fingerprint (which includes base URLs) changes while the data does not.
	TakeOverState bool
}

// An Observer follows a run's progress. Its methods must return quickly;
// with SyncOptions.Parallel above 1 they are called from several
// goroutines at once, one per running source.
type Observer interface {
	// StreamStarted is called when a stream starts reading.
	StreamStarted(source, stream string)
	// StreamProgress is called for every progress report of a stream.
	StreamProgress(source, stream string, p protocol.Progress)
	// StreamDone is called once per stream with its final result.
	StreamDone(source, stream string, r *StreamResult)
}

// Result is the outcome of a run, as printed by the summary and --json.
type Result struct {
	RunID      string          `json:"run_id"`
	Status     string          `json:"status"` // ok, partial, failed or interrupted
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at"`
	Sources    []*SourceResult `json:"sources"`
}

// SourceResult is the outcome of one source.
type SourceResult struct {
	Name      string          `json:"name"`
	Connector string          `json:"connector"`
	Status    string          `json:"status"`
	Error     string          `json:"error,omitempty"`
	Streams   []*StreamResult `json:"streams"`
}

// StreamResult is the outcome of one stream.
type StreamResult struct {
	Name    string `json:"name"`
	Mode    string `json:"mode"`
	Status  string `json:"status"`  // complete, incomplete, failed, suspicious
	Records int64  `json:"records"` // committed: in published files covered by the saved state
	// Uncommitted counts the records read but not committed (after the last
	// checkpoint, in a full refresh that did not complete, or lost to a
	// failed write or state save); the next run reads them again.
	Uncommitted int64            `json:"uncommitted,omitempty"`
	Files       []string         `json:"files"`
	Bytes       int64            `json:"bytes"`
	Seconds     float64          `json:"seconds"`
	Retries     map[string]int64 `json:"retries,omitempty"`
	StateBefore json.RawMessage  `json:"state_before,omitempty"`
	StateAfter  json.RawMessage  `json:"state_after,omitempty"`
	Error       string           `json:"error,omitempty"`
	// Suspicious is set when the shrink guard refused the stream's new
	// snapshot (Status "suspicious"): the current snapshot is kept.
	Suspicious *Suspicious `json:"suspicious,omitempty"`
	// Compaction is what `quiver sync --compact` did to the stream's files.
	Compaction *Compaction `json:"compaction,omitempty"`
	// SchemaChanged says the stream's schema differs from the one its
	// earlier files were written with; those files are left as they are.
	SchemaChanged bool `json:"schema_changed,omitempty"`
	// Drift is what the stream's records held that its schema could not
	// take: rescued into the _quiver_rescued column, per key; absent when
	// there was none.
	Drift *Drift `json:"drift,omitempty"`

	started time.Time
	read    int64 // records received from the plugin
	err     error // the failure behind Error, with its class
}

// Suspicious describes a new snapshot the shrink guard refused (see
// SourceConfig.MinSnapshotRatio).
type Suspicious struct {
	Records          int64   `json:"records"`            // in the new snapshot, which was dropped
	SnapshotRecords  int64   `json:"snapshot_records"`   // in the current snapshot, which is kept
	MinSnapshotRatio float64 `json:"min_snapshot_ratio"` // the source's setting
}

// Sync runs every configured source once. It returns the result, which is
// complete even when err is not nil; err wraps the class of the worst
// failure (protocol.ErrConfig, ErrAuth, ErrTemporary, ErrCanceled) or is a
// *PartialError when some streams succeeded and others did not.
func Sync(ctx context.Context, opts SyncOptions) (*Result, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Logger = dedupeLogger(opts.Logger)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Allocator == nil {
		opts.Allocator = memory.NewGoAllocator()
	}
	if opts.FileBytes <= 0 {
		opts.FileBytes = DefaultFileBytes
	}
	if opts.Files == nil {
		opts.Files = sink.OS{}
	}
	if opts.RunID == "" {
		opts.RunID = NewRunID(opts.Now())
	}
	format, err := sink.ParseFormat(opts.Config.Destination.Format)
	if err != nil {
		return nil, opts.Config.errorf("destination.format", "%v", err)
	}
	if opts.Compact {
		if _, err := compactFormat(opts.Config, "--compact"); err != nil {
			return nil, err
		}
	}
	if err := opts.Config.CheckLocal(); err != nil {
		return nil, err
	}
	if err := opts.checkStreamNames(); err != nil {
		return nil, err
	}
	store, err := state.Open(opts.Config.State)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	opts.Plugins.Allocator = opts.Allocator
	var runs []*sourceRun
	for i := range opts.Config.Sources {
		s := &sourceRun{opts: &opts, idx: i, cfg: &opts.Config.Sources[i], store: store, format: format}
		if !opts.wantsSource(s.cfg.Name) {
			continue
		}
		s.log = opts.Logger.With("source", s.cfg.Name, "run_id", opts.RunID)
		runs = append(runs, s)
	}
	// Every source's lock is taken before anything is read, so that a second
	// run refuses at once rather than racing the first one source by source.
	release, err := lockSources(store, runs)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := release(); err != nil {
			opts.Logger.Warn("release state lock", "error", err)
		}
	}()
	if err := checkSelection(ctx, &opts, runs); err != nil {
		return nil, err
	}
	res := &Result{RunID: opts.RunID, StartedAt: opts.Now(), Sources: []*SourceResult{}}
	errs := runSources(ctx, runs, max(opts.Parallel, 1))
	for _, s := range runs {
		if s.res != nil {
			res.Sources = append(res.Sources, s.res)
		}
	}
	res.FinishedAt = opts.Now()
	res.Status, err = outcome(ctx, res, errs)
	if merr := writeManifest(opts.Config.Destination.Path, res); merr != nil {
		err = errors.Join(err, merr)
	}
	return res, err
}

// runSources runs up to parallel sources at once, in config order, and
// returns their failures in that order. Once ctx is done no further source
// starts; a source that did not start keeps a nil res.
func runSources(ctx context.Context, runs []*sourceRun, parallel int) []error {
	errs := make([]error, len(runs))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, s := range runs {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			break
		}
		s.res = &SourceResult{Name: s.cfg.Name, Connector: s.cfg.Connector, Streams: []*StreamResult{}}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = s.runAndRecord(ctx)
		}()
	}
	wg.Wait()
	return slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

// runAndRecord runs the source and sets its status; it returns the
// source's failure, if any.
func (s *sourceRun) runAndRecord(ctx context.Context) error {
	err := s.run(ctx)
	if err == nil && s.opts.Compact && ctx.Err() == nil {
		err = s.compact(ctx)
	}
	switch {
	case err != nil && ctx.Err() != nil && isCancel(err):
		s.res.Status = "interrupted" // not a failure of the source: the run was stopped
	case err != nil:
		s.res.Status = "failed"
		s.res.Error = err.Error()
		return fmt.Errorf("source %s: %w", s.cfg.Name, err)
	case s.res.Status == "":
		s.res.Status = "ok"
	}
	return nil
}

// checkStreamNames rejects --streams entries that are empty or name no
// configured source.
func (o *SyncOptions) checkStreamNames() error {
	for _, s := range o.Streams {
		src, name, ok := strings.Cut(s, ".")
		if s == "" || (ok && name == "") {
			return fmt.Errorf("--streams %q: want NAME or SOURCE.NAME, comma separated: %w", strings.Join(o.Streams, ","), protocol.ErrConfig)
		}
		if !ok {
			continue
		}
		if !slices.ContainsFunc(o.Config.Sources, func(c SourceConfig) bool { return c.Name == src }) {
			return fmt.Errorf("--streams %s: no source named %q in %s: %w", s, src, o.Config.File(), protocol.ErrConfig)
		}
	}
	return nil
}

// checkSelection makes sure every --streams entry names a stream: it
// discovers the catalog of each source --streams concerns (kept for its
// run) and rejects an entry no catalog has, listing the streams there are,
// before anything is read. A source whose discovery fails is left to fail
// in its run; its streams cannot be listed, so entries it might hold pass.
func checkSelection(ctx context.Context, opts *SyncOptions, runs []*sourceRun) error {
	if len(opts.Streams) == 0 {
		return nil
	}
	found := map[string]bool{}
	var all []string
	complete := true
	for _, s := range runs {
		plugins := opts.Plugins
		plugins.Logger = s.log
		err := withPlugin(ctx, opts.Config, s.idx, plugins, func(client *protocol.Client, config []byte) error {
			cat, err := discover(ctx, client, s.cfg.Connector, config)
			s.cat = cat
			return err
		})
		if err != nil {
			s.cat = nil
			complete = false
			continue
		}
		for _, cs := range s.cat.Streams {
			found[cs.Name] = true
			found[s.cfg.Name+"."+cs.Name] = true
			all = append(all, s.cfg.Name+"."+cs.Name)
		}
	}
	for _, n := range opts.Streams {
		src, _, qualified := strings.Cut(n, ".")
		known := found[n]
		if !known && !complete {
			// The source that failed may hold it, unless n names another.
			known = !qualified || !slices.ContainsFunc(runs, func(s *sourceRun) bool { return s.cfg.Name == src && s.cat != nil })
		}
		if !known && opts.Shard.Count > 1 {
			// A source of another shard may hold it.
			known = !qualified || !slices.ContainsFunc(runs, func(s *sourceRun) bool { return s.cfg.Name == src })
		}
		if !known {
			return fmt.Errorf("--streams %s: no such stream; the streams are: %s: %w", n, strings.Join(all, ", "), protocol.ErrConfig)
		}
	}
	return nil
}

// discover asks a started plugin for its catalog and checks it: every
// stream name must be fit to name a folder, and appear once.
func discover(ctx context.Context, client *protocol.Client, connector string, config []byte) (*protocol.Catalog, error) {
	cat, err := client.Discover(ctx, config)
	if err != nil {
		return nil, fmt.Errorf("discover: %w", err)
	}
	seen := map[string]bool{}
	for _, cs := range cat.Streams {
		if err := checkName(cs.Name); err != nil {
			return nil, fmt.Errorf("plugin %s is broken: its catalog names a stream %q, which %v", BinaryName(connector), cs.Name, err)
		}
		if seen[cs.Name] {
			return nil, fmt.Errorf("plugin %s is broken: its catalog lists the stream %q twice", BinaryName(connector), cs.Name)
		}
		seen[cs.Name] = true
	}
	return cat, nil
}

// wantsSource reports whether source is in the run's shard and --streams
// leaves anything to read in it: it does unless every entry names another
// source (SOURCE.STREAM).
func (o *SyncOptions) wantsSource(source string) bool {
	if !o.Shard.Has(source) {
		return false
	}
	if len(o.Streams) == 0 {
		return true
	}
	for _, s := range o.Streams {
		src, _, ok := strings.Cut(s, ".")
		if !ok || src == source {
			return true
		}
	}
	return false
}

// lockSources takes the state lock of every source, or none: a source
// locked by another run gives an error wrapping protocol.ErrTemporary (exit
// code 75: a scheduler retries later) and the *state.LockedError.
func lockSources(store *state.Store, runs []*sourceRun) (release func() error, err error) {
	var releases []func() error
	release = func() error {
		var errs []error
		for _, r := range releases {
			errs = append(errs, r())
		}
		return errors.Join(errs...)
	}
	for _, s := range runs {
		r, err := lockSource(store, s.cfg.Name)
		if err != nil {
			_ = release()
			return nil, err
		}
		releases = append(releases, r)
	}
	return release, nil
}

// lockSource takes the state lock of a source, the lock every run that
// writes the source's files or state holds (sync, compact): a source
// locked by another run gives an error wrapping protocol.ErrTemporary and
// the *state.LockedError.
func lockSource(store *state.Store, source string) (release func() error, err error) {
	release, err = store.Lock(source)
	var le *state.LockedError
	if errors.As(err, &le) {
		return nil, fmt.Errorf("%w; this run refuses to start: try again when that one has finished: %w", err, protocol.ErrTemporary)
	}
	return release, err
}

// isCancel reports whether err is only the cancellation of the run: every
// error it joins is a cancellation, so that a real failure that happened
// while the run stopped (a commit that could not be written) still counts.
func isCancel(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !isCancel(e) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, protocol.ErrCanceled)
}

// PartialError says some streams failed while others were written.
type PartialError struct{ Err error }

// Error describes the failures.
func (e *PartialError) Error() string { return "partial sync: " + e.Err.Error() }

// Unwrap returns the underlying failures.
func (e *PartialError) Unwrap() error { return e.Err }

// outcome decides the run status and the error that carries its class.
func outcome(ctx context.Context, res *Result, errs []error) (string, error) {
	var failed, written, suspicious int
	for _, s := range res.Sources {
		for _, st := range s.Streams {
			switch {
			case st.Status == "suspicious":
				suspicious++
				errs = append(errs, fmt.Errorf("source %s stream %s: %w", s.Name, st.Name, st.err))
			case st.Status == "failed":
				failed++
				if st.err != nil && !strings.Contains(s.Error, st.Error) {
					errs = append(errs, fmt.Errorf("source %s stream %s: %w", s.Name, st.Name, st.err))
				}
			case st.Records > 0 || st.Status == "complete":
				written++
			}
		}
	}
	err := errors.Join(errs...)
	switch {
	case ctx.Err() != nil:
		return "interrupted", errors.Join(fmt.Errorf("interrupted: files and state are committed up to each stream's last checkpoint, and the next run goes on from there: %w", protocol.ErrCanceled), err)
	case err == nil && failed == 0:
		return "ok", nil
	case errors.Is(err, protocol.ErrConfig) || errors.Is(err, protocol.ErrAuth) || errors.Is(err, protocol.ErrTemporary):
		if written > 0 {
			return "partial", err
		}
		return "failed", err
	case written > 0 || suspicious > 0:
		// A refused snapshot is not a failure: the stream keeps its data,
		// but someone should look (exit code 3).
		return "partial", &PartialError{Err: err}
	}
	return "failed", err
}

// schemaID identifies a schema by a short hash of its text form, which
// covers names, types, nullability and metadata.
func schemaID(s *arrow.Schema) string {
	sum := sha256.Sum256([]byte(s.String()))
	return hex.EncodeToString(sum[:8])
}

// NewRunID returns a run id that sorts by time: 20261123T101500.042Z-1a2b3c.
func NewRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	// Milliseconds, so that two runs in one second still sort in order.
	return now.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}

// sourceRun is the run of one source.
type sourceRun struct {
	opts   *SyncOptions
	idx    int
	cfg    *SourceConfig
	store  *state.Store
	format sink.Format
	log    *slog.Logger
	res    *SourceResult
	st     *state.Source
	cat    *protocol.Catalog // discovered before the run (see checkSelection), or nil
	// create starts a part file; nil means sink.Create. Tests put slow or
	// failing parts here.
	create func(dir, name string, schema *arrow.Schema, opts sink.Options) (sink.Part, error)
}

// run syncs the source; the caller holds its lock.
func (s *sourceRun) run(ctx context.Context) error {
	var err error
	if s.st, err = s.store.Load(s.cfg.Name); err != nil {
		return err
	}
	if err := s.checkOwner(); err != nil {
		return err
	}
	if err := s.recover(); err != nil {
		return err
	}
	// The plugin's log lines carry the source and run id, and (from the
	// plugin) the stream.
	plugins := s.opts.Plugins
	plugins.Logger = s.log
	return withPlugin(ctx, s.opts.Config, s.idx, plugins, func(client *protocol.Client, config []byte) error {
		return s.sync(ctx, client, config)
	})
}

// compact compacts the streams the run completed; the caller holds the
// source's lock. The new files are named by a run id of their own, later
// than the sync's.
func (s *sourceRun) compact(ctx context.Context) error {
	c := &compactor{
		runID: NewRunID(s.opts.Now()), format: s.format, allocator: s.opts.Allocator, fileBytes: s.opts.FileBytes,
		files: s.opts.Files, store: s.store, log: s.log,
	}
	c.defaults()
	var errs []error
	for _, st := range s.res.Streams {
		if st.Status != "complete" {
			continue
		}
		dir := filepath.Join(s.opts.Config.Destination.Path, s.cfg.Name, st.Name)
		cp, err := c.stream(ctx, s.st, s.cfg, dir, st.Name, s.log.With("stream", st.Name))
		st.Compaction = cp
		if err != nil {
			cp.Status, cp.Error = "failed", err.Error()
			errs = append(errs, fmt.Errorf("compact stream %s: %w", st.Name, err))
		}
	}
	return errors.Join(errs...)
}

// sync reads the selected streams of a started plugin.
func (s *sourceRun) sync(ctx context.Context, client *protocol.Client, config []byte) error {
	cat := s.cat
	if cat == nil {
		var err error
		if cat, err = discover(ctx, client, s.cfg.Connector, config); err != nil {
			return err
		}
	}
	selected, err := s.selectStreams(cat)
	if err != nil {
		return err
	}
	if len(selected) == 0 {
		s.log.Info("no streams selected")
		return nil
	}
	streams := map[string]*streamRun{}
	req := &protocol.ReadRequest{Config: config, Contract: s.cfg.Contract()}
	for _, cs := range selected {
		sr, err := s.newStream(cs)
		if err != nil {
			return err
		}
		streams[cs.Name] = sr
		// A full refresh is a fresh start: the plugin gets no state.
		sreq := protocol.StreamRequest{Name: cs.Name, Mode: sr.mode, State: sr.state}
		if cs.Updates == protocol.Lookback {
			sreq.Lookback = s.opts.Config.Lookback(s.idx, cs.Name)
		}
		req.Streams = append(req.Streams, sreq)
	}
	for _, cs := range selected {
		s.res.Streams = append(s.res.Streams, streams[cs.Name].res)
	}
	// Receiving, decoding and stamping batches stay on this goroutine;
	// encoding and committing them go to the writer's, so that both run
	// at once.
	w := startWriter()
	for _, sr := range streams {
		sr.w = w
	}
	readErr := s.read(ctx, client, req, streams)
	if werr := w.stop(); werr != nil && !errors.Is(readErr, werr) {
		readErr = errors.Join(readErr, werr)
	}
	// Whatever happened, commit what is checkpointed and close every stream.
	var errs []error
	if readErr != nil {
		errs = append(errs, readErr)
	}
	for _, cs := range selected {
		sr := streams[cs.Name]
		if sr.res.Status == "" {
			sr.res.Status = "incomplete"
			if readErr != nil && ctx.Err() == nil {
				sr.res.Status = "failed"
				sr.res.Error = readErr.Error()
				sr.res.err = readErr
			}
		}
		if err := sr.finish(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// read consumes the plugin's read stream.
func (s *sourceRun) read(ctx context.Context, client *protocol.Client, req *protocol.ReadRequest, streams map[string]*streamRun) error {
	rs, err := client.Read(ctx, req)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var err error
		switch m := rs.Message().(type) {
		case *protocol.Batch:
			err = s.stream(streams, m.Stream).batch(m.Record)
		case *protocol.Checkpoint:
			err = s.stream(streams, m.Stream).checkpoint(m.State)
		case *protocol.StreamStatus:
			err = s.stream(streams, m.Stream).status(m.Status)
		case *protocol.StreamProgress:
			// Progress is advisory: that of a stream not requested is
			// dropped (its batches fail the read).
			sr := s.stream(streams, m.Stream)
			if sr.unknown == "" {
				sr.res.Retries = m.Progress.Retries
				sr.noteDrift(m.Progress.Drift)
				if o := s.opts.Observer; o != nil {
					o.StreamProgress(s.cfg.Name, m.Stream, m.Progress)
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return rs.Err()
}

// stream returns the run of a stream named in a message; the plugin is not
// trusted to name only requested streams, and nothing is built from a name
// that is not one of them.
func (s *sourceRun) stream(streams map[string]*streamRun, name string) *streamRun {
	if sr, ok := streams[name]; ok {
		return sr
	}
	return &streamRun{unknown: name}
}

// selectStreams picks the catalog streams to read, in catalog order.
func (s *sourceRun) selectStreams(cat *protocol.Catalog) ([]protocol.Stream, error) {
	var want []string
	for _, sc := range s.cfg.Streams {
		want = append(want, sc.Name)
	}
	if len(s.opts.Streams) > 0 {
		want = nil
		for _, n := range s.opts.Streams {
			src, name, ok := strings.Cut(n, ".")
			switch {
			case !ok:
				want = append(want, n)
			case src == s.cfg.Name:
				want = append(want, name)
			}
		}
		if want == nil {
			return nil, nil
		}
	}
	var names []string
	byName := map[string]protocol.Stream{}
	for _, cs := range cat.Streams {
		names = append(names, cs.Name)
		byName[cs.Name] = cs
	}
	for j, sc := range s.cfg.Streams {
		if cs, ok := byName[sc.Name]; ok && sc.Lookback != "" && cs.Updates != protocol.Lookback {
			return nil, s.opts.Config.errorf(fmt.Sprintf("sources[%d].streams[%d].lookback", s.idx, j),
				"stream %s is not read with a lookback window (its updates are %q), so lookback does not apply", sc.Name, cmp.Or(string(cs.Updates), "not declared"))
		}
	}
	if len(want) == 0 {
		return cat.Streams, nil
	}
	var out []protocol.Stream
	picked := map[string]bool{}
	for _, n := range want {
		if picked[n] {
			continue // listed twice, or as NAME and SOURCE.NAME: read once
		}
		picked[n] = true
		cs, ok := byName[n]
		if !ok {
			if len(s.opts.Streams) > 0 {
				continue // --streams may name streams of other sources
			}
			return nil, s.opts.Config.errorf(fmt.Sprintf("sources[%d].streams", s.idx),
				"connector %s has no stream %q; it has: %s", s.cfg.Connector, n, strings.Join(names, ", "))
		}
		out = append(out, cs)
	}
	return out, nil
}

// recover finishes the commit a crashed run left half done: pending files
// are published (the state that covers them is already saved), the files
// they replace are removed, and other leftover temporary files are removed.
func (s *sourceRun) recover() error {
	return recoverSource(s.store, s.opts.Files, s.st, filepath.Join(s.opts.Config.Destination.Path, s.cfg.Name), s.log)
}

// newStream prepares the run of a catalog stream.
func (s *sourceRun) newStream(cs protocol.Stream) (*streamRun, error) {
	mode := protocol.FullRefresh
	if slices.Contains(cs.SyncModes, protocol.Incremental) && !s.opts.FullRefresh {
		mode = protocol.Incremental
	}
	setting, field := s.partitionSetting()
	parts, err := newPartitioner(setting, cs.Schema)
	if err != nil {
		return nil, s.opts.Config.errorf(field, "stream %s: %v", cs.Name, err)
	}
	sr := &streamRun{
		src:        s,
		name:       cs.Name,
		mode:       mode,
		schema:     cs.Schema,
		primaryKey: cs.PrimaryKey,
		dir:        filepath.Join(s.opts.Config.Destination.Path, s.cfg.Name, cs.Name),
		log:        s.log.With("stream", cs.Name),
		res:        &StreamResult{Name: cs.Name, Mode: string(mode), Files: []string{}, started: s.opts.Now()},
		splits:     parts,
		parts:      map[string]sink.Part{},
	}
	prev := s.st.Streams[cs.Name]
	if prev != nil {
		// A full refresh starts from nothing, but the summary still shows
		// the state it replaces.
		sr.res.StateBefore = prev.State
		if mode == protocol.Incremental {
			sr.state = prev.State
		}
	}
	if prev != nil && prev.Schema != "" && prev.Schema != schemaID(cs.Schema) {
		sr.res.SchemaChanged = true
		sr.log.Warn("the stream's schema changed since the last run; new files have the new schema, earlier files are unchanged",
			"schema", cs.Schema.String())
	}
	return sr, nil
}

// partitionSetting returns the source's partition setting and the config
// field it comes from.
func (s *sourceRun) partitionSetting() (setting, field string) {
	if s.cfg.Partition != "" {
		return s.cfg.Partition, fmt.Sprintf("sources[%d].partition", s.idx)
	}
	return s.opts.Config.Destination.Partition, "destination.partition"
}

// maxOpenParts bounds the partition files a stream keeps open at once:
// each open Parquet file buffers a row group in memory, so a stream whose
// rows span many days commits at its next checkpoint once it has this many.
const maxOpenParts = 32

// streamRun is the run of one stream. Batches wait in tail until a
// checkpoint covers them; only covered batches go into the open parts (one
// per partition folder), so the parts can always be committed together
// with the latest checkpoint.
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

	tail     []piece              // lineage-stamped batches after the last checkpoint, split by partition
	parts    map[string]sink.Part // open output files by partition folder ("" when not partitioned)
	seq      int                  // parts started
	finished []sink.File          // full refresh: parts waiting for the stream to complete
	state    json.RawMessage      // latest checkpoint, covering everything in parts
	done     bool
	warned   map[string]bool // drifted columns and keys logged in this run
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
	r.res.read += rec.NumRows()
	// A full refresh publishes nothing before it completes, so its batches
	// need not wait in memory for a checkpoint: writing them now bounds the
	// host's memory however rarely the connector checkpoints.
	if r.mode == protocol.FullRefresh {
		pieces := r.takeTail()
		return r.w.enqueue(writeJob{pieces: pieces, do: func() error {
			if err := r.write(pieces); err != nil {
				return err
			}
			return r.roll()
		}})
	}
	return nil
}

// takeTail returns the batches waiting in the tail and empties it.
func (r *streamRun) takeTail() []piece {
	pieces := r.tail
	r.tail = nil
	return pieces
}

// roll commits the open parts once they are large enough or too many;
// it runs on the writer goroutine.
func (r *streamRun) roll() error {
	if r.openBytes() >= r.src.opts.FileBytes || len(r.parts) >= maxOpenParts {
		return r.commit()
	}
	return nil
}

func (r *streamRun) checkpoint(st json.RawMessage) error {
	if r.unknown != "" {
		return fmt.Errorf("plugin sent a checkpoint for stream %q, which was not requested", r.unknown)
	}
	st = append(json.RawMessage(nil), st...)
	pieces := r.takeTail()
	// The checkpoint covers the batches before it: the writer writes them
	// before it takes the state, so a commit never gets ahead of its data.
	return r.w.enqueue(writeJob{pieces: pieces, do: func() error {
		if err := r.write(pieces); err != nil {
			return err
		}
		r.state = st
		return r.roll()
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
		if len(r.tail) > 0 && r.mode == protocol.Incremental {
			r.log.Warn("connector sent batches after its last checkpoint; the next incremental run may fetch them again")
		}
		pieces := r.takeTail()
		return r.w.enqueue(writeJob{pieces: pieces, do: func() error {
			if err := r.write(pieces); err != nil {
				return err
			}
			r.res.Status = "complete"
			r.res.Seconds = r.src.opts.Now().Sub(r.res.started).Seconds()
			return nil
		}})
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
// writer goroutine, which releases the pieces.
func (r *streamRun) write(pieces []piece) error {
	for _, pc := range pieces {
		p, err := r.part(pc.dir)
		if err != nil {
			return err
		}
		if err := p.Write(pc.rec); err != nil {
			return fmt.Errorf("stream %s: write %s: %w", r.name, filepath.Join(r.dir, pc.dir), err)
		}
	}
	return nil
}

// part returns the open part of a partition folder, starting one if needed.
func (r *streamRun) part(dir string) (sink.Part, error) {
	if p, ok := r.parts[dir]; ok {
		return p, nil
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
	// Row groups of at most a quarter of --max-file-size, so that a file
	// rolled by size ends within a row group of it.
	create := r.src.create
	if create == nil {
		create = sink.Create
	}
	p, err := create(filepath.Join(r.dir, dir), name, sink.LineageSchema(r.schema), sink.Options{
		Format: r.src.format, Allocator: opts.Allocator, Metadata: meta,
		RowGroupBytes: min(sink.DefaultRowGroupBytes, max(1, opts.FileBytes/4)),
	})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", r.name, err)
	}
	r.parts[dir] = p
	return p, nil
}

// commit makes the open parts durable. For an incremental stream they are
// published with the state that covers them; for a full refresh they wait,
// as finished temporary files, until the stream completes.
func (r *streamRun) commit() error {
	if len(r.parts) == 0 {
		return nil
	}
	var errs []error
	for _, dir := range slices.Sorted(maps.Keys(r.parts)) {
		p := r.parts[dir]
		delete(r.parts, dir)
		if len(errs) > 0 || p.Rows() == 0 {
			errs = append(errs, p.Abort())
			continue
		}
		f, err := p.Finish()
		if err != nil {
			_ = p.Abort()
			errs = append(errs, fmt.Errorf("stream %s: finish file: %w", r.name, err))
			continue
		}
		r.finished = append(r.finished, *f)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if r.mode == protocol.FullRefresh {
		return nil
	}
	return r.publish(nil)
}

// abort drops the open parts.
func (r *streamRun) abort() error {
	var errs []error
	for dir, p := range r.parts {
		errs = append(errs, p.Abort())
		delete(r.parts, dir)
	}
	return errors.Join(errs...)
}

// publish commits the finished files with the state that covers them
// (see commitFiles); retire lists the published files they replace.
func (r *streamRun) publish(retire []string) error {
	s := r.src
	if s.st.Streams == nil {
		s.st.Streams = map[string]*state.Stream{}
	}
	s.st.Streams[r.name] = &state.Stream{
		State: r.state, Mode: string(r.mode), RunID: s.opts.RunID, UpdatedAt: s.opts.Now(), Schema: schemaID(r.schema),
		PrimaryKey: r.primaryKey,
	}
	retire, err := absPaths(retire)
	if err != nil {
		return fmt.Errorf("stream %s: %w", r.name, err)
	}
	files := r.finished
	r.finished = nil
	committed, err := commitFiles(s.store, s.opts.Files, s.st, files, retire)
	if committed {
		// A failed publish or removal is finished by the next run.
		for _, f := range files {
			r.res.Records += f.Rows
			r.res.Files = append(r.res.Files, f.Final)
			r.res.Bytes += f.Bytes
		}
		r.res.StateAfter = r.state
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", r.name, err)
	}
	if len(retire) > 0 {
		removeEmptyPartitions(r.dir)
	}
	return nil
}

// shrinkGuard refuses a new snapshot with no records, or with fewer than
// the source's min_snapshot_ratio of the records of current (the files it
// would replace), unless --allow-shrink: it drops the new files, keeps the
// current ones with their state, and marks the stream suspicious. It
// reports whether it refused.
func (r *streamRun) shrinkGuard(current []string) (refused bool, err error) {
	var have, next int64
	for _, path := range current {
		n, err := sink.CountRows(path)
		if err != nil {
			return false, fmt.Errorf("stream %s: count the current snapshot's records: %w", r.name, err)
		}
		have += n
	}
	for _, f := range r.finished {
		next += f.Rows
	}
	opts := r.src.opts
	ratio := opts.Config.MinSnapshotRatio(r.src.idx)
	if have == 0 || (next > 0 && float64(next) >= ratio*float64(have)) {
		return false, nil
	}
	if opts.AllowShrink {
		r.log.Warn("replacing the snapshot with a much smaller one, as --allow-shrink says", "records", next, "snapshot_records", have)
		return false, nil
	}
	var errs []error
	for _, f := range r.finished {
		if err := os.Remove(f.Temp); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	r.finished = nil
	r.res.Status = "suspicious"
	r.res.Suspicious = &Suspicious{Records: next, SnapshotRecords: have, MinSnapshotRatio: ratio}
	r.res.err = fmt.Errorf("suspicious: the new snapshot has %d records, the current one %d (min_snapshot_ratio %g); the current snapshot is kept: if the source really lost them, run quiver sync --allow-shrink", next, have, ratio)
	r.res.Error = r.res.err.Error()
	r.log.Warn("refused a new snapshot much smaller than the current one; the current snapshot is kept", "records", next, "snapshot_records", have, "min_snapshot_ratio", ratio)
	return true, errors.Join(errs...)
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
	for _, pc := range r.tail {
		pc.rec.Release()
	}
	dropped := len(r.tail) > 0
	r.tail = nil
	if dropped {
		r.log.Info("dropped batches after the last checkpoint; the next run fetches them again")
	}
	if r.mode == protocol.FullRefresh && r.res.Status != "complete" {
		errs := []error{r.abort()}
		for _, f := range r.finished {
			if err := os.Remove(f.Temp); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		r.finished = nil
		r.log.Warn("full refresh did not complete; the previous snapshot is kept")
		return errors.Join(errs...)
	}
	if err := r.commit(); err != nil {
		return err
	}
	if r.mode == protocol.FullRefresh {
		obsolete, err := partFiles(r.dir, "part-"+r.src.opts.RunID+"-")
		if err != nil {
			return fmt.Errorf("stream %s: %w", r.name, err)
		}
		if refused, err := r.shrinkGuard(obsolete); refused || err != nil {
			return err
		}
		return r.publish(obsolete)
	}
	if r.res.StateAfter == nil {
		r.res.StateAfter = r.state
	}
	return nil
}

// writeManifest records the run in <out>/_runs/<run>.json.
func writeManifest(out string, res *Result) error {
	dir := filepath.Join(out, "_runs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := sink.WriteFile(filepath.Join(dir, res.RunID+".json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}
