package protocol

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-etl/quiver/sdk/protocol/internal/connectorpb"
)

// classOf returns the class of err. Cancellation wins over the other classes:
// a read that was cancelled while retrying a 503 is cancelled, not temporary.
func classOf(err error) connectorpb.ErrorClass {
	switch {
	case err == nil:
		return connectorpb.ErrorClass_ERROR_CLASS_UNSPECIFIED
	case errors.Is(err, ErrCanceled), errors.Is(err, context.Canceled):
		return connectorpb.ErrorClass_ERROR_CLASS_CANCELED
	case errors.Is(err, ErrConfig):
		return connectorpb.ErrorClass_ERROR_CLASS_CONFIG
	case errors.Is(err, ErrAuth):
		return connectorpb.ErrorClass_ERROR_CLASS_AUTH
	case errors.Is(err, ErrTemporary):
		return connectorpb.ErrorClass_ERROR_CLASS_TEMPORARY
	}
	return connectorpb.ErrorClass_ERROR_CLASS_UNSPECIFIED
}

// classes lists each error class with the gRPC code it travels as and the
// sentinels it matches with errors.Is on the host.
var classes = []struct {
	class     connectorpb.ErrorClass
	code      codes.Code
	sentinels []error
}{
	{connectorpb.ErrorClass_ERROR_CLASS_CONFIG, codes.InvalidArgument, []error{ErrConfig}},
	{connectorpb.ErrorClass_ERROR_CLASS_AUTH, codes.Unauthenticated, []error{ErrAuth}},
	{connectorpb.ErrorClass_ERROR_CLASS_TEMPORARY, codes.Unavailable, []error{ErrTemporary}},
	{connectorpb.ErrorClass_ERROR_CLASS_CANCELED, codes.Canceled, []error{ErrCanceled, context.Canceled}},
}

// codeOf is the gRPC code a class travels as.
func codeOf(c connectorpb.ErrorClass) codes.Code {
	for _, e := range classes {
		if e.class == c {
			return e.code
		}
	}
	return codes.Unknown
}

// classOfCode is the class of a gRPC code that came without an Error detail.
func classOfCode(c codes.Code) connectorpb.ErrorClass {
	for _, e := range classes {
		if e.code == c {
			return e.class
		}
	}
	return connectorpb.ErrorClass_ERROR_CLASS_UNSPECIFIED
}

// sentinels are the errors a class matches with errors.Is on the host.
func sentinels(c connectorpb.ErrorClass) []error {
	for _, e := range classes {
		if e.class == c {
			return e.sentinels
		}
	}
	return nil
}

// toStatus turns a plugin's error into the gRPC status error it travels as:
// the class's code, the message verbatim, and an Error detail that marks it
// as the plugin's own (not a transport failure).
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	class := classOf(err)
	st := status.New(codeOf(class), err.Error())
	if d, derr := st.WithDetails(&connectorpb.Error{Class: class}); derr == nil {
		st = d
	}
	return st.Err()
}

// remoteError is an error that came back through the plugin boundary. It
// reads like the plugin's message and matches its class with errors.Is.
type remoteError struct {
	msg     string
	classes []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.classes }

// newRemoteError returns the host-side form of a plugin error, or nil when
// msg is empty and there is no class.
func newRemoteError(msg string, class connectorpb.ErrorClass) error {
	if msg == "" && class == connectorpb.ErrorClass_ERROR_CLASS_UNSPECIFIED {
		return nil
	}
	if msg == "" {
		msg = sentinels(class)[0].Error()
	}
	return &remoteError{msg: msg, classes: sentinels(class)}
}

// pluginDetail returns the Error detail of st, if the plugin attached one.
func pluginDetail(st *status.Status) (*connectorpb.Error, bool) {
	for _, d := range st.Details() {
		if e, ok := d.(*connectorpb.Error); ok {
			return e, true
		}
	}
	return nil, false
}
