// Package rest is the HTTP layer connectors talk to vendor APIs through: a
// Client with authentication (package auth), a shared rate limiter, and one
// retry loop per request driven by a Policy on cenkalti/backoff/v4; and
// Pagers, the paging schemes of vendor list endpoints as pure logic.
// Streams, the listings read page by page into Arrow records, are package
// stream's, which reads them through a Client.
//
// # Getting started
//
//	client, err := rest.New(rest.Options{
//		BaseURL: cfg.BaseURL + "/rest/v1",
//		Auth:    tokens, // an auth.Source, e.g. an *auth.Cache
//		Name:    "tracktik",
//		Logger:  logger,
//	})
//	...
//	var page struct{ Data []Employee }
//	err = client.Do(ctx, rest.Request{Path: "/employees", Label: "stream employees"},
//		rest.DecodeJSON(&page))
//
// # What is retried
//
// Network errors, truncated bodies, 408, 429 and 5xx (but 501) are retried
// with exponential backoff, honouring Retry-After up to
// Policy.MaxRetryAfter. A 401 on a token younger than Policy.LagGrace is
// retried with the same token, with backoff, until the token is that old
// (a vendor's read replica may not know a new token yet); then, or for an
// older token, the token is invalidated and the request tried once more
// with a fresh one. A fresh token still refused after its own grace fails
// the request as temporary (protocol.ErrTemporary): the login accepted the
// credentials. A page whose decoder reports ErrMalformed is
// fetched again a couple of times. Everything else is final. Vendor quirks
// (a "token expired" code in a 200 body, say) go in Policy.Classify; this
// package knows no vendor.
//
// # Rate limits
//
// Options.Limiter paces every request of a Client (a source's configured
// requests_per_minute). When the vendor refuses a request for its rate
// limit (a 429, or Verdict RateLimited), every request of the Client
// pauses for the retry's wait, and, if such refusals are frequent, the
// Client lowers its own request rate (multiplicative decrease from the
// rate it was sending at) and raises it again step by step as requests
// succeed (additive increase), up to the configured rate. Waits on both
// count in RetryCounter.Waited.
//
// Nothing in an error or log line holds a query string, a header, a token
// or a secret: URLs are stripped of their query, quoted bodies are scrubbed
// with auth.Scrub.
package rest
