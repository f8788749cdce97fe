package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestParseHWM(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		want         int64
	}{
		{"linux", "Name:\tquiver\nVmPeak:\t  900 kB\nVmHWM:\t   81234 kB\nVmRSS:\t 70000 kB\n", 81234 << 10},
		{"zombie has none", "Name:\tquiver\nState:\tZ (zombie)\n", 0},
		{"odd unit", "VmHWM:\t 12 MB\n", 0},
		{"garbage", "VmHWM:\t twelve kB\n", 0},
		{"empty", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseHWM([]byte(tc.status)); got != tc.want {
				t.Errorf("parseHWM = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestParentPID(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       int
		ok         bool
	}{
		{"plain", "4242 (quiver-tracktik) S 4200 4242 4200 0 -1", 4200, true},
		{"comm with spaces and parens", "17 (a) b (c) R 9 17 17 0", 9, true},
		{"truncated", "17 (a) R", 0, false},
		{"no comm", "17 a R 9", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parentPID([]byte(tc.stat))
			if got != tc.want || ok != tc.ok {
				t.Errorf("parentPID = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestHWMFile(t *testing.T) {
	cmd := exec.Command("sleep", "0.3")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep to run: %v", err)
	}
	defer cmd.Wait()
	h := openHWM(cmd.Process.Pid)
	if h == nil {
		t.Fatal("openHWM of a running process = nil")
	}
	defer h.close()
	if v := h.read(); v <= 0 {
		t.Fatalf("read of a running process = %d, want its peak RSS", v)
	}
	// Unreaped, the exited process is a zombie whose status has no VmHWM.
	deadline := time.Now().Add(5 * time.Second)
	for h.read() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("read still gives a peak 5 s after the process should have exited")
		}
		time.Sleep(20 * time.Millisecond)
	}
	self := openHWM(os.Getpid())
	if self == nil {
		t.Fatal("openHWM of this process = nil")
	}
	defer self.close()
	if v := self.read(); v <= 0 {
		t.Errorf("read of this process = %d, want its peak RSS", v)
	}
}
