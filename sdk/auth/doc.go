// Package auth provides the token sources that connectors authenticate with:
// OAuth2 password and client-credentials grants, a JSONGrant for vendors'
// own JSON or JWT token endpoints, static keys, and a Cache
// that adds what x/oauth2's ReuseTokenSource lacks: compare-and-clear
// invalidation after a rejected token, early refresh, single-flight fetches,
// single-use rotating refresh tokens, and a hard cap on logins per run.
//
// # Getting started
//
// A connector describes its token endpoint as a Grant and wraps it in a Cache:
//
//	src := auth.NewCache(&auth.PasswordGrant{
//		TokenURL:     cfg.BaseURL + "/rest/oauth2/access_token",
//		ClientID:     cfg.ClientID,
//		ClientSecret: cfg.ClientSecret,
//		Username:     cfg.Username,
//		Password:     cfg.Password,
//		Style:        auth.InParams, // always explicit: no auto-detection
//	}, auth.CacheOptions{Logger: logger})
//
// The Cache is an auth.Source; package rest takes one in its Options and
// calls Invalidate when the vendor rejects a token.
//
// A vendor's own token endpoint (credentials in a JSON body, the token in a
// nested envelope, errors in a 200 body, the lifetime only in the JWT) is a
// JSONGrant configured with the vendor's field names. One stranger still
// implements Grant in the connector's own package; the Cache does the rest.
//
// # Secrets
//
// Credentials are Secret values: fmt and log/slog print them as REDACTED.
// They still marshal to JSON as their value, because configuration travels
// as raw JSON; redaction happens when printing. Errors from this package
// never contain a secret or a raw response body.
package auth
