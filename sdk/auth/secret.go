package auth

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Redacted is what a Secret prints as.
const Redacted = "REDACTED"

// A Secret is a credential: a password, client secret, token or API key.
// fmt and log/slog print it as REDACTED; Reveal returns the value. The zero
// value is an empty secret.
//
// Secret deliberately has no MarshalJSON: configuration travels between
// processes as raw JSON, so redaction happens at print time only.
type Secret string

// String returns "REDACTED", so %s and %v never show the value.
func (Secret) String() string { return Redacted }

// GoString returns "REDACTED", so %#v never shows the value.
func (Secret) GoString() string { return Redacted }

// Format implements fmt.Formatter, so that every verb (even %d or %x,
// which would otherwise print the raw string) shows REDACTED.
func (Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		io.WriteString(f, strconv.Quote(Redacted))
		return
	}
	io.WriteString(f, Redacted)
}

// LogValue implements slog.LogValuer: loggers see "REDACTED".
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// Reveal returns the secret value, for putting it on the wire. Never log
// or format its result.
func (s Secret) Reveal() string { return string(s) }

// credentialKey matches the names of fields that hold credentials.
const credentialKey = `[A-Za-z0-9_.-]*(?i:token|secret|passw(?:or)?d|pwd|key|authorization|credential|signature)[A-Za-z0-9_.-]*`

var (
	// "access_token": "value" (JSON string values; escapes included).
	jsonCredential = regexp.MustCompile(`("` + credentialKey + `"\s*:\s*")((?:[^"\\]|\\.)*)"`)
	// access_token=value in forms, query strings and free text.
	formCredential = regexp.MustCompile(`((?:^|[?&\s;,(])` + credentialKey + `=)([^&\s"';,)]+)`)
	// Authorization header values.
	schemeCredential = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}`)
	// JSON Web Tokens wherever they appear.
	jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?`)
)

// Scrub returns text with credentials blotted out, for error messages and
// logs. It replaces every occurrence of each non-empty secret (raw,
// URL-encoded or JSON-escaped), the values of credential-looking fields
// (access_token, refresh_token, password, client_secret, api_key, key, ...)
// in JSON or form text, Bearer and Basic credentials, and JSON Web Tokens.
// It errs on the side of removing too much.
func Scrub(text string, secrets ...Secret) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		raw := string(s)
		text = strings.ReplaceAll(text, raw, Redacted)
		if q := url.QueryEscape(raw); q != raw {
			text = strings.ReplaceAll(text, q, Redacted)
		}
		if b, err := json.Marshal(raw); err == nil {
			if j := string(b[1 : len(b)-1]); j != raw {
				text = strings.ReplaceAll(text, j, Redacted)
			}
		}
	}
	text = jsonCredential.ReplaceAllString(text, `${1}`+Redacted+`"`)
	text = formCredential.ReplaceAllString(text, `${1}`+Redacted)
	text = schemeCredential.ReplaceAllString(text, `${1} `+Redacted)
	return jwt.ReplaceAllString(text, Redacted)
}

// snippet returns text on one line, at most n bytes long (cut at a rune
// boundary, with "..." appended when cut), for quoting a vendor's message in
// an error. Control characters and runs of white space become one space.
// Scrub the text first.
func snippet(text string, n int) string {
	var b strings.Builder
	space := false
	for _, r := range text {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		if b.Len() > n {
			break
		}
	}
	s := b.String()
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
