package trackvia

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
	"github.com/quiver-etl/quiver/sdk"
)

// TestRejectedCredentials: an expired or deactivated token, or a wrong API
// key, fails Check, Discover and Read at the first request with an auth
// error that says what to do, and nothing is retried.
func TestRejectedCredentials(t *testing.T) {
	tests := []struct {
		name  string
		opts  trackviasim.Options
		extra map[string]any
		want  []string // in the error
		count func(trackviasim.Stats) int
	}{
		{
			name: "expired token", opts: trackviasim.Options{ExpiredTokens: []string{"old-token-0123456789"}},
			extra: map[string]any{"access_token": "old-token-0123456789"},
			want:  []string{"expired", "Super Admin must issue a new auth token"},
			count: func(s trackviasim.Stats) int { return s.ExpiredToken },
		},
		{
			name: "deactivated token", opts: trackviasim.Options{DeactivatedTokens: []string{"off-token-0123456789"}},
			extra: map[string]any{"access_token": "off-token-0123456789"},
			want:  []string{"deactivated", "Super Admin must reactivate it or issue a new one"},
			count: func(s trackviasim.Stats) int { return s.InvalidToken },
		},
		{
			name: "wrong API key", extra: map[string]any{"user_key": "not-the-key-0123456789"},
			want:  []string{"user_key"},
			count: func(s trackviasim.Stats) int { return s.BadUserKey },
		},
	}
	calls := []struct {
		name string
		call func(context.Context, sdk.Source) error
	}{
		{"check", func(ctx context.Context, src sdk.Source) error { return src.Check(ctx) }},
		{"discover", func(ctx context.Context, src sdk.Source) error { _, err := src.Discover(ctx); return err }},
		{"read", func(ctx context.Context, src sdk.Source) error {
			return src.Read(ctx, sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "work_orders", Mode: sdk.FullRefresh}}}, newMemWriter())
		}},
	}
	for _, tt := range tests {
		for _, c := range calls {
			t.Run(tt.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				srv := trackviasim.NewServer(t, tt.opts)
				ctx := context.Background()
				err := c.call(ctx, open(ctx, t, New(), srv, tt.extra))
				if !errors.Is(err, sdk.ErrAuth) {
					t.Fatalf("error = %v, want ErrAuth", err)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				noSecrets(t, "the error", err.Error())
				if st := srv.Stats(); st.Requests != 1 || tt.count(st) != 1 {
					t.Errorf("%d requests, %d rejections; want exactly one of each (no retry)", st.Requests, tt.count(st))
				}
			})
		}
	}
}

// TestTokenExpiresDuringRead: a token that expires mid-read fails the
// streams still reading with the explanation, after one 401 each.
func TestTokenExpiresDuringRead(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 3})
	ctx := context.Background()
	src := open(ctx, t, testConnector(mem), srv, map[string]any{"page_size": 100})
	w := newMemWriter()
	var once sync.Once
	w.onBatch = func(string, int) { once.Do(func() { srv.Expire(trackviasim.DefaultAccessToken) }) }
	if err := read(ctx, t, src, w, nil, nil, "work_orders", "all_contacts"); err != nil {
		t.Fatalf("Read: %v", err)
	}
	for _, s := range []string{"work_orders", "all_contacts"} {
		l := w.get(t, s)
		if l.final() != sdk.Failed || !errors.Is(l.err, sdk.ErrAuth) || !strings.Contains(l.err.Error(), "a Super Admin must issue a new auth token") {
			t.Errorf("%s: status %v, error %v; want failed with ErrAuth and the explanation", s, l.final(), l.err)
		}
	}
	if st := srv.Stats(); st.ExpiredToken > 2 {
		t.Errorf("%d requests with the expired token; want one per stream", st.ExpiredToken)
	}
}

// TestUsersNeedSuperAdmin: with a token that is no Super Admin's, the users
// stream fails with the reason (not as an auth failure), and the others
// are read.
func TestUsersNeedSuperAdmin(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const token = "plain-api-user-token-0123"
	srv := trackviasim.NewServer(t, trackviasim.Options{Seed: 3, Tokens: []trackviasim.Token{{Value: token, NotSuperAdmin: true}}})
	ctx := context.Background()
	src := open(ctx, t, testConnector(mem), srv, map[string]any{"access_token": token})
	cat, err := src.Discover(ctx)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if cat.Streams[2].Name != "users" || cat.Streams[2].Schema.NumFields() != 2 {
		t.Errorf("users stream = %+v, want it listed with the id and rescue columns only", cat.Streams[2])
	}
	w := newMemWriter()
	if err := read(ctx, t, src, w, nil, nil, "users", "leere_ansicht", "apps"); err != nil {
		t.Fatalf("Read: %v", err)
	}
	users := w.get(t, "users")
	if users.final() != sdk.Failed || errors.Is(users.err, sdk.ErrAuth) || !strings.Contains(users.err.Error(), "needs a Super Admin's auth token") {
		t.Errorf("users: status %v, error %v; want failed, not ErrAuth, saying a Super Admin's token is needed", users.final(), users.err)
	}
	for _, s := range []string{"leere_ansicht", "apps"} {
		if l := w.get(t, s); l.final() != sdk.Complete {
			t.Errorf("%s: status %v, error %v", s, l.final(), l.err)
		}
	}
	if st := srv.Stats(); st.NotSuperAdmin != 2 { // Discover's and Read's structure requests
		t.Errorf("users requested %d times, want 2", st.NotSuperAdmin)
	}
}

// TestCredentialsOnTheWire: the API key travels as user_key, the token as a
// Bearer header (never in the URL).
func TestCredentialsOnTheWire(t *testing.T) {
	srv := trackviasim.NewServer(t, trackviasim.Options{})
	ctx := context.Background()
	if err := open(ctx, t, New(), srv, nil).Check(ctx); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.BearerAuth != 1 || st.QueryAuth != 0 {
		t.Errorf("bearer %d, query %d; want the token in the header", st.BearerAuth, st.QueryAuth)
	}
}
