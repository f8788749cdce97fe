package connectortest

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// TB is the part of testing.TB a simulator's Start function and the
// checks use. *testing.T satisfies it (it is simhttp.TB with the rest of
// what a check reports through), so a Suite's Start can pass it straight
// to a simulator's NewServer.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Failed() bool
	TempDir() string
}

// tb is what Run reports to: a TB that also runs subtests. *testing.T cannot
// satisfy it directly (its Run takes a func(*testing.T)), so Run adapts it
// with testingT; the kit's own tests pass a recording fake, so that a
// deliberately broken connector fails the fake and not the real test.
type tb interface {
	TB
	// Run runs f as a subtest called name and reports whether it passed.
	Run(name string, f func(tb)) bool
	// Parallel signals that the test may run alongside its siblings.
	Parallel()
}

// testingT adapts *testing.T to tb.
type testingT struct{ *testing.T }

func (t testingT) Run(name string, f func(tb)) bool {
	t.Helper()
	return t.T.Run(name, func(t *testing.T) { f(testingT{t}) })
}

// recorder is the TB a check runs on: it keeps what the check reports, to
// be replayed on the check's subtest (see checker.add). It is safe for
// concurrent use.
type recorder struct {
	mu       sync.Mutex
	lines    []reported
	failed   bool
	cleanups []func()
}

// reported is one line a check reported.
type reported struct {
	fail bool // Errorf or Fatalf, else Logf
	msg  string
}

// run runs check on r in a goroutine of its own, which Fatalf ends, and
// then r's cleanups, last registered first.
func (r *recorder) run(check func(TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(r)
	}()
	<-done
	r.mu.Lock()
	cleanups := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for _, f := range slices.Backward(cleanups) {
		f()
	}
}

// replay reports on t what the check reported on r.
func (r *recorder) replay(t TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if l.fail {
			t.Errorf("%s", l.msg)
		} else {
			t.Logf("%s", l.msg)
		}
	}
}

func (r *recorder) add(fail bool, format string, args []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, reported{fail: fail, msg: fmt.Sprintf(format, args...)})
	r.failed = r.failed || fail
}

func (r *recorder) Helper() {}

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *recorder) Errorf(format string, args ...any) { r.add(true, format, args) }

// Fatalf reports and ends the check, as testing.T's does: call it only
// from the goroutine running the check.
func (r *recorder) Fatalf(format string, args ...any) {
	r.add(true, format, args)
	runtime.Goexit()
}

func (r *recorder) Logf(format string, args ...any) { r.add(false, format, args) }

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// TempDir returns a new directory, removed when the check ends.
func (r *recorder) TempDir() string { return tempDir(r) }

// tempDir is TB.TempDir for the TBs of this package: a new directory that
// t's cleanup removes.
func tempDir(t TB) string {
	dir, err := os.MkdirTemp("", "connectortest-")
	if err != nil {
		t.Fatalf("TempDir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

var _ TB = (*recorder)(nil)
