package rest

import "crypto/tls"

// newInsecureTLS returns the configuration New must refuse.
func newInsecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the configuration under test is refused
}
