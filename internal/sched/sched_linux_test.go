package sched

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

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

func policy(t *testing.T, tid int) *unix.SchedAttr {
	t.Helper()
	attr, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		t.Fatalf("sched_getattr %d: %v", tid, err)
	}
	return attr
}

// TestBatch moves the test process to SCHED_BATCH (it changes how this
// process's threads are scheduled, nothing else).
func TestBatch(t *testing.T) {
	idle := lockedThread(t, func(tid int) error {
		return unix.SchedSetAttr(tid, &unix.SchedAttr{Policy: unix.SCHED_IDLE}, 0)
	})
	niced := lockedThread(t, func(tid int) error {
		return unix.Setpriority(unix.PRIO_PROCESS, tid, 3)
	})
	moved, err := Batch()
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	if moved == 0 {
		t.Fatalf("Batch moved no thread; the test process's threads start under the default policy")
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
	if n := policy(t, niced).Nice; n != 3 {
		t.Errorf("the thread with nice 3 has nice %d after Batch, want 3", n)
	}
	if again, err := Batch(); err != nil || again != 0 {
		t.Errorf("second Batch() = %d, %v; want 0 threads moved", again, err)
	}

	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		child.Process.Kill()
		child.Wait()
	}()
	if p := policy(t, child.Process.Pid).Policy; p != unix.SCHED_BATCH {
		t.Errorf("a process started after Batch has policy %d, want SCHED_BATCH (%d)", p, unix.SCHED_BATCH)
	}
}
