// Package sink writes Arrow record batches to part files (Parquet, Arrow IPC,
// JSON Lines, CSV) with an atomic, crash-safe commit.
//
// A part is written under a hidden temporary name in its destination
// directory. [Part.Finish] makes the temporary file durable and returns a
// [File]; [Publish] renames it into place and syncs the directory. The host
// records the File in its state between the two steps, so that a crash
// anywhere either rolls the rename forward on the next start or leaves a
// temporary file that [Cleanup] removes: nothing is lost or duplicated.
//
// # Getting started
//
//	part, err := sink.Create(dir, "part-r1-0001", schema, sink.Options{Format: sink.Parquet})
//	if err != nil { return err }
//	defer part.Abort() // no-op after a successful Finish
//	for rec := range batches {
//		if err := part.Write(rec); err != nil { return err }
//	}
//	f, err := part.Finish()
//	if err != nil { return err }
//	// save state that records f (the commit point), then:
//	err = sink.Publish(f)
package sink

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Format is an output file format.
type Format string

// The supported output formats.
const (
	Parquet Format = "parquet" // Apache Parquet, zstd-compressed by default (see compression), Arrow schema stored
	Arrow   Format = "arrow"   // Arrow IPC file format (Feather v2), zstd-compressed by default (see compression)
	JSONL   Format = "jsonl"   // one JSON object per line
	CSV     Format = "csv"     // RFC 4180, header row, nested values as JSON text
)

// ParseFormat returns the Format named s ("parquet", "arrow", "jsonl" or
// "csv", case-insensitive).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case Parquet, Arrow, JSONL, CSV:
		return f, nil
	}
	return "", fmt.Errorf("sink: unknown format %q (want parquet, arrow, jsonl or csv)", s)
}

// Ext returns the file name extension of f, with its dot (".parquet").
// It returns "" for an unknown format.
func (f Format) Ext() string {
	switch f {
	case Parquet, Arrow, JSONL, CSV:
		return "." + string(f)
	}
	return ""
}

// Defaults for the zero values of Options.
const (
	// DefaultRowGroupBytes bounds the encoded bytes buffered per Parquet row
	// group. The whole row group is held in memory until it is cut, so this is
	// the writer's memory bound per open part; 64 MiB is what parquet-mr and
	// DuckDB aim for and keeps row groups large enough for efficient scans.
	DefaultRowGroupBytes = 64 << 20
	// DefaultMaxRowGroupRows bounds the rows per Parquet row group. Narrow
	// tables that compress well still get several row groups for readers to
	// scan in parallel (pqarrow's own default, 64 Mi rows, is far too large),
	// and it bounds the writer's memory where the byte bound cannot: a
	// column that keeps its dictionary buffers a 4-byte index per row until
	// its page passes the page size in RLE-packed bits, which for a column
	// of a few distinct values is millions of rows. With 1,000,000-row
	// groups the host's peak RSS grew with the records (`make bench`, 100k
	// to 1M records: 127 to 321 MiB; 116 to 197 MiB with this bound, the
	// rest being the write queue). 128 Ki rows is about DuckDB's row group
	// (122,880) and keeps those buffers at 512 KiB per column.
	DefaultMaxRowGroupRows = 128 << 10
	// DefaultCreatedBy is the Parquet created_by value when Options.CreatedBy
	// is empty.
	DefaultCreatedBy = "quiver"
)

// Options configures a part. The zero value of each field selects its
// default; Format is required.
type Options struct {
	// Format is the output format.
	Format Format
	// Allocator is used for the Parquet and Arrow encoders' buffers.
	// nil means memory.DefaultAllocator.
	Allocator memory.Allocator
	// RowGroupBytes cuts a Parquet row group once its encoded, compressed
	// pages pass this size (the page in progress, at most 1 MiB per column,
	// is not counted). 0 means DefaultRowGroupBytes: see there for why.
	RowGroupBytes int64
	// MaxRowGroupRows cuts a Parquet row group at this many rows.
	// 0 means DefaultMaxRowGroupRows.
	MaxRowGroupRows int64
	// Metadata is key-value metadata stored in the file: Parquet key-value
	// metadata, or Arrow schema metadata in the IPC footer. JSONL and CSV
	// files ignore it. It is readable by anyone who can read the file, so it
	// must never hold secrets.
	Metadata map[string]string
	// CreatedBy is the Parquet created_by string. "" means DefaultCreatedBy.
	CreatedBy string
	// Compression is the codec of Parquet pages or Arrow IPC buffers, one
	// of Format.Compressions. "" means the format's default: Zstd for
	// Parquet and Arrow; JSONL and CSV files are never compressed.
	Compression Compression
	// CompressionLevel is the level of Zstd or Gzip in Parquet files, one
	// that Format.CheckLevel accepts. 0 means the codec's default.
	CompressionLevel int
	// WriteBuffer is the size of the write buffer in front of the file.
	// 0 means 1 MiB.
	WriteBuffer int
}

