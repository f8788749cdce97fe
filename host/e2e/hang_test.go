//go:build linux

package e2e

// A plugin that hangs, with a child process holding the pipes to the host
// open, must not hang quiver: SIGTERM ends the run at once and frees the
// lock, a start that never completes the handshake fails within seconds,
// and the plugin's whole process group dies with it.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// processGone reports whether pid no longer runs; a zombie, dead but not
// yet reaped by whoever adopted it, counts as gone.
func processGone(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

// waitPID waits for the pid the hang mode writes to path.
func waitPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, time.Minute, "the hung plugin's child", func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(string(b))
		return err == nil
	})
	t.Cleanup(func() {
		if !processGone(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return pid
}

// TestMisbehave_HangThenSIGTERM: a plugin hung in Read, whose child keeps
// the pipes open, used to keep quiver waiting for minutes after a SIGTERM,
// holding the lock; the first SIGTERM now ends the run with 143 within
// seconds, the child is killed with the plugin's process group, and the
// next run gets the lock.
func TestMisbehave_HangThenSIGTERM(t *testing.T) {
	t.Parallel()
	ctx := misbehaveContext(t)
	out := t.TempDir()
	pidFile := filepath.Join(out, "child.pid")
	cfg := writeConfig(t, out, misbehaveConfig(out, misbehaveSource("h", "{mode: hang, pid_file: "+pidFile+"}", "")))
	cmd, done := startQuiver(ctx, t, nil, "sync", "-c", cfg)
	child := waitPID(t, pidFile)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("quiver still runs 30s after SIGTERM")
	}
	stopped := time.Since(sent)
	if r.code != 143 {
		t.Errorf("exit %d after SIGTERM, want 143\n%s", r.code, tail(r.stderr, 20))
	}
	if stopped > 10*time.Second {
		t.Errorf("quiver took %v to stop after SIGTERM", stopped)
	}
	waitFor(t, 5*time.Second, "the plugin's child to die", func() bool { return processGone(child) })

	writeConfig(t, out, misbehaveConfig(out, misbehaveSource("h", "{mode: normal}", "")))
	misbehaveSync(ctx, t, 0, "-c", cfg)
}

// TestMisbehave_StartHang: a plugin that never answers the handshake, with
// a child holding the pipes open, fails the run after the start timeout
// (10 s) and a few seconds more, naming the plugin; the child is killed.
func TestMisbehave_StartHang(t *testing.T) {
	t.Parallel()
	ctx := misbehaveContext(t)
	_, plugins, cfg := misbehaveCopy(t, "hang", "h", "{mode: normal}")
	bin := filepath.Join(plugins, "quiver-misbehave")
	start := time.Now()
	r := quiver(ctx, t, nil, "sync", "-c", cfg, "--plugin-dir", plugins)
	took := time.Since(start)
	if r.code == 0 {
		t.Fatalf("exit 0 from a plugin that never started\n%s", tail(r.stderr, 20))
	}
	if took > 20*time.Second {
		t.Errorf("a plugin that never started held quiver for %v", took)
	}
	if !strings.Contains(r.stderr, "quiver-misbehave") || !strings.Contains(r.stderr, "timeout") {
		t.Errorf("the error does not name the plugin and the timeout:\n%s", tail(r.stderr, 10))
	}
	// The child is a grandchild of quiver: find it as the process running
	// the copied binary.
	waitFor(t, 5*time.Second, "the plugin's child to die", func() bool { return len(processesOf(bin)) == 0 })
}

// processesOf lists the live processes running the binary at path.
func processesOf(path string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == path && !processGone(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}
