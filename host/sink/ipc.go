package sink

import (
	"sort"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/ipc"
)

// ipcEncoder writes the Arrow IPC file format (Feather v2) with buffers
// compressed by Options.Compression (zstd by default); each record becomes
// one record batch.
type ipcEncoder struct {
	fw       *ipc.FileWriter
	closed   bool
	closeErr error
}

func newIPCEncoder(w *countingWriter, schema *arrow.Schema, opts Options) (*ipcEncoder, error) {
	fileSchema := schema
	if len(opts.Metadata) > 0 {
		md := schema.Metadata()
		keys, vals := append([]string(nil), md.Keys()...), append([]string(nil), md.Values()...)
		extra := make([]string, 0, len(opts.Metadata))
		for k := range opts.Metadata {
			extra = append(extra, k)
		}
		sort.Strings(extra)
		for _, k := range extra {
			if i := md.FindKey(k); i >= 0 {
				vals[i] = opts.Metadata[k]
				continue
			}
			keys, vals = append(keys, k), append(vals, opts.Metadata[k])
		}
		merged := arrow.NewMetadata(keys, vals)
		// Schema.Equal ignores metadata, so records of schema still match.
		fileSchema = arrow.NewSchema(schema.Fields(), &merged)
	}
	ipcOpts := []ipc.Option{ipc.WithSchema(fileSchema), ipc.WithAllocator(opts.Allocator)}
	if c := ipcCompression(opts.Compression); c != nil {
		ipcOpts = append(ipcOpts, c)
	}
	fw, err := ipc.NewFileWriter(w, ipcOpts...)
	if err != nil {
		return nil, err
	}
	return &ipcEncoder{fw: fw}, nil
}

func (e *ipcEncoder) write(rec arrow.Record) error { return e.fw.Write(rec) }

func (e *ipcEncoder) buffered() int64 { return 0 }

func (e *ipcEncoder) close() error {
	if !e.closed {
		e.closed = true
		e.closeErr = e.fw.Close()
	}
	return e.closeErr
}
