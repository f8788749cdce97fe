package trackvia

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/auth"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// usersPath is the users listing, the one endpoint that needs a Super
// Admin's token (docs/vendors/trackvia.md#auth).
const usersPath = "/openapi/users"

// applier returns the rest.Options.Apply of an account: the API key as the
// user_key query parameter and the auth token as "Authorization: Bearer"
// (docs/vendors/trackvia.md#auth; the official Python SDK sends the token
// as a header, which keeps it out of URLs).
func applier(userKey auth.Secret) func(req *http.Request, t *auth.Token) {
	return func(req *http.Request, t *auth.Token) {
		q := req.URL.Query()
		q.Set("user_key", userKey.Reveal())
		req.URL.RawQuery = q.Encode()
		if t != nil && t.Value != "" {
			req.Header.Set("Authorization", "Bearer "+t.Value.Reveal())
		}
	}
}

// oauthError is the body of TrackVia's 401s
// (docs/vendors/trackvia.md#errors, type A).
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// parseOAuthError reads an {"error","error_description"} body; ok is false
// for anything else (the gateway's plain-text answers, type B errors).
func parseOAuthError(body []byte) (e oauthError, ok bool) {
	if json.Unmarshal(body, &e) != nil {
		return e, false
	}
	return e, e.Error != ""
}

// classify is the Policy.Classify of TrackVia. Auth tokens are long-lived
// and cannot be refreshed, so a rejected token or API key is final: no
// retry, no refresh (the default rules would try a refresh first). The one
// 401 that is not about the credentials is the users listing refusing a
// token whose API user is no Super Admin: that fails the users stream only.
func classify(resp *rest.Response) rest.Verdict {
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		return rest.Default
	}
	if isUsersDenied(resp.URL.Path, resp.Body) {
		return rest.Permanent
	}
	return rest.AuthFailed
}

// isUsersDenied reports whether a 401 or 403 of path with body is the
// users listing refusing a valid token that is not a Super Admin's.
func isUsersDenied(path string, body []byte) bool {
	e, ok := parseOAuthError(body)
	return ok && strings.HasSuffix(path, usersPath) && e.Error != "invalid_token"
}

// explain returns err with what a person should do about it, when err is a
// rejection of the credentials; other errors, and errors explained before,
// come back as they are. The class (sdk.ErrAuth) is kept.
func explain(err error) error {
	var se *rest.StatusError
	var done *explained
	if err == nil || errors.As(err, &done) || !errors.As(err, &se) {
		return err
	}
	if se.StatusCode != http.StatusUnauthorized && se.StatusCode != http.StatusForbidden {
		return err
	}
	e, isOAuth := parseOAuthError(se.Body)
	var why string
	switch {
	case isUsersDenied(se.URL, se.Body):
		why = "the users stream needs a Super Admin's auth token (GET /openapi/users answered " +
			http.StatusText(se.StatusCode) + "), and this token's API user is no Super Admin; " +
			"the other streams are not affected: leave users out of the source's streams, or use a Super Admin's token"
	case e.Error == "invalid_token" && strings.Contains(strings.ToLower(e.Description), "expired"):
		why = "the auth token has expired (TrackVia tokens stop working at midnight UTC on their expiration date and cannot be reactivated); " +
			"a Super Admin must issue a new auth token (My Account, API Access, Create Auth Token) and access_token must be set to it"
	case e.Error == "invalid_token":
		why = "the auth token was rejected: it was deactivated, deleted or mistyped; " +
			"a Super Admin must reactivate it or issue a new one (My Account, API Access) and access_token must be set to it"
	case isOAuth:
		why = "TrackVia refused the auth token (" + e.Error + "); check access_token, or have a Super Admin issue a new one"
	default:
		why = "TrackVia's gateway refused the API key: check user_key (the account's API key under My Account, API Access)"
	}
	return &explained{why: why, err: err}
}

// explained is an error with what to do about it.
type explained struct {
	why string
	err error
}

func (e *explained) Error() string { return e.why + ": " + e.err.Error() }
func (e *explained) Unwrap() error { return e.err }

// explainStatus explains the credential error of a failed stream; it is a
// records.MapWriter's MapStatus.
func explainStatus(_ string, st sdk.Status) sdk.Status {
	st.Err = explain(st.Err)
	return st
}
