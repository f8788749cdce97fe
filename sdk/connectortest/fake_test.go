package connectortest

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// fakeT is a tb that records failures instead of failing the real test,
// so that a test can run the kit on a deliberately broken connector and
// look at what it reported. Subtests run as testing runs them: each in
// its own goroutine (so that Fatalf can end it), and a subtest that calls
// Parallel goes on once its parent's function has returned; a test ends
// when its parallel subtests have, and then runs its cleanups.
type fakeT struct {
	name   string
	parent *fakeT
	rec    *record
	only   []string // the subtests to run (full names); nil runs all

	mu       sync.Mutex
	failed   bool
	cleanups []func()

	parallel chan struct{}  // closed when the test calls Parallel
	body     chan struct{}  // closed when the test's function has returned
	children sync.WaitGroup // parallel subtests still running
}

// record is what a tree of fakeTs reported.
type record struct {
	mu    sync.Mutex
	lines []string // "name: message"
	ran   []string // names of the tests that ran
}

// runFake runs f as a test called "fake" whose subtests are limited to
// only (full names such as "fake/inprocess/read"; nil runs them all), and
// returns what it reported once everything, cleanups included, is done.
func runFake(only []string, f func(tb)) *record {
	root := &fakeT{name: "", rec: &record{}, only: only, body: make(chan struct{})}
	close(root.body)
	root.Run("fake", f)
	root.children.Wait()
	return root.rec
}

// wanted reports whether the test called name runs under only.
func (t *fakeT) wanted(name string) bool {
	if t.only == nil {
		return true
	}
	for _, o := range t.only {
		if o == name || strings.HasPrefix(o, name+"/") || strings.HasPrefix(name, o+"/") {
			return true
		}
	}
	return false
}

func (t *fakeT) Run(name string, f func(tb)) bool {
	full := name
	if t.name != "" {
		full = t.name + "/" + name
	}
	if !t.wanted(full) {
		return true
	}
	c := &fakeT{name: full, parent: t, rec: t.rec, only: t.only, parallel: make(chan struct{}), body: make(chan struct{})}
	t.rec.mu.Lock()
	t.rec.ran = append(t.rec.ran, full)
	t.rec.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer c.finish()
		f(c)
	}()
	select {
	case <-done:
	case <-c.parallel:
		t.children.Add(1)
		go func() {
			<-done
			t.children.Done()
		}()
	}
	return !c.Failed()
}

// finish ends the test: it waits for its parallel subtests, runs its
// cleanups, and passes a failure up.
func (t *fakeT) finish() {
	close(t.body)
	t.children.Wait()
	t.mu.Lock()
	cleanups := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for _, f := range slices.Backward(cleanups) {
		f()
	}
	if t.Failed() && t.parent != nil {
		t.parent.fail()
	}
}

func (t *fakeT) Parallel() {
	close(t.parallel)
	<-t.parent.body
}

func (t *fakeT) fail() {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
}

func (t *fakeT) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *fakeT) Helper() {}

func (t *fakeT) Cleanup(f func()) {
	t.mu.Lock()
	t.cleanups = append(t.cleanups, f)
	t.mu.Unlock()
}

func (t *fakeT) Errorf(format string, args ...any) {
	t.fail()
	t.rec.mu.Lock()
	t.rec.lines = append(t.rec.lines, t.name+": "+fmt.Sprintf(format, args...))
	t.rec.mu.Unlock()
}

func (t *fakeT) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	runtime.Goexit()
}

func (t *fakeT) Logf(string, ...any) {}

func (t *fakeT) TempDir() string { return tempDir(t) }

// failures returns the lines reported by the test called name or its
// subtests.
func (r *record) failures(name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if strings.HasPrefix(l, name+": ") || strings.HasPrefix(l, name+"/") {
			out = append(out, l)
		}
	}
	return out
}

var _ tb = (*fakeT)(nil)
