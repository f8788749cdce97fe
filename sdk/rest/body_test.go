package rest

import (
	"bytes"
	"errors"
	"testing"
	"testing/iotest"
)

// TestReadBody: a body is read whole, whatever its Content-Length says,
// and refused past the limit.
func TestReadBody(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 10_000) // 100 kB
	tests := []struct {
		name     string
		size     int64 // Content-Length; -1 unknown
		limit    int64
		tooLarge bool
	}{
		{name: "length given", size: int64(len(body)), limit: 1 << 20},
		{name: "length unknown", size: -1, limit: 1 << 20},
		{name: "length too small", size: 10, limit: 1 << 20},
		{name: "length too large", size: 2 * int64(len(body)), limit: 1 << 20},
		{name: "length past the limit", size: int64(len(body)), limit: 1000, tooLarge: true},
		{name: "unknown length past the limit", size: -1, limit: 1000, tooLarge: true},
		{name: "exactly the limit", size: -1, limit: int64(len(body))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte per read: the worst a server can do.
			got, err := readBody(iotest.OneByteReader(bytes.NewReader(body)), tt.size, tt.limit)
			if tt.tooLarge {
				if !errors.Is(err, errBodyTooLarge) {
					t.Fatalf("readBody = %d bytes, %v; want errBodyTooLarge", len(got), err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("readBody = %d bytes, %v; want the %d bytes sent", len(got), err, len(body))
			}
		})
	}
}

// TestReadBody_OneAllocation: with a Content-Length a body costs one
// buffer of its size, read to the end without regrowing it.
func TestReadBody_OneAllocation(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 300_000)
	var got []byte
	allocs := testing.AllocsPerRun(20, func() {
		r := bytes.NewReader(body)
		got, _ = readBody(r, int64(len(body)), 1<<20)
	})
	if !bytes.Equal(got, body) {
		t.Fatalf("readBody = %d bytes, want %d", len(got), len(body))
	}
	// The reader is one allocation, the buffer the other.
	if allocs > 2 {
		t.Errorf("readBody made %.0f allocations for a body of known length, want 2 (the reader and one buffer)", allocs)
	}
}
