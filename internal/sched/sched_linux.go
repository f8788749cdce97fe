package sched

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// maxPasses bounds the passes over the process's threads. A thread the Go
// runtime starts during a pass, from one the pass has not reached yet, has
// the default policy and shows up in the next pass; once a pass moves
// none, every thread is a batch thread and so is every thread started
// from one.
const maxPasses = 5

func batch() (int, error) {
	moved := 0
	for range maxPasses {
		n, err := batchThreads()
		moved += n
		if err != nil || n == 0 {
			return moved, err
		}
	}
	return moved, fmt.Errorf("sched: threads still started under the default policy after %d passes", maxPasses)
}

// batchThreads moves the threads under the default policy to SCHED_BATCH
// and returns how many it moved.
func batchThreads() (int, error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, fmt.Errorf("sched: list threads: %w", err)
	}
	moved := 0
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		attr, err := unix.SchedGetAttr(tid, 0)
		if errors.Is(err, unix.ESRCH) {
			continue // the thread exited
		}
		if err != nil {
			return moved, fmt.Errorf("sched: thread %d: %w", tid, err)
		}
		if attr.Policy != unix.SCHED_NORMAL {
			continue // batch already, or a policy someone chose
		}
		attr.Policy = unix.SCHED_BATCH
		attr.Flags &= unix.SCHED_FLAG_RESET_ON_FORK
		// Since Linux 6.12 the call reports a normal thread's time slice
		// in Runtime; passed back, it would pin the slice.
		attr.Priority, attr.Runtime, attr.Deadline, attr.Period = 0, 0, 0, 0
		err = unix.SchedSetAttr(tid, attr, 0)
		if errors.Is(err, unix.ESRCH) {
			continue
		}
		if err != nil {
			return moved, fmt.Errorf("sched: thread %d to SCHED_BATCH: %w", tid, err)
		}
		moved++
	}
	return moved, nil
}
