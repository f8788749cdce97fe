//go:build quiverfault && unix

package main

import (
	"os"
	"strconv"
	"syscall"

	"github.com/quiver-etl/quiver/host/sink"
)

// killAfterEnv, in a build with the quiverfault tag (tests only, never a
// release), makes quiver SIGKILL itself after that many file operations
// of the commit protocol (publishing or removing a part file; 0 means
// before the first), so that tests can crash a sync or a compaction at
// every step. When quiver leads its process group (the tests start it so)
// the whole group dies, plugins included, as in a container's OOM kill.
const killAfterEnv = "QUIVER_TEST_KILL_AFTER"

// wrapFiles returns the file operations of the commit protocol (on the
// local file system, or uploads and deletes on an object store), with
// the kill switch when killAfterEnv is set.
func wrapFiles(f sink.Files) sink.Files {
	n, err := strconv.Atoi(os.Getenv(killAfterEnv))
	if err != nil || n < 0 {
		return f
	}
	return &killingFiles{inner: f, after: n}
}

// killingFiles counts file operations and kills the process after the
// chosen one.
type killingFiles struct {
	inner       sink.Files
	after, done int
}

func (k *killingFiles) op(do func() error) error {
	if k.done >= k.after {
		die()
	}
	err := do()
	k.done++
	if k.done >= k.after {
		die()
	}
	return err
}

func (k *killingFiles) Publish(f *sink.File) error {
	return k.op(func() error { return k.inner.Publish(f) })
}

func (k *killingFiles) Remove(path string) error {
	return k.op(func() error { return k.inner.Remove(path) })
}

// die kills the process (and its group, when it leads one) at once.
func die() {
	pid := os.Getpid()
	if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	select {} // the signal is on its way
}
