package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/host/state"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// CompactOptions configure `quiver compact`.
type CompactOptions struct {
	Config *Config
	// Streams are the streams to compact, "SOURCE.STREAM" or "SOURCE" for
	// every stream of a source; empty: every stream of every source.
	Streams   []string
	Logger    *slog.Logger     // nil discards
	RunID     string           // names the new files; default a new time-ordered id
	Now       func() time.Time // default time.Now
	Allocator memory.Allocator // default the Go allocator
	FileBytes int64            // default DefaultFileBytes
	Files     sink.Files       // default sink.OS
}

// CompactResult is the outcome of `quiver compact`, as --json prints it.
type CompactResult struct {
	RunID   string        `json:"run_id"`
	Status  string        `json:"status"` // ok or failed
	Streams []*Compaction `json:"streams"`
}

// Compaction is the outcome of compacting one stream.
type Compaction struct {
	Source string `json:"source,omitempty"` // empty inside a sync's StreamResult
	Stream string `json:"stream,omitempty"` // empty inside a sync's StreamResult
	// Status is compacted (the files were rewritten), unchanged (one file
	// without duplicate keys, or none), skipped (see Reason) or failed.
	Status        string   `json:"status"`
	FilesBefore   int      `json:"files_before"`
	RecordsBefore int64    `json:"records_before"`
	FilesAfter    int      `json:"files_after"`
	RecordsAfter  int64    `json:"records_after"`
	Files         []string `json:"files"` // the files written
	Reason        string   `json:"reason,omitempty"`
	Error         string   `json:"error,omitempty"`
	dropped       int64    // versions replaced by a later one
}

