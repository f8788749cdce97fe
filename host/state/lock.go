package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LockedError is returned by Lock when another run holds the source's lock.
type LockedError struct {
	Source string // the source name
	Path   string // the lock file
	PID    int    // the process holding it, as it wrote in the file; 0 if unknown
	// Holder and Until describe the holder of a lock on an object store (a
	// lease): its name (host:pid:random) and when it expires unless renewed.
	Holder string
	Until  time.Time
}

// Error says which source is locked, by which process when known.
func (e *LockedError) Error() string {
	who := "another quiver run"
	switch {
	case e.PID > 0:
		who += fmt.Sprintf(" (pid %d)", e.PID)
	case e.Holder != "":
		who += fmt.Sprintf(" (%s, until %s unless it renews)", e.Holder, e.Until.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("state: %s holds the lock on source %q (%s)", who, e.Source, e.Path)
}

// errLocked is what tryLock returns when the lock is held elsewhere.
var errLocked = errors.New("lock held")

// Lock takes the exclusive lock on source, without waiting: if another run
// (another process, or another Store in this one) holds it, Lock fails at
// once with a *LockedError. The lock is an flock(2) on <dir>/<source>.lock
// (0600), or a LockFileEx byte lock on Windows, so the OS drops it when the
// process dies; the file is never removed, because removing a lock file
// races with its next user.
//
// On an object store the lock is a lease (see blobstore.Lease) of
// $QUIVER_LEASE_TTL, renewed in the background and before every Save
// until release: a run that crashed holds it until it expires.
//
// Holding the lock, Lock removes temporary state files that an interrupted
// Save of this source left behind. release unlocks; it is safe to call
// more than once (later calls return the first call's result).
func (s *Store) Lock(source string) (release func() error, err error) {
	if err := ValidateName(source); err != nil {
		return nil, err
	}
	if s.obj != nil {
		return s.obj.lock(source, s.now)
	}
	path := filepath.Join(s.dir, source+lockExt)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, fmt.Errorf("state: lock source %q: %w", source, err)
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, &LockedError{Source: source, Path: path, PID: holder(path)}
		}
		return nil, fmt.Errorf("state: lock source %q (%s): %w", source, path, err)
	}
	s.removeStaleTemps(source)
	// The holder's pid goes into the file for the message of a run that
	// finds the lock taken; it is a hint, so a failure to write it is ignored.
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return sync.OnceValue(func() error {
		err := unlock(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("state: unlock source %q: %w", source, err)
		}
		return nil
	}), nil
}

// holder returns the pid written in the lock file at path, or 0.
func holder(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// removeStaleTemps removes the temporary files sink.WriteFile names
// ".<source>.json<random digits>" that a Save interrupted by a crash left
// behind. The caller holds source's lock, so no Save of it is running.
func (s *Store) removeStaleTemps(source string) {
	prefix := "." + source + fileExt
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if ok && rest != "" && strings.Trim(rest, "0123456789") == "" && e.Type().IsRegular() {
			os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}
