package main

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

// peakRSS returns the peak resident set size (VmHWM) of process pid in
// bytes, or 0 if it cannot be read (the process is gone or a zombie).
func peakRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	return parseHWM(b)
}

// hwmFile reads the VmHWM of one process again and again from its
// /proc/<pid>/status, held open: a read at offset 0 renders the file anew,
// which spares the open and close of a fresh read on every sample.
type hwmFile struct {
	f   *os.File
	buf []byte
}

// openHWM opens the status file of process pid, or returns nil if the
// process is gone.
func openHWM(pid int) *hwmFile {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil
	}
	return &hwmFile{f: f, buf: make([]byte, 8<<10)}
}

// read returns the process's VmHWM in bytes, or 0 once it has exited (a
// zombie's status has no memory lines) or cannot be read.
func (h *hwmFile) read() int64 {
	n, err := h.f.ReadAt(h.buf, 0)
	if n == 0 && err != nil {
		return 0
	}
	return parseHWM(h.buf[:n])
}

func (h *hwmFile) close() { h.f.Close() }

// parseHWM reads the VmHWM line of a /proc/<pid>/status file, in bytes.
func parseHWM(status []byte) int64 {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0
		}
		return n << 10
	}
	return 0
}

// resetPeakRSS resets this process's VmHWM to its current RSS (Linux 4.0+);
// where that is not allowed the peak stays the process's lifetime peak.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// selfCPU returns this process's user plus system CPU time in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
}

func tvSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

// comm returns the command name of process pid, or "" if it is gone.
func comm(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(b))
}

// childOf returns the pid of a child process of pid, or 0 if it has none.
func childOf(pid int) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range ents {
		cpid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if parent, ok := parentPID(b); ok && parent == pid {
			return cpid
		}
	}
	return 0
}

// parentPID reads the ppid field of a /proc/<pid>/stat line:
// "pid (comm) state ppid ...", where comm may hold spaces and parentheses.
func parentPID(stat []byte) (int, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(string(f[1]))
	return n, err == nil
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// maxRSS returns the peak RSS of a process that has exited, in bytes:
// Maxrss is max(the process, its reaped children) in KiB, an upper bound.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}
