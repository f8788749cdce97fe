package connectortest

import "testing"

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

// tb is what Run drives: a TB that also runs subtests. *testing.T cannot
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
