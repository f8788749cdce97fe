package auth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

// These helpers keep credentials on the connection they were meant for.
// Package rest uses them too.

// ErrRedirect is returned (wrapped) when a redirect would carry a request,
// and so its credentials, to another host or from https to plain http.
var ErrRedirect = errors.New("redirect to another host refused")

// maxRedirects matches net/http's default limit.
const maxRedirects = 10

// SameHostRedirects is an http.Client CheckRedirect function that follows
// at most 10 redirects and only within one scheme and host. net/http drops
// Authorization on a cross-host redirect but keeps custom headers (an API
// key header, say) and re-sends a 307/308 body (a password) as it is.
func SameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	first := via[0].URL
	if !strings.EqualFold(req.URL.Host, first.Host) || (first.Scheme == "https" && req.URL.Scheme != "https") {
		return fmt.Errorf("%w: %s://%s to %s://%s", ErrRedirect, first.Scheme, first.Host, req.URL.Scheme, req.URL.Host)
	}
	return nil
}

// IsLoopback reports whether host (a URL's Hostname) is localhost or a
// loopback IP address, where plain http cannot be overheard.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsPermanentNetworkError reports whether err from http.Client.Do will not
// go away by retrying: a TLS certificate that does not verify, a refused
// redirect, a request that cannot be built.
func IsPermanentNetworkError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
	)
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verification) ||
		errors.As(err, &recordHeader) || errors.Is(err, ErrRedirect)
}

// networkClass maps a failed token request to an error class.
func networkClass(err error) error {
	if IsPermanentNetworkError(err) {
		return protocol.ErrConfig
	}
	return protocol.ErrTemporary
}

// StripQuery returns rawURL without its query string and fragment, which may
// carry credentials (api keys, access_token parameters), and with the
// password of its user information, if any, replaced by ***.
func StripQuery(rawURL string) string {
	if i := strings.IndexAny(rawURL, "?#"); i >= 0 {
		rawURL = rawURL[:i]
	}
	return redactPassword(rawURL)
}

// redactPassword replaces the password of a URL's user information
// (https://user:password@host) with ***, as url.URL.Redacted does, also in
// a URL that does not parse.
func redactPassword(rawURL string) string {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return rawURL
	}
	authority := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return rawURL
	}
	user, _, hasPassword := strings.Cut(authority[:at], ":")
	if !hasPassword {
		return rawURL
	}
	return scheme + "://" + user + ":***" + rest[at:]
}

// SanitizeURLError returns err with the URL in a *url.Error (which
// http.Client.Do returns) stripped of its query string. Other errors are
// returned as they are.
func SanitizeURLError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	clean := *ue
	clean.URL = StripQuery(ue.URL)
	return &clean
}