// Compact rewrites each selected stream's files into one deduplicated set
// holding the latest version of every primary key: the row with the
// latest _quiver_extracted_at, ties going to the later run, then to the
// row read last. It commits the new set as a full refresh does (see
// commitFiles) under the source's lock, so a crash leaves the old set or
// the new one, and a sync of the same source cannot overlap it. Only
// Parquet and Arrow files can be compacted: they are read back exactly.
func Compact(ctx context.Context, opts CompactOptions) (*CompactResult, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RunID == "" {
		opts.RunID = NewRunID(opts.Now())
	}
	format, err := compactFormat(opts.Config, "quiver compact")
	if err != nil {
		return nil, err
	}
	want, err := compactSelection(opts.Config, opts.Streams)
	if err != nil {
		return nil, err
	}
	if err := opts.Config.CheckLocal(); err != nil {
		return nil, err
	}
	store, err := state.Open(opts.Config.State)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	c := &compactor{
		runID: opts.RunID, format: format, allocator: opts.Allocator, fileBytes: opts.FileBytes, files: opts.Files,
		store: store, log: opts.Logger.With("run_id", opts.RunID),
	}
	c.defaults()
	res := &CompactResult{RunID: opts.RunID, Streams: []*Compaction{}}
	var errs []error
	for i := range opts.Config.Sources {
		src := &opts.Config.Sources[i]
		streams, ok := want[src.Name]
		if !ok {
			continue
		}
		out, err := c.source(ctx, opts.Config, src, streams)
		res.Streams = append(res.Streams, out...)
		if err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w", src.Name, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	err = errors.Join(errs...)
	res.Status = "ok"
	if err != nil {
		res.Status = "failed"
	}
	if ctx.Err() != nil {
		res.Status = "interrupted"
		err = errors.Join(fmt.Errorf("interrupted: the streams compacted so far are committed: %w", protocol.ErrCanceled), err)
	}
	return res, err
}

// compactFormat returns the destination's format, or a config error when
// its files cannot be compacted; what names the command for the message.
func compactFormat(cfg *Config, what string) (sink.Format, error) {
	format, err := sink.ParseFormat(cfg.Destination.Format)
	if err != nil {
		return "", cfg.errorf("destination.format", "%v", err)
	}
	if !format.Readable() {
		return "", cfg.errorf("destination.format",
			"%s reads the files back, which only parquet and arrow files allow exactly (%s files hold timestamps, nested values and nulls as text); use format parquet or arrow to compact",
			what, format)
	}
	return format, nil
}

// compactSelection maps each selected source to its selected streams (nil:
// every stream).
func compactSelection(cfg *Config, names []string) (map[string][]string, error) {
	want := map[string][]string{}
	if len(names) == 0 {
		for _, s := range cfg.Sources {
			want[s.Name] = nil
		}
		return want, nil
	}
	every := map[string]bool{}
	for _, n := range names {
		src, stream, _ := strings.Cut(n, ".")
		if !slices.ContainsFunc(cfg.Sources, func(c SourceConfig) bool { return c.Name == src }) {
			return nil, fmt.Errorf("compact %s: no source named %q in %s (want SOURCE.STREAM or SOURCE): %w", n, src, cfg.File(), protocol.ErrConfig)
		}
		switch {
		case stream == "" || every[src]:
			every[src] = true
			want[src] = nil
		case !slices.Contains(want[src], stream):
			want[src] = append(want[src], stream)
		}
	}
	return want, nil
}

// compactor compacts streams; one serves a whole `quiver compact` or the
// compactions of a `quiver sync --compact`.
type compactor struct {
	runID     string
	format    sink.Format
	allocator memory.Allocator
	fileBytes int64
	files     sink.Files
	store     *state.Store
	log       *slog.Logger
	seq       int // files started, across streams: names stay unique
}

func (c *compactor) defaults() {
	if c.allocator == nil {
		c.allocator = memory.NewGoAllocator()
	}
	if c.fileBytes <= 0 {
		c.fileBytes = DefaultFileBytes
	}
	if c.files == nil {
		c.files = sink.OS{}
	}
}

// source compacts streams of one source (nil: every stream with state)
// under its lock.
func (c *compactor) source(ctx context.Context, cfg *Config, src *SourceConfig, streams []string) ([]*Compaction, error) {
	release, err := lockSource(c.store, src.Name)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := release(); err != nil {
			c.log.Warn("release state lock", "source", src.Name, "error", err)
		}
	}()
	st, err := c.store.Load(src.Name)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cfg.Destination.Path, src.Name)
	log := c.log.With("source", src.Name)
	if err := recoverSource(c.store, c.files, st, dir, log); err != nil {
		return nil, err
	}
	if streams == nil {
		streams = slices.Sorted(maps.Keys(st.Streams))
	}
	var out []*Compaction
	var errs []error
	for _, name := range streams {
		if ctx.Err() != nil {
			break
		}
		if _, ok := st.Streams[name]; !ok {
			errs = append(errs, fmt.Errorf("stream %s: no committed files or state (streams with state: %s): %w",
				name, strings.Join(slices.Sorted(maps.Keys(st.Streams)), ", "), protocol.ErrConfig))
			continue
		}
		cp, err := c.stream(ctx, st, src, filepath.Join(dir, name), name, log.With("stream", name))
		cp.Source, cp.Stream = src.Name, name
		out = append(out, cp)
		if err != nil {
			cp.Status, cp.Error = "failed", err.Error()
			errs = append(errs, fmt.Errorf("stream %s: %w", name, err))
		}
	}
	return out, errors.Join(errs...)
}