// A Part is one output file being written. Its methods are not safe for
// concurrent use.
type Part interface {
	// Write appends rec. rec's schema must equal the part's schema (field
	// names, types and nullability; metadata is not compared). The part
	// does not keep rec after Write returns; the caller still releases it.
	// After an error the part is broken: further Writes and Finish fail,
	// and the caller must call Abort.
	Write(rec arrow.Record) error
	// Rows returns the number of rows written so far.
	Rows() int64
	// Bytes returns the approximate number of encoded bytes written so far,
	// including what is still buffered for the current Parquet row group.
	// It is meant for rolling files by size.
	Bytes() int64
	// Buffered returns the rows and encoded bytes the part holds in
	// memory, not yet in its file: a Parquet part's current row group
	// (its compressed pages; the pages in progress are not counted),
	// which stays in memory until the row group is cut or the part
	// finished. The other formats write each record through and hold
	// none.
	Buffered() (rows, bytes int64)
	// Finish writes the file's footer, flushes it, fsyncs and closes the
	// temporary file, and returns its description. It does not rename the
	// file: see Publish. On error the caller must call Abort.
	Finish() (*File, error)
	// Abort closes the part and removes its temporary file. It is safe
	// after a failed Write or Finish and safe to call twice; after a
	// successful Finish it does nothing, so `defer part.Abort()` is the
	// expected pattern.
	Abort() error
}

// File describes a finished part: a durable temporary file waiting to be
// renamed to its final name. It is JSON-encoded into the state store as a
// pending rename. Its paths are absolute.
type File struct {
	Temp  string `json:"temp"`  // path of the finished temporary file
	Final string `json:"final"` // path the file is published to
	Rows  int64  `json:"rows"`  // rows in the file
	Bytes int64  `json:"bytes"` // size of the file in bytes
}

// tmpSuffix ends every temporary part file name; temporary names also start
// with a dot so that readers globbing "*.parquet" never see them.
const tmpSuffix = ".tmp"

// fileMode is the mode of output files: they hold no secrets.
const fileMode = 0o644

// bufSize is the default write buffer in front of the file: large enough
// that the encoders' many small writes become few large syscalls.
const bufSize = 1 << 20

// Create starts a part that will be published as dir/name+ext. It creates
// dir (0755) if needed and the temporary file dir/.name+ext.tmp (0644).
// Create fails if the temporary or the final file already exists: names
// are unique per run, so an existing file means a leftover (see Cleanup)
// or a naming bug, and committed data is never overwritten.
func Create(dir, name string, schema *arrow.Schema, opts Options) (Part, error) {
	ext := opts.Format.Ext()
	if ext == "" {
		return nil, fmt.Errorf("sink: create %s: unknown format %q", filepath.Join(dir, name), opts.Format)
	}
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return nil, fmt.Errorf("sink: create: invalid part name %q (no path separators, no leading dot)", name)
	}
	if schema == nil {
		return nil, fmt.Errorf("sink: create %s: nil schema", filepath.Join(dir, name+ext))
	}
	if err := opts.Format.CheckCompression(opts.Compression); err != nil {
		return nil, fmt.Errorf("sink: create %s: compression %w", filepath.Join(dir, name+ext), err)
	}
	if opts.CompressionLevel != 0 {
		if err := opts.Format.CheckLevel(opts.Compression, opts.CompressionLevel); err != nil {
			return nil, fmt.Errorf("sink: create %s: compression level %w", filepath.Join(dir, name+ext), err)
		}
	}
	if opts.Allocator == nil {
		opts.Allocator = memory.DefaultAllocator
	}
	if opts.RowGroupBytes <= 0 {
		opts.RowGroupBytes = DefaultRowGroupBytes
	}
	if opts.MaxRowGroupRows <= 0 {
		opts.MaxRowGroupRows = DefaultMaxRowGroupRows
	}
	if opts.CreatedBy == "" {
		opts.CreatedBy = DefaultCreatedBy
	}

	// Absolute paths keep File comparable with Cleanup's paths and valid
	// if the working directory changes between runs.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sink: create %s: %w", name+ext, err)
	}
	final := filepath.Join(dir, name+ext)
	temp := filepath.Join(dir, "."+name+ext+tmpSuffix)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sink: create %s: %w", final, err)
	}
	if _, err := os.Lstat(final); err == nil {
		return nil, fmt.Errorf("sink: create %s: final file already exists", final)
	}
	f, err := os.OpenFile(temp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("sink: create %s: temporary file already exists (a leftover of an interrupted run: run Cleanup first): %w", temp, err)
		}
		return nil, fmt.Errorf("sink: create %s: %w", temp, err)
	}

	p := &part{f: f, temp: temp, final: final, schema: schema}
	if opts.WriteBuffer <= 0 {
		opts.WriteBuffer = bufSize
	}
	p.wb = newWritebackFile(f)
	p.bw = bufio.NewWriterSize(p.wb, opts.WriteBuffer)
	p.out = &countingWriter{w: p.bw}
	switch opts.Format {
	case Parquet:
		p.enc, err = newParquetEncoder(p.out, schema, opts)
	case Arrow:
		p.enc, err = newIPCEncoder(p.out, schema, opts)
	case JSONL:
		p.enc, err = newJSONLEncoder(p.out, schema)
	case CSV:
		p.enc, err = newCSVEncoder(p.out, schema)
	}
	if err != nil {
		f.Close()
		os.Remove(temp)
		return nil, fmt.Errorf("sink: create %s: %w", final, err)
	}
	return p, nil
}

