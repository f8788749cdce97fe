package fault

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const okBody = `{"data":[{"id":1},{"id":2},{"id":3}],"meta":{"count":3}}`

func newServer(t *testing.T, in *Injector) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(in.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, okBody)
	})))
	t.Cleanup(srv.Close)
	return srv
}

func TestInjector_FailNext(t *testing.T) {
	tests := []struct {
		kind       Kind
		wantStatus int
		wantErr    bool // the client sees a transport or body error
		wantBody   func(string) bool
	}{
		{ServerError, 0, false, func(b string) bool { return strings.Contains(b, "simulated server error") }},
		{RateLimit, 429, false, nil},
		{RateLimitDate, 429, false, nil},
		{RateLimitBare, 429, false, nil},
		{Slow, 200, false, func(b string) bool { return b == okBody }},
		{Truncate, 200, true, nil},
		{Malformed, 200, false, func(b string) bool { return b == okBody[:len(okBody)/2] }},
		{Reset, 0, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			in := New(Options{})
			srv := newServer(t, in)
			in.FailNext(1, tt.kind)
			resp, err := srv.Client().Get(srv.URL + "/x")
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("%v: err = %v, want error %v", tt.kind, err, tt.wantErr)
			}
			if tt.wantErr {
				if tt.kind == Truncate && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("truncate: err = %v, want io.ErrUnexpectedEOF", err)
				}
			} else {
				if tt.wantStatus != 0 && resp.StatusCode != tt.wantStatus {
					t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
				}
				if tt.kind == ServerError && resp.StatusCode < 500 {
					t.Errorf("status = %d, want 5xx", resp.StatusCode)
				}
				if tt.kind == RateLimit && resp.Header.Get("Retry-After") != "1" {
					t.Errorf("Retry-After = %q, want 1", resp.Header.Get("Retry-After"))
				}
				if tt.kind == RateLimitDate {
					if _, err := http.ParseTime(resp.Header.Get("Retry-After")); err != nil {
						t.Errorf("Retry-After %q is not an HTTP-date: %v", resp.Header.Get("Retry-After"), err)
					}
				}
				if tt.wantBody != nil && !tt.wantBody(string(body)) {
					t.Errorf("body = %q", body)
				}
			}
			if got := in.Counts()[tt.kind]; got != 1 {
				t.Errorf("Counts()[%v] = %d, want 1", tt.kind, got)
			}
			// The next request is served normally.
			resp, err = srv.Client().Get(srv.URL + "/x")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("after the fault: status = %d, want 200", resp.StatusCode)
			}
		})
	}
}

func TestInjector_MaxConsecutive(t *testing.T) {
	in := New(Options{Rate: 1, Kinds: []Kind{RateLimitBare}, MaxConsecutive: 2})
	srv := newServer(t, in)
	var codes []int
	for range 6 {
		resp, err := srv.Client().Get(srv.URL + "/same")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	want := []int{429, 429, 200, 429, 429, 200}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("status codes = %v, want %v", codes, want)
		}
	}
}

func TestInjector_Seeded(t *testing.T) {
	draw := func() []Kind {
		in := New(Options{Rate: 0.5, Seed: 7})
		var got []Kind
		for i := range 50 {
			r := httptest.NewRequest("GET", "/p?i="+string(rune('a'+i%26)), nil)
			k, _ := in.pick(r)
			got = append(got, k)
		}
		return got
	}
	a, b := draw(), draw()
	faults := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draw %d differs: %v vs %v", i, a[i], b[i])
		}
		if a[i] != 0 {
			faults++
		}
	}
	if faults < 10 || faults > 40 {
		t.Errorf("%d faults in 50 draws at rate 0.5", faults)
	}
}

// TestInjector_Latency checks that Latency holds every answer, with no
// fault configured: a request whose context ends during the wait never
// reaches the handler, and one under no latency does.
func TestInjector_Latency(t *testing.T) {
	tests := []struct {
		latency  time.Duration
		wantNext bool
	}{
		{0, true},
		{time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.latency.String(), func(t *testing.T) {
			in := New(Options{Latency: tt.latency})
			reached := false
			h := in.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
			ctx, cancel := context.WithCancel(context.Background())
			if tt.latency > 0 {
				cancel() // the client gives up: only the latency wait can see it
			}
			defer cancel()
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/x", nil)
			h.ServeHTTP(httptest.NewRecorder(), req)
			if reached != tt.wantNext {
				t.Errorf("handler reached = %v, want %v", reached, tt.wantNext)
			}
			if in.Total() != 0 {
				t.Errorf("%d faults injected, want 0: latency is not a fault", in.Total())
			}
		})
	}
}

// TestInjector_Before checks that Options.Before runs ahead of the fault
// and the handler, which wait for it, and that a request whose context
// ends while Before holds it never reaches either.
func TestInjector_Before(t *testing.T) {
	tests := []struct {
		name      string
		cancel    bool
		wantOrder string
		wantSlow  int // the scripted Slow is picked only after Before
	}{
		{"answered", false, "before,handler", 1},
		{"given up", true, "before", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var order []string
			in := New(Options{Before: func(*http.Request) { order = append(order, "before") }})
			in.FailNext(1, Slow)
			h := in.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { order = append(order, "handler") }))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				cancel() // the client gives up while Before holds the request
			}
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, http.MethodGet, "/x", nil))
			if got := strings.Join(order, ","); got != tt.wantOrder {
				t.Errorf("ran %q, want %q", got, tt.wantOrder)
			}
			if n := in.Counts()[Slow]; n != tt.wantSlow {
				t.Errorf("%d Slow faults injected, want %d", n, tt.wantSlow)
			}
		})
	}
}
