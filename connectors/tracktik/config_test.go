package tracktik

import (
	"errors"
	"strings"
	"testing"

	"github.com/quiver-etl/quiver/sdk"
)

func TestConfig(t *testing.T) {
	t.Parallel()
	const secret, password = "client-s3cret-value", "hunter2-password-value"
	base := `"base_url":"https://acme.staffr.net/","client_id":"c","client_secret":"` + secret +
		`","username":"u","password":"` + password + `","start_date":"2024-01-01"`
	tests := []struct {
		name string
		json string
		want string // part of the error; "" for success
	}{
		{"minimal", `{` + base + `}`, ""},
		{"missing client_secret", `{"base_url":"https://a.example","client_id":"c","username":"u","password":"p","start_date":"2024-01-01"}`, "client_secret is required"},
		{"empty password", `{` + strings.Replace(base, password, "", 1) + `}`, "password is required"},
		{"bad date", `{` + strings.Replace(base, "2024-01-01", "2024-13-01", 1) + `}`, "not a date"},
		{"page size", `{` + base + `,"page_size":1001}`, "page_size is above its maximum 1000"},
		{"concurrency", `{` + base + `,"concurrency":17}`, "concurrency is above its maximum 16"},
		{"unknown key", `{` + base + `,"limit":5}`, `unknown key "limit"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := New().Config([]byte(tt.json))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Config = %v", err)
				}
				if cfg.BaseURL != "https://acme.staffr.net" || cfg.PageSize != MaxPageSize || cfg.Concurrency != 4 {
					t.Errorf("Config = base_url %q, page_size %d, concurrency %d: cleaning or defaults missing", cfg.BaseURL, cfg.PageSize, cfg.Concurrency)
				}
				return
			}
			if err == nil || !errors.Is(err, sdk.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Config = %v, want ErrConfig with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), password) {
				t.Errorf("the error quotes a secret: %v", err)
			}
		})
	}
}
