package protocol

import "errors"

// Error classes. They travel across the plugin boundary as gRPC status codes
// (InvalidArgument, Unauthenticated, Unavailable, Canceled)
// and come back as the same sentinels, so errors.Is works on both sides.
var (
	// ErrConfig means the configuration is wrong: fix the config file.
	ErrConfig = errors.New("configuration error")
	// ErrAuth means the vendor rejected the credentials: fix or renew them.
	ErrAuth = errors.New("authentication error")
	// ErrTemporary means a rate limit, quota or outage: try again later.
	ErrTemporary = errors.New("temporary error")
	// ErrCanceled means the work was cancelled before it finished.
	ErrCanceled = errors.New("canceled")
)

// ErrChecksum means Open refused to start a plugin binary whose SHA-256 is
// not Options.Checksum. It never crosses the plugin boundary.
var ErrChecksum = errors.New("plugin checksum mismatch")
