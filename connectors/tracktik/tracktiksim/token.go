package tracktiksim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The vendor's brute-force protection: 40 failed authentication attempts
// from one IP within 2 minutes block that IP for 2 hours.
const (
	lockoutFailures = 40
	lockoutWindow   = 2 * time.Minute
	lockoutFor      = 2 * time.Hour
)

// maxTokenBody bounds token request bodies; real ones are a few hundred bytes.
const maxTokenBody = 1 << 20

type accessToken struct {
	expires  time.Time
	lagLeft  int       // data requests still to refuse
	lagUntil time.Time // refuse data requests until then
}

type refreshToken struct {
	clientID string
	expires  time.Time
	used     bool
}

// handler routes the token endpoint and the (fault-wrapped) data endpoints.
func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(TokenPath, s.serveToken)
	mux.Handle("/rest/v1/", s.Faults.Wrap(http.HandlerFunc(s.serveData)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "No route found for "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// oauthError is league/oauth2-server's error body.
type oauthError struct {
	status      int
	code        string
	description string
	hint        string
}

func (e *oauthError) write(w http.ResponseWriter) {
	body, _ := json.Marshal(map[string]string{
		"error":             e.code,
		"error_description": e.description,
		"hint":              e.hint,
		"message":           e.description,
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="OAuth"`)
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

func invalidRequest(param string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request",
		"The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.",
		fmt.Sprintf("Check the `%s` parameter", param)}
}

var (
	errUnsupportedGrant = &oauthError{http.StatusBadRequest, "unsupported_grant_type",
		"The authorization grant type is not supported by the authorization server.",
		"Check that all required parameters have been provided"}
	errInvalidClient = &oauthError{http.StatusUnauthorized, "invalid_client",
		"Client authentication failed", ""}
	errBadCredentials = &oauthError{http.StatusBadRequest, "invalid_grant",
		"The user credentials were incorrect.", ""}
)

func invalidRefresh(hint string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", "The refresh token is invalid.", hint}
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// serveToken is POST /rest/oauth2/access_token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	ip := remoteIP(r)
	now := s.now()

	s.mu.Lock()
	s.stats.TokenRequests++
	until, locked := s.locked[ip]
	if locked && !now.Before(until) {
		delete(s.locked, ip)
		locked = false
	}
	if locked {
		s.stats.LockedOut++
	}
	s.mu.Unlock()

	if locked {
		wait := int(until.Sub(now).Round(time.Second) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(wait, 1)))
		writeError(w, http.StatusForbidden, "Too many failed authentication attempts from your IP address; it is blocked for 2 hours.")
		s.log.Debug("tracktiksim: token request", "status", http.StatusForbidden, "reason", "ip_locked")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "Method "+r.Method+" not allowed")
		return
	}
	params, err := tokenParams(r)
	if err != nil {
		invalidRequest("grant_type").write(w)
		s.log.Debug("tracktiksim: token request", "status", http.StatusBadRequest, "reason", "unreadable_body")
		return
	}
	grant := params["grant_type"]
	oe := s.grant(grant, params, ip, now, w)
	status := http.StatusOK
	if oe != nil {
		status = oe.status
		oe.write(w)
	}
	s.log.Debug("tracktiksim: token request", "grant_type", grant, "status", status)
}

// grant checks the request and on success writes the token response.
func (s *Server) grant(grant string, p map[string]string, ip string, now time.Time, w http.ResponseWriter) *oauthError {
	if grant != "password" && grant != "refresh_token" {
		return errUnsupportedGrant
	}
	// "scope" is ignored: the vendor configures it on the client record.
	if p["client_id"] == "" {
		return invalidRequest("client_id")
	}
	if !equal(p["client_id"], s.opts.ClientID) || !equal(p["client_secret"], s.opts.ClientSecret) {
		s.fail(ip, now)
		return errInvalidClient
	}
	switch grant {
	case "password":
		for _, k := range []string{"username", "password"} {
			if p[k] == "" {
				return invalidRequest(k)
			}
		}
		// The username is matched case-insensitively (it may be an email).
		if !strings.EqualFold(p["username"], s.opts.Username) || !equal(p["password"], s.opts.Password) {
			s.fail(ip, now)
			return errBadCredentials
		}
	case "refresh_token":
		rt := p["refresh_token"]
		if rt == "" {
			return invalidRequest("refresh_token")
		}
		s.mu.Lock()
		tok := s.rtoks[rt]
		var oe *oauthError
		switch {
		case tok == nil:
			oe = invalidRefresh("Cannot decrypt the refresh token")
		case tok.used:
			s.stats.RefreshTokensReused++
			oe = invalidRefresh("Token has been revoked")
		case !now.Before(tok.expires):
			oe = invalidRefresh("Token has expired")
		case tok.clientID != p["client_id"]:
			oe = invalidRefresh("Token is not linked to client")
		default:
			tok.used = true // single use: the vendor rotates refresh tokens
		}
		s.mu.Unlock()
		if oe != nil {
			s.fail(ip, now)
			return oe
		}
	}
	body := s.issue(grant, p["client_id"], now)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	_, _ = w.Write(body)
	return nil
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// fail records a failed authentication from ip and locks it at the limit.
func (s *Server) fail(ip string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.FailedLogins++
	recent := s.fails[ip][:0]
	for _, t := range s.fails[ip] {
		if now.Sub(t) < lockoutWindow {
			recent = append(recent, t)
		}
	}
	recent = append(recent, now)
	if len(recent) >= lockoutFailures {
		s.locked[ip] = now.Add(lockoutFor)
		delete(s.fails, ip)
		s.log.Debug("tracktiksim: IP locked out", "failures", len(recent))
		return
	}
	s.fails[ip] = recent
}

// issue makes a new access and refresh token pair and returns the response body.
func (s *Server) issue(grant, clientID string, now time.Time) []byte {
	access := randomToken(32)
	refresh := "def502" + randomToken(96)
	s.mu.Lock()
	if len(s.access) > 10000 { // keep a long demo from growing without bound
		for k, t := range s.access {
			if !now.Before(t.expires) {
				delete(s.access, k)
			}
		}
	}
	s.access[access] = &accessToken{
		expires:  now.Add(s.ttl),
		lagLeft:  s.lag,
		lagUntil: now.Add(s.lagFor),
	}
	s.rtoks[refresh] = &refreshToken{clientID: clientID, expires: now.Add(s.opts.RefreshTTL)}
	if grant == "password" {
		s.stats.PasswordGrants++
	} else {
		s.stats.RefreshGrants++
	}
	ttl := int64(s.ttl / time.Second)
	s.mu.Unlock()
	body, _ := json.Marshal(struct {
		TokenType    string `json:"token_type"`
		ExpiresIn    int64  `json:"expires_in"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}{"Bearer", ttl, access, refresh})
	return body
}

// randomToken returns n random bytes, hex-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// tokenParams reads the token request parameters from a form, multipart or
// JSON body, and the client credentials also from HTTP Basic auth.
func tokenParams(r *http.Request) (map[string]string, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxTokenBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	p := map[string]string{}
	switch ct {
	case "application/json":
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			return nil, fmt.Errorf("decode JSON body: %w", err)
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				p[k] = v
			case nil:
			default:
				p[k] = fmt.Sprint(v)
			}
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxTokenBody); err != nil {
			return nil, fmt.Errorf("parse multipart body: %w", err)
		}
		for k, v := range r.MultipartForm.Value {
			if len(v) > 0 {
				p[k] = v[0]
			}
		}
	default:
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("parse form body: %w", err)
		}
		for k, v := range r.Form {
			if len(v) > 0 {
				p[k] = v[0]
			}
		}
	}
	if id, secret, ok := r.BasicAuth(); ok {
		if p["client_id"] == "" {
			p["client_id"] = id
		}
		if p["client_secret"] == "" {
			p["client_secret"] = secret
		}
	}
	return p, nil
}

