package rest

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// The adaptive rate's constants; see adaptive.
const (
	// observeWindow is how far back the rate the client sent requests at
	// is measured when the vendor refuses one: long enough to hold a few
	// requests of a vendor allowing 100 a minute, short enough to be the
	// rate that was refused.
	observeWindow = 3 * time.Second
	// observeSlot is the meter's resolution, and the shortest span a rate
	// is measured over (so that two requests sent at once do not read as
	// an unbounded rate).
	observeSlot = 100 * time.Millisecond
	// meterSlots is how many slots cover observeWindow.
	meterSlots = int(observeWindow / observeSlot)
	// runSpan and minRun make a run of successes: as many as the rate
	// sends in a second, at least minRun, so that the rate grows about
	// once a second however fast it is, and not on every request of a
	// slow one.
	runSpan = time.Second
	minRun  = 4
	// decrease is the multiplicative decrease.
	decrease = 0.5
	// growSteps: each run adds a twentieth of the rate the client fell
	// from, so ten clean runs win a halving back.
	growSteps = 20
	// minRefused, keptAnswers and minAnswers: a refusal lowers the rate
	// only when refusals are at least 15% of the last 50 answers, counted
	// as 20 while there are fewer (so it takes three refusals at the
	// start). A vendor's odd 429 is not its rate: the pause is answer
	// enough. Lowering the rate on every one brought a sequential client
	// meeting 429s on 5.6% of its requests at random down to its floor
	// (300 requests took 160 s of a fake clock instead of 18 s), and timed
	// out the end-to-end Capillary test whose faults include 429s. These
	// thresholds are set against our fault injector and simulators, not a
	// vendor's recorded 429s: provisional until such a trace exists.
	minRefused  = 0.15
	keptAnswers = 50
	minAnswers  = 20
	// maxFloor is the highest floor: one request a second. A rate limit
	// lower than that has windows of seconds, and the vendor's Retry-After
	// says how long.
	maxFloor = rate.Limit(1)
)

// adaptive is a Client's adaptive request rate (AIMD), shared by every
// request of the Client, so by all the streams of a source. The rule:
//
//   - Until the vendor first refuses a request for its rate limit (a 429,
//     or Verdict RateLimited), it does not bind: requests go at the rate of
//     the client's own limiter (Options.Limiter, the configured
//     requests_per_minute), or unlimited when there is none.
//   - When the vendor refuses a request sent after the rate last fell, and
//     refusals are at least 15% of the last 50 answers (of 20 at least),
//     the rate falls to half of the lower of the rate now and the rate
//     the client actually sent requests at over the last observeWindow,
//     but never below the floor: one request per the retry's wait (the
//     Retry-After, or Policy.RateLimitFloor) or one a second, whichever is
//     less (and never above the rate now). Refusals of requests sent
//     before the fall are the same overload: they do not lower it again.
//     Rarer refusals only pause the client (see Client.pause).
//   - After each run of successes (as many as the rate allows in runSpan,
//     at least minRun) it grows by a twentieth of the rate it last fell
//     from. Once it reaches the configured rate it stops binding again;
//     with no configured rate it keeps growing, and so binds less and
//     less.
//
// Requests wait on it before the client's own limiter, with burst 1. It
// reads time from now only, so tests can drive it with a fake clock. It is
// safe for concurrent use. A nil *adaptive never binds.
type adaptive struct {
	now     func() time.Time
	ceiling func() rate.Limit // the configured rate, or rate.Inf

	mu      sync.Mutex
	lim     *rate.Limiter // nil while the rate does not bind
	step    rate.Limit    // the additive increase of one run
	lowered time.Time     // when the rate last fell
	run     int           // successes since the rate last changed
	sent    meter         // the requests sent lately
	answers answers       // the last answers: refused or not
}

// newAdaptive returns an adaptive rate that does not bind yet. limiter is
// the client's configured one, or nil.
func newAdaptive(now func() time.Time, limiter *rate.Limiter) *adaptive {
	ceiling := func() rate.Limit { return rate.Inf }
	if limiter != nil {
		ceiling = limiter.Limit
	}
	return &adaptive{now: now, ceiling: ceiling}
}

// send records a request sent at t.
func (a *adaptive) send(t time.Time) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sent.add(t)
}

