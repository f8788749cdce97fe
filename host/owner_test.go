package host

import "testing"

// TestAccountID: the account fingerprint follows the identity fields (URLs,
// user and client ids) and nothing else: not secrets, not settings.
func TestAccountID(t *testing.T) {
	base := map[string]any{
		"base_url": "https://acme.staffr.net", "client_id": "svc", "username": "api",
		"client_secret": "s1", "password": "p1", "start_date": "2024-01-01", "page_size": 100,
	}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for bk, bv := range base {
			m[bk] = bv
		}
		m[k] = v
		return m
	}
	id := accountID(base)
	if id == "" {
		t.Fatal("no fingerprint for a config with a base_url, client_id and username")
	}
	tests := []struct {
		name   string
		config map[string]any
		same   bool
	}{
		{"other password", with("password", "p2"), true},
		{"other secret", with("client_secret", "s2"), true},
		{"other start date", with("start_date", "2020-01-01"), true},
		{"other page size", with("page_size", 5), true},
		{"URL written differently", with("base_url", " HTTPS://acme.staffr.net/ "), true},
		{"other URL", with("base_url", "https://globex.staffr.net"), false},
		{"other client", with("client_id", "svc2"), false},
		{"other user", with("username", "api2"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := accountID(tt.config) == id; got != tt.same {
				t.Errorf("same fingerprint = %v, want %v", got, tt.same)
			}
		})
	}
	if accountID(map[string]any{"password": "x", "user_key": "k", "access_token": "t"}) != "" {
		t.Error("a config with only secrets has a fingerprint")
	}
}
