package rest

import (
	"net/http"
	"testing"
	"time"
)

func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, seed := range []string{
		"", "0", "7", "120", "121", "86400", "-1", "1.5", " 30 ", "soon",
		"99999999999999999999999", "18446744073709551615", "9223372036",
		now.Add(30 * time.Second).Format(http.TimeFormat),
		now.Add(-time.Hour).Format(http.TimeFormat),
		"Sunday, 01-Jun-25 12:00:30 GMT", "Sun Jun  1 12:00:30 2025",
		"Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT",
	} {
		f.Add(seed, int64(DefaultMaxRetryAfter))
	}
	f.Fuzz(func(t *testing.T, header string, limitNanos int64) {
		limit := time.Duration(limitNanos)
		if limit < 0 {
			limit = -limit
		}
		if limit < 0 { // math.MinInt64
			limit = DefaultMaxRetryAfter
		}
		asked, ok := parseRetryAfter(header, now)
		if asked < 0 || asked > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v, outside [0, %v]", header, asked, maxRetryAfter)
		}
		if !ok && asked != 0 {
			t.Fatalf("parseRetryAfter(%q) = %v, false; want 0 when invalid", header, asked)
		}
		wait, over := requestWait(asked, limit)
		if wait < 0 || wait > limit {
			t.Fatalf("requestWait(%v, %v) = %v, outside [0, cap]", asked, limit, wait)
		}
		if over != (asked > limit) {
			t.Fatalf("requestWait(%v, %v) over = %v", asked, limit, over)
		}
		if !over && wait != asked {
			t.Fatalf("requestWait(%v, %v) = %v, want the asked wait", asked, limit, wait)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 30 ", 30 * time.Second, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999999999999999", maxRetryAfter, true},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{"Sunday, 01-Jun-25 12:00:30 GMT", 30 * time.Second, true}, // RFC 850
		{"Sun Jun  1 12:00:30 2025", 30 * time.Second, true},       // asctime
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"Fri, 31 Dec 9999 23:59:59 GMT", maxRetryAfter, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