// limited applies a rate-limit refusal of a request sent at sent, whose
// retry waits wait. It returns the rates before and after, and whether the
// rate fell.
func (a *adaptive) limited(sent time.Time, wait time.Duration) (from, to rate.Limit, fell bool) {
	if a == nil {
		return 0, 0, false
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answers.add(true)
	if !a.lowered.IsZero() && !sent.After(a.lowered) {
		return 0, 0, false
	}
	if a.answers.refusedShare() < minRefused {
		return 0, 0, false
	}
	ceiling := a.ceiling()
	cur := ceiling
	if a.lim != nil {
		cur = a.lim.Limit()
	}
	from = min(cur, a.sent.rate(now))
	floor := min(maxFloor, rate.Every(max(wait, time.Second)), ceiling)
	to = min(max(from*decrease, floor), cur)
	a.step = max(from, floor) / growSteps
	if a.lim == nil {
		a.lim = rate.NewLimiter(to, 1)
	} else {
		a.lim.SetLimitAt(now, to)
	}
	a.lowered, a.run = now, 0
	return from, to, true
}

// succeeded counts a request the vendor accepted; after a run of them the
// rate grows. It returns the new rate when it grew (rate.Inf once it stops
// binding).
func (a *adaptive) succeeded() (grown rate.Limit, grew bool) {
	if a == nil {
		return 0, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answers.add(false)
	if a.lim == nil {
		return 0, false
	}
	cur := a.lim.Limit()
	a.run++
	if a.run < max(minRun, int(math.Ceil(float64(cur)*runSpan.Seconds()))) {
		return 0, false
	}
	a.run = 0
	next := cur + a.step
	if next >= a.ceiling() {
		a.lim = nil
		return rate.Inf, true
	}
	a.lim.SetLimitAt(a.now(), next)
	return next, true
}

// limit returns the rate now; rate.Inf while it does not bind.
func (a *adaptive) limit() rate.Limit {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lim == nil {
		return rate.Inf
	}
	return a.lim.Limit()
}

// reserve takes the next request's slot at now: it returns how long from
// now the request must wait, and a function that gives the slot back
// should the request not wait it out. d is 0 while the rate does not bind.
func (a *adaptive) reserve(now time.Time) (d time.Duration, cancel func()) {
	if a == nil {
		return 0, func() {}
	}
	a.mu.Lock()
	lim := a.lim
	a.mu.Unlock()
	if lim == nil {
		return 0, func() {}
	}
	res := lim.ReserveN(now, 1) // burst 1: always OK
	return res.DelayFrom(now), func() { res.CancelAt(a.now()) }
}

// meter counts requests in slots of observeSlot over observeWindow. The
// zero value is ready to use; it is not safe for concurrent use.
type meter struct {
	first time.Time // the first request ever
	slots [meterSlots]struct {
		idx int64 // the slot's number since the epoch
		n   int
	}
}

// add counts a request at t.
func (m *meter) add(t time.Time) {
	if m.first.IsZero() {
		m.first = t
	}
	idx := t.UnixNano() / int64(observeSlot)
	s := &m.slots[uint64(idx)%uint64(meterSlots)]
	if s.idx != idx {
		s.idx, s.n = idx, 0
	}
	s.n++
}

// count returns the requests in the slots that end at now, over the last
// observeWindow.
func (m *meter) count(now time.Time) int {
	cur := now.UnixNano() / int64(observeSlot)
	n := 0
	for _, s := range m.slots {
		if s.idx > cur-int64(meterSlots) && s.idx <= cur {
			n += s.n
		}
	}
	return n
}

// rate returns the requests a second over the slots that end at now: the
// last observeWindow, or since the first request when that is shorter,
// but never less than a slot.
func (m *meter) rate(now time.Time) rate.Limit {
	if m.first.IsZero() {
		return 0
	}
	n := m.count(now)
	covered := time.Duration(meterSlots-1)*observeSlot + time.Duration(now.UnixNano()%int64(observeSlot))
	span := max(min(now.Sub(m.first), covered), observeSlot)
	return rate.Limit(float64(n) / span.Seconds())
}

// answers keeps whether each of the last keptAnswers answers was a
// rate-limit refusal. The zero value is ready to use; it is not safe for
// concurrent use.
type answers struct {
	refused [keptAnswers]bool
	n, next int // answers kept; where the next goes
	count   int // refusals among them
}

// add keeps an answer, refused or not, in place of the oldest.
func (s *answers) add(refused bool) {
	if s.n == keptAnswers && s.refused[s.next] {
		s.count--
	}
	s.refused[s.next] = refused
	if refused {
		s.count++
	}
	s.next = (s.next + 1) % keptAnswers
	s.n = min(s.n+1, keptAnswers)
}

// refusedShare returns the share of refusals among the answers kept,
// counted as minAnswers while there are fewer.
func (s *answers) refusedShare() float64 {
	if s.n == 0 {
		return 0
	}
	return float64(s.count) / float64(max(s.n, minAnswers))
}
