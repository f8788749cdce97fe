//go:build unix

package e2e

// quiver on a terminal: progress bars and the summary, not log lines, and
// each error printed once.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// onTerminal runs the built quiver binary with stdout and stderr on one
// pseudo-terminal and returns what it printed and its exit code.
func onTerminal(ctx context.Context, t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "quiver"), args...)
	cmd.Env = append(os.Environ(), "TERM=xterm")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 140})
	if err != nil {
		t.Fatalf("start quiver on a terminal: %v", err)
	}
	defer ptmx.Close()
	var out bytes.Buffer
	_, _ = io.Copy(&out, ptmx) // ends with EIO once quiver has exited
	err = cmd.Wait()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("quiver on a terminal: %v", err)
	}
	return out.String(), code
}

// TestTerminal: on a terminal a sync shows its bars and summary without
// INFO log lines, a failed stream's error is printed once, and check shows
// no plugin life-cycle lines.
func TestTerminal(t *testing.T) {
	t.Parallel()
	ctx := misbehaveContext(t)
	out := t.TempDir()
	good := writeConfig(t, out, misbehaveConfig(out, misbehaveSource("m", "{rows: 100}", "")))
	bad := filepath.Join(out, "bad.yaml")
	if err := os.WriteFile(bad, []byte(misbehaveConfig(out, misbehaveSource("f", "{mode: uncommitted_tail, rows: 100}", ""))), 0o600); err != nil {
		t.Fatal(err)
	}

	text, code := onTerminal(ctx, t, "sync", "-c", good)
	if code != 0 || !strings.Contains(text, "run ") || !strings.Contains(text, "ok, 100 records") {
		t.Errorf("sync on a terminal: exit %d, no summary:\n%s", code, text)
	}
	if strings.Contains(text, "level=") {
		t.Errorf("sync on a terminal prints log lines:\n%s", text)
	}

	text, code = onTerminal(ctx, t, "sync", "-c", bad)
	const failure = "failed after a batch no checkpoint covers"
	if n := strings.Count(text, failure); code != 1 || n != 1 {
		t.Errorf("failed sync on a terminal: exit %d, the error printed %d times, want exit 1 and once:\n%s", code, n, text)
	}
	if !strings.Contains(text, "the summary above lists the errors") {
		t.Errorf("failed sync on a terminal does not point at the summary:\n%s", text)
	}

	text, code = onTerminal(ctx, t, "check", "-c", good)
	if code != 0 || strings.Contains(text, "plugin process exited") || strings.Contains(text, "level=") {
		t.Errorf("check on a terminal: exit %d, want the result alone:\n%s", code, text)
	}
}
