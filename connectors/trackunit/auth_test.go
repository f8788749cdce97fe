package trackunit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/connectors/trackunit/trackunitsim"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		extra     map[string]any
		wantClass error // nil: Check succeeds
	}{
		{"ok", nil, nil},
		{"offline scope", map[string]any{"scope": "api offline_access"}, nil},
		{"wrong password", map[string]any{"password": testPassword}, sdk.ErrAuth},
		{"wrong client secret", map[string]any{"client_secret": testSecret}, sdk.ErrAuth},
		{"unknown scope", map[string]any{"scope": "api admin"}, sdk.ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := trackunitsim.NewServer(t, simOptions(nil))
			logs := &syncBuffer{}
			src := open(t, srv, tt.extra, fast(nil), logs)
			err := src.Check(context.Background())
			switch {
			case tt.wantClass == nil && err != nil:
				t.Fatalf("Check() = %v", err)
			case tt.wantClass != nil && !errors.Is(err, tt.wantClass):
				t.Fatalf("Check() = %v, want %v", err, tt.wantClass)
			}
			if err != nil && strings.Count(err.Error(), "check:") != 1 {
				t.Errorf("Check() = %v; want \"check:\" said once", err)
			}
			st := srv.Stats()
			if st.TokenRequests != 1 {
				t.Errorf("%d token requests, want 1 (a rejected login is never retried)", st.TokenRequests)
			}
			if tt.wantClass == nil && st.Requests[StreamAssets] != 1 {
				t.Errorf("%d asset requests, want 1", st.Requests[StreamAssets])
			}
			if st.Requests[StreamFleetSnapshot] != 0 {
				t.Error("Check spent a request of the AEMP export's per-URL budget")
			}
			for _, s := range []string{testSecret, testPassword, trackunitsim.DefaultClientSecret, trackunitsim.DefaultPassword} {
				if err != nil && strings.Contains(err.Error(), s) || strings.Contains(logs.String(), s) {
					t.Errorf("a secret appears in the error or the logs")
				}
			}
		})
	}
}

// TestTokens: tokens that expire during the read are renewed before they
// expire (by logging in again, or with offline_access by the rotating
// refresh token), and a token the API rejects is replaced once.
func TestTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		scope    string
		ttl      time.Duration // token lifetime; 0: an hour
		expire   bool          // expire the tokens after Check, so the read starts with a 401
		password func(n int) bool
		refresh  func(n int) bool
	}{
		{"short tokens, password grant", "api", 1100 * time.Millisecond, false,
			func(n int) bool { return n >= 2 }, func(n int) bool { return n == 0 }},
		{"short tokens, refresh tokens", "api offline_access", 1100 * time.Millisecond, false,
			func(n int) bool { return n == 1 }, func(n int) bool { return n >= 2 }},
		{"401 after expiry, password grant", "api", 0, true,
			func(n int) bool { return n == 2 }, func(n int) bool { return n == 0 }},
		{"401 after expiry, refresh token", "api offline_access", 0, true,
			func(n int) bool { return n == 1 }, func(n int) bool { return n == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			srv := trackunitsim.NewServer(t, simOptions(func(o *trackunitsim.Options) {
				o.Counts = map[string]int{StreamAssets: 150, StreamLocations: 10, StreamFleetSnapshot: 10, StreamAssetEvents: 10}
				if tt.ttl > 0 {
					// Slow answers make the read outlast several tokens.
					o.Faults = fault.Options{Rate: 1, Kinds: []fault.Kind{fault.Slow}, SlowDelay: 80 * time.Millisecond, MaxConsecutive: 1 << 20}
				}
			}))
			if tt.ttl > 0 {
				srv.SetTokenTTL(tt.ttl)
			}
			// One page at a time, so that the slow pages add up.
			src := open(t, srv, map[string]any{"scope": tt.scope, "page_size": 10, "concurrency": 1}, fast(mem), nil)
			if err := src.Check(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tt.expire {
				srv.ExpireTokens()
			}
			checkRead(t, srv, read(t, src, sdk.Incremental, nil, StreamAssets))
			st := srv.Stats()
			if !tt.password(st.PasswordGrants) || !tt.refresh(st.RefreshGrants) || st.TokenFailures != 0 {
				t.Errorf("%d password grants, %d refresh grants, %d token failures", st.PasswordGrants, st.RefreshGrants, st.TokenFailures)
			}
			if tt.expire && st.AuthFailures != 1 {
				t.Errorf("%d requests answered 401, want 1", st.AuthFailures)
			}
			if !tt.expire && st.AuthFailures > 1 {
				t.Errorf("%d requests answered 401: tokens are not renewed before they expire", st.AuthFailures)
			}
		})
	}
}
