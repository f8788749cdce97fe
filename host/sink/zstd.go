package sink

import (
	"sync"

	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// arrow/go v17's Parquet zstd codec builds a new zstd encoder, with its
// match tables and history buffers, for every page it compresses
// (compress.zstdCodec.EncodeLevel). For a table of 1 MiB pages that
// allocation and zeroing cost as much as the compression itself: about a
// third of the writer's time in `make bench`. zstdCodec keeps one encoder
// per level instead; the bytes it writes are the same.
//
// The registration replaces the codec process-wide, so it happens in init,
// before any goroutine can look a codec up (arrow's registry is a plain
// map). arrow-go v18 pools its encoders itself; this file can go with the
// move to v18.
func init() {
	orig, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		return // no zstd codec to speed up; Create reports it when used
	}
	compress.RegisterCodec(compress.Codecs.Zstd, newZstdCodec(orig))
}

// zstdWindow is the encoders' window size: see encoder.
const zstdWindow = 2 << 20

// zstdCodec is arrow's zstd codec with an encoder kept per compression
// level. Decoding and streaming are arrow's own. It is safe for concurrent
// use: zstd.Encoder.EncodeAll is.
type zstdCodec struct {
	compress.Codec // arrow's codec, for everything but block encoding

	mu   sync.Mutex
	encs map[int]*zstd.Encoder // by Parquet compression level
}

func newZstdCodec(orig compress.Codec) *zstdCodec {
	return &zstdCodec{Codec: orig, encs: map[int]*zstd.Encoder{}}
}

// Encode compresses src at the default level, appending to dst[:0].
func (c *zstdCodec) Encode(dst, src []byte) []byte {
	return c.EncodeLevel(dst, src, compress.DefaultCompressionLevel)
}

// EncodeLevel compresses src at level, appending to dst[:0], as arrow's
// codec does: zstd's SpeedDefault for compress.DefaultCompressionLevel,
// otherwise the zstd level mapped by zstd.EncoderLevelFromZstd.
func (c *zstdCodec) EncodeLevel(dst, src []byte, level int) []byte {
	e, err := c.encoder(level)
	if err != nil {
		// zstd.NewWriter fails only for invalid options, and these are
		// valid; should that change, arrow's codec still works.
		return c.Codec.EncodeLevel(dst, src, level)
	}
	return e.EncodeAll(src, dst[:0])
}

// encoder returns the encoder for level, creating it on first use.
func (c *zstdCodec) encoder(level int) (*zstd.Encoder, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.encs[level]; ok {
		return e, nil
	}
	l := zstd.SpeedDefault
	if level != compress.DefaultCompressionLevel {
		l = zstd.EncoderLevelFromZstd(level)
	}
	// WithLowerEncoderMem halves what an encoder keeps between pages at no
	// measured cost in speed, and writes the same bytes. Each encoder
	// (GOMAXPROCS per level at most) also keeps a history of the window
	// size, 8 MiB by default: a 2 MiB window cuts that to a quarter and
	// still writes the same bytes for every input up to 2 MiB, twice the
	// Parquet page size (a one-shot frame up to the window is a single
	// segment, whose matches cannot reach further back than its start).
	e, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(l), zstd.WithLowerEncoderMem(true), zstd.WithWindowSize(zstdWindow))
	if err != nil {
		return nil, err
	}
	c.encs[level] = e
	return e, nil
}
