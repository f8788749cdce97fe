package sched

import (
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// childEnv selects what a re-run of this test binary does: Batch changes
// how every thread of a process is scheduled, so TestBatch runs it in a
// child, and the child starts a grandchild to see the policy inherited.
const childEnv = "QUIVER_SCHED_TEST"

// TestBatch runs TestBatchChild in a child process.
func TestBatch(t *testing.T) {
	if p := policy(t, 0).Policy; p != unix.SCHED_NORMAL {
		t.Skipf("this test runs under scheduling policy %d; it needs the default one to see Batch change it", p)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBatchChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=batch")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestBatchChild") {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
}

// TestBatchChild is TestBatch's child: it sets one thread to SCHED_IDLE
// and raises another's nice value, calls Batch, and checks that every
// other thread is SCHED_BATCH, that those two kept their own, and that a
// process started afterwards inherits SCHED_BATCH.
func TestBatchChild(t *testing.T) {
	if os.Getenv(childEnv) != "batch" {
		t.Skip("run by TestBatch")
	}
	idle := lockedThread(t, func(tid int) error {
		return unix.SchedSetAttr(tid, &unix.SchedAttr{Policy: unix.SCHED_IDLE}, 0)
	})
	nice := min(19, int(policy(t, 0).Nice)+1)
	niced := lockedThread(t, func(tid int) error {
		return unix.Setpriority(unix.PRIO_PROCESS, tid, nice)
	})
	moved, err := Batch()
	if err != nil || moved == 0 {
		t.Fatalf("Batch() = %d, %v; want the threads under the default policy moved", moved, err)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())
		attr, err := unix.SchedGetAttr(tid, 0)
		if err != nil {
			continue // exited since
		}
		want := uint32(unix.SCHED_BATCH)
		if tid == idle {
			want = unix.SCHED_IDLE
		}
		if attr.Policy != want {
			t.Errorf("thread %d has policy %d, want %d", tid, attr.Policy, want)
		}
	}
	if n := int(policy(t, niced).Nice); n != nice {
		t.Errorf("the thread with nice %d has nice %d after Batch", nice, n)
	}
	if again, err := Batch(); err != nil || again != 0 {
		t.Errorf("second Batch() = %d, %v; want 0 threads moved", again, err)
	}

	grandchild := exec.Command(os.Args[0], "-test.run=^TestBatchSleeper$")
	grandchild.Env = append(os.Environ(), childEnv+"=sleep")
	stdin, err := grandchild.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := grandchild.Start(); err != nil {
		t.Fatal(err)
	}
	if p := policy(t, grandchild.Process.Pid).Policy; p != unix.SCHED_BATCH {
		t.Errorf("a process started after Batch has policy %d, want SCHED_BATCH (%d)", p, unix.SCHED_BATCH)
	}
	stdin.Close()
	if err := grandchild.Wait(); err != nil {
		t.Errorf("%s: %v", grandchild, err)
	}
}

// TestBatchSleeper is the process TestBatchChild starts: it waits for its
// stdin to close.
func TestBatchSleeper(t *testing.T) {
	if os.Getenv(childEnv) != "sleep" {
		t.Skip("run by TestBatchChild")
	}
	io.Copy(io.Discard, os.Stdin)
}

// lockedThread runs set on a thread of its own and returns the thread's
// id; the thread ends with the test.
func lockedThread(t *testing.T, set func(tid int) error) int {
	t.Helper()
	tids := make(chan int)
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		tid := unix.Gettid()
		if err := set(tid); err != nil {
			t.Errorf("thread %d: %v", tid, err)
		}
		tids <- tid
		<-done
	}()
	return <-tids
}

// policy returns the scheduling attributes of thread or process tid (0:
// the calling thread).
func policy(t *testing.T, tid int) *unix.SchedAttr {
	t.Helper()
	attr, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		t.Fatalf("sched_getattr %d: %v", tid, err)
	}
	return attr
}
