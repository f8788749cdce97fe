package trackvia

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
	"github.com/quiver-etl/quiver/sdk"
)

func TestConfig(t *testing.T) {
	const key, token = `"user_key":"key-0123456789abcdef"`, `"access_token":"tok-0123456789abcdef"`
	tests := []struct {
		name    string
		raw     string
		want    *Config
		wantErr string
	}{
		{
			name: "defaults",
			raw:  `{` + key + `,` + token + `}`,
			want: &Config{BaseURL: DefaultBaseURL, UserKey: "key-0123456789abcdef", AccessToken: "tok-0123456789abcdef", PageSize: 1000},
		},
		{
			name: "everything",
			raw:  `{"base_url":"https://gov.trackvia.com/openapi/",` + key + `,` + token + `,"views":[101,"Work Orders","202"],"page_size":50,"token_expires":"2030-01-31"}`,
			want: &Config{
				BaseURL: "https://gov.trackvia.com", UserKey: "key-0123456789abcdef", AccessToken: "tok-0123456789abcdef",
				Views: []ViewRef{"101", "Work Orders", "202"}, PageSize: 50, TokenExpires: "2030-01-31",
				expires: time.Date(2030, 1, 31, 0, 0, 0, 0, time.UTC),
			},
		},
		{name: "no user_key", raw: `{` + token + `}`, wantErr: "user_key is required"},
		{name: "no access_token", raw: `{` + key + `}`, wantErr: "access_token is required"},
		{name: "bad base_url", raw: `{"base_url":"go.trackvia.com",` + key + `,` + token + `}`, wantErr: "base_url does not match the pattern"},
		{name: "page_size too large", raw: `{` + key + `,` + token + `,"page_size":100001}`, wantErr: "page_size is above its maximum 100000"},
		{name: "negative page_size", raw: `{` + key + `,` + token + `,"page_size":-1}`, wantErr: "page_size is below its minimum 1"},
		{name: "empty view", raw: `{` + key + `,` + token + `,"views":[" "]}`, wantErr: "views[0] is empty"},
		{name: "view of another type", raw: `{` + key + `,` + token + `,"views":[true]}`, wantErr: "views[0]: got boolean"},
		{name: "bad token_expires", raw: `{` + key + `,` + token + `,"token_expires":"31.01.2030"}`, wantErr: "token_expires does not match the pattern"},
		{name: "unknown key", raw: `{` + key + `,` + token + `,"password":"x"}`, wantErr: `unknown key "password"`},
		{name: "not JSON", raw: `{`, wantErr: "config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := New().Config([]byte(tt.raw))
			if tt.wantErr != "" {
				if !errors.Is(err, sdk.ErrConfig) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Config error = %v, want ErrConfig with %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "0123456789abcdef") {
					t.Errorf("the error quotes a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(Config{})); diff != "" {
				t.Errorf("Config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExpiryWarning(t *testing.T) {
	now := time.Date(2030, 1, 20, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		expires string
		want    string // in the warning; "" for none
	}{
		{"", ""},
		{"2030-03-01", ""},
		{"2030-02-04", ""}, // 14 days and 6 hours
		{"2030-02-03", "expires in 13 days"},
		{"2030-01-21", "expires in 6 hours"},
		{"2030-01-20", "expired at midnight UTC on 2030-01-20"},
		{"2029-12-31", "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.expires, func(t *testing.T) {
			c := &Config{TokenExpires: tt.expires, UserKey: "k", AccessToken: "t", BaseURL: DefaultBaseURL, PageSize: 1}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			got := c.expiryWarning(now)
			if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
				t.Errorf("expiryWarning() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestExpiryLogged: Check and Read warn about a token near its expiry.
func TestExpiryLogged(t *testing.T) {
	srv := trackviasim.NewServer(t, trackviasim.Options{})
	var logs strings.Builder
	ctx := sdk.WithLogger(context.Background(), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	c := newConnector(&conn{now: func() time.Time { return time.Date(2030, 1, 25, 0, 0, 0, 0, time.UTC) }})
	src := open(ctx, t, c, srv, map[string]any{"token_expires": "2030-01-31"})
	if err := src.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if err := src.Read(ctx, sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "apps", Mode: sdk.FullRefresh}}}, newMemWriter()); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "level=WARN msg=\"the auth token expires in 6 days"); n != 2 {
		t.Errorf("%d expiry warnings, want 2:\n%s", n, logs.String())
	}
	noSecrets(t, "the log", logs.String())
}

func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"All Contacts", "all_contacts"},
		{"all-contacts", "all_contacts"},
		{"Größenübersicht – Lager 📦", "grossenubersicht_lager"},
		{"  Work  Orders (2024) ", "work_orders_2024"},
		{"Ærø Łódź Straße", "aero_lodz_strasse"},
		{"北京", ""},
		{"📦", ""},
		{"../../etc/passwd", "etc_passwd"},
		{strings.Repeat("abc ", 30), "abc_abc_abc_abc_abc_abc_abc_abc_abc_abc_abc_abc_abc_abc_abc"},
	}
	for _, tt := range tests {
		if got := slug(tt.in); got != tt.want {
			t.Errorf("slug(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStreamNames(t *testing.T) {
	tests := []struct {
		name  string
		views []view
		want  map[int64]string
	}{
		{
			name:  "lowest id keeps the name",
			views: []view{{ID: 102, Name: "all-contacts"}, {ID: 101, Name: "All Contacts"}},
			want:  map[int64]string{101: "all_contacts", 102: "all_contacts_102"},
		},
		{
			name:  "fixed streams are taken",
			views: []view{{ID: 5, Name: "Users"}, {ID: 6, Name: "apps"}, {ID: 7, Name: "VIEWS"}},
			want:  map[int64]string{5: "users_5", 6: "apps_6", 7: "views_7"},
		},
		{
			name:  "nothing left of the name",
			views: []view{{ID: 9, Name: "📦"}, {ID: 10, Name: "北京"}, {ID: 11, Name: "View 9"}},
			want:  map[int64]string{9: "view_9", 10: "view_10", 11: "view_9_11"},
		},
		{
			name:  "a suffixed name that is taken",
			views: []view{{ID: 1, Name: "a 2"}, {ID: 2, Name: "a"}, {ID: 3, Name: "A"}, {ID: 4, Name: "a_2"}},
			want:  map[int64]string{1: "a_2", 2: "a", 3: "a_3", 4: "a_2_4"},
		},
		{
			name:  "repeated listing entries",
			views: []view{{ID: 1, Name: "x"}, {ID: 1, Name: "x"}},
			want:  map[int64]string{1: "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, streamNames(tt.views)); diff != "" {
				t.Errorf("streamNames mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	views := []view{{ID: 1, Name: "A"}, {ID: 2, Name: "B"}, {ID: 3, Name: "B"}, {ID: 4, Name: "1"}, {ID: 5, Name: "7"}}
	tests := []struct {
		ref     ViewRef
		want    []int64
		wantErr string
	}{
		{"A", []int64{1}, ""},
		{"2", []int64{2}, ""},
		{"1", []int64{1}, ""}, // the id wins over a view named "1"
		{"7", []int64{5}, ""}, // no view 7: the name
		{"B", nil, `2 views are named "B" (ids 2, 3)`},
		{"a", nil, `no view with the id or exact name "a"`},
	}
	for _, tt := range tests {
		got, err := match(views, tt.ref)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("match(%q) error = %v, want %q", tt.ref, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !cmp.Equal(got, tt.want, cmpopts.EquateEmpty()) {
			t.Errorf("match(%q) = %v, %v; want %v", tt.ref, got, err, tt.want)
		}
	}
}
