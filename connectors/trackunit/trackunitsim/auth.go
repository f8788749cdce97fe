package trackunitsim

import (
	"crypto/subtle"
	"encoding/base64"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Scopes the authorization server knows; "api" is required.
const (
	scopeAPI     = "api"
	scopeOffline = "offline_access"
)

// tokenIssuer is the iss claim of the simulated Okta authorization server.
const tokenIssuer = "https://trackunit-portal.okta.com/oauth2/aus-quiver-sim"

type accessToken struct {
	expiry time.Time
	scope  string
}

type refreshToken struct {
	scope string
	used  bool // single use: rotated on every refresh
}

// authHandler serves the auth host: only the token URL.
func (s *Server) authHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(TokenPath, s.handleToken)
	return mux
}

// tokenError is an Okta-shaped OAuth2 error answer.
type tokenError struct {
	status int
	code   string // RFC 6749 error code
	desc   string
}

// handleToken implements POST /token: the password grant and the
// refresh_token grant, with the client authenticated by HTTP Basic only.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.TokenRequests++
	s.mu.Unlock()
	body, terr := s.token(w, r)
	if terr != nil {
		s.mu.Lock()
		s.stats.TokenFailures++
		s.mu.Unlock()
		if terr.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="auth.trackunit.com"`)
		}
		if terr.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		b := append([]byte(`{"error":`), appendString(nil, terr.code)...)
		b = append(b, `,"error_description":`...)
		b = appendString(b, terr.desc)
		b = append(b, '}')
		writeJSONStatus(w, terr.status, b, true)
		s.logRequest(r.Context(), r, "token", terr.status)
		return
	}
	writeJSONStatus(w, http.StatusOK, body, true)
	s.logRequest(r.Context(), r, "token", http.StatusOK)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) ([]byte, *tokenError) {
	if r.Method != http.MethodPost {
		return nil, &tokenError{http.StatusMethodNotAllowed, "invalid_request", "The token endpoint only accepts POST."}
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return nil, &tokenError{http.StatusBadRequest, "invalid_request", "The request body must be application/x-www-form-urlencoded."}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10) // a token request is a few hundred bytes
	if err := r.ParseForm(); err != nil {
		return nil, &tokenError{http.StatusBadRequest, "invalid_request", "The request body could not be parsed."}
	}
	form := r.PostForm
	id, secret, basic := r.BasicAuth()
	switch {
	case !basic && (form.Has("client_id") || form.Has("client_secret")):
		// Trackunit: "Applications has to supply client_id and client_secret
		// through basic authentication."
		return nil, &tokenError{http.StatusUnauthorized, "invalid_client", "Client authentication failed: this client must authenticate with HTTP Basic (client_secret_basic)."}
	case !basic:
		return nil, &tokenError{http.StatusUnauthorized, "invalid_client", "Client authentication failed. Either the client or the client credentials are invalid."}
	case form.Has("client_secret"):
		return nil, &tokenError{http.StatusBadRequest, "invalid_request", "Cannot supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a client_assertion in the post body."}
	case !equal(id, s.opts.ClientID) || (form.Has("client_id") && form.Get("client_id") != id):
		return nil, &tokenError{http.StatusUnauthorized, "invalid_client", "Invalid value for 'client_id' parameter."}
	case !equal(secret, s.opts.ClientSecret):
		return nil, &tokenError{http.StatusUnauthorized, "invalid_client", "The client secret supplied for a confidential client is invalid."}
	}
	switch gt := form.Get("grant_type"); gt {
	case "password":
		return s.passwordGrant(form.Get("username"), form.Get("password"), form.Get("scope"))
	case "refresh_token":
		return s.refreshGrant(form.Get("refresh_token"), form.Get("scope"))
	case "":
		return nil, &tokenError{http.StatusBadRequest, "invalid_request", "The 'grant_type' parameter is required."}
	default:
		return nil, &tokenError{http.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server. Configured grant types: [password, refresh_token]."}
	}
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// checkScope validates a requested scope list: known scopes only, api required.
func checkScope(scope string) (string, *tokenError) {
	if strings.TrimSpace(scope) == "" {
		return "", &tokenError{http.StatusBadRequest, "invalid_scope", "The authorization server resource does not have any configured default scopes, 'scope' must be provided."}
	}
	var api, offline bool
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case scopeAPI:
			api = true
		case scopeOffline:
			offline = true
		default:
			return "", &tokenError{http.StatusBadRequest, "invalid_scope", "One or more scopes are not configured for the authorization server resource."}
		}
	}
	if !api {
		return "", &tokenError{http.StatusBadRequest, "invalid_scope", "The 'api' scope is required."}
	}
	if offline {
		return scopeAPI + " " + scopeOffline, nil
	}
	return scopeAPI, nil
}

func (s *Server) passwordGrant(user, pass, scope string) ([]byte, *tokenError) {
	if user == "" || pass == "" {
		return nil, &tokenError{http.StatusBadRequest, "invalid_request", "The 'username' and 'password' parameters are required."}
	}
	sc, terr := checkScope(scope)
	if terr != nil {
		return nil, terr
	}
	if !equal(user, s.opts.Username) || !equal(pass, s.opts.Password) {
		return nil, &tokenError{http.StatusBadRequest, "invalid_grant", "The credentials provided were invalid."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.PasswordGrants++
	return s.issueLocked(sc), nil
}

func (s *Server) refreshGrant(rt, scope string) ([]byte, *tokenError) {
	if rt == "" {
		return nil, &tokenError{http.StatusBadRequest, "invalid_request", "The 'refresh_token' parameter is required."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.refresh[rt]
	if !ok || old.used {
		return nil, &tokenError{http.StatusBadRequest, "invalid_grant", "The refresh token is invalid or expired."}
	}
	sc := old.scope
	if scope != "" {
		// A narrower scope may be asked for, but offline_access is what
		// makes a refresh token, so the granted scope stays the original.
		for _, want := range strings.Fields(scope) {
			if !strings.Contains(" "+old.scope+" ", " "+want+" ") {
				return nil, &tokenError{http.StatusBadRequest, "invalid_scope", "The requested scope is invalid, unknown, or malformed."}
			}
		}
	}
	old.used = true
	s.refresh[rt] = old
	s.stats.RefreshGrants++
	return s.issueLocked(sc), nil
}

// issueLocked mints an access token (and a refresh token with
// offline_access) and returns the token response. s.mu is held.
func (s *Server) issueLocked(scope string) []byte {
	now := s.now()
	ttl := s.tokenTTL
	s.issued++
	at := s.jwt(now, ttl, scope, s.issued)
	s.tokens[at] = accessToken{expiry: now.Add(ttl), scope: scope}
	b := append([]byte(`{"token_type":"Bearer","expires_in":`), strconv.FormatInt(int64(ttl/time.Second), 10)...)
	b = append(b, `,"access_token":`...)
	b = appendString(b, at)
	b = append(b, `,"scope":`...)
	b = appendString(b, scope)
	if strings.Contains(scope, scopeOffline) {
		var rb []byte
		rb = appendB64(rb, mix(s.opts.Seed^0x5eed^s.issued*0x9e3779b97f4a7c15), mix(s.issued+0x7f4a7c15))
		rt := "rt." + string(rb)
		s.refresh[rt] = refreshToken{scope: scope}
		b = append(b, `,"refresh_token":`...)
		b = appendString(b, rt)
	}
	return append(b, '}')
}

// jwt builds a JWT-shaped access token with Okta's claims. The signature is
// filler: the simulator looks tokens up, it does not verify them.
func (s *Server) jwt(now time.Time, ttl time.Duration, scope string, n uint64) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"kid":"quiver-sim","alg":"RS256"}`))
	var c []byte
	c = append(c, `{"ver":1,"jti":"AT.`...)
	c = appendB64(c, mix(s.opts.Seed+n*0x9e3779b97f4a7c15), mix(n^0xa5a5a5a5a5a5))
	c = append(c, `","iss":"`+tokenIssuer+`","aud":"api","iat":`...)
	c = strconv.AppendInt(c, now.Unix(), 10)
	c = append(c, `,"exp":`...)
	c = strconv.AppendInt(c, now.Add(ttl).Unix(), 10)
	c = append(c, `,"cid":`...)
	c = appendString(c, s.opts.ClientID)
	c = append(c, `,"scp":[`...)
	for i, sc := range strings.Fields(scope) {
		if i > 0 {
			c = append(c, ',')
		}
		c = appendString(c, sc)
	}
	c = append(c, `],"sub":`...)
	c = appendString(c, s.opts.ClientID)
	c = append(c, `,"customerId":43213,"userId":0}`...)
	var sig []byte
	for k := range uint64(4) {
		sig = appendB64(sig, mix(n*31+k+0x9e3779b97f4a7c15), mix(s.opts.Seed+k*0x9e3779b97f4a7c15+n))
	}
	return header + "." + enc.EncodeToString(c) + "." + string(sig)
}

