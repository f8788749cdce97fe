package host

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

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
	// WrapFiles, when set, wraps the operations that publish and remove
	// committed part files (sink.OS on a local destination, uploads and
	// deletes on an object store); tests inject faults here.
	WrapFiles func(sink.Files) sink.Files
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
		// The rule of quiver compact: compaction needs a local destination
		// and local state.
		if err := opts.Config.CheckLocal(); err != nil {
			return nil, fmt.Errorf("--compact: %w", err)
		}
	}
	if err := opts.checkStreamNames(); err != nil {
		return nil, err
	}
	dest, closeDest, err := openDestination(ctx, opts.Config.Destination.Path)
	if err != nil {
		return nil, opts.Config.errorf("destination.path", "%v", err)
	}
	defer func() {
		if err := closeDest(); err != nil {
			opts.Logger.Warn("close the destination", "error", err)
		}
	}()
	files := sink.Files(sink.OS{})
	if dest.remote() {
		files = objectFiles{dest}
	}
	if opts.WrapFiles != nil {
		files = opts.WrapFiles(files)
	}
	store, err := state.OpenLocation(ctx, opts.Config.State)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	defer store.Close()
	opts.Plugins.Allocator = opts.Allocator
	var runs []*sourceRun
	for i := range opts.Config.Sources {
		s := &sourceRun{opts: &opts, idx: i, cfg: &opts.Config.Sources[i], store: store, dest: dest, files: files, format: format}
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
	if merr := writeManifest(dest, res); merr != nil {
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

// NewRunID returns a run id that sorts by time: 20261123T101500.042Z-1a2b3c.
func NewRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	// Milliseconds, so that two runs in one second still sort in order.
	return now.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}
