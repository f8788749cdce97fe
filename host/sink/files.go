package sink

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Files is where committed part files live, seen through the two
// operations of the commit protocol that change what readers see:
// publishing a finished file and removing a published one. The host calls
// them only after the state that records the operation is saved, so each
// must be idempotent: after a crash the next run repeats the ones it
// cannot tell were done.
//
// OS is the local file system. A store without rename (an object store)
// implements Publish as a copy, or a put of the temporary object under its
// final key, followed by a delete of the temporary object.
type Files interface {
	// Publish makes the finished temporary file f visible under f.Final,
	// durably: once it returns, a crash does not undo it. If f was
	// published before (f.Temp is gone and f.Final exists) it returns nil.
	Publish(f *File) error
	// Remove deletes the published file at path, durably. A missing file
	// is not an error.
	Remove(path string) error
}

// OS implements Files on the local file system: Publish renames and
// fsyncs the directory (see the package function Publish); Remove unlinks
// and fsyncs the directory.
type OS struct{}

// Publish calls the package function Publish.
func (OS) Publish(f *File) error { return Publish(f) }

// Remove removes path and fsyncs its directory, so that the removal
// survives a power loss.
func (OS) Remove(path string) error {
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sink: remove: %w", err)
	}
	if err := SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("sink: remove %s: %w", path, err)
	}
	return nil
}

var _ Files = OS{}
