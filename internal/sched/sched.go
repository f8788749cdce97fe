// Package sched asks the operating system to schedule this process as a
// batch job.
//
// A sync is a pipeline of threads in two or more processes (the host's
// writer, its receiver, the plugin's fetchers and decoder) on few cores.
// Under Linux's default policy a thread that wakes up, such as the
// plugin's decoder when a page arrives, preempts the one running, such as
// the host's writer, which is the pipeline's slowest stage: in the bench's
// sync (`make bench`) the writer's thread was preempted 700-1,100 times and
// waited 0.16-0.22 s in all to run again, in syncs of 1.7-2.0 s (read from
// /proc/thread-self/schedstat). SCHED_BATCH is the policy Linux has for such
// work (sched(7)): threads keep their share of the CPU and their nice
// value, but one that wakes up waits for the running one's time slice to
// end instead of preempting it. Unprivileged processes may choose it.
package sched

// Batch puts every thread of this process under the batch policy, and
// with them the processes it starts afterwards, which inherit it: on
// Linux, SCHED_BATCH, leaving each thread's nice value as it is. Threads
// under a policy other than the default (real-time or idle, set by the
// user with chrt, say) keep theirs. It returns how many threads it moved;
// after an error, some threads may have moved and others not. Elsewhere it
// does nothing.
func Batch() (int, error) { return batch() }
