package rest

import "sync"

// Bounds of the bodies a Client keeps for reuse: a few, as many as the
// pages a stream fetches at once, and none so large that keeping it
// between syncs would cost more than allocating it again.
const (
	maxFreeBodies   = 8
	maxReusedBody   = 8 << 20
	minReusedBody   = 4 << 10
	bodySlackFactor = 8 // a new buffer has len/8 spare, for a next page a little larger
)

// bodies holds response bodies given back with ReuseBody, for later
// responses to be read into.
type bodies struct {
	mu   sync.Mutex
	free [][]byte // len 0 each
}

// get returns a buffer of at least n bytes' capacity and length 0: a free
// one if one is large enough, else a new one with some slack.
func (p *bodies) get(n int) []byte {
	p.mu.Lock()
	for i := len(p.free) - 1; i >= 0; i-- {
		if b := p.free[i]; cap(b) >= n {
			p.free[i] = p.free[len(p.free)-1]
			p.free[len(p.free)-1] = nil
			p.free = p.free[:len(p.free)-1]
			p.mu.Unlock()
			return b
		}
	}
	p.mu.Unlock()
	return make([]byte, 0, n+n/bodySlackFactor)
}

// put keeps b for a later get, if it is worth keeping and there is room.
func (p *bodies) put(b []byte) {
	if cap(b) < minReusedBody || cap(b) > maxReusedBody {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) < maxFreeBodies {
		p.free = append(p.free, b[:0])
	}
}

// ReuseBody gives back b, the Body of a response the caller is done with,
// for a later response to be read into: after the call nothing may refer
// to b or into it, nor read or write it. Giving bodies back is optional;
// it spares allocating and zeroing a buffer per page (sdk/stream gives
// back each page it decoded).
func (c *Client) ReuseBody(b []byte) {
	c.bodies.put(b)
}
