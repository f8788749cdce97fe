package e2e

// Replacing a stream's set of files: the full-refresh commit killed at
// every step, the shrink guard, and `quiver compact`.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// killEnv is the variable that makes quiver-fault kill itself after that
// many file operations of the commit protocol.
const killEnv = "QUIVER_TEST_KILL_AFTER"

// quiverKilled runs quiver-fault (quiver built with the quiverfault tag)
// in a process group of its own, so that its kill takes the plugin too.
func quiverKilled(ctx context.Context, t *testing.T, env []string, args ...string) result {
	t.Helper()
	_, done := startQuiverWith(ctx, t, func(cmd *exec.Cmd) {
		cmd.Path = filepath.Join(binDir, "quiver-fault")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}, env, args...)
	return <-done
}

// savedState is the part of a state file these tests look at.
type savedState struct {
	Pending []json.RawMessage `json:"pending"`
	Retire  []string          `json:"retire"`
}

func readState(t *testing.T, path string) savedState {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st savedState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return st
}

// TestReplace_KillAtEveryStep kills a full refresh that replaces a
// 3-file snapshot with a 4-file one (SIGKILL of quiver and its plugin)
// after each file operation of the commit: before the first publish,
// after each of the 4 publishes, and after each of the 3 removals of the
// old files. The next run, a sync of another stream of the source,
// finishes the commit: the stream then holds exactly the new snapshot (its
// 4 files, every id once) and nothing pending. (employees is a snapshot
// stream, which every run replaces, so the next run syncs clients only.)
func TestReplace_KillAtEveryStep(t *testing.T) {
	t.Parallel()
	const oldFiles, newFiles = 3, 4
	for after := 0; after <= oldFiles+newFiles; after++ {
		t.Run(fmt.Sprintf("killed after %d operations", after), func(t *testing.T) {
			t.Parallel()
			srv, out, cfg := uxSetup(t, uxOptions{counts: map[string]int{"employees": 300}, pageSize: 100, streams: "[employees]"})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dir := filepath.Join(out, "data", "acme", "employees")
			stateFile := filepath.Join(out, "state", "acme.json")

			syncJSON(ctx, t, 0, "-c", cfg, "--full-refresh", "--max-file-size", "1")
			old := files(t, dir)
			if len(old) != oldFiles {
				t.Fatalf("first snapshot: %d files %v, want %d", len(old), old, oldFiles)
			}
			srv.Append("employees", 50)
			r := quiverKilled(ctx, t, append([]string{fmt.Sprintf("%s=%d", killEnv, after)}, trackTikEnv...),
				"sync", "-c", cfg, "--full-refresh", "--max-file-size", "1")
			if r.code != -1 {
				t.Fatalf("quiver-fault exited %d; want it killed\n%s", r.code, tail(r.stderr, 20))
			}
			if st := readState(t, stateFile); len(st.Pending) != newFiles || len(st.Retire) != oldFiles {
				t.Errorf("the killed run's state has %d pending and %d retired files, want %d and %d",
					len(st.Pending), len(st.Retire), newFiles, oldFiles)
			}

			next, _ := syncJSON(ctx, t, 0, "-c", cfg, "--streams", "clients")
			if st := next.stream("employees"); st != nil {
				t.Errorf("the next run read employees: %+v; want clients only", st)
			}
			got := files(t, dir)
			if len(got) != newFiles {
				t.Errorf("files after the next run: %v, want the %d of the new snapshot", got, newFiles)
			}
			for _, f := range got {
				if strings.Contains(strings.Join(old, " "), f) {
					t.Errorf("file %s of the old snapshot is still there", f)
				}
			}
			if diff := cmp.Diff(srv.IDs("employees"), sortedIDs(streamIDs(t, dir))); diff != "" {
				t.Errorf("ids after the next run (-want +got):\n%s", diff)
			}
			if tmp := temps(dir); len(tmp) != 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
			if st := readState(t, stateFile); len(st.Pending) != 0 || len(st.Retire) != 0 {
				t.Errorf("state still has pending %v, retire %v", st.Pending, st.Retire)
			}
		})
	}
}
