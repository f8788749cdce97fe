package capillarysim

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// token is what the server remembers about an issued access token.
type token struct {
	key     string
	seq     uint64
	expires time.Time
}

// window counts one key's data requests in one clock minute.
type window struct {
	start time.Time
	n     int
}

// jwtHeader is the fixed JOSE header of every token.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"k1"}`))

// claims are the JWT claims, as in Capillary's documented samples.
type claims struct {
	Iss          string `json:"iss"`
	Exp          int64  `json:"exp"`
	Jti          string `json:"jti"`
	Iat          int64  `json:"iat"`
	Sub          string `json:"sub"`
	ClientID     int    `json:"client_id"`
	OrgID        int    `json:"org_id"`
	TokenUse     string `json:"token_use"`
	ClientKey    string `json:"client_key"`
	DefaultTill  string `json:"default_till"`
	HasPSIAccess bool   `json:"has_psi_access"`
	Scopes       string `json:"scopes"`
}

// maxTokenBody bounds the token request body; real ones are ~100 bytes.
const maxTokenBody = 64 << 10

// handleToken serves POST /v3/oauth/token/generate.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.TokenRequests++
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.write(w, r, http.StatusMethodNotAllowed, []byte(`{"data":null,"errors":[{"code":405,"message":"Method not allowed"}]}`))
		return
	}
	var req struct {
		Key    string `json:"key"`
		Secret string `json:"secret"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTokenBody)).Decode(&req); err != nil {
		s.mu.Lock()
		s.stats.AuthFailures++
		s.mu.Unlock()
		s.write(w, r, http.StatusBadRequest, []byte(`{"data":null,"errors":[{"code":400,"message":"Invalid request body"}]}`))
		return
	}
	keyOK := subtle.ConstantTimeCompare([]byte(req.Key), []byte(s.key)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(req.Secret), []byte(s.secret)) == 1
	now := s.now()

	s.mu.Lock()
	if !keyOK || !secretOK {
		s.stats.AuthFailures++
		ok := s.quirks.BadCredentialsOK.pick(s.badCreds)
		s.badCreds++
		s.mu.Unlock()
		status := http.StatusUnauthorized
		if ok {
			status = http.StatusOK
		}
		s.write(w, r, status, []byte(`{"data":null,"errors":[{"code":320001,"message":"Invalid client key and secret"}]}`))
		return
	}
	seq := s.tokenSeq
	s.tokenSeq++
	ttl := ttlSeconds(s.ttl)
	omit := s.quirks.OmitTTLSeconds.pick(seq)
	tok := &token{key: req.Key, seq: seq, expires: time.Unix(now.Unix()+ttl, 0)}
	jwt := s.mint(tok, now.Unix())
	s.tokens[jwt] = tok
	s.stats.TokensIssued++
	s.mu.Unlock()

	b := make([]byte, 0, len(jwt)+64)
	b = append(b, `{"data":{"accessToken":"`...)
	b = append(b, jwt...)
	b = append(b, '"')
	if !omit {
		b = append(b, `,"ttlSeconds":`...)
		b = strconv.AppendInt(b, ttl, 10)
	}
	b = append(b, `},"errors":null}`...)
	s.write(w, r, http.StatusOK, b)
}

// ttlSeconds rounds d up to whole seconds, at least one: JWT exp and
// ttlSeconds carry seconds only.
func ttlSeconds(d time.Duration) int64 {
	n := int64((d + time.Second - 1) / time.Second)
	return max(n, 1)
}

// mint returns a signed HS256 JWT for t. The key is derived from the seed;
// clients only decode the payload.
func (s *Server) mint(t *token, iat int64) string {
	var jti [16]byte
	binary.BigEndian.PutUint64(jti[:8], mix3(s.data.seed, saltJTI, t.seq))
	binary.BigEndian.PutUint64(jti[8:], t.seq)
	payload, _ := json.Marshal(claims{ // a struct of strings and numbers cannot fail
		Iss:          "Capillary",
		Exp:          t.expires.Unix(),
		Jti:          base64.RawURLEncoding.EncodeToString(jti[:]),
		Iat:          iat,
		Sub:          "quiver_sim_client",
		ClientID:     21,
		OrgID:        1115,
		TokenUse:     "token_access",
		ClientKey:    t.key,
		DefaultTill:  "quiver.till01",
		HasPSIAccess: true,
		Scopes:       "[]",
	})
	signing := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], mix3(s.data.seed, saltJWTKey, 0))
	mac := hmac.New(sha256.New, key[:])
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// authResult is the outcome of the token check and rate limit.
type authResult int

const (
	authOK authResult = iota
	authInvalid
	authExpired
	authLimited
	authBusy
)

// guard checks the token and the per-key rate limit before next runs.
func (s *Server) guard(stream string, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := s.now()
		raw := r.Header.Get(TokenHeader)

		s.mu.Lock()
		s.stats.Requests[stream]++
		res, expiredAt, retry := s.check(raw, stream, now)
		var n uint64
		q := s.quirks
		switch res {
		case authInvalid:
			s.stats.InvalidTokens++
			n = s.tokenErrs
			s.tokenErrs++
		case authExpired:
			s.stats.ExpiredTokens++
			n = s.tokenErrs
			s.tokenErrs++
		case authLimited:
			s.stats.RateLimited++
		case authBusy:
			s.stats.Busy++
		}
		s.mu.Unlock()

		switch res {
		case authOK:
			next(w, r)
		case authInvalid:
			s.tokenError(w, r, q, n, CodeInvalidToken, "Unauthorized")
		case authExpired:
			msg := "Token expired at " + expiredAt.In(s.loc).Format("2006-01-02T15:04:05.000-0700")
			s.tokenError(w, r, q, n, CodeTokenExpired, msg)
		case authLimited:
			if !q.OmitRetryAfter {
				w.Header().Set("Retry-After", strconv.FormatInt(int64(retry/time.Second), 10))
			}
			s.write(w, r, http.StatusTooManyRequests,
				[]byte(`{"response":{"status":{"success":false,"code":429,"message":"Too many requests, rate limit exceeded"}}}`))
		case authBusy:
			s.write(w, r, CodeSearchBusy,
				[]byte(`{"data":[],"warnings":[],"errors":[{"status":false,"code":461,"message":"Search engine is busy, please retry"}]}`))
		}
	})
}