// appendB64 appends 16 bytes from two words, base64url without padding.
func appendB64(b []byte, hi, lo uint64) []byte {
	var raw [16]byte
	for i := range 8 {
		raw[i] = byte(hi >> (8 * i))
		raw[8+i] = byte(lo >> (8 * i))
	}
	return base64.RawURLEncoding.AppendEncode(b, raw[:])
}

// authorize checks the bearer token of an API request; it answers 401 and
// returns false when the token is missing, unknown or expired.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	var code, msg, challenge string
	switch {
	case !strings.EqualFold(scheme, "Bearer") || tok == "":
		code, msg, challenge = "unauthorized", "Full authentication is required to access this resource", `Bearer`
	default:
		s.mu.Lock()
		t, ok := s.tokens[tok]
		now := s.now()
		s.mu.Unlock()
		switch {
		case !ok:
			code, msg = "invalid_token", "The access token is invalid"
		case !now.Before(t.expiry):
			code, msg = "invalid_token", "The access token has expired"
		default:
			return true
		}
		challenge = `Bearer error="invalid_token", error_description="` + msg + `"`
	}
	s.mu.Lock()
	s.stats.AuthFailures++
	s.mu.Unlock()
	w.Header().Set("WWW-Authenticate", challenge)
	writeError(w, http.StatusUnauthorized, code, msg)
	return false
}
