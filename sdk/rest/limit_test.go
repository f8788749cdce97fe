package rest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestRequestLimiter(t *testing.T) {
	t.Parallel()
	srv := newScript(t, ok(`{}`))
	h := newHarness(t, srv, nil)
	lim := rate.NewLimiter(rate.Every(time.Hour), 1)
	get := func(ctx context.Context) error {
		return h.client.Do(ctx, Request{Path: "/things", Limiter: lim}, nil)
	}
	if err := get(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The burst is spent: the next request would wait an hour, beyond its
	// deadline, so it fails at once.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	err := get(ctx)
	if !errors.Is(err, errLimiterDeadline) {
		t.Fatalf("Do() = %v, want the limiter's deadline error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Do() took %v to see the wait would outlast its deadline", d)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	// Another request without the limiter is not held up.
	if err := h.client.Do(ctx, Request{Path: "/other"}, nil); err != nil {
		t.Errorf("Do() without the request limiter = %v", err)
	}
}

func TestRequestLimiterCancel(t *testing.T) {
	t.Parallel()
	srv := newScript(t, ok(`{}`))
	h := newHarness(t, srv, nil)
	lim := rate.NewLimiter(rate.Every(time.Hour), 1)
	lim.Allow()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	if err := h.client.Do(ctx, Request{Path: "/things", Limiter: lim}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do() = %v, want context.Canceled", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests, want 0", n)
	}
}

func TestWarnWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		warnWait time.Duration
		limiter  *rate.Limiter
		want     []string // log messages at WARN
	}{
		{"off: a first retry is Debug", 0, nil, nil},
		{"a long wait for a 429 is Warn", time.Second, nil, []string{"rest: retrying"}},
		{"a short wait is Debug", time.Hour, nil, nil},
		// The limiter refills slowly enough that a loaded machine cannot take
		// longer than a refill between the 429 and the retry.
		{"a long limiter wait is Warn", time.Millisecond, rate.NewLimiter(rate.Every(500*time.Millisecond), 1), []string{"rest: retrying", "rest: waiting for the rate limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newScript(t, status(http.StatusTooManyRequests, `{}`), ok(`{}`))
			h := newHarness(t, srv, func(o *Options) { o.Policy.WarnWait = tt.warnWait })
			if err := h.client.Do(context.Background(), Request{Path: "/things", Limiter: tt.limiter}, nil); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, line := range strings.Split(h.logs.String(), "\n") {
				if strings.Contains(line, `"level":"WARN"`) {
					msg := line[strings.Index(line, `"msg":"`)+7:]
					got = append(got, msg[:strings.IndexByte(msg, '"')])
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("Warn lines %q, want %q\n%s", got, tt.want, h.logs)
			}
		})
	}
}
