package host

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/host/state"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// sourceRun is the run of one source.
type sourceRun struct {
	opts   *SyncOptions
	idx    int
	cfg    *SourceConfig
	store  *state.Store
	dest   *destination
	files  sink.Files // publishes and removes committed part files in dest
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
	if s.dest.remote() {
		if err := s.recordRun(); err != nil {
			return err
		}
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
		files: s.files, store: s.store, log: s.log,
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
	// The plugin has sent all it will: stop it now, so that it exits
	// while the writer encodes the batches still queued rather than after
	// the streams commit. (Close waits for the exit, a few ms; one that
	// hangs is killed after a few seconds, which the commit waits for.)
	client.Close()
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
				sr.res.Concurrency = m.Progress.Concurrency
				sr.res.RateLimitWait = m.Progress.RateLimitWait.Seconds()
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
	if s.dest.remote() {
		return recoverObjects(s.dest, s.files, s.st, s.log)
	}
	return recoverSource(s.store, s.files, s.st, filepath.Join(s.dest.root, s.cfg.Name), s.log)
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
		src:         s,
		name:        cs.Name,
		mode:        mode,
		schema:      cs.Schema,
		primaryKey:  cs.PrimaryKey,
		dir:         filepath.Join(s.dest.root, s.cfg.Name, cs.Name),
		log:         s.log.With("stream", cs.Name),
		res:         &StreamResult{Name: cs.Name, Mode: string(mode), Files: []string{}, started: s.opts.Now()},
		splits:      parts,
		parts:       map[string]sink.Part{},
		used:        map[string]int64{},
		tailBound:   maxTailBytes,
		budgetRows:  openRowsBudget,
		budgetBytes: openBytesBudget,
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
