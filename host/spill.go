package host

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// spillBufSize is the write and read buffer in front of a spill file.
const spillBufSize = 256 << 10

// A spill holds a stream's batches that wait for a checkpoint on disk
// instead of in memory: an Arrow IPC stream in a temporary file (0600) of
// the stream's folder, named as a temporary part is, so that the next run
// removes it if this one crashes. The goroutine that receives batches
// appends to it; a checkpoint closes it and hands it to the writer
// goroutine, which reads it back in order and removes it.
type spill struct {
	path string
	f    *os.File
	buf  *bufio.Writer
	w    *ipc.Writer
	dirs []dirRun // the partition folder of each batch, in runs
}

// A dirRun is n consecutive spilled batches of one partition folder.
type dirRun struct {
	dir string
	n   int
}

// createSpill creates the spill file path (and its folder) for batches
// of schema.
func createSpill(path string, schema *arrow.Schema, mem memory.Allocator) (*spill, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("spill batches to %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spill batches to %s: %w", path, err)
	}
	buf := bufio.NewWriterSize(f, spillBufSize)
	return &spill{path: path, f: f, buf: buf, w: ipc.NewWriter(buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))}, nil
}

// write appends pc to the file; the caller keeps pc's record.
func (s *spill) write(pc piece) error {
	if err := s.w.Write(pc.rec); err != nil {
		return fmt.Errorf("spill batches to %s: %w", s.path, err)
	}
	if n := len(s.dirs); n > 0 && s.dirs[n-1].dir == pc.dir {
		s.dirs[n-1].n++
	} else {
		s.dirs = append(s.dirs, dirRun{dir: pc.dir, n: 1})
	}
	return nil
}

// close ends the IPC stream and closes the file, which stays on disk. It
// is safe to call twice.
func (s *spill) close() error {
	if s.f == nil {
		return nil
	}
	err := errors.Join(s.w.Close(), s.buf.Flush(), s.f.Close())
	s.f = nil
	if err != nil {
		return fmt.Errorf("spill batches to %s: %w", s.path, err)
	}
	return nil
}

// replay reads the closed file's batches back one at a time, in the order
// they were written, and passes each to write; the record is released
// after write returns (write retains it to keep it).
func (s *spill) replay(mem memory.Allocator, write func(piece) error) error {
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("read back spilled batches: %w", err)
	}
	defer f.Close()
	rd, err := ipc.NewReader(bufio.NewReaderSize(f, spillBufSize), ipc.WithAllocator(mem))
	if err != nil {
		return fmt.Errorf("read back spilled batches from %s: %w", s.path, err)
	}
	defer rd.Release()
	run, left := 0, 0
	if len(s.dirs) > 0 {
		left = s.dirs[0].n
	}
	for rd.Next() {
		for left == 0 && run+1 < len(s.dirs) {
			run++
			left = s.dirs[run].n
		}
		if left == 0 {
			return fmt.Errorf("read back spilled batches from %s: more batches than were written", s.path)
		}
		left--
		if err := write(piece{dir: s.dirs[run].dir, rec: rd.Record()}); err != nil {
			return err
		}
	}
	if err := rd.Err(); err != nil {
		return fmt.Errorf("read back spilled batches from %s: %w", s.path, err)
	}
	if left > 0 || run+1 < len(s.dirs) {
		return fmt.Errorf("read back spilled batches from %s: fewer batches than were written", s.path)
	}
	return nil
}

// removeSpill removes a spill file; one already gone is not an error.
func removeSpill(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove spilled batches: %w", err)
	}
	return nil
}