// stream compacts the files of one stream, in dir, and commits the result
// into st. The caller holds the source's lock and has recovered it.
func (c *compactor) stream(ctx context.Context, st *state.Source, src *SourceConfig, dir, name string, log *slog.Logger) (*Compaction, error) {
	cp := &Compaction{Files: []string{}}
	var pk []string
	if ss := st.Streams[name]; ss != nil {
		pk = ss.PrimaryKey
	}
	paths, err := partFiles(dir, "")
	if err != nil {
		return cp, err
	}
	cp.FilesBefore, cp.FilesAfter = len(paths), len(paths)
	if len(pk) == 0 {
		cp.Status, cp.Reason = "skipped", "its state records no primary key (it has none, or its last sync ran before quiver recorded keys: sync it once)"
		return cp, nil
	}
	if len(paths) == 0 {
		cp.Status = "unchanged"
		return cp, nil
	}
	latest, schema, err := c.latest(ctx, paths, pk, cp)
	if err != nil {
		return cp, err
	}
	cp.RecordsAfter = cp.RecordsBefore - cp.dropped
	if len(paths) == 1 && cp.dropped == 0 {
		cp.Status = "unchanged"
		return cp, nil
	}
	meta := map[string]string{
		"quiver:run_id":    c.runID,
		"quiver:source":    src.Name,
		"quiver:connector": src.Connector,
		"quiver:stream":    name,
		"quiver:compacted": "true",
	}
	// The new files keep the source's codec, whatever the old ones had.
	opts := sink.Options{
		Format: c.format, Allocator: c.allocator, Metadata: meta,
		Compression: src.compression, CompressionLevel: src.compressionLevel,
	}
	written, err := c.rewrite(ctx, dir, paths, latest, schema, opts)
	if err != nil {
		return cp, err
	}
	retire, err := absPaths(paths)
	if err != nil {
		return cp, err
	}
	committed, err := commitFiles(c.store, c.files, st, written, retire)
	if !committed {
		for _, f := range written {
			_ = c.files.Remove(f.Temp)
		}
		return cp, err
	}
	removeEmptyPartitions(dir)
	cp.Status, cp.FilesAfter = "compacted", len(written)
	for _, f := range written {
		cp.Files = append(cp.Files, f.Final)
	}
	log.Info("compacted", "files_before", cp.FilesBefore, "files_after", cp.FilesAfter,
		"records_before", cp.RecordsBefore, "records_after", cp.RecordsAfter)
	return cp, err
}

// version is where the latest version of a key is: its time and run, and
// the file and row (within the file) that hold it.
type version struct {
	at   int64
	run  string
	file int
	row  int64
}

