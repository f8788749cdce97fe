package sink

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
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
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("writeback ranges started (-want +got):\n%s", diff)
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

// TestStartWriteback: on Linux the advice reaches the kernel, which takes
// it for a file and refuses it for a pipe (ESPIPE); elsewhere there is
// nothing to ask.
func TestStartWriteback(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("startWriteback does nothing off Linux")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "part"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(make([]byte, writebackEvery)); err != nil {
		t.Fatal(err)
	}
	if err := startWriteback(f, 0, writebackEvery); err != nil {
		t.Errorf("startWriteback on a file: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := startWriteback(w, 0, writebackEvery); err == nil {
		t.Error("startWriteback on a pipe = nil, want the kernel's refusal")
	}
}
