package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DecodeJSON returns a decoder for Client.Do that unmarshals the body into
// v with encoding/json. Broken or cut-off JSON is reported wrapping
// ErrMalformed, so the page is fetched again; JSON of the wrong shape is a
// permanent error.
func DecodeJSON(v any) func(resp *Response) error {
	return func(resp *Response) error {
		err := json.Unmarshal(resp.Body, v)
		var syntax *json.SyntaxError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("decoding JSON: %w: %w", ErrMalformed, err)
		default:
			return fmt.Errorf("decoding JSON: %w", err)
		}
	}
}
