package sink

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/parquet/compress"
)

// Compression is a codec for the pages of Parquet files or the buffers of
// Arrow IPC files. Format.Compressions lists the codecs of each format.
type Compression string

// The compression codecs.
const (
	Zstd         Compression = "zstd"   // the default: small files, fast to write and to read; parquet and arrow; level 1 to 22 in parquet
	Snappy       Compression = "snappy" // the least CPU of the codecs, files about 1.7 times zstd's; Spark's default, read by every Parquet reader; parquet only
	Gzip         Compression = "gzip"   // files as small as zstd's for readers without zstd (Impala before 3.3, old Hive), with more CPU, far more at high levels; level 1 to 9 (or -1 for its default); parquet only
	LZ4          Compression = "lz4"    // LZ4 frames; arrow only (arrow/go v17 has no LZ4_RAW Parquet writer)
	Uncompressed Compression = "none"   // no compression: the largest files; the only value jsonl and csv take
)

// compressions lists every codec, in the order messages give them.
var compressions = []Compression{Zstd, Snappy, Gzip, LZ4, Uncompressed}

// ParseCompression returns the Compression named s ("zstd", "snappy",
// "gzip", "lz4" or "none", case-insensitive).
func ParseCompression(s string) (Compression, error) {
	c := CompressionNamed(s)
	if slices.Contains(compressions, c) {
		return c, nil
	}
	return "", fmt.Errorf("unknown compression %q (want %s)", s, orList(compressions))
}

// CompressionNamed returns s as a Compression, lower-cased and trimmed,
// without checking it: for callers that check it against a format
// (Format.CheckCompression), whose message says what that format takes.
func CompressionNamed(s string) Compression {
	return Compression(strings.ToLower(strings.TrimSpace(s)))
}

// Compressions returns the codecs files of format f can be written with,
// its default first. JSON Lines and CSV files are never compressed.
func (f Format) Compressions() []Compression {
	switch f {
	case Parquet:
		return []Compression{Zstd, Snappy, Gzip, Uncompressed}
	case Arrow:
		return []Compression{Zstd, LZ4, Uncompressed}
	case JSONL, CSV:
		return []Compression{Uncompressed}
	}
	return nil
}

// compression returns c, or the default codec of format f when c is "".
func (f Format) compression(c Compression) Compression {
	if take := f.Compressions(); c == "" && len(take) > 0 {
		return take[0]
	}
	return c
}

// CheckCompression says why files of format f cannot be written with
// codec c, or returns nil; "" (the format's default) is always fine.
func (f Format) CheckCompression(c Compression) error {
	take := f.Compressions()
	if c == "" || slices.Contains(take, c) {
		return nil
	}
	var by []string
	for _, g := range []Format{Parquet, Arrow} {
		if slices.Contains(g.Compressions(), c) {
			by = append(by, string(g))
		}
	}
	var hint string
	switch {
	case len(take) == 1:
		hint = fmt.Sprintf("%s files are never compressed; compression is for formats parquet (%s) and arrow (%s)",
			f, orList(Parquet.Compressions()), orList(Arrow.Compressions()))
	case len(by) > 0:
		hint = fmt.Sprintf("%s files take %s; %s is for format %s", f, orList(take), c, strings.Join(by, " and "))
	default:
		hint = fmt.Sprintf("%s files take %s", f, orList(take))
	}
	if c == LZ4 && f == Parquet {
		hint += " (arrow/go v17 cannot write LZ4_RAW Parquet)"
	}
	return fmt.Errorf("%q: %s", c, hint)
}

// levels returns the compression levels codec c takes in files of format
// f, from lo to hi, plus def when it is not 0 (a level meaning "the
// codec's default"); ok is false when it takes none.
func (f Format) levels(c Compression) (lo, hi, def int, ok bool) {
	if f != Parquet {
		return 0, 0, 0, false
	}
	switch f.compression(c) {
	case Zstd:
		// What zstd.EncoderLevelFromZstd maps: 1-2 fastest, 3-5 default,
		// 6-9 better, 10 and up best compression. 22 is zstd's highest.
		return 1, 22, 0, true
	case Gzip:
		return 1, 9, compress.DefaultCompressionLevel, true
	}
	return 0, 0, 0, false
}

// CheckLevel says why files of format f cannot be written with codec c
// ("" for the format's default) at level, as a user gives it, or returns
// nil. Only Parquet files take levels, of zstd and gzip. (0 is not a
// level: Options.CompressionLevel 0 means the codec's default.)
func (f Format) CheckLevel(c Compression, level int) error {
	lo, hi, def, ok := f.levels(c)
	switch {
	case !ok && f != Parquet:
		return fmt.Errorf("%d: %s files take no compression level; levels are for zstd (1 to 22) and gzip (1 to 9) in parquet files", level, f)
	case !ok:
		return fmt.Errorf("%d: %s takes no compression level; levels are for zstd (1 to 22) and gzip (1 to 9)", level, f.compression(c))
	case (def != 0 && level == def) || (level >= lo && level <= hi):
		return nil
	case def != 0:
		return fmt.Errorf("%d: %s takes a level from %d (fastest) to %d (smallest files), or %d for its default", level, f.compression(c), lo, hi, def)
	}
	return fmt.Errorf("%d: %s takes a level from %d (fastest) to %d (smallest files)", level, f.compression(c), lo, hi)
}

// parquetCodec returns arrow's codec and level for c and level (0: the
// codec's default). Zstd is host/sink's own codec (see zstd.go): arrow's
// registry hands it out for compress.Codecs.Zstd.
func parquetCodec(c Compression, level int) (compress.Compression, int) {
	if level == 0 {
		level = compress.DefaultCompressionLevel
	}
	switch c {
	case Snappy:
		return compress.Codecs.Snappy, level
	case Gzip:
		return compress.Codecs.Gzip, level
	case Uncompressed:
		return compress.Codecs.Uncompressed, level
	}
	return compress.Codecs.Zstd, level
}

// ipcCompression returns the IPC writer's option for codec c, or nil for
// uncompressed buffers.
func ipcCompression(c Compression) ipc.Option {
	switch c {
	case LZ4:
		return ipc.WithLZ4()
	case Uncompressed:
		return nil
	}
	return ipc.WithZstd()
}

// orList joins codecs as "a, b or c".
func orList(cs []Compression) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
