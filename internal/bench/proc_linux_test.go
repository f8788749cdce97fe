package main

import "testing"

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
