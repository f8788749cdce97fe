package trackunit

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
)

const (
	testSecret   = "s3cret-client-value"
	testPassword = "hunter2-password-value"
)

func rawConfig(edit func(m map[string]any)) []byte {
	m := map[string]any{
		"client_id":     "0oa-client",
		"client_secret": testSecret,
		"username":      "api-user",
		"password":      testPassword,
		"start_date":    "2024-01-01",
	}
	if edit != nil {
		edit(m)
	}
	b, _ := json.Marshal(m)
	return b
}

func TestConfig(t *testing.T) {
	t.Parallel()
	defaults := &Config{
		APIURL: DefaultAPIURL, TokenURL: DefaultTokenURL, ClientID: "0oa-client", ClientSecret: testSecret,
		Username: "api-user", Password: testPassword, Scope: "api", StartDate: "2024-01-01", PageSize: 1000, Concurrency: 4,
	}
	tests := []struct {
		name    string
		edit    func(m map[string]any)
		want    *Config // nil: an error
		wantErr string  // part of the error
	}{
		{name: "defaults", want: defaults},
		{name: "everything set", edit: func(m map[string]any) {
			m["api_url"] = "https://iris.example.com/"
			m["token_url"] = "https://auth.example.com/token"
			m["scope"] = "  api   offline_access "
			m["page_size"] = 250
			m["concurrency"] = 2
		}, want: &Config{
			APIURL: "https://iris.example.com", TokenURL: "https://auth.example.com/token", ClientID: "0oa-client",
			ClientSecret: testSecret, Username: "api-user", Password: testPassword, Scope: "api offline_access",
			StartDate: "2024-01-01", PageSize: 250, Concurrency: 2,
		}},
		{name: "loopback http", edit: func(m map[string]any) {
			m["api_url"] = "http://127.0.0.1:8080"
			m["token_url"] = "http://localhost:9090/token"
		}, want: &Config{
			APIURL: "http://127.0.0.1:8080", TokenURL: "http://localhost:9090/token", ClientID: "0oa-client",
			ClientSecret: testSecret, Username: "api-user", Password: testPassword, Scope: "api",
			StartDate: "2024-01-01", PageSize: 1000, Concurrency: 4,
		}},
		{name: "no client_id", edit: func(m map[string]any) { delete(m, "client_id") }, wantErr: "client_id is required"},
		{name: "no client_secret", edit: func(m map[string]any) { delete(m, "client_secret") }, wantErr: "client_secret is required"},
		{name: "no username", edit: func(m map[string]any) { delete(m, "username") }, wantErr: "username is required"},
		{name: "no password", edit: func(m map[string]any) { m["password"] = "" }, wantErr: "password is required"},
		{name: "no start_date", edit: func(m map[string]any) { delete(m, "start_date") }, wantErr: "start_date is required"},
		{name: "bad start_date", edit: func(m map[string]any) { m["start_date"] = "01/02/2024" }, wantErr: "start_date does not match the pattern"},
		{name: "api_url not a URL", edit: func(m map[string]any) { m["api_url"] = "iris.trackunit.com" }, wantErr: "api_url"},
		{name: "token_url plain http", edit: func(m map[string]any) { m["token_url"] = "http://auth.trackunit.com/token" }, wantErr: "plain http"},
		{name: "scope without api", edit: func(m map[string]any) { m["scope"] = "offline_access" }, wantErr: "scope does not match the pattern"},
		{name: "page_size too large", edit: func(m map[string]any) { m["page_size"] = 1001 }, wantErr: "page_size is above its maximum 1000"},
		{name: "page_size negative", edit: func(m map[string]any) { m["page_size"] = -1 }, wantErr: "page_size is below its minimum 1"},
		{name: "concurrency too large", edit: func(m map[string]any) { m["concurrency"] = 9 }, wantErr: "concurrency is above its maximum 8"},
		{name: "unknown key", edit: func(m map[string]any) { m["base_url"] = "x" }, wantErr: "base_url"},
		{name: "wrong type", edit: func(m map[string]any) { m["page_size"] = "10" }, wantErr: "page_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := New().Config(rawConfig(tt.edit))
			if tt.want != nil {
				if err != nil {
					t.Fatalf("Config() = %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Config() mismatch (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("Config() = %+v, want an error containing %q", got, tt.wantErr)
			}
			if !errors.Is(err, sdk.ErrConfig) {
				t.Errorf("Config() = %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Config() = %q, want it to mention %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), testPassword) {
				t.Errorf("Config() error quotes a secret: %q", err)
			}
		})
	}
}

// TestConfigSchema: the JSON Schema the host validates with agrees with
// Config on what is valid.
func TestConfigSchema(t *testing.T) {
	t.Parallel()
	var doc any
	if err := json.Unmarshal(configSchema, &doc); err != nil {
		t.Fatalf("config.schema.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("config.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("config.schema.json")
	if err != nil {
		t.Fatalf("compile config.schema.json: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(m map[string]any)
		valid bool
	}{
		{"minimal", nil, true},
		{"offline scope", func(m map[string]any) { m["scope"] = "api offline_access" }, true},
		{"scope without api", func(m map[string]any) { m["scope"] = "apis" }, false},
		{"no password", func(m map[string]any) { delete(m, "password") }, false},
		{"unknown key", func(m map[string]any) { m["limit"] = 3 }, false},
		{"page_size too large", func(m map[string]any) { m["page_size"] = 5000 }, false},
		{"bad date", func(m map[string]any) { m["start_date"] = "yesterday" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v any
			if err := json.Unmarshal(rawConfig(tt.edit), &v); err != nil {
				t.Fatal(err)
			}
			schemaErr := sch.Validate(v)
			_, parseErr := New().Config(rawConfig(tt.edit))
			if (schemaErr == nil) != tt.valid || (parseErr == nil) != tt.valid {
				t.Errorf("valid = %v; schema says %v, Config says %v", tt.valid, schemaErr, parseErr)
			}
		})
	}
}

func TestSpecAndDiscover(t *testing.T) {
	t.Parallel()
	spec := New().Spec()
	if spec.Name != "trackunit" || !json.Valid(spec.ConfigSchema) {
		t.Errorf("Spec() = %q with a config schema valid %v", spec.Name, json.Valid(spec.ConfigSchema))
	}
	if diff := cmp.Diff(streamNames, spec.Streams); diff != "" {
		t.Errorf("Spec().Streams mismatch (-want +got):\n%s", diff)
	}
	src, err := New().Open(context.Background(), rawConfig(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	cat, err := src.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Name, Cursor string
		Key          []string
		Modes        []sdk.SyncMode
	}
	var got []entry
	for _, s := range cat.Streams {
		got = append(got, entry{s.Name, s.CursorField, s.PrimaryKey, s.SyncModes})
		want, err := schemas.Load("trackunit", s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Schema.Equal(records.WithRescue(want.Schema)) {
			t.Errorf("stream %s: discovered schema differs from schemas/trackunit/%s.json", s.Name, s.Name)
		}
	}
	want := []entry{
		{"assets", "", []string{"id"}, []sdk.SyncMode{sdk.FullRefresh}},
		{"locations", "", []string{"asset_id"}, []sdk.SyncMode{sdk.FullRefresh}},
		{"fleet_snapshot", "", []string{"pin"}, []sdk.SyncMode{sdk.FullRefresh}},
		{"asset_events", "event_time", []string{"id"}, []sdk.SyncMode{sdk.Incremental, sdk.FullRefresh}},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Discover() mismatch (-want +got):\n%s", diff)
	}
}