// latest reads every file and returns, per file, the rows that hold the
// latest version of their key, and the files' common schema. It counts
// the records and the versions it drops into cp.
func (c *compactor) latest(ctx context.Context, paths []string, pk []string, cp *Compaction) (map[int]map[int64]bool, *arrow.Schema, error) {
	newest := map[string]version{}
	var schema *arrow.Schema
	var unkeyed []version // rows with a null key are all kept
	for i, path := range paths {
		err := c.scan(ctx, path, func(rec arrow.Record, offset int64) error {
			if schema == nil {
				schema = rec.Schema()
			} else if !rec.Schema().Equal(schema) {
				return fmt.Errorf("%s has another schema than %s (the vendor's schema changed between runs): compaction needs one schema; a --full-refresh of the stream rewrites it with the new one\n got %s\nwant %s",
					path, paths[0], rec.Schema(), schema)
			}
			cols, err := lineageColumns(rec, pk)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			for r := range int(rec.NumRows()) {
				v := version{at: int64(cols.at.Value(r)), run: cols.run.Value(r), file: i, row: offset + int64(r)}
				key, ok := keyOf(cols.key, r)
				if !ok {
					unkeyed = append(unkeyed, v)
					continue
				}
				// Files and rows come in the order they were written,
				// so a later row wins a tie of time and run.
				if old, seen := newest[key]; !seen || v.at > old.at || (v.at == old.at && v.run >= old.run) {
					newest[key] = v
				}
			}
			cp.RecordsBefore += rec.NumRows()
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	keep := map[int]map[int64]bool{}
	for _, v := range append(slices.Collect(maps.Values(newest)), unkeyed...) {
		if keep[v.file] == nil {
			keep[v.file] = map[int64]bool{}
		}
		keep[v.file][v.row] = true
	}
	cp.dropped = cp.RecordsBefore - int64(len(newest)+len(unkeyed))
	return keep, schema, nil
}

// lineage holds the columns compaction decides by.
type lineage struct {
	key []arrow.Array
	at  *array.Timestamp
	run *array.String
}

// lineageColumns finds the primary key and lineage columns of rec.
func lineageColumns(rec arrow.Record, pk []string) (lineage, error) {
	var l lineage
	col := func(name string) (arrow.Array, error) {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("no column %q", name)
		}
		return rec.Column(idx[0]), nil
	}
	for _, k := range pk {
		a, err := col(k)
		if err != nil {
			return l, fmt.Errorf("primary key: %w", err)
		}
		l.key = append(l.key, a)
	}
	at, err := col(sink.ExtractedAtColumn)
	if err != nil {
		return l, err
	}
	run, err := col(sink.RunIDColumn)
	if err != nil {
		return l, err
	}
	var ok1, ok2 bool
	l.at, ok1 = at.(*array.Timestamp)
	l.run, ok2 = run.(*array.String)
	if !ok1 || !ok2 {
		return l, fmt.Errorf("lineage columns have types %s and %s, want timestamp and string", at.DataType(), run.DataType())
	}
	return l, nil
}

// keyOf encodes row r's primary key so that distinct keys never collide;
// ok is false when a key column is null.
func keyOf(cols []arrow.Array, r int) (key string, ok bool) {
	var b strings.Builder
	for _, a := range cols {
		if a.IsNull(r) {
			return "", false
		}
		v := a.ValueStr(r)
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	}
	return b.String(), true
}

// scan calls fn with each record of the file at path and the row offset
// of its first row in the file.
func (c *compactor) scan(ctx context.Context, path string, fn func(rec arrow.Record, offset int64) error) error {
	rd, err := sink.OpenFile(ctx, path, c.allocator)
	if err != nil {
		return err
	}
	defer rd.Close()
	var offset int64
	for rd.Next() {
		rec := rd.Record()
		if err := fn(rec, offset); err != nil {
			return err
		}
		offset += rec.NumRows()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return rd.Err()
}

// rewrite writes the kept rows of every file, in order, into new finished
// temporary files created with opts, in the same folders (a row stays in
// its partition). It goes through the files folder by folder, finishing a
// folder's file before it starts the next folder, so that one file is
// open at a time: each open Parquet file buffers a row group, and a stream
// partitioned over hundreds of days has files in every one of them.
// On error it removes what it wrote.
func (c *compactor) rewrite(ctx context.Context, dir string, paths []string, keep map[int]map[int64]bool, schema *arrow.Schema, opts sink.Options) (written []sink.File, err error) {
	schema = withoutQuiverMetadata(schema)
	var cur sink.Part // the file being written, in the folder of the path being read
	defer func() {
		if cur != nil {
			_ = cur.Abort()
		}
		if err != nil {
			for _, f := range written {
				_ = c.files.Remove(f.Temp)
			}
			written = nil
		}
	}()
	finish := func() error {
		p := cur
		cur = nil
		if p == nil {
			return nil
		}
		f, err := p.Finish()
		if err != nil {
			_ = p.Abort()
			return err
		}
		written = append(written, *f)
		return nil
	}
	order := make([]int, len(paths)) // paths' indexes, folder by folder, in order within each
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(filepath.Dir(paths[a]), filepath.Dir(paths[b])) })
	for k, i := range order {
		path := paths[i]
		folder := filepath.Dir(path)
		if k > 0 && folder != filepath.Dir(paths[order[k-1]]) {
			if err := finish(); err != nil {
				return nil, err
			}
		}
		rows := keep[i]
		err := c.scan(ctx, path, func(rec arrow.Record, offset int64) error {
			// Write each run of kept rows as one slice.
			n := rec.NumRows()
			for start := int64(0); start < n; {
				if !rows[offset+start] {
					start++
					continue
				}
				end := start + 1
				for end < n && rows[offset+end] {
					end++
				}
				if cur == nil {
					c.seq++
					p, err := sink.Create(folder, fmt.Sprintf("part-%s-%04d", c.runID, c.seq), schema, opts)
					if err != nil {
						return err
					}
					cur = p
				}
				slice := rec.NewSlice(start, end)
				err := cur.Write(slice)
				slice.Release()
				if err != nil {
					return err
				}
				if cur.Bytes() >= c.fileBytes {
					if err := finish(); err != nil {
						return err
					}
				}
				start = end
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return written, nil
}

// withoutQuiverMetadata drops the quiver:* keys an Arrow file stores in
// its schema metadata: the new files get their own.
func withoutQuiverMetadata(s *arrow.Schema) *arrow.Schema {
	md := s.Metadata()
	var keys, vals []string
	for i, k := range md.Keys() {
		if !strings.HasPrefix(k, "quiver:") {
			keys, vals = append(keys, k), append(vals, md.Values()[i])
		}
	}
	out := arrow.NewMetadata(keys, vals)
	return arrow.NewSchema(s.Fields(), &out)
}
