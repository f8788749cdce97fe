package sink

import "os"

// writebackEvery is how many bytes a part writes between two requests to
// the kernel to start writing them to disk. A part is fsynced before it is
// published, and that fsync waits for every byte still dirty in the page
// cache: on this project's VMs about 2 ms per MB (`make bench`'s 9.5 MB
// file took 18-25 ms). Started every MiB, the writeback of a row group
// flushed mid-stream runs while the stream goes on, and the fsync waits
// for the file's tail only; a long sync also keeps its dirty pages few.
// RocksDB's bytes_per_sync option does the same for its files.
const writebackEvery = 1 << 20

// writebackFile writes to a part's file and starts the writeback of every
// writebackEvery bytes written. Starting writeback is advice: start may
// do nothing, and its error only stops further requests.
type writebackFile struct {
	f       *os.File
	start   func(f *os.File, off, n int64) error // startWriteback; tests record the ranges
	written int64                                // bytes written to f
	started int64                                // bytes whose writeback was started
	off     bool                                 // start failed: the file system does not take the advice
}

func newWritebackFile(f *os.File) *writebackFile {
	return &writebackFile{f: f, start: startWriteback}
}

func (w *writebackFile) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	w.written += int64(n)
	if !w.off && w.written-w.started >= writebackEvery {
		if w.start(w.f, w.started, w.written-w.started) != nil {
			w.off = true
		}
		w.started = w.written
	}
	return n, err
}
