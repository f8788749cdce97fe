package sdk

import (
	"errors"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

// Error classes, shared with the host so that errors.Is works across the
// plugin boundary. Wrap one of them to tell the host how to react.
var (
	// ErrConfig means the configuration is wrong (exit code 2).
	ErrConfig = protocol.ErrConfig
	// ErrAuth means the vendor rejected the credentials (exit code 4).
	ErrAuth = protocol.ErrAuth
	// ErrTemporary means a rate limit, quota or outage (exit code 75).
	ErrTemporary = protocol.ErrTemporary
	// ErrCanceled means the work was cancelled.
	ErrCanceled = protocol.ErrCanceled
)

// ErrMalformed marks a vendor response that is not the JSON it should be
// (truncated, cut off, syntactically broken). The rest client retries the
// page a few times before giving up, since a cut connection is the usual cause.
var ErrMalformed = errors.New("malformed response")
