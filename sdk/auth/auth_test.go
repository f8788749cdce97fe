package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Credentials used by the tests; none may appear in an error or a log line.
const (
	testClientSecret = "cs-9f8e7d6c5b4a"
	testPassword     = "pw-S3cr3t!&=%"
	testRefresh      = "rt-def50200aa11bb22"
	testAccess       = "at-0123456789abcdef"
)

var allSecrets = []string{testClientSecret, testPassword, testRefresh, testAccess, url.QueryEscape(testPassword)}

// checkNoSecrets fails if text contains a test credential.
func checkNoSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range allSecrets {
		if strings.Contains(text, s) {
			t.Errorf("%s contains secret %q:\n%s", what, s, text)
		}
	}
}

// tokenRequest is one request the fake token endpoint received.
type tokenRequest struct {
	Fields            map[string]string
	BasicID, BasicPwd string
	ContentType       string
	APIKey            string // the X-Api-Key header
}

// tokenServer is a fake OAuth2 token endpoint on 127.0.0.1.
type tokenServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []tokenRequest
	respond  func(n int, r tokenRequest) (status int, body string)
}

func newTokenServer(t *testing.T, respond func(n int, r tokenRequest) (int, string)) *tokenServer {
	t.Helper()
	ts := &tokenServer{respond: respond}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tr := tokenRequest{Fields: map[string]string{}, ContentType: r.Header.Get("Content-Type"), APIKey: r.Header.Get("X-Api-Key")}
		if strings.HasPrefix(tr.ContentType, "application/json") {
			if err := json.Unmarshal(body, &tr.Fields); err != nil {
				t.Errorf("token request body is not JSON: %v", err)
			}
		} else {
			form, err := url.ParseQuery(string(body))
			if err != nil {
				t.Errorf("token request body is not a form: %v", err)
			}
			for k := range form {
				tr.Fields[k] = form.Get(k)
			}
		}
		if id, pwd, ok := r.BasicAuth(); ok {
			tr.BasicID, _ = url.QueryUnescape(id)
			tr.BasicPwd, _ = url.QueryUnescape(pwd)
		}
		ts.mu.Lock()
		ts.requests = append(ts.requests, tr)
		n := len(ts.requests)
		ts.mu.Unlock()
		status, out := ts.respond(n, tr)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, out)
	}))
	t.Cleanup(func() {
		ts.Close()
		ts.Client().CloseIdleConnections()
	})
	return ts
}

func (ts *tokenServer) Requests() []tokenRequest {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]tokenRequest(nil), ts.requests...)
}

func okToken(access, refresh string, expiresIn any) string {
	b, _ := json.Marshal(map[string]any{"token_type": "Bearer", "access_token": access, "refresh_token": refresh, "expires_in": expiresIn})
	return string(b)
}