// authorize checks a data request's bearer token and counts it. It writes
// the 401 and returns false when the request must be refused.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, si int) bool {
	now := s.now()
	tok, hasTok := bearer(r)
	s.mu.Lock()
	s.stats.DataRequests++
	s.reqs[si]++
	msg, lag := "", false
	at := s.access[tok]
	switch {
	case !hasTok:
		msg = "Missing access token"
	case at == nil:
		msg = "Access token could not be verified"
	case !now.Before(at.expires):
		msg = "Access token could not be verified" // league says the same for expired tokens
	case at.lagLeft > 0:
		at.lagLeft--
		lag = true
	case now.Before(at.lagUntil):
		lag = true
	}
	if lag {
		// The replica does not know the token yet: the answer is the same
		// as for an unknown token, so clients cannot tell the two apart.
		s.stats.Lag401s++
		msg = "Access token could not be verified"
	} else if msg != "" {
		s.stats.Unauthorized++
	}
	s.mu.Unlock()
	if msg == "" {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeError(w, http.StatusUnauthorized, msg)
	s.log.Debug("tracktiksim: data request", "stream", streamNames[si], "status", http.StatusUnauthorized, "lag", lag)
	return false
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// writeError writes the simulator's error body, {"code":N,"message":"..."}.
func writeError(w http.ResponseWriter, status int, msg string) {
	b := make([]byte, 0, 64+len(msg))
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"message":`...)
	b = appendString(b, msg)
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
