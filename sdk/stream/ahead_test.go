package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"
	xrate "golang.org/x/time/rate"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// listing serves /items?limit=&offset=: records with ids 1..n, a page of
// them at a time, with the total in meta.count, each page after a random
// delay of up to jitter so that pages fetched at once complete out of
// order. fail, if positive, is the offset of a page answered 400.
type listing struct {
	n, fail  int
	jitter   time.Duration
	asked    func(offset int) // when not nil, called at each request
	failWait chan struct{}    // when not nil, the failing page is answered once it is closed (or after 5 s)

	mu       sync.Mutex
	rng      *rand.Rand
	offsets  []int // offsets requested, in arrival order
	inFlight atomic.Int32
	peak     atomic.Int32
}

func (l *listing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cur := l.inFlight.Add(1)
	defer l.inFlight.Add(-1)
	for p := l.peak.Load(); cur > p && !l.peak.CompareAndSwap(p, cur); p = l.peak.Load() {
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	l.mu.Lock()
	l.offsets = append(l.offsets, off)
	d := time.Duration(l.rng.Int64N(int64(l.jitter) + 1))
	l.mu.Unlock()
	if l.asked != nil {
		l.asked(off)
	}
	time.Sleep(d)
	if l.fail > 0 && off == l.fail {
		if l.failWait != nil {
			select {
			case <-l.failWait:
			case <-time.After(5 * time.Second):
			}
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"no such page"}`)
		return
	}
	var ids []string
	for id := off + 1; id <= min(off+limit, l.n); id++ {
		ids = append(ids, fmt.Sprintf(`{"id":%d}`, id))
	}
	fmt.Fprintf(w, `{"meta":{"count":%d},"data":[%s]}`, l.n, strings.Join(ids, ","))
}

// requested returns the offsets requested so far.
func (l *listing) requested() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.offsets...)
}

// readListing reads the listing's stream with page concurrency conc,
// through inj's faults, and returns what the writer saw.
func readListing(t *testing.T, l *listing, inj *fault.Injector, conc int) *recordingWriter {
	t.Helper()
	w := &recordingWriter{}
	readPaged(t, l, inj, conc, rest.LimitOffset{Limit: 10}, w, false)
	return w
}

// readPaged reads the listing's stream with pager, which must page by
// limit and offset, into w: over loopback HTTP, or with inProc by calling
// the listing's handler in process (handler), as a synctest bubble needs.
func readPaged(t *testing.T, l *listing, inj *fault.Injector, conc int, pager rest.Pager, w sdk.Writer, inProc bool) {
	t.Helper()
	l.rng = rand.New(rand.NewPCG(uint64(conc), 7))
	opts := rest.Options{BaseURL: "http://127.0.0.1", HTTPClient: &http.Client{Transport: handler{inj.Wrap(l)}}}
	if !inProc {
		srv := httptest.NewServer(inj.Wrap(l))
		t.Cleanup(srv.Close)
		opts = rest.Options{BaseURL: srv.URL}
	}
	opts.Policy = rest.Policy{
		InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, RateLimitFloor: time.Millisecond,
	}
	c, err := rest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	st := &Stream{
		Name: "items", Schema: schema, Records: []string{"data"},
		Pager:   pager,
		Request: func(json.RawMessage) (rest.Request, error) { return rest.Request{Path: "/items"}, nil },
		Info:    EnvelopeInfo("meta.count", []string{"id"}),
		// The checkpoint names the page by its last id.
		Checkpoint: func(_ json.RawMessage, p *records.Page) (json.RawMessage, error) {
			ids := p.Record.Column(0).(*array.Int64)
			return fmt.Appendf(nil, `{"last":%d}`, ids.Value(ids.Len()-1)), nil
		},
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	req := sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "items", Mode: sdk.Incremental}}}
	if err := ReadStreams(context.Background(), c, []*Stream{st}, req, w, ReadOptions{Allocator: mem, PageConcurrency: conc}); err != nil {
		t.Fatal(err)
	}
}

// ownPager is a connector's own Pager, paging by limit and offset as
// rest.LimitOffset does, that answers Prefetch with prefetch.
type ownPager struct{ prefetch bool }

func (ownPager) Start() rest.Paging { return rest.LimitOffset{Limit: 10}.Start() }

func (p ownPager) Prefetch() bool { return p.prefetch }

// plainPager is a connector's own Pager that is no rest.Prefetcher.
type plainPager struct{}

func (plainPager) Start() rest.Paging { return rest.LimitOffset{Limit: 10}.Start() }

// holdWriter is a recordingWriter whose first WriteBatch runs first.
type holdWriter struct {
	*recordingWriter
	once  sync.Once
	first func()
}

func (w *holdWriter) WriteBatch(ctx context.Context, stream string, rec arrow.Record) error {
	w.once.Do(w.first)
	return w.recordingWriter.WriteBatch(ctx, stream, rec)
}

// TestPrefetcher: a connector's own Pager whose Prefetch says true has
// its next pages fetched while a page is written, as rest's pagers do;
// one that says false, or is no rest.Prefetcher, is read one page at a
// time, page 2 asked for only after page 1 is written. Both read the same.
func TestPrefetcher(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		pager    rest.Pager
		prefetch bool
	}{
		{"rest's own", rest.LimitOffset{Limit: 10}, true},
		{"opts in", ownPager{prefetch: true}, true},
		{"opts out", ownPager{prefetch: false}, false},
		{"not a Prefetcher", plainPager{}, false},
	}
	// Each read runs in a synctest bubble, the listing's handler in
	// process: when page 1 is written, synctest.Wait lets every request
	// that could start do so, so whether page 2 was asked for does not
	// depend on how fast a socket is.
	var want []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var page2 atomic.Bool // page 2 was asked for
				l := &listing{n: 45, asked: func(off int) {
					if off == 10 {
						page2.Store(true)
					}
				}}
				w := &holdWriter{recordingWriter: &recordingWriter{}, first: func() {
					synctest.Wait()
					switch asked := page2.Load(); {
					case asked && !tt.prefetch:
						t.Errorf("page 2 was asked for while page 1 was written; want it asked for after")
					case !asked && tt.prefetch:
						t.Errorf("page 2 was not asked for while page 1 was written; want it fetched ahead")
					}
				}}
				readPaged(t, l, fault.New(fault.Options{}), 4, tt.pager, w, true)
				if want == nil {
					want = w.events
				} else if diff := cmp.Diff(want, w.events); diff != "" {
					t.Errorf("events differ from rest.LimitOffset's (-rest +%s):\n%s", tt.name, diff)
				}
				if n := len(w.events); n != 2+5*2 || w.events[n-1] != "status complete" {
					t.Errorf("%d events %q; want 5 pages, each a batch and a checkpoint, then complete", n, w.events)
				}
			})
		})
	}
}

// faults are the injected faults of the tests: every retryable kind, on
// a fifth of the requests.
func faults() *fault.Injector {
	return fault.New(fault.Options{Rate: 0.2, Seed: 3, RetryAfter: time.Second, Kinds: []fault.Kind{
		fault.ServerError, fault.Slow, fault.Truncate, fault.Malformed, fault.Reset, fault.RateLimitBare,
	}})
}

// TestConcurrentPages_AsSequential: a stream that fetches up to 6 pages
// at once, through faults and pages answered out of order, writes the
// same batches and checkpoints, in the same order, as one that fetches a
// page at a time, and had several pages in flight at once.
func TestConcurrentPages_AsSequential(t *testing.T) {
	one := &listing{n: 237, jitter: 3 * time.Millisecond}
	inj := faults()
	want := readListing(t, one, inj, 1)
	if inj.Total() == 0 {
		t.Fatal("no fault was injected")
	}
	if one.peak.Load() > 1 {
		t.Errorf("with concurrency 1, %d requests were in flight at once", one.peak.Load())
	}
	six := &listing{n: 237, jitter: 3 * time.Millisecond}
	got := readListing(t, six, faults(), 6)
	if diff := cmp.Diff(want.events, got.events); diff != "" {
		t.Errorf("events with 6 pages at once differ from one at a time (-one +six):\n%s", diff)
	}
	if n := len(want.events); n != 2+24*2 || want.events[n-1] != "status complete" || want.events[n-2] != `checkpoint {"last":237}` {
		t.Errorf("one at a time: %d events, ending %q; want 24 pages, each a batch and a checkpoint, then complete", n, want.events[n-2:])
	}
	if six.peak.Load() < 3 {
		t.Errorf("with concurrency 6, at most %d requests were in flight at once; want several", six.peak.Load())
	}
	if c1, c6 := want.progress[len(want.progress)-1].Concurrency, got.progress[len(got.progress)-1].Concurrency; c1 != 1 || c6 != 6 {
		t.Errorf("progress says %d and %d pages at once; want 1 and 6", c1, c6)
	}
}

// TestConcurrentPages_FailureKeepsThePagesBefore: when page 9 fails for
// good while pages after it are fetched at once, the stream fails after
// writing and checkpointing pages 1 to 8, and nothing of a later page.
func TestConcurrentPages_FailureKeepsThePagesBefore(t *testing.T) {
	for _, conc := range []int{1, 6} {
		t.Run(fmt.Sprintf("concurrency %d", conc), func(t *testing.T) {
			l := &listing{n: 237, fail: 80, jitter: 3 * time.Millisecond}
			if conc > 1 {
				// The failing page is answered once a page after it has
				// been asked for, as happens when pages are fetched at once.
				later := make(chan struct{})
				var once sync.Once
				l.failWait = later
				l.asked = func(off int) {
					if off > 80 {
						once.Do(func() { close(later) })
					}
				}
			}
			w := readListing(t, l, fault.New(fault.Options{}), conc)
			var want []string
			want = append(want, "status started")
			for page := range 8 {
				var ids []string
				for id := page*10 + 1; id <= page*10+10; id++ {
					ids = append(ids, strconv.Itoa(id))
				}
				want = append(want, "batch ["+strings.Join(ids, " ")+"]", fmt.Sprintf(`checkpoint {"last":%d}`, page*10+10))
			}
			want = append(want, "status failed")
			if diff := cmp.Diff(want, w.events); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if len(w.errs) != 1 || !strings.Contains(w.errs[0].Error(), "stream items page 9") {
				t.Errorf("errors %v; want one naming stream items page 9", w.errs)
			}
			later := 0
			for _, off := range l.requested() {
				if off > 80 {
					later++
				}
			}
			if conc > 1 && later == 0 {
				t.Errorf("no page after the failing one was requested; want some fetched at once (requested %v)", l.requested())
			}
		})
	}
}

// TestAhead_Window: the pages a stream keeps in flight halve, down to
// one, at each page taken after a rate-limit retry (several at once count
// once), and grow by one after a window's worth of pages without one, up
// to the maximum.
func TestAhead_Window(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		max    int
		events string // per page taken: '.' no rate limit since the last, 'L' one, '3' three
		want   []int  // the window after each
	}{
		{"halves to one", 8, "LLLL", []int{4, 2, 1, 1}},
		{"many at once halve once", 8, "3.", []int{4, 4}},
		{"grows by one per window of clean pages", 8, "L" + "...." + "....." + "......", []int{4, 4, 4, 4, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 7}},
		{"never above the maximum", 2, "L.....", []int{1, 2, 2, 2, 2, 2}},
		{"a limit during growth halves again", 8, "L....L", []int{4, 4, 4, 4, 5, 2}},
		{"clean pages at the maximum change nothing", 4, "....", []int{4, 4, 4, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n int64
			a := &ahead{limited: func() int64 { return n }, max: tt.max, window: tt.max}
			var got []int
			for _, e := range tt.events {
				switch e {
				case 'L':
					n++
				case '3':
					n += 3
				}
				a.adapt()
				got = append(got, a.window)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("windows (-want +got):\n%s", diff)
			}
		})
	}
}

// handler is an http.RoundTripper that serves every request with h, in
// process, on the caller's goroutine.
type handler struct{ h http.Handler }

func (rt handler) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	rt.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// limited is a listing behind a vendor's rate limit: requests above rate
// a second (a token bucket of burst) are answered 429 without Retry-After.
// It counts every request that arrives.
type limited struct {
	*listing
	lim     *xrate.Limiter
	latency time.Duration

	mu          sync.Mutex
	first, last time.Time
	arrived     int
	refused     int
}

func (l *limited) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	now := time.Now()
	if l.first.IsZero() {
		l.first = now
	}
	l.last = now
	l.arrived++
	over := !l.lim.AllowN(now, 1)
	if over {
		l.refused++
	}
	l.mu.Unlock()
	time.Sleep(l.latency)
	if over {
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	l.listing.ServeHTTP(w, r)
}

// TestConcurrentPages_AIMD: a stream allowed 8 pages at once meets a
// vendor that takes 100 requests a second (20 ms each, so 2 at once) and
// refuses the rest with 429. The stream's back-off (the client's pause and
// adaptive rate, and the pages in flight halving) keeps the requests
// arriving over the run, refused ones included, within 15% of the rate
// allowed, with few refusals, and the read completes.
//
// It runs on a fake clock that requests in flight at once share: a
// synctest bubble, whose clock moves only when every goroutine in it
// waits on time, with the vendor's handler called in process (handler)
// so that no request waits on a socket. Its numbers do not depend on the
// machine's load (only on the order the scheduler wakes requests that
// wait until the same instant): 156–158 requests, 6 refused, 51–57 a
// second, in a tenth of a second of real time. With the halving but not
// the adaptive rate, 77–78 a second and 33–42 refused; with neither, 132
// a second and 207–218 refused (the wall clock gave 52–57 and 6; 83–86
// and 40–41; 118–142 and 177–195). TestAhead_Window pins the halving
// itself, and sdk/rest's TestAdaptive tests the adaptive rate on a fake
// clock of its own.
func TestConcurrentPages_AIMD(t *testing.T) {
	synctest.Test(t, testConcurrentPagesAIMD)
}

func testConcurrentPagesAIMD(t *testing.T) {
	const pages, rate = 150, 100
	l := &limited{listing: &listing{n: pages * 10, rng: rand.New(rand.NewPCG(1, 2))}, lim: xrate.NewLimiter(rate, 2), latency: 20 * time.Millisecond}
	c, err := rest.New(rest.Options{BaseURL: "http://127.0.0.1", HTTPClient: &http.Client{Transport: handler{l}}, Policy: rest.Policy{
		InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond, RateLimitFloor: 20 * time.Millisecond,
	}})
	if err != nil {
		t.Fatal(err)
	}
	st := &Stream{
		Name: "items", Schema: arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil),
		Records: []string{"data"}, Pager: rest.LimitOffset{Limit: 10}, Info: EnvelopeInfo("meta.count", nil),
		Request: func(json.RawMessage) (rest.Request, error) { return rest.Request{Path: "/items"}, nil },
	}
	w := &recordingWriter{}
	req := sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "items"}}}
	if err := ReadStreams(context.Background(), c, []*Stream{st}, req, w, ReadOptions{PageConcurrency: 8}); err != nil {
		t.Fatal(err)
	}
	if last := w.events[len(w.events)-1]; last != "status complete" || len(w.errs) > 0 {
		t.Fatalf("the read ended with %q, errors %v", last, w.errs)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	span := l.last.Sub(l.first).Seconds()
	got := float64(l.arrived) / span
	t.Logf("%d requests (%d refused) in %.2fs: %.0f a second; the vendor allows %d", l.arrived, l.refused, span, got, rate)
	if l.refused == 0 {
		t.Error("no request was refused: the test does not reach the limit")
	}
	if p := w.progress[len(w.progress)-1]; p.RateLimitWait <= 0 {
		t.Errorf("progress says the stream waited %v on rate limits; want the pauses after its 429s", p.RateLimitWait)
	}
	if got > 1.15*rate {
		t.Errorf("%.0f requests a second arrived, over 115%% of the %d the vendor allows", got, rate)
	}
	if got < 0.4*rate {
		t.Errorf("%.0f requests a second arrived, under 40%% of the %d the vendor allows: the back-off throttles too hard", got, rate)
	}
	if l.refused > pages/5 {
		t.Errorf("%d requests were refused, over a fifth of the %d pages", l.refused, pages)
	}
}
