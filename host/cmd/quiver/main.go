// Command quiver runs Quiver connector plugins: it checks credentials,
// discovers streams and syncs them into Parquet, Arrow, JSONL or CSV files.
//
// Exit codes are part of its interface: 0 ok, 1 failed, 2 usage or config,
// 3 partial (some streams failed), 4 authentication, 75 temporary (rate
// limit, quota, outage, or another run holds the state lock: retry later),
// 130 interrupted (SIGINT), 143 terminated (SIGTERM).
//
// On SIGINT or SIGTERM quiver stops reading, commits every file its
// checkpoints cover together with their state, writes the run manifest and
// exits; the next run goes on from there. A second signal exits at once
// (committed files and state stay valid; the next run finishes a commit it
// finds half done). Plugins ignore the terminal's SIGINT (go-plugin), so
// Ctrl-C reaches only the host, which ends them after committing.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/quiver-etl/quiver/host"
	"github.com/quiver-etl/quiver/host/state"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitPartial     = 3
	exitAuth        = 4
	exitTemporary   = 75 // EX_TEMPFAIL from sysexits.h: schedulers know to retry
	exitInterrupted = 130
	exitTerminated  = 143
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := newConsole(os.Stderr)
	var sig atomic.Value
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-signals
		sig.Store(s)
		fmt.Fprintf(stderr, "quiver: %v received: stopping, committing what is complete (again to force)\n", s)
		cancel()
		<-signals
		os.Exit(exitCodeFor(s))
	}()
	code := run(ctx, os.Args[1:], os.Stdout, stderr)
	if s, ok := sig.Load().(os.Signal); ok && code != exitOK {
		code = exitCodeFor(s)
	}
	os.Exit(code)
}

func exitCodeFor(s os.Signal) int {
	if s == syscall.SIGTERM {
		return exitTerminated
	}
	return exitInterrupted
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newRoot(stdout, stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	// cobra's error for a command it does not know has no type of its own.
	if strings.HasPrefix(err.Error(), "unknown command ") {
		err = &usageError{err.Error()}
	}
	code := exitCode(err)
	var shown *shownError
	if !errors.As(err, &shown) {
		fmt.Fprintln(stderr, "quiver:", err)
		return code
	}
	for _, line := range shown.unseen {
		fmt.Fprintln(stderr, "quiver:", line)
	}
	fmt.Fprintf(stderr, "quiver: run %s (exit code %d); the summary above lists the errors\n", shown.status, code)
	return code
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var usage *usageError
	var partial *host.PartialError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, protocol.ErrCanceled) || errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &usage) || errors.Is(err, protocol.ErrConfig) || errors.Is(err, state.ErrCorrupt):
		return exitUsage
	case errors.Is(err, protocol.ErrAuth):
		return exitAuth
	case errors.Is(err, protocol.ErrTemporary):
		return exitTemporary
	case errors.As(err, &partial):
		return exitPartial
	}
	return exitFailed
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
