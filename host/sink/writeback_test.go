package sink

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWritebackFile(t *testing.T) {
	const mib = writebackEvery
	tests := []struct {
		name   string
		writes []int
		fail   bool       // start fails
		want   [][2]int64 // the ranges started: offset, length
	}{
		{name: "less than the step", writes: []int{mib - 1}, want: nil},
		{name: "one step exactly", writes: []int{mib}, want: [][2]int64{{0, mib}}},
		{name: "small writes add up", writes: []int{mib / 2, mib / 2, mib / 2, mib / 2, 10}, want: [][2]int64{{0, mib}, {mib, mib}}},
		{name: "a large write is one range", writes: []int{100, 3 * mib}, want: [][2]int64{{0, 3*mib + 100}}},
		{name: "the tail waits for Finish", writes: []int{mib, mib - 1}, want: [][2]int64{{0, mib}}},
		{name: "a refused advice is not asked again", writes: []int{mib, mib, mib}, fail: true, want: [][2]int64{{0, mib}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "part"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var got [][2]int64
			w := &writebackFile{f: f, start: func(_ *os.File, off, n int64) error {
				got = append(got, [2]int64{off, n})
				if tt.fail {
					return errors.New("not supported")
				}
				return nil
			}}
			var want bytes.Buffer
			for i, n := range tt.writes {
				b := bytes.Repeat([]byte{byte('a' + i)}, n)
				want.Write(b)
				if m, err := w.Write(b); m != n || err != nil {
					t.Fatalf("Write(%d bytes) = %d, %v", n, m, err)
				}
			}
			if !equalRanges(got, tt.want) {
				t.Errorf("writeback started for %v, want %v", got, tt.want)
			}
			data, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, want.Bytes()) {
				t.Errorf("the file holds %d bytes that differ from the %d written", len(data), want.Len())
			}
		})
	}
}

func equalRanges(a, b [][2]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestStartWriteback runs the system's call on a real file: on Linux it
// must be taken, elsewhere it does nothing.
func TestStartWriteback(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "part"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(make([]byte, writebackEvery)); err != nil {
		t.Fatal(err)
	}
	if err := startWriteback(f, 0, writebackEvery); err != nil {
		t.Fatalf("startWriteback: %v", err)
	}
}
