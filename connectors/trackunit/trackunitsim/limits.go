package trackunitsim

import (
	"net/http"
	"strconv"
	"time"
)

// limitState is the bookkeeping of the simulated rate limits; s.mu guards it.
type limitState struct {
	aemp         map[string]*urlUse   // per fleet page path
	aempSecond   time.Time            // the second aempInSecond counts
	aempInSecond int                  // fleet requests admitted in aempSecond
	locLast      map[string]time.Time // last locations request per page (after cursor)
	events       []time.Time          // admitted asset event requests, oldest first
}

// urlUse is the AEMP budget of one URL: the regular request every window
// plus a pool of extra requests that each come back after a while.
type urlUse struct {
	used bool
	last time.Time   // last regular request
	pool []time.Time // pool requests still counting, oldest first
}

func newLimitState() limitState {
	return limitState{aemp: map[string]*urlUse{}, locLast: map[string]time.Time{}}
}

// orDefault returns def for zero, 0 for negative ("off") and v otherwise.
func orDefault[T int | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// allowFleet applies the AEMP limits to a request for path at now: the
// customer-wide requests per second, then one request per URL per window
// with a pool of extra requests. It returns the wait when it refuses.
func (s *Server) allowFleet(path string, now time.Time) (bool, time.Duration) {
	perSecond := orDefault(s.opts.AEMPPerSecond, 50)
	window := orDefault(s.opts.AEMPWindow, 15*time.Minute)
	poolSize := orDefault(s.opts.AEMPPool, 50)
	regen := orDefault(s.opts.AEMPPoolRegen, 30*24*time.Hour)

	s.mu.Lock()
	defer s.mu.Unlock()
	l := &s.limits
	if perSecond > 0 {
		sec := now.Truncate(time.Second)
		if !sec.Equal(l.aempSecond) {
			l.aempSecond, l.aempInSecond = sec, 0
		}
		if l.aempInSecond >= perSecond {
			return false, sec.Add(time.Second).Sub(now)
		}
	}
	if window > 0 {
		u := l.aemp[path]
		if u == nil {
			u = &urlUse{}
			l.aemp[path] = u
		}
		k := 0
		for k < len(u.pool) && now.Sub(u.pool[k]) >= regen {
			k++
		}
		u.pool = u.pool[k:]
		switch {
		case !u.used || now.Sub(u.last) >= window:
			u.used, u.last = true, now
		case len(u.pool) < poolSize:
			u.pool = append(u.pool, now)
		default:
			wait := u.last.Add(window).Sub(now)
			if len(u.pool) > 0 {
				wait = min(wait, u.pool[0].Add(regen).Sub(now))
			}
			return false, wait
		}
	}
	l.aempInSecond++
	return true, 0
}

// allowLocations applies "one request per second for a specific page and
// user" to the page named by cursor.
func (s *Server) allowLocations(cursor string, now time.Time) (bool, time.Duration) {
	interval := orDefault(s.opts.LocationInterval, time.Second)
	if interval == 0 {
		return true, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, ok := s.limits.locLast[cursor]; ok && now.Sub(last) < interval {
		return false, last.Add(interval).Sub(now)
	}
	s.limits.locLast[cursor] = now
	return true, 0
}

// allowEvents applies EventLogLimit requests per EventLogWindow.
func (s *Server) allowEvents(now time.Time) (bool, time.Duration) {
	limit := s.opts.EventLogLimit
	if limit <= 0 {
		return true, 0
	}
	window := orDefault(s.opts.EventLogWindow, 30*time.Minute)
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &s.limits
	k := 0
	for k < len(l.events) && now.Sub(l.events[k]) >= window {
		k++
	}
	l.events = l.events[k:]
	if len(l.events) >= limit {
		return false, l.events[0].Add(window).Sub(now)
	}
	l.events = append(l.events, now)
	return true, 0
}

// tooMany answers 429 with Retry-After in whole seconds (rounded up, at
// least 1) unless Options.BareRateLimit is set.
func (s *Server) tooMany(w http.ResponseWriter, stream string, wait time.Duration, msg string) {
	s.mu.Lock()
	s.stats.RateLimited[stream]++
	s.mu.Unlock()
	if !s.opts.BareRateLimit {
		secs := max(int64((wait+time.Second-1)/time.Second), 1)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	writeError(w, http.StatusTooManyRequests, "too_many_requests", msg)
}
