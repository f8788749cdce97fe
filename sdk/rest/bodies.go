package rest

import "sync"

// Bounds of the bodies a Client keeps for reuse: a few, as many as the
// pages a stream fetches at once, none so small that allocating it costs
// nothing, and none so large that holding it between pages costs more
// than allocating it again.
const (
	maxFreeBodies   = 8
	maxReusedBody   = 8 << 20
	minReusedBody   = 4 << 10
	bodySlackFactor = 8 // a kept size has len/8 spare, for a next page a little larger
)

// bodies holds response bodies given back with ReuseBody, for later
// responses to be read into.
type bodies struct {
	mu   sync.Mutex
	free [][]byte // len 0 each
}

// get returns a buffer of length 0 for a body of n bytes (0: unknown): a
// free one large enough if there is one, else a new one. A body known to
// be small gets a new buffer, so that it does not hold a large one.
func (p *bodies) get(n int) []byte {
	if n == 0 || n >= minReusedBody {
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
	}
	if n >= minReusedBody && n <= maxReusedBody {
		n += n / bodySlackFactor
	}
	return newBody(n)
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

// newBody returns a new buffer for a body of n bytes (0: unknown).
func newBody(n int) []byte {
	return make([]byte, 0, max(n, 512))
}

// ReuseBody gives back b, the Body of a response the caller is done with,
// for a later response to be read into: after the call nothing may refer
// to b or into it, nor read or write it. Giving bodies back is optional;
// it spares allocating and zeroing a buffer per page (sdk/stream gives
// back every page it decodes).
func (c *Client) ReuseBody(b []byte) {
	c.bodies.put(b)
}
