package sdk

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testConfigSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["base_url", "secret"],
  "properties": {
    "base_url": {"type": "string", "pattern": "^https?://"},
    "secret": {"type": "string", "minLength": 1, "writeOnly": true},
    "page_size": {"type": "integer", "minimum": 1, "maximum": 100, "default": 100},
    "timezone": {"type": "string", "default": "UTC"},
    "views": {"type": "array", "items": {"type": "string", "minLength": 1}},
    "retry": {
      "type": "object",
      "properties": {"attempts": {"type": "integer", "default": 3}, "backoff": {"type": "string"}}
    }
  }
}`

// openSchema allows keys it does not declare.
const openSchema = `{"type": "object", "required": ["secret"],
  "properties": {"secret": {"type": "string", "minLength": 1}, "page_size": {"type": "integer", "default": 7}}}`

type testRetry struct {
	Attempts int    `json:"attempts"`
	Backoff  string `json:"backoff"`
}

type testConfig struct {
	BaseURL  string     `json:"base_url"`
	Secret   string     `json:"secret"`
	PageSize int        `json:"page_size"`
	Timezone string     `json:"timezone"`
	Views    []string   `json:"views"`
	Retry    *testRetry `json:"retry"`
}

func TestDecodeConfig(t *testing.T) {
	t.Parallel()
	const secret = "sup3r-s3cret-value"
	tests := []struct {
		name    string
		schema  string
		raw     string
		want    *testConfig // nil: an error
		wantErr []string    // parts of the error
	}{
		{
			name: "defaults applied", schema: testConfigSchema,
			raw:  `{"base_url":"https://a.example","secret":"` + secret + `"}`,
			want: &testConfig{BaseURL: "https://a.example", Secret: secret, PageSize: 100, Timezone: "UTC"},
		},
		{
			name: "values set win over defaults", schema: testConfigSchema,
			raw:  `{"base_url":"https://a.example","secret":"` + secret + `","page_size":5,"timezone":"Asia/Kolkata"}`,
			want: &testConfig{BaseURL: "https://a.example", Secret: secret, PageSize: 5, Timezone: "Asia/Kolkata"},
		},
		{
			name: "nested defaults applied", schema: testConfigSchema,
			raw: `{"base_url":"https://a.example","secret":"` + secret + `","retry":{"backoff":"1s"}}`,
			want: &testConfig{BaseURL: "https://a.example", Secret: secret, PageSize: 100, Timezone: "UTC",
				Retry: &testRetry{Attempts: 3, Backoff: "1s"}},
		},
		{
			name: "null is left out", schema: testConfigSchema,
			raw:  `{"base_url":"https://a.example","secret":"` + secret + `","page_size":null,"views":null,"retry":{"attempts":null}}`,
			want: &testConfig{BaseURL: "https://a.example", Secret: secret, PageSize: 100, Timezone: "UTC", Retry: &testRetry{Attempts: 3}},
		},
		{
			name: "null required", schema: testConfigSchema, raw: `{"base_url":null,"secret":"` + secret + `"}`,
			wantErr: []string{"base_url is required"},
		},
		{
			name: "missing required", schema: testConfigSchema, raw: `{"secret":"` + secret + `"}`,
			wantErr: []string{"base_url is required"},
		},
		{
			name: "every missing key named", schema: testConfigSchema, raw: `{}`,
			wantErr: []string{"base_url is required", "secret is required"},
		},
		{
			name: "empty raw is the empty object", schema: testConfigSchema, raw: ``,
			wantErr: []string{"base_url is required"},
		},
		{
			name: "empty required string", schema: testConfigSchema, raw: `{"base_url":"https://a.example","secret":""}`,
			wantErr: []string{"secret is required"},
		},
		{
			name: "wrong type", schema: testConfigSchema,
			raw:     `{"base_url":"https://a.example","secret":"` + secret + `","page_size":"10"}`,
			wantErr: []string{"page_size", "want integer"},
		},
		{
			name: "secret of the wrong type", schema: testConfigSchema,
			raw:     `{"base_url":"https://a.example","secret":12345678}`,
			wantErr: []string{"secret", "want string"},
		},
		{
			name: "out of range", schema: testConfigSchema,
			raw:     `{"base_url":"https://a.example","secret":"` + secret + `","page_size":101}`,
			wantErr: []string{"page_size is above its maximum 100"},
		},
		{
			name: "below the minimum", schema: testConfigSchema,
			raw:     `{"base_url":"https://a.example","secret":"` + secret + `","page_size":-12345678}`,
			wantErr: []string{"page_size is below its minimum 1"},
		},
		{
			name: "array item", schema: testConfigSchema,
			raw:     `{"base_url":"https://a.example","secret":"` + secret + `","views":["a",""]}`,
			wantErr: []string{"views[1] is required"},
		},
		{
			name: "unknown key refused by a closed schema", schema: testConfigSchema,
			raw:     `{"base_url":"https://a.example","secret":"` + secret + `","pagesize":5}`,
			wantErr: []string{`unknown key "pagesize"`, "base_url, page_size, retry, secret, timezone, views"},
		},
		{
			name: "unknown key ignored by an open schema", schema: openSchema,
			raw:  `{"secret":"` + secret + `","extra":true}`,
			want: &testConfig{Secret: secret, PageSize: 7},
		},
		{
			name: "secret in a pattern failure", schema: `{"type":"object","properties":{"secret":{"type":"string","pattern":"^x"}}}`,
			raw:     `{"secret":"` + secret + `"}`,
			wantErr: []string{"secret does not match the pattern ^x"},
		},
		{
			name: "secret in an enum failure", schema: `{"type":"object","properties":{"secret":{"enum":["a","b"]}}}`,
			raw:     `{"secret":"` + secret + `"}`,
			wantErr: []string{"secret"},
		},
		{
			name: "secret in broken JSON", schema: testConfigSchema, raw: `{"secret":"` + secret + `"`,
			wantErr: []string{"not a JSON document"},
		},
		{
			name: "value that does not fit the Go type", schema: `{"type":"object"}`,
			raw:     `{"page_size":12345678901234567890}`,
			wantErr: []string{"page_size does not fit a Go int"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got testConfig
			err := DecodeConfig([]byte(tt.raw), &got, []byte(tt.schema))
			if tt.want != nil {
				if err != nil {
					t.Fatalf("DecodeConfig() = %v", err)
				}
				if diff := cmp.Diff(tt.want, &got); diff != "" {
					t.Errorf("DecodeConfig() mismatch (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("DecodeConfig() = nil (%+v), want an error", got)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("DecodeConfig() = %v, want ErrConfig", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("DecodeConfig() = %q, want it to mention %q", err, w)
				}
			}
			for _, leak := range []string{secret, "12345678"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("DecodeConfig() error quotes a value: %q", err)
				}
			}
		})
	}
}

func TestDecodeConfigBadSchema(t *testing.T) {
	t.Parallel()
	var v testConfig
	err := DecodeConfig([]byte(`{}`), &v, []byte(`{"type": 5}`))
	if err == nil || errors.Is(err, ErrConfig) {
		t.Errorf("DecodeConfig(bad schema) = %v, want a schema error that is not ErrConfig", err)
	}
}