// check decides a data request's fate; s.mu is held.
func (s *Server) check(raw, stream string, now time.Time) (res authResult, expiredAt time.Time, retry time.Duration) {
	t, ok := s.tokens[raw]
	if raw == "" || !ok || t.seq < s.revokedLT {
		return authInvalid, time.Time{}, 0
	}
	if t.seq < s.expiredLT {
		at := t.expires
		if s.expiredAt.Before(at) {
			at = s.expiredAt
		}
		return authExpired, at, 0
	}
	if !now.Before(t.expires) {
		return authExpired, t.expires, 0
	}
	if s.rpm > 0 {
		start := now.Truncate(time.Minute)
		win := s.windows[t.key]
		if win == nil || !win.start.Equal(start) {
			win = &window{start: start}
			s.windows[t.key] = win
		}
		if win.n >= s.rpm {
			// Retry-After carries whole seconds: round up so that a client
			// waiting that long lands in the next window.
			retry = start.Add(time.Minute).Sub(now)
			retry = time.Duration(ttlSeconds(retry)) * time.Second
			return authLimited, time.Time{}, retry
		}
		win.n++
	}
	if stream == StreamCustomers && s.busy > 0 {
		s.busy--
		return authBusy, time.Time{}, 0
	}
	return authOK, time.Time{}, 0
}

// tokenError writes a 401 or 498 in the documented v1.1 shape: the
// "success" flag says true while the code says otherwise. n is the number of
// token errors given before this one, which drives the Mixed shapes: in turn
// HTTP status + string code, body only + string code, HTTP status + number
// code, body only + number code.
func (s *Server) tokenError(w http.ResponseWriter, r *http.Request, q Quirks, n uint64, code int, msg string) {
	inBody := q.TokenErrorsInBody.pick(n)
	quoted := q.StringNumbers.pick(^(n >> 1))
	e := enc{quote: quoted}
	e.raw(`{"response":{"status":{"success":`)
	e.boolean(true)
	e.raw(`,"code":`)
	e.num(int64(code))
	e.raw(`,"message":`)
	e.str(msg)
	e.raw(`},"customers":null}}`)
	status := code
	if inBody {
		status = http.StatusOK
	}
	s.write(w, r, status, e.b)
}

// write sends a JSON body and logs the request without its query string.
func (s *Server) write(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	s.log.Debug("capillarysim request", "method", r.Method, "path", r.URL.Path, "status", status, "bytes", len(body))
}