// encoder is one format's writer. It writes to the part's countingWriter.
type encoder interface {
	write(rec arrow.Record) error
	// buffered returns encoded bytes not yet handed to the writer.
	buffered() int64
	// close writes the footer and releases the encoder's memory. It is
	// also called on Abort, with output discarded.
	close() error
}

// partState is where a part is in its life.
type partState int

const (
	open partState = iota
	failed
	finished
	aborted
)

// part implements Part for every format; enc does the encoding.
type part struct {
	f           *os.File
	wb          *writebackFile // f, its writeback started as it fills
	bw          *bufio.Writer  // over wb
	out         *countingWriter
	enc         encoder
	schema      *arrow.Schema
	temp, final string
	rows        int64
	state       partState
	err         error // why the part failed
}

func (p *part) Write(rec arrow.Record) error {
	if err := p.usable(); err != nil {
		return err
	}
	if !rec.Schema().Equal(p.schema) {
		return fmt.Errorf("sink: write %s: record schema does not match the part's\nrecord: %s\npart:   %s", p.temp, rec.Schema(), p.schema)
	}
	if rec.NumRows() == 0 {
		return nil
	}
	if err := p.enc.write(rec); err != nil {
		return p.fail(fmt.Errorf("sink: write %s: %w", p.temp, err))
	}
	if p.out.err != nil {
		return p.fail(fmt.Errorf("sink: write %s: %w", p.temp, p.out.err))
	}
	p.rows += rec.NumRows()
	return nil
}

func (p *part) Rows() int64 { return p.rows }

func (p *part) Bytes() int64 {
	if p.state != open {
		return p.out.n
	}
	return p.out.n + p.enc.buffered()
}

func (p *part) Buffered() (rows, bytes int64) {
	if e, ok := p.enc.(*parquetEncoder); ok && p.state == open {
		return e.rowGroup()
	}
	return 0, 0
}

func (p *part) Finish() (*File, error) {
	if err := p.usable(); err != nil {
		return nil, err
	}
	if err := p.enc.close(); err != nil {
		return nil, p.fail(fmt.Errorf("sink: finish %s: %w", p.temp, err))
	}
	if p.out.err != nil {
		return nil, p.fail(fmt.Errorf("sink: finish %s: %w", p.temp, p.out.err))
	}
	if err := p.bw.Flush(); err != nil {
		return nil, p.fail(fmt.Errorf("sink: finish %s: flush: %w", p.temp, err))
	}
	// Sync before rename: without it a zero-length file is a valid outcome
	// of a crash after the rename.
	if err := p.f.Sync(); err != nil {
		return nil, p.fail(fmt.Errorf("sink: finish %s: fsync: %w", p.temp, err))
	}
	if err := p.f.Close(); err != nil {
		return nil, p.fail(fmt.Errorf("sink: finish %s: close: %w", p.temp, err))
	}
	p.state = finished
	return &File{Temp: p.temp, Final: p.final, Rows: p.rows, Bytes: p.out.n}, nil
}

func (p *part) Abort() error {
	switch p.state {
	case finished, aborted:
		return nil
	case open:
		// Release the encoder's buffers without writing to the file.
		p.out.w = io.Discard
		p.enc.close()
	}
	p.state = aborted
	p.f.Close() // may already be closed by a failed Finish
	if err := os.Remove(p.temp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sink: abort %s: %w", p.temp, err)
	}
	return nil
}

