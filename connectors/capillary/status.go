package capillary

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/quiver-etl/quiver/sdk/rest"
)

// Codes Capillary puts in HTTP status lines or response bodies
// (docs/vendors/capillary.md#errors).
const (
	codeOK           = 200
	codePartial      = 201 // v1.1 "some items failed", v2 partial failure
	codeInvalidToken = 401
	codeForbidden    = 403
	codeRateLimited  = 429
	codeTokenExpired = 498 // regenerate the token and retry
	codeAllFailed    = 500 // v1.1 "all items failed": per item, not the server
	codeSearchBusy   = 461 // v2 "search engine busy; retry"
	itemNotFound     = 1012
)

// classify is the data client's Policy.Classify. Capillary says "token
// expired" (498) or "invalid token" (401) in the HTTP status line, or only
// in the body's response.status.code with HTTP 200, as a number or a string;
// either way the token is replaced and the request tried once more. The
// body's code, not its "success" flag (true even for 498), decides whether a
// v1.1 answer succeeded. A 429 in the body is the rate limit, as in the
// status line: the client pauses and lowers its rate.
func classify(resp *rest.Response) rest.Verdict {
	switch resp.StatusCode {
	case codeTokenExpired, http.StatusUnauthorized:
		return rest.RefreshToken
	case codeSearchBusy:
		return rest.Retry
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return rest.Default
	}
	st := readStatus(resp.Body)
	switch {
	case st.v2Errors:
		return rest.Permanent
	case !st.found, st.code == codeOK, st.code == codePartial:
		return rest.Default
	case st.code == codeTokenExpired, st.code == codeInvalidToken:
		return rest.RefreshToken
	case st.code == codeForbidden:
		return rest.AuthFailed
	case st.code == codeRateLimited:
		return rest.RateLimited
	case st.code == codeAllFailed && st.item == itemNotFound:
		return rest.OK // the customer is gone; see gone
	}
	return rest.Permanent
}

// gone reports whether a v1.1 answer says the customer does not exist
// (deleted or merged since the customer search listed it).
func gone(resp *rest.Response) bool {
	st := readStatus(resp.Body)
	return st.code == codeAllFailed && st.item == itemNotFound
}

// status is what a body says about its own success.
type status struct {
	found    bool  // the body has a v1.1 response.status.code
	code     int64 // response.status.code
	item     int64 // response.customer.item_status.code, read only for codeAllFailed
	v2Errors bool  // a v2 body with a non-empty top-level errors list
}

// readStatus reads the status fields of a body without decoding the rest:
// v1.1 bodies put the status first, so a page costs a few tokens. A body
// that is not a JSON object has no status (the decoder reports it).
func readStatus(body []byte) status {
	var st status
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true))
	members(dec, func(name string) bool {
		switch name {
		case "response":
			members(dec, func(name string) bool {
				switch name {
				case "status":
					st.code, st.found = codeIn(dec)
					return st.found && st.code == codeAllFailed // the item status says why
				case "customer":
					members(dec, func(name string) bool {
						if name != "item_status" {
							return dec.SkipValue() == nil
						}
						st.item, _ = codeIn(dec)
						return false
					})
					return false
				}
				return dec.SkipValue() == nil
			})
			return false
		case "errors":
			v, err := dec.ReadValue()
			st.v2Errors = err == nil && len(apiErrors(json.RawMessage(v))) > 0
			return err == nil
		}
		return dec.SkipValue() == nil
	})
	return st
}

// members reads the next value, which should be an object, calling member
// with each name; member reads the value and says whether to go on. It
// stops early, without an error, at anything unexpected.
func members(dec *jsontext.Decoder, member func(name string) bool) {
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil || !member(name.String()) {
			return
		}
	}
}

// codeIn reads the next value, an object, and returns its "code" member,
// a number or a numeric string.
func codeIn(dec *jsontext.Decoder) (int64, bool) {
	v, err := dec.ReadValue()
	if err != nil {
		return 0, false
	}
	var s struct {
		Code json.Number `json:"code"`
	}
	if json.Unmarshal(v, &s) != nil {
		return 0, false
	}
	n, err := s.Code.Int64()
	return n, err == nil
}

// apiError is one entry of an errors list.
type apiError struct {
	Code    json.Number `json:"code"`
	Message string      `json:"message"`
}

// apiErrors decodes an errors value: null or [] is none, a list its
// entries, a bare object one entry. Anything else is one unnamed error.
func apiErrors(raw json.RawMessage) []apiError {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" || s == "[]" {
		return nil
	}
	var list []apiError
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one apiError
	if json.Unmarshal(raw, &one) == nil {
		return []apiError{one}
	}
	return []apiError{{Code: "0", Message: "unreadable errors value"}}
}
