package rest

import (
	"bytes"
	"context"
	"errors"
	"strings"
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
			got, err := readBody(iotest.OneByteReader(bytes.NewReader(body)), tt.size, tt.limit, newBody)
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

// TestReadBody_Allocations: with a Content-Length a body costs one buffer
// of its size, read to the end without regrowing it; without one (a
// gzipped page) the buffer doubles as it fills, a few allocations for a
// MiB rather than one per quarter more. The reader is one allocation too.
func TestReadBody_Allocations(t *testing.T) {
	tests := []struct {
		name      string
		bytes     int
		size      int64 // Content-Length; -1 unknown
		maxAllocs float64
	}{
		{name: "length given", bytes: 300_000, size: 300_000, maxAllocs: 2},
		// 512 bytes doubled to 2 MiB is 12 buffers.
		{name: "length unknown", bytes: 1 << 20, size: -1, maxAllocs: 14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("x"), tt.bytes)
			var got []byte
			allocs := testing.AllocsPerRun(10, func() {
				got, _ = readBody(bytes.NewReader(body), tt.size, 2<<20, newBody)
			})
			if !bytes.Equal(got, body) {
				t.Fatalf("readBody = %d bytes, want %d", len(got), len(body))
			}
			if allocs > tt.maxAllocs {
				t.Errorf("readBody made %.0f allocations, want at most %.0f", allocs, tt.maxAllocs)
			}
		})
	}
}

// TestClient_ReuseBody: a body given back holds the next response of a
// size that fits it, read whole.
func TestClient_ReuseBody(t *testing.T) {
	t.Parallel()
	first, second := strings.Repeat("a", 20_000), strings.Repeat("b", 19_000)
	h := newHarness(t, newScript(t, ok(first), ok(second)), nil)
	ctx := context.Background()
	fetch := func() []byte {
		t.Helper()
		var body []byte
		if err := h.client.Do(ctx, Request{Path: "/things"}, func(r *Response) error {
			body = r.Body
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return body
	}
	b1 := fetch()
	if string(b1) != first {
		t.Fatalf("first body = %d bytes, want %d", len(b1), len(first))
	}
	h.client.ReuseBody(b1)
	b2 := fetch()
	if string(b2) != second {
		t.Fatalf("second body = %d bytes, want %d", len(b2), len(second))
	}
	if &b1[:1][0] != &b2[:1][0] {
		t.Error("the second body was not read into the buffer the first gave back")
	}
}

// TestBodies: the free list keeps what is worth keeping, as many as
// maxFreeBodies, hands out only buffers large enough, and none to a body
// known to be small.
func TestBodies(t *testing.T) {
	t.Parallel()
	var p bodies
	p.put(make([]byte, 10, minReusedBody-1)) // too small to keep
	p.put(make([]byte, 10, maxReusedBody+1)) // too large to keep
	for range maxFreeBodies + 2 {
		p.put(make([]byte, 10, 64<<10))
	}
	if len(p.free) != maxFreeBodies {
		t.Fatalf("%d bodies kept, want %d", len(p.free), maxFreeBodies)
	}
	tests := []struct {
		name string
		n    int
		kept bool // a kept buffer
	}{
		{name: "larger than any kept", n: 1 << 20},
		{name: "small", n: 1000},
		{name: "unknown", n: 0, kept: true},
		{name: "fits a kept one", n: 5000, kept: true},
	}
	for _, tt := range tests {
		before := len(p.free)
		b := p.get(tt.n)
		if kept := before-len(p.free) == 1; kept != tt.kept || len(b) != 0 || cap(b) < tt.n || kept && cap(b) != 64<<10 {
			t.Errorf("%s: get(%d) = len %d cap %d, taken from the free list: %v; want %v", tt.name, tt.n, len(b), cap(b), kept, tt.kept)
		}
	}
}