// usable reports why the part cannot be written or finished, if so.
func (p *part) usable() error {
	switch p.state {
	case failed:
		return fmt.Errorf("sink: %s: part failed earlier: %w", p.temp, p.err)
	case finished:
		return fmt.Errorf("sink: %s: part is already finished", p.temp)
	case aborted:
		return fmt.Errorf("sink: %s: part was aborted", p.temp)
	}
	return nil
}

// fail marks the part broken by err, releasing the encoder, and returns err.
func (p *part) fail(err error) error {
	if p.state == open {
		p.out.w = io.Discard
		p.enc.close()
	}
	p.state = failed
	p.err = err
	return err
}

// countingWriter counts the bytes written through it. It never fails:
// it keeps the first error of the underlying writer, drops what follows,
// and the part checks err after each encoder call. Encoders therefore
// always run their cleanup paths: pqarrow skips releasing its buffers when
// its sink fails during Close, and drops a row group's Close error when a
// new buffered row group starts.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.err == nil {
		_, c.err = c.w.Write(b)
	}
	c.n += int64(len(b))
	return len(b), nil
}

// Seek reports the current position; it is what the Arrow IPC file writer
// needs of an io.WriteSeeker. Other seeks are not supported.
func (c *countingWriter) Seek(offset int64, whence int) (int64, error) {
	if offset != 0 || whence != io.SeekCurrent {
		return c.n, errors.New("sink: only Seek(0, io.SeekCurrent) is supported")
	}
	return c.n, nil
}

// Publish renames f.Temp to f.Final and fsyncs the directory so that the
// rename survives a power loss. It is idempotent: if f.Temp is gone and
// f.Final exists, the file was published before and Publish returns nil
// (after syncing the directory again). If both are missing it returns an
// error naming them.
func Publish(f *File) error {
	err := os.Rename(f.Temp, f.Final)
	if err != nil {
		if _, terr := os.Lstat(f.Temp); !errors.Is(terr, fs.ErrNotExist) {
			return fmt.Errorf("sink: publish %s: %w", f.Final, err)
		}
		if _, ferr := os.Lstat(f.Final); ferr != nil {
			return fmt.Errorf("sink: publish %s: neither it nor its temporary file %s exists: %w", f.Final, f.Temp, ferr)
		}
	}
	if err := SyncDir(filepath.Dir(f.Final)); err != nil {
		return fmt.Errorf("sink: publish %s: %w", f.Final, err)
	}
	return nil
}

// SyncDir fsyncs directory dir, making renames, creations and removals in
// it durable. Where the OS cannot fsync a directory (Windows, whose NTFS
// journals renames itself) it does nothing.
func SyncDir(dir string) error {
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("sink: fsync directory %s: %w", dir, err)
	}
	return nil
}

// WriteFile replaces path with data atomically and durably, for small
// files such as state and run manifests: it writes a temporary file in the
// same directory, named ".<name><random digits>", fsyncs it, renames it
// over path (os.Rename replaces an existing file on every OS, Windows
// included) and fsyncs the directory. After a crash path holds the old or
// the new data, never a mix. The file gets exactly perm, whatever the
// umask (on Windows, only perm's write bit counts).
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	// The temporary file stays in dir, never os.TempDir: a rename across
	// file systems is not atomic. os.CreateTemp puts random digits for *.
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"*")
	if err != nil {
		return fmt.Errorf("sink: write %s: %w", path, err)
	}
	tmp := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sink: write %s: %w", path, err)
	}
	return SyncDir(dir)
}

// IsTemp reports whether path names a temporary part file (".name.ext.tmp").
func IsTemp(path string) bool {
	base := filepath.Base(path)
	return len(base) > len(tmpSuffix)+1 && strings.HasPrefix(base, ".") && strings.HasSuffix(base, tmpSuffix)
}

// Cleanup removes leftover temporary part files in dir and in its immediate
// subdirectories, except those for which keep returns true (keep may be nil).
// keep and the returned list see absolute paths, as in File.Temp. The host
// calls it per stream directory on startup, after rolling pending renames
// forward, with keep reporting the temporary files still pending. A missing
// dir is not an error. Cleanup returns the paths it removed; it keeps going
// after an error and returns all errors joined.
func Cleanup(dir string, keep func(tempPath string) bool) (removed []string, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sink: cleanup %s: %w", dir, err)
	}
	var errs []error
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("sink: cleanup %s: %w", dir, err))
			}
			return
		}
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			switch {
			case e.IsDir() && depth == 0:
				walk(path, depth+1)
			case e.Type().IsRegular() && IsTemp(path):
				if keep != nil && keep(path) {
					continue
				}
				if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, fmt.Errorf("sink: cleanup: %w", err))
					continue
				}
				removed = append(removed, path)
			}
		}
	}
	walk(dir, 0)
	return removed, errors.Join(errs...)
}