// logBuffer returns a logger writing JSON lines to a buffer, at Debug.
func logBuffer() (*slog.Logger, *syncBuffer) {
	var buf syncBuffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSecretPrinting(t *testing.T) {
	t.Parallel()
	s := Secret(testPassword)
	tok := &Token{Value: testAccess, Refresh: testRefresh, Type: "Bearer"}
	for _, format := range []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%d", "%10s"} {
		for _, arg := range []any{s, tok, *tok, []Secret{s}, map[string]Secret{"p": s}} {
			got := fmt.Sprintf(format, arg)
			checkNoSecrets(t, fmt.Sprintf("Sprintf(%q, %T)", format, arg), got)
		}
	}
	if got := s.Reveal(); got != testPassword {
		t.Errorf("Reveal() = %q, want the value", got)
	}
	// Config travels as raw JSON: marshalling keeps the value.
	b, err := json.Marshal(struct{ P Secret }{s})
	if err != nil || !strings.Contains(string(b), `pw-S3cr3t!`) {
		t.Errorf("json.Marshal(Secret) = %s, %v; want the value", b, err)
	}
	for name, h := range map[string]func(io.Writer) slog.Handler{
		"json": func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
		"text": func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
	} {
		var buf bytes.Buffer
		slog.New(h(&buf)).Info("m", "secret", s, "token", tok, "tokenValue", *tok, "any", any(s))
		checkNoSecrets(t, name+" log", buf.String())
		if !strings.Contains(buf.String(), Redacted) {
			t.Errorf("%s log does not say %s: %s", name, Redacted, buf.String())
		}
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		secrets  []Secret
		want     string
	}{
		{"literal", "bad password pw-1 for user", []Secret{"pw-1"}, "bad password REDACTED for user"},
		{"url-encoded", "password=a%26b", []Secret{"a&b"}, "password=REDACTED"},
		{"json escaped", `{"p":"a\"b"}`, []Secret{`a"b`}, `{"p":"REDACTED"}`},
		{"json field", `{"access_token": "xyz", "n": 1}`, nil, `{"access_token": "REDACTED", "n": 1}`},
		{"json field escaped quote", `{"client_secret":"a\"b","x":"y"}`, nil, `{"client_secret":"REDACTED","x":"y"}`},
		{"form field", "grant_type=password&password=hunter2&username=u", nil, "grant_type=password&password=REDACTED&username=u"},
		{"query in text", "GET /x?user_key=abc&page=2", nil, "GET /x?user_key=REDACTED&page=2"},
		{"bearer", "Authorization: Bearer abc.def-ghi", nil, "Authorization: Bearer REDACTED"},
		{"jwt", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig rejected", nil, "token REDACTED rejected"},
		{"capillary key", `{"key":"WnCy","secret":"hoq"}`, nil, `{"key":"REDACTED","secret":"REDACTED"}`},
		{"plain", "The user credentials were incorrect.", nil, "The user credentials were incorrect."},
		{"empty secret ignored", "abc", []Secret{""}, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Scrub(tt.in, tt.secrets...); got != tt.want {
				t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSnippet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"  a\n\tb  ", 10, "a b"},
		{"abcdefghij", 5, "abcde..."},
		{"ééééé", 5, "éé..."},
		{"a\x00b", 10, "a b"},
	}
	for _, tt := range tests {
		if got := snippet(tt.in, tt.n); got != tt.want {
			t.Errorf("snippet(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// errorsIs reports the classes err wraps, for messages.
func classOf(err error) string {
	for _, c := range []error{protocol.ErrAuth, protocol.ErrTemporary, protocol.ErrConfig, protocol.ErrCanceled, context.Canceled} {
		if errors.Is(err, c) {
			return c.Error()
		}
	}
	return "none"
}

func TestTokenExpiresAt(t *testing.T) {
	t.Parallel()
	issued := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if got, want := (&Token{Issued: issued}).ExpiresAt(), issued.Add(DefaultLifetime); !got.Equal(want) {
		t.Errorf("ExpiresAt() without Expiry = %v, want %v", got, want)
	}
	exp := issued.Add(time.Hour)
	if got := (&Token{Issued: issued, Expiry: exp}).ExpiresAt(); !got.Equal(exp) {
		t.Errorf("ExpiresAt() = %v, want %v", got, exp)
	}
}

func TestStatic(t *testing.T) {
	t.Parallel()
	s := Static{Value: "k"}
	tok, err := s.Token(context.Background())
	if err != nil || tok.Value != "k" {
		t.Fatalf("Static.Token() = %v, %v", tok, err)
	}
	s.Invalidate(tok)
	if tok2, _ := s.Token(context.Background()); tok2.Value != "k" {
		t.Errorf("after Invalidate, Token().Value = %q, want k", tok2.Value.Reveal())
	}
}

// TestStripQuery: URLs in messages lose their query, fragment and the
// password of their user information, parsed or not.
func TestStripQuery(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://acme.staffr.net/rest/v1/employees?access_token=x": "https://acme.staffr.net/rest/v1/employees",
		"https://acme.staffr.net#frag":                             "https://acme.staffr.net",
		"https://api:hunter2@acme.staffr.net/rest?x=1":             "https://api:***@acme.staffr.net/rest",
		"http://api:hunter2@127.0.0.1:8080":                        "http://api:***@127.0.0.1:8080",
		"https://api@acme.staffr.net/a@b":                          "https://api@acme.staffr.net/a@b",
		"https://a:p@ss:w@rd@host/x":                               "https://a:***@host/x",
		"https://api:hunter2@acme.staffr.net:port-not-a-number/":   "https://api:***@acme.staffr.net:port-not-a-number/",
		"not a url": "not a url",
	} {
		if got := StripQuery(in); got != want {
			t.Errorf("StripQuery(%q) = %q, want %q", in, got, want)
		}
	}
}
