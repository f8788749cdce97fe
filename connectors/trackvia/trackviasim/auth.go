package trackviasim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// A Token is an auth token the simulator accepts
// (docs/vendors/trackvia.md#auth: created by a Super Admin for an API
// user, with its own expiry date).
type Token struct {
	// Value is the token as sent by clients.
	Value string
	// Expires is when the token stops working; TrackVia tokens expire at
	// midnight UTC on the chosen date. Zero means never.
	Expires time.Time
	// NotSuperAdmin marks a token whose API user is no Super Admin: data
	// endpoints work, GET /openapi/users answers 401 access_denied.
	NotSuperAdmin bool
}

type tokenState struct {
	expires     time.Time
	superAdmin  bool
	expired     bool // expired for good (Expire or ExpiredTokens)
	deactivated bool
}

// addToken registers t; the caller holds s.mu or owns s.
func (s *Server) addToken(t Token) {
	ts := s.tokenFor(t.Value)
	ts.expires = t.Expires
	ts.superAdmin = !t.NotSuperAdmin
}

// tokenFor returns the state of token v, creating a valid Super Admin one.
func (s *Server) tokenFor(v string) *tokenState {
	ts := s.tokens[v]
	if ts == nil {
		ts = &tokenState{superAdmin: true}
		s.tokens[v] = ts
	}
	return ts
}

// AddToken makes the server accept t, replacing any token with the same value.
func (s *Server) AddToken(t Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addToken(t)
	ts := s.tokens[t.Value]
	ts.expired, ts.deactivated = false, false
}

// Expire makes token expire now; like a real expired token it cannot be
// reactivated. Unknown tokens are registered as expired.
func (s *Server) Expire(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenFor(token).expired = true
}

// Deactivate turns token off, as a Super Admin can; Reactivate turns it on.
func (s *Server) Deactivate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenFor(token).deactivated = true
}

// Reactivate turns a deactivated token back on. Expired and unknown tokens
// cannot be reactivated (docs/vendors/trackvia.md#auth).
func (s *Server) Reactivate(token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.tokens[token]
	switch {
	case ts == nil:
		return errors.New("trackviasim: reactivate: unknown token")
	case ts.expired || s.pastExpiry(ts):
		return errors.New("trackviasim: reactivate: token has expired")
	}
	ts.deactivated = false
	return nil
}

func (s *Server) pastExpiry(ts *tokenState) bool {
	return !ts.expires.IsZero() && !s.opts.Now().Before(ts.expires)
}

// authed checks the API key and the token, then runs h.
//
//  1. No user_key: 401 text/plain "Authentication parameters missing".
//  2. Wrong user_key: 403 text/plain "Authentication failed".
//  3. No token: 401 {"error":"unauthorized",...}.
//  4. Unknown or deactivated token: 401 {"error":"invalid_token","error_description":"Invalid access token: ..."}.
//  5. Expired token: 401 {"error":"invalid_token","error_description":"Access token expired: ..."}.
//
// 1 and 2 are what the 3scale gateway in front of /openapi answers by
// default [INFER]; 3-5 are docs/vendors/trackvia.md#errors type A.
// Descriptions show only the token's first four characters.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *tokenState)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.count(func(st *Stats) { st.Requests++ })
		q := r.URL.Query()
		key := q.Get("user_key")
		if key == "" {
			key = r.Header.Get("user_key") // the help article says "in the header" [S1]
		}
		switch {
		case key == "":
			s.reject(r, "missing user_key", func(st *Stats) { st.MissingUserKey++ })
			writeGatewayError(w, http.StatusUnauthorized, "Authentication parameters missing")
			return
		case key != s.opts.UserKey:
			s.reject(r, "wrong user_key", func(st *Stats) { st.BadUserKey++ })
			writeGatewayError(w, http.StatusForbidden, "Authentication failed")
			return
		}
		tok, bearer := bearerToken(r)
		if !bearer {
			tok = q.Get("access_token")
		}
		if tok == "" {
			s.reject(r, "missing token", func(st *Stats) { st.MissingToken++ })
			writeOAuthError(w, http.StatusUnauthorized, "unauthorized", "Full authentication is required to access this resource")
			return
		}
		s.mu.RLock()
		ts := s.tokens[tok]
		var state tokenState
		if ts != nil {
			state = *ts
		}
		expired := ts != nil && (ts.expired || s.pastExpiry(ts))
		s.mu.RUnlock()
		switch {
		case ts == nil || state.deactivated:
			s.reject(r, "invalid token", func(st *Stats) { st.InvalidToken++ })
			writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "Invalid access token: "+mask(tok))
			return
		case expired:
			s.reject(r, "expired token", func(st *Stats) { st.ExpiredToken++ })
			writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "Access token expired: "+mask(tok))
			return
		}
		s.count(func(st *Stats) {
			if bearer {
				st.BearerAuth++
			} else {
				st.QueryAuth++
			}
		})
		h(w, r, &state)
	})
}

func (s *Server) reject(r *http.Request, why string, fn func(*Stats)) {
	s.count(func(st *Stats) { st.AuthFailures++; fn(st) })
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "trackviasim: auth rejected",
		slog.String("path", r.URL.Path), slog.String("reason", why))
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(h[len(prefix):]), true
}

// mask shows only the start of a token, so error bodies carry no secret.
func mask(tok string) string {
	if len(tok) <= 8 {
		return "****"
	}
	return fmt.Sprintf("%s****", tok[:4])
}
