package rest

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/quiver-etl/quiver/sdk"
)

// ErrMalformed marks a response body that is not what it should be:
// syntactically broken or cut-off JSON. A decoder passed to Client.Do wraps
// it (fmt.Errorf("decode employees page: %w: %w", rest.ErrMalformed, err))
// and the page is fetched again, Policy.MalformedRetries times, since a cut
// connection is the usual cause. It is sdk.ErrMalformed.
var ErrMalformed = sdk.ErrMalformed

// maxErrorBody bounds StatusError.Body.
const maxErrorBody = 512

// A StatusError is an HTTP response with a status the request failed on.
// Branch on it with errors.As, never on the error text.
type StatusError struct {
	Method     string
	URL        string        // without query string or fragment
	StatusCode int           // HTTP status
	RetryAfter time.Duration // what Retry-After asked for; 0 when absent
	Body       []byte        // the start of the body (512 bytes at most), secrets scrubbed
}

// Error returns e.g. "GET https://acme.staffr.net/rest/v1/employees: 404 Not
// Found: {"message":"no such entity"}".
func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if body := oneLine(string(e.Body), 200); body != "" {
		s += ": " + body
	}
	return s
}

// oneLine returns s with runs of white space as single spaces, cut to at
// most n bytes at a rune boundary.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return cut(s, n) + "..."
}

// cut returns the longest prefix of s of at most n bytes that ends at a
// rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// A failure is the outcome of one failed attempt: what went wrong, its
// error class, and what the next wait should honour.
type failure struct {
	reason string        // retry reason (Reason*); "" when not retryable
	class  error         // protocol error class, or nil
	msg    string        // what happened, when err's text is not the best summary
	err    error         // the cause
	status int           // HTTP status, 0 if none
	wait   time.Duration // the wait the vendor asked for (Retry-After)
	floor  time.Duration // the least wait
	now    bool          // retry at once (a fresh token is ready)
	lag    bool          // a replication-lag retry: wait exactly wait
}

func (f *failure) Error() string {
	switch {
	case f.msg == "":
		return f.err.Error()
	case f.err == nil:
		return f.msg
	default:
		return f.msg + ": " + f.err.Error()
	}
}

func (f *failure) Unwrap() []error {
	errs := make([]error, 0, 2)
	for _, e := range []error{f.class, f.err} {
		if e != nil {
			errs = append(errs, e)
		}
	}
	return errs
}
